//! TLS for PostgreSQL over rustls (ring), honouring libpq's `sslmode`:
//!
//! | sslmode      | TLS                          | certificate checked                        |
//! |--------------|------------------------------|--------------------------------------------|
//! | disable      | never                        | –                                          |
//! | prefer       | if the server offers it      | no                                         |
//! | require      | always                       | no, or chain only when `sslrootcert` given |
//! | verify-ca    | always                       | chain against `sslrootcert`                |
//! | verify-full  | always                       | chain and host name                        |

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
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_err(msg: impl Into<String>) -> ImportError {
    ImportError::Tls(msg.into())
}

fn load_roots(spec: &PgSpec) -> Result<Option<RootCertStore>, ImportError> {
    let src = match &spec.sslrootcert {
        Some(r) => Some(r.clone()),
        None => {
            // libpq's default location.
            let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
            home.map(|h| h.join(".postgresql/root.crt"))
                .filter(|p| p.exists())
                .map(RootCert::File)
        }
    };
    let mut store = RootCertStore::empty();
    match src {
        None => return Ok(None),
        Some(RootCert::System) => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(RootCert::File(path)) => {
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
    Ok(Some(store))
}

/// The rustls configuration for this target, or `None` for `sslmode=disable`.
pub(crate) fn client_config(spec: &PgSpec) -> Result<Option<Arc<ClientConfig>>, ImportError> {
    if spec.sslmode == SslMode::Disable {
        return Ok(None);
    }
    let provider = provider();
    let roots = match spec.sslmode {
        SslMode::VerifyCa | SslMode::VerifyFull => Some(load_roots(spec)?.ok_or_else(|| {
            tls_err(format!(
                "sslmode={} needs the server's CA certificate: add sslrootcert=/path/to/ca.crt (or sslrootcert=system) to the target",
                spec.sslmode.as_str()
            ))
        })?),
        SslMode::Require if spec.sslrootcert.is_some() => load_roots(spec)?,
        _ => None,
    };
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
    Ok(Some(Arc::new(config)))
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

/// tokio-postgres glue (a few lines instead of another crate and its second sha2).
#[derive(Clone)]
pub(crate) struct MakeRustls(pub Arc<ClientConfig>);

pub(crate) struct RustlsConnect {
    name: ServerName<'static>,
    connector: tokio_rustls::TlsConnector,
}

impl<S> MakeTlsConnect<S> for MakeRustls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnect, io::Error> {
        let name = ServerName::try_from(domain.to_string())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        Ok(RustlsConnect {
            name,
            connector: tokio_rustls::TlsConnector::from(self.0.clone()),
        })
    }
}

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            self.connector
                .connect(self.name, stream)
                .await
                .map(RustlsStream)
        })
    }
}

pub(crate) struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> tokio_postgres::tls::TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
