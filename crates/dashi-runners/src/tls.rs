//! TLS client settings for database connections and HTTP sources, on rustls with the ring
//! provider chosen explicitly (no process-wide default is installed or needed).
//!
//! Three levels, as PostgreSQL's `sslmode` names them: encrypt only (`require`: any
//! certificate), verify the chain (`verify-ca`), verify chain and host name (`verify-full`).

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use crate::error::{Error, Result};

/// How much of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verify {
    /// Encrypt, accept any certificate.
    Nothing,
    /// The chain must lead to a trusted root; the host name is not checked.
    Chain,
    /// Chain and host name.
    Full,
}

/// PEM material from a data source's options (already decoded from Redash's base64 fields).
#[derive(Debug, Clone, Default)]
pub(crate) struct Material {
    /// Trusted roots; the bundled public roots when `None`.
    pub(crate) roots_pem: Option<Vec<u8>>,
    /// A client certificate chain and its key, for servers that ask for one.
    pub(crate) client_pem: Option<(Vec<u8>, Vec<u8>)>,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client config for `verify` with `material`; `option` names the field blamed for bad PEM.
pub(crate) fn client_config(
    verify: Verify,
    material: &Material,
    option: &str,
) -> Result<ClientConfig> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|error| Error::Internal(format!("TLS protocol versions: {error}")))?;
    let mut roots = RootCertStore::empty();
    match &material.roots_pem {
        Some(pem) => {
            for certificate in CertificateDer::pem_slice_iter(pem) {
                let certificate = certificate
                    .map_err(|_| Error::invalid_option(option, "is not a PEM certificate"))?;
                roots
                    .add(certificate)
                    .map_err(|_| Error::invalid_option(option, "holds an unusable certificate"))?;
            }
            if roots.is_empty() {
                return Err(Error::invalid_option(option, "holds no certificate"));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let roots = Arc::new(roots);
    let builder = match verify {
        Verify::Full => builder.with_root_certificates(roots),
        Verify::Chain | Verify::Nothing => {
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&provider))
                .build()
                .map_err(|error| Error::Internal(format!("TLS verifier: {error}")))?;
            let verifier = Lenient {
                webpki,
                algorithms: provider.signature_verification_algorithms,
                check_chain: verify == Verify::Chain,
            };
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
        }
    };
    match &material.client_pem {
        None => Ok(builder.with_no_client_auth()),
        Some((chain_pem, key_pem)) => {
            let chain = CertificateDer::pem_slice_iter(chain_pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| Error::invalid_option(option, "client certificate is not PEM"))?;
            let key = PrivateKeyDer::from_pem_slice(key_pem)
                .map_err(|_| Error::invalid_option(option, "client key is not PEM"))?;
            builder.with_client_auth_cert(chain, key).map_err(|error| {
                Error::invalid_option(option, format!("client certificate: {error}"))
            })
        }
    }
}

/// Checks signatures always, the chain only when asked, the host name never.
#[derive(Debug)]
struct Lenient {
    webpki: Arc<WebPkiServerVerifier>,
    algorithms: WebPkiSupportedAlgorithms,
    check_chain: bool,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if !self.check_chain {
            return Ok(ServerCertVerified::assertion());
        }
        match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(verified) => Ok(verified),
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            Err(error) => Err(error),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, certificate, signature, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, certificate, signature, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
