//! Keeps the password off connections whose server is not verified.
//!
//! tokio-postgres answers whatever authentication the server asks for. Over a connection
//! without a verified certificate (sslmode disable, prefer, require without `sslrootcert`)
//! anyone on the path can play the server and ask for the password in clear text
//! (AuthenticationCleartextPassword) or as MD5 (AuthenticationMD5Password, whose hash is as
//! good as the password to a replaying attacker and cracks offline). SCRAM reveals neither.
//! [`AuthGuard`] sits between the socket (after TLS) and tokio-postgres, reads the backend
//! messages until authentication completes, and fails the read carrying such a request, so
//! tokio-postgres never sees it and never answers it.
//!
//! Backend messages: one type byte, a four-byte big-endian length that counts itself, then
//! the payload; for `R` (authentication) the payload starts with a four-byte code: 0 ok,
//! 3 cleartext, 5 MD5, 10–12 SASL.
//!
//! SCRAM over an unverified connection is answered only when the server's first message asks
//! for at least [`MIN_SCRAM_ITERATIONS`] (RFC 7677's minimum): someone playing the server could
//! otherwise ask for one iteration and crack the proof offline as cheaply as an MD5 hash.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub(crate) const AUTH_CLEARTEXT: u32 = 3;
pub(crate) const AUTH_MD5: u32 = 5;
/// AuthenticationSASLContinue: the SCRAM server-first-message (`r=…,s=…,i=…`).
pub(crate) const AUTH_SASL_CONTINUE: u32 = 11;
/// The refusal code for a SCRAM exchange with too few iterations (not a protocol code).
pub(crate) const WEAK_SCRAM: u32 = 1011;
pub(crate) const MIN_SCRAM_ITERATIONS: u32 = 4096;

pub(crate) struct AuthGuard<S> {
    inner: S,
    verified: bool,
    watch: Watch,
    /// The refused authentication code (0: none), read by the caller to explain the failure.
    refused: Arc<AtomicU32>,
}

impl<S> AuthGuard<S> {
    /// `verified`: the server's certificate was checked (or the socket is local), so any
    /// authentication may be answered.
    pub(crate) fn new(inner: S, verified: bool) -> (AuthGuard<S>, Arc<AtomicU32>) {
        let refused = Arc::new(AtomicU32::new(0));
        (
            AuthGuard {
                inner,
                verified,
                watch: Watch::default(),
                refused: refused.clone(),
            },
            refused,
        )
    }
}

/// A parser of backend message boundaries, fed the bytes as they arrive, until the
/// authentication is over.
#[derive(Default)]
pub(crate) struct Watch {
    /// The current message's type, length and (for `R`) authentication code, as collected.
    head: [u8; 9],
    have: usize,
    /// Payload bytes of the current message still to pass.
    skip: usize,
    /// AuthenticationOk seen: nothing more to watch.
    done: bool,
    /// The SCRAM server-first-message being collected (unverified connections only).
    sasl: Option<Vec<u8>>,
}

impl Watch {
    /// Feeds newly read bytes; `Err(code)` when they hold a request for a cleartext or MD5
    /// password and the connection is not verified.
    pub(crate) fn feed(&mut self, mut data: &[u8], verified: bool) -> Result<(), u32> {
        while !data.is_empty() && !self.done {
            if self.skip > 0 {
                let n = self.skip.min(data.len());
                if let Some(buf) = &mut self.sasl {
                    buf.extend_from_slice(&data[..n]);
                }
                self.skip -= n;
                data = &data[n..];
                if self.skip == 0 {
                    if let Some(first) = self.sasl.take() {
                        if scram_iterations(&first).is_none_or(|i| i < MIN_SCRAM_ITERATIONS) {
                            return Err(WEAK_SCRAM);
                        }
                    }
                }
                continue;
            }
            let want = if self.have >= 5 && self.head[0] == b'R' {
                9
            } else {
                5
            };
            let n = (want - self.have).min(data.len());
            self.head[self.have..self.have + n].copy_from_slice(&data[..n]);
            self.have += n;
            data = &data[n..];
            if self.have < want {
                continue;
            }
            let len = u32::from_be_bytes([self.head[1], self.head[2], self.head[3], self.head[4]]);
            let body = (len as usize).saturating_sub(4);
            if want == 5 && self.head[0] == b'R' && body >= 4 {
                continue; // the authentication code comes next
            }
            self.have = 0;
            if want == 5 {
                self.skip = body;
                continue;
            }
            self.skip = body - 4;
            let code = u32::from_be_bytes([self.head[5], self.head[6], self.head[7], self.head[8]]);
            match code {
                0 => self.done = true,
                AUTH_CLEARTEXT | AUTH_MD5 if !verified => return Err(code),
                AUTH_SASL_CONTINUE if !verified => {
                    if self.skip == 0 {
                        return Err(WEAK_SCRAM);
                    }
                    self.sasl = Some(Vec::with_capacity(self.skip.min(1024)));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// The `i=` attribute of a SCRAM server-first-message.
fn scram_iterations(first: &[u8]) -> Option<u32> {
    std::str::from_utf8(first)
        .ok()?
        .split(',')
        .find_map(|a| a.strip_prefix("i="))?
        .parse()
        .ok()
}

impl<S: AsyncRead + Unpin> AsyncRead for AuthGuard<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = &mut *self;
        if me.watch.done {
            return Pin::new(&mut me.inner).poll_read(cx, buf);
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut me.inner).poll_read(cx, buf))?;
        match me.watch.feed(&buf.filled()[before..], me.verified) {
            Ok(()) => Poll::Ready(Ok(())),
            Err(code) => {
                // The request is withheld from tokio-postgres, which therefore never answers.
                buf.set_filled(before);
                me.refused.store(code, Ordering::SeqCst);
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    "the server asked for a password over an unverified connection",
                )))
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for AuthGuard<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(kind: u8, payload: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&(payload.len() as u32 + 4).to_be_bytes());
        m.extend_from_slice(payload);
        m
    }

    fn auth(code: u32, extra: &[u8]) -> Vec<u8> {
        let mut p = code.to_be_bytes().to_vec();
        p.extend_from_slice(extra);
        msg(b'R', &p)
    }

    /// Feeds `bytes` in chunks of `size`; the first refusal, if any.
    fn feed_in(bytes: &[u8], size: usize, verified: bool) -> Result<(), u32> {
        let mut w = Watch::default();
        bytes.chunks(size).try_for_each(|c| w.feed(c, verified))
    }

    #[test]
    fn cleartext_and_md5_requests_are_refused_unless_verified_in_any_split() {
        let md5 = [msg(b'N', b"notice\0"), auth(AUTH_MD5, b"salt")].concat();
        let clear = auth(AUTH_CLEARTEXT, b"");
        for size in [1, 2, 3, 5, 7, 64] {
            assert_eq!(
                feed_in(&md5, size, false),
                Err(AUTH_MD5),
                "chunks of {size}"
            );
            assert_eq!(feed_in(&clear, size, false), Err(AUTH_CLEARTEXT));
            assert_eq!(feed_in(&md5, size, true), Ok(()));
        }
    }

    #[test]
    fn scram_then_ok_passes_and_nothing_after_ok_is_parsed() {
        let scram = [
            auth(10, b"SCRAM-SHA-256\0\0"),
            auth(11, b"r=nonce,s=salt,i=4096"),
            auth(12, b"v=proof"),
            auth(0, b""),
            // After AuthenticationOk anything goes (this would look like a cleartext request).
            auth(AUTH_CLEARTEXT, b""),
        ]
        .concat();
        for size in [1, 4, 9, 100] {
            assert_eq!(feed_in(&scram, size, false), Ok(()), "chunks of {size}");
        }
        // Too few iterations over an unverified connection: refused, in any split; verified
        // connections trust the server they checked.
        let weak = [
            auth(10, b"SCRAM-SHA-256\0\0"),
            auth(11, b"r=nonce,s=salt,i=1"),
        ]
        .concat();
        for size in [1, 4, 9, 100] {
            assert_eq!(feed_in(&weak, size, false), Err(WEAK_SCRAM));
            assert_eq!(feed_in(&weak, size, true), Ok(()));
        }
        assert_eq!(feed_in(&auth(11, b"r=n,s=s"), 5, false), Err(WEAK_SCRAM));
        // An error response before any authentication is no refusal either.
        assert_eq!(feed_in(&msg(b'E', b"SFATAL\0\0"), 3, false), Ok(()));
    }
}
