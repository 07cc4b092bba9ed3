//! TLS: `sslmode` semantics on top of rustls (with the `ring` provider).
//!
//! tokio-postgres itself only knows `disable`, `prefer` and `require`, which
//! decide whether TLS is attempted. Certificate checking is done by the
//! rustls configuration handed to [`MakeRustlsConnect`]:
//!
//! | sslmode     | wire mode | certificate check                                      |
//! |-------------|-----------|--------------------------------------------------------|
//! | disable     | disable   | (no TLS)                                               |
//! | prefer      | prefer    | none                                                   |
//! | require     | require   | none, or the chain if `sslrootcert` is given           |
//! | verify-ca   | require   | chain against `sslrootcert`, else the system roots     |
//! | verify-full | require   | chain and host name                                    |
//!
//! "None" still checks the handshake signature against the presented
//! certificate; it only skips trusting that certificate. When every host is a
//! Unix socket the wire mode is always `disable`.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::dsn::RootCert;
use crate::error::{ConnectError, DsnError};

/// The libpq `sslmode` values this crate supports.
///
/// `allow` is not supported (tokio-postgres cannot try plain text first);
/// it is rejected like any unknown value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SslMode {
    /// Never use TLS.
    Disable,
    /// Use TLS if the server offers it, without checking its certificate;
    /// otherwise connect in plain text. The default.
    #[default]
    Prefer,
    /// Always use TLS. The certificate is not checked unless `sslrootcert`
    /// is given, in which case its chain is checked as for `verify-ca`.
    Require,
    /// Always use TLS and check that the certificate chains to a trusted
    /// root (`sslrootcert`, or the system roots), but not the host name.
    VerifyCa,
    /// Always use TLS and check the certificate chain and the host name.
    VerifyFull,
}

impl SslMode {
    /// The libpq spelling, e.g. `verify-full`.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// True for `require`, `verify-ca` and `verify-full`.
    pub fn requires_tls(self) -> bool {
        matches!(
            self,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull
        )
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SslMode {
    type Err = DsnError;

    /// Parses a libpq sslmode name (ASCII case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "disable" => Ok(SslMode::Disable),
            "prefer" => Ok(SslMode::Prefer),
            "require" => Ok(SslMode::Require),
            "verify-ca" => Ok(SslMode::VerifyCa),
            "verify-full" => Ok(SslMode::VerifyFull),
            _ => Err(DsnError::UnknownSslMode),
        }
    }
}

/// How the server certificate is checked when TLS is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertVerification {
    /// TLS is never used (`sslmode=disable`, or only Unix-socket hosts).
    NoTls,
    /// Any certificate is accepted (handshake signatures are still checked).
    None,
    /// The chain must lead to a trusted root; the host name is not checked.
    Chain,
    /// The chain must lead to a trusted root and name the host.
    ChainAndHostname,
}

/// The TLS decision for one configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsPlan {
    /// What tokio-postgres is told.
    pub wire: tokio_postgres::config::SslMode,
    /// How certificates are checked.
    pub verification: CertVerification,
    /// The trusted roots, when certificates are checked.
    pub roots: Option<RootCert>,
}

/// Maps an sslmode (plus `sslrootcert` and host kinds) to a [`TlsPlan`].
pub(crate) fn plan(mode: SslMode, rootcert: Option<&RootCert>, all_unix: bool) -> TlsPlan {
    use tokio_postgres::config::SslMode as Wire;
    if all_unix || mode == SslMode::Disable {
        return TlsPlan {
            wire: Wire::Disable,
            verification: CertVerification::NoTls,
            roots: None,
        };
    }
    let roots = || Some(rootcert.cloned().unwrap_or(RootCert::System));
    match mode {
        SslMode::Disable | SslMode::Prefer => TlsPlan {
            wire: Wire::Prefer,
            verification: CertVerification::None,
            roots: None,
        },
        SslMode::Require => match rootcert {
            Some(root) => TlsPlan {
                wire: Wire::Require,
                verification: CertVerification::Chain,
                roots: Some(root.clone()),
            },
            None => TlsPlan {
                wire: Wire::Require,
                verification: CertVerification::None,
                roots: None,
            },
        },
        SslMode::VerifyCa => TlsPlan {
            wire: Wire::Require,
            verification: CertVerification::Chain,
            roots: roots(),
        },
        SslMode::VerifyFull => TlsPlan {
            wire: Wire::Require,
            verification: CertVerification::ChainAndHostname,
            roots: roots(),
        },
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Loads trusted roots from a PEM file or the system store.
///
/// The system store is the platform's (via `rustls-native-certs`); if it
/// yields no certificate, the Mozilla roots bundled by `webpki-roots` are
/// used. It is loaded once per process; a PEM file is read on every call.
pub(crate) fn load_roots(source: &RootCert) -> Result<Arc<RootCertStore>, ConnectError> {
    static SYSTEM: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    match source {
        RootCert::File(path) => {
            let pem = std::fs::read(path).map_err(|source| ConnectError::RootCertRead {
                path: path.clone(),
                source,
            })?;
            let mut roots = RootCertStore::empty();
            load_pem(&mut roots, path, &pem)?;
            Ok(Arc::new(roots))
        }
        RootCert::System => {
            let roots = SYSTEM.get_or_init(|| {
                let mut roots = RootCertStore::empty();
                let native = rustls_native_certs::load_native_certs();
                let (added, _ignored) = roots.add_parsable_certificates(native.certs);
                if added == 0 {
                    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                }
                Arc::new(roots)
            });
            if roots.is_empty() {
                return Err(ConnectError::NoRootCerts);
            }
            Ok(Arc::clone(roots))
        }
    }
}

fn load_pem(roots: &mut RootCertStore, path: &Path, pem: &[u8]) -> Result<(), ConnectError> {
    let invalid = |reason: String| ConnectError::RootCertInvalid {
        path: path.to_path_buf(),
        reason,
    };
    let mut count = 0usize;
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| invalid(format!("bad PEM: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| invalid(format!("unusable certificate: {e}")))?;
        count += 1;
    }
    if count == 0 {
        return Err(ConnectError::RootCertEmpty {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// Builds the rustls client configuration for a plan.
pub(crate) fn client_config(plan: &TlsPlan) -> Result<ClientConfig, ConnectError> {
    let provider = provider();
    let algorithms = provider.signature_verification_algorithms;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(ConnectError::Tls)?;
    let load = || load_roots(plan.roots.as_ref().unwrap_or(&RootCert::System));
    let mut config = match plan.verification {
        CertVerification::NoTls | CertVerification::None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(WithoutHostname {
                roots: None,
                algorithms,
            }))
            .with_no_client_auth(),
        CertVerification::Chain => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(WithoutHostname {
                roots: Some(load()?),
                algorithms,
            }))
            .with_no_client_auth(),
        CertVerification::ChainAndHostname => builder
            .with_root_certificates(load()?)
            .with_no_client_auth(),
    };
    // PostgreSQL 17 requires this ALPN protocol for direct TLS negotiation;
    // older servers ignore it.
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(config)
}

/// Builds the tokio-postgres TLS connector for a plan.
pub(crate) fn connector(plan: &TlsPlan) -> Result<MakeRustlsConnect, ConnectError> {
    Ok(MakeRustlsConnect::new(client_config(plan)?))
}

/// A server certificate check that ignores the host name, always verifying handshake
/// signatures: with `roots`, the certificate must chain to one of them (libpq's `verify-ca`);
/// without, any certificate is accepted (libpq's `prefer`/`require` without `sslrootcert`).
#[derive(Debug)]
struct WithoutHostname {
    roots: Option<Arc<RootCertStore>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for WithoutHostname {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_cert_signed_by_trust_anchor(
                &cert,
                roots,
                intermediates,
                now,
                self.algorithms.all,
            )?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use tokio_postgres::config::SslMode as Wire;

    #[test]
    fn sslmode_round_trip() {
        for mode in [
            SslMode::Disable,
            SslMode::Prefer,
            SslMode::Require,
            SslMode::VerifyCa,
            SslMode::VerifyFull,
        ] {
            assert_eq!(mode.as_str().parse::<SslMode>(), Ok(mode));
            assert_eq!(mode.to_string().to_uppercase().parse::<SslMode>(), Ok(mode));
        }
        assert_eq!("allow".parse::<SslMode>(), Err(DsnError::UnknownSslMode));
        assert_eq!("".parse::<SslMode>(), Err(DsnError::UnknownSslMode));
        assert_eq!(SslMode::default(), SslMode::Prefer);
    }

    #[test]
    fn plan_matrix() {
        let file = RootCert::File(PathBuf::from("/etc/ca.pem"));
        let cases = [
            (
                SslMode::Disable,
                None,
                false,
                Wire::Disable,
                CertVerification::NoTls,
                None,
            ),
            (
                SslMode::Prefer,
                None,
                false,
                Wire::Prefer,
                CertVerification::None,
                None,
            ),
            (
                SslMode::Prefer,
                Some(&file),
                false,
                Wire::Prefer,
                CertVerification::None,
                None,
            ),
            (
                SslMode::Require,
                None,
                false,
                Wire::Require,
                CertVerification::None,
                None,
            ),
            (
                SslMode::Require,
                Some(&file),
                false,
                Wire::Require,
                CertVerification::Chain,
                Some(file.clone()),
            ),
            (
                SslMode::VerifyCa,
                None,
                false,
                Wire::Require,
                CertVerification::Chain,
                Some(RootCert::System),
            ),
            (
                SslMode::VerifyCa,
                Some(&file),
                false,
                Wire::Require,
                CertVerification::Chain,
                Some(file.clone()),
            ),
            (
                SslMode::VerifyFull,
                None,
                false,
                Wire::Require,
                CertVerification::ChainAndHostname,
                Some(RootCert::System),
            ),
            (
                SslMode::VerifyFull,
                Some(&file),
                false,
                Wire::Require,
                CertVerification::ChainAndHostname,
                Some(file.clone()),
            ),
            (
                SslMode::VerifyFull,
                Some(&file),
                true,
                Wire::Disable,
                CertVerification::NoTls,
                None,
            ),
            (
                SslMode::Require,
                None,
                true,
                Wire::Disable,
                CertVerification::NoTls,
                None,
            ),
        ];
        for (mode, root, unix, wire, verification, roots) in cases {
            let got = plan(mode, root, unix);
            assert_eq!(
                got,
                TlsPlan {
                    wire,
                    verification,
                    roots
                },
                "{mode} root={root:?} unix={unix}"
            );
        }
    }

    #[test]
    fn client_configs_build_for_every_verification() {
        for verification in [
            CertVerification::NoTls,
            CertVerification::None,
            CertVerification::Chain,
            CertVerification::ChainAndHostname,
        ] {
            let plan = TlsPlan {
                wire: Wire::Require,
                verification,
                roots: Some(RootCert::System),
            };
            let config = client_config(&plan).expect("config builds");
            assert_eq!(config.alpn_protocols, vec![b"postgresql".to_vec()]);
        }
    }

    #[test]
    fn system_roots_are_never_empty() {
        let roots = load_roots(&RootCert::System).expect("roots");
        assert!(!roots.is_empty());
    }

    #[test]
    fn root_file_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        assert!(matches!(
            load_roots(&RootCert::File(missing)),
            Err(ConnectError::RootCertRead { .. })
        ));

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificates here\n").unwrap();
        assert!(matches!(
            load_roots(&RootCert::File(empty)),
            Err(ConnectError::RootCertEmpty { .. })
        ));

        let garbage = dir.path().join("garbage.pem");
        std::fs::write(
            &garbage,
            "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let err = load_roots(&RootCert::File(garbage)).unwrap_err();
        assert!(
            matches!(err, ConnectError::RootCertInvalid { .. }),
            "{err:?}"
        );
    }
}
