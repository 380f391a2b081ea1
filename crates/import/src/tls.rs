//! TLS for PostgreSQL over rustls (ring), honouring libpq's `sslmode`:
//!
//! | sslmode               | TLS                     | certificate checked                        |
//! |-----------------------|-------------------------|--------------------------------------------|
//! | disable               | never                   | –                                          |
//! | prefer                | if the server offers it | no                                         |
//! | require               | always                  | no, or chain only when `sslrootcert` given |
//! | verify-ca             | always                  | chain against the roots                    |
//! | verify-full (default) | always                  | chain and host name                        |
//!
//! The roots are, in order: `sslrootcert` in the URL, `PGSSLROOTCERT`, libpq's
//! `~/.postgresql/root.crt` when it exists (where a clinic's private CA is usually already
//! installed for psql), else the system roots (the Mozilla set bundled with the app), so that a
//! server with a publicly trusted certificate needs no setting at all.
//!
//! A connection counts as *verified* when the certificate chain was checked (verify-ca,
//! verify-full, require with `sslrootcert`): only then may the server ask for the password in
//! clear text or MD5 (`postgres/guard.rs`).

use crate::spec::{PgSpec, RootCert, SslMode};
use crate::ImportError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, TlsConnect};

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_err(msg: impl Into<String>) -> ImportError {
    ImportError::Tls(msg.into())
}

/// Where the roots come from when neither the URL nor `PGSSLROOTCERT` says.
fn default_roots() -> RootCert {
    // libpq's default location first.
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    home.map(|h| h.join(".postgresql/root.crt"))
        .filter(|p| p.exists())
        .map_or(RootCert::System, RootCert::File)
}

fn load_roots(spec: &PgSpec) -> Result<RootCertStore, ImportError> {
    let src = spec.sslrootcert.clone().unwrap_or_else(default_roots);
    let mut store = RootCertStore::empty();
    match src {
        RootCert::System => system_roots(&mut store),
        RootCert::File(path) => {
            let certs = CertificateDer::pem_file_iter(&path).map_err(|e| {
                tls_err(format!(
                    "cannot read sslrootcert {} ({e}): check the path",
                    path.display()
                ))
            })?;
            for c in certs {
                let c = c.map_err(|e| {
                    tls_err(format!(
                        "sslrootcert {} is not a PEM certificate file ({e})",
                        path.display()
                    ))
                })?;
                store.add(c).map_err(|e| {
                    tls_err(format!(
                        "sslrootcert {} holds an unusable certificate ({e})",
                        path.display()
                    ))
                })?;
            }
            if store.is_empty() {
                return Err(tls_err(format!(
                    "sslrootcert {} holds no certificate",
                    path.display()
                )));
            }
        }
    }
    Ok(store)
}

/// The OS's trust store where it is a PEM bundle (Linux: `SSL_CERT_FILE`, else the Debian,
/// RHEL/Fedora or SUSE bundle), so a clinic CA installed with `update-ca-certificates` is
/// trusted as libpq's `sslrootcert=system` would; elsewhere (Windows, macOS), and when no
/// bundle is readable, Mozilla's list (webpki-roots).
fn system_roots(store: &mut RootCertStore) {
    #[cfg(target_os = "linux")]
    let bundles: Vec<std::path::PathBuf> = std::env::var_os("SSL_CERT_FILE")
        .map(std::path::PathBuf::from)
        .into_iter()
        .chain(
            [
                "/etc/ssl/certs/ca-certificates.crt",
                "/etc/pki/tls/certs/ca-bundle.crt",
                "/etc/ssl/ca-bundle.pem",
            ]
            .iter()
            .map(std::path::PathBuf::from),
        )
        .collect();
    #[cfg(not(target_os = "linux"))]
    let bundles: Vec<std::path::PathBuf> = Vec::new();
    roots_from_bundles(store, &bundles);
}

/// The first bundle that yields a certificate, else Mozilla's roots.
fn roots_from_bundles(store: &mut RootCertStore, bundles: &[std::path::PathBuf]) {
    for bundle in bundles {
        let Ok(certs) = CertificateDer::pem_file_iter(bundle) else {
            continue;
        };
        let (added, _) = store.add_parsable_certificates(certs.flatten());
        if added > 0 {
            return;
        }
    }
    tracing::debug!("no system CA bundle found; using Mozilla's roots");
    store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
}

/// How TLS is set up for a target: the rustls configuration, and whether it checks the
/// server's certificate chain (which decides whether a cleartext or MD5 password may be sent).
#[derive(Clone)]
pub(crate) struct TlsPlan {
    pub config: Arc<ClientConfig>,
    pub verified: bool,
}

/// The TLS plan for this target, or `None` for `sslmode=disable`.
pub(crate) fn client_config(spec: &PgSpec) -> Result<Option<TlsPlan>, ImportError> {
    if spec.sslmode == SslMode::Disable {
        return Ok(None);
    }
    let provider = provider();
    let roots = match spec.sslmode {
        SslMode::VerifyCa | SslMode::VerifyFull => Some(load_roots(spec)?),
        SslMode::Require if spec.sslrootcert.is_some() => Some(load_roots(spec)?),
        _ => None,
    };
    let verified = roots.is_some();
    let verifier: Arc<dyn ServerCertVerifier> = match roots {
        None => Arc::new(AcceptAnyCert {
            provider: provider.clone(),
        }),
        Some(store) => {
            let webpki =
                WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
                    .build()
                    .map_err(|e| tls_err(format!("cannot use sslrootcert ({e})")))?;
            if spec.sslmode == SslMode::VerifyFull {
                webpki
            } else {
                Arc::new(ChainOnly { inner: webpki })
            }
        }
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err(format!("TLS setup failed ({e})")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Some(TlsPlan {
        config: Arc::new(config),
        verified,
    }))
}

/// `prefer` / `require` without a root certificate: encrypted, not authenticated (as libpq).
#[derive(Debug)]
struct AcceptAnyCert {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to the root certificate; the host name is not checked.
#[derive(Debug)]
struct ChainOnly {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The TLS handshake on a stream whose SSLRequest the server accepted (`S`), for `host`.
pub(crate) async fn handshake<S>(
    config: Arc<ClientConfig>,
    host: &str,
    stream: S,
) -> io::Result<(tokio_rustls::client::TlsStream<S>, Option<Vec<u8>>)>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, stream)
        .await?;
    let binding = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .and_then(|c| tls_server_end_point(c.as_ref()));
    Ok((tls, binding))
}

/// RFC 5929 `tls-server-end-point`: the server certificate hashed with its signature's hash
/// (SHA-256 for MD5 and SHA-1), for SCRAM-SHA-256-PLUS, which ties the password exchange to
/// this TLS session so a man in the middle cannot relay it. `None` for signature algorithms
/// without a defined binding (RSASSA-PSS, Ed25519): SCRAM then goes without it.
pub(crate) fn tls_server_end_point(cert_der: &[u8]) -> Option<Vec<u8>> {
    use sha2::Digest;
    const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
    const ECDSA_SHA2: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03];
    const ECDSA_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01];
    let oid = signature_algorithm_oid(cert_der)?;
    let hash = match oid {
        _ if oid == ECDSA_SHA1 => 256,
        [p @ .., last] if p == RSA => match last {
            0x04 | 0x05 | 0x0b => 256, // md5, sha1, sha256 with RSA
            0x0c => 384,
            0x0d => 512,
            _ => return None,
        },
        [p @ .., last] if p == ECDSA_SHA2 => match last {
            0x02 => 256,
            0x03 => 384,
            0x04 => 512,
            _ => return None,
        },
        _ => return None,
    };
    Some(match hash {
        256 => sha2::Sha256::digest(cert_der).to_vec(),
        384 => sha2::Sha384::digest(cert_der).to_vec(),
        _ => sha2::Sha512::digest(cert_der).to_vec(),
    })
}

/// The OID bytes of `Certificate.signatureAlgorithm` (DER: SEQUENCE { tbsCertificate,
/// signatureAlgorithm SEQUENCE { OID, … }, signature }).
fn signature_algorithm_oid(der: &[u8]) -> Option<&[u8]> {
    let (tag, cert, _) = der_tlv(der)?;
    if tag != 0x30 {
        return None;
    }
    let (_, _, after_tbs) = der_tlv(cert)?;
    let (tag, alg, _) = der_tlv(after_tbs)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, oid, _) = der_tlv(alg)?;
    (tag == 0x06).then_some(oid)
}

/// One DER tag-length-value: (tag, value, the bytes after it).
fn der_tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |a, &x| (a << 8) | x as usize);
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// tokio-postgres glue. TLS (or its refusal) is negotiated before tokio-postgres sees the
/// stream (`postgres/connect.rs`), so that the password guard can sit between the two; it is
/// told `sslnegotiation=direct` and handed this, which only wraps the stream and reports the
/// channel binding of the TLS session underneath (none for a plain connection).
pub(crate) struct Negotiated {
    pub channel_binding: Option<Vec<u8>>,
}

impl<S> TlsConnect<S> for Negotiated
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = NegotiatedStream<S>;
    type Error = io::Error;
    type Future = std::future::Ready<io::Result<NegotiatedStream<S>>>;

    fn connect(self, stream: S) -> Self::Future {
        std::future::ready(Ok(NegotiatedStream {
            inner: stream,
            channel_binding: self.channel_binding,
        }))
    }
}

pub(crate) struct NegotiatedStream<S> {
    inner: S,
    channel_binding: Option<Vec<u8>>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> tokio_postgres::tls::TlsStream for NegotiatedStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        match &self.channel_binding {
            Some(b) => ChannelBinding::tls_server_end_point(b.clone()),
            None => ChannelBinding::none(),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for NegotiatedStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for NegotiatedStream<S> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_roots_come_from_the_first_readable_bundle_else_mozilla() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.crt");
        let mut fallback = RootCertStore::empty();
        roots_from_bundles(&mut fallback, std::slice::from_ref(&missing));
        assert_eq!(fallback.len(), webpki_roots::TLS_SERVER_ROOTS.len());
        if let Some(ca) = ["/etc/ssl/certs/ca-certificates.crt"]
            .iter()
            .map(std::path::PathBuf::from)
            .find(|p| p.exists())
        {
            let in_bundle = std::fs::read_to_string(&ca)
                .unwrap()
                .matches("BEGIN CERTIFICATE")
                .count();
            let mut store = RootCertStore::empty();
            roots_from_bundles(&mut store, &[missing, ca]);
            // Every certificate of the OS bundle (at most a few it cannot parse), not Mozilla's.
            assert!(store.len() <= in_bundle && store.len() + 5 >= in_bundle);
        }
    }

    /// A DER certificate reduced to what the binding reads: an empty tbsCertificate and the
    /// signature algorithm.
    fn cert_with(oid: &[u8]) -> Vec<u8> {
        let mut alg = vec![0x06, oid.len() as u8];
        alg.extend_from_slice(oid);
        let mut body = vec![0x30, 0x00, 0x30, alg.len() as u8];
        body.extend_from_slice(&alg);
        body.extend_from_slice(&[0x03, 0x01, 0x00]);
        let mut der = vec![0x30, body.len() as u8];
        der.extend_from_slice(&body);
        der
    }

    #[test]
    fn channel_binding_hashes_with_the_signature_hash() {
        let sha256_rsa = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
        let sha384_ecdsa = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];
        let sha1_rsa = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05];
        let pss = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
        let ed25519 = [0x2b, 0x65, 0x70];
        let len = |oid: &[u8]| tls_server_end_point(&cert_with(oid)).map(|h| h.len());
        assert_eq!(len(&sha256_rsa), Some(32));
        assert_eq!(len(&sha1_rsa), Some(32), "SHA-1 is bound with SHA-256");
        assert_eq!(len(&sha384_ecdsa), Some(48));
        assert_eq!(len(&pss), None);
        assert_eq!(len(&ed25519), None);
        assert_eq!(tls_server_end_point(b"not der"), None);
        assert_eq!(tls_server_end_point(&[0x30, 0x82, 0xff]), None);
    }
}
