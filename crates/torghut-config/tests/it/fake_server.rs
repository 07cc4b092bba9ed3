//! A minimal PostgreSQL server stand-in: it answers the SSL request (with
//! `S` and a real rustls handshake, or with `N`), reads the startup message,
//! asks for a cleartext password, records it and then rejects the login.
//!
//! That is enough to observe what the client negotiated without a real
//! server: a `28P01` error back at the client means the TLS handshake (if
//! any) succeeded.

use std::io;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;

const SSL_REQUEST: i32 = 80_877_103;
const PROTOCOL_3_0: i32 = 196_608;

/// What the fake server saw.
#[derive(Debug, Default, Clone)]
pub struct Observed {
    pub ssl_request: bool,
    pub tls: bool,
    pub user: Option<String>,
    pub database: Option<String>,
    pub password: Option<String>,
}

/// A test CA and a server certificate for `localhost` signed by it.
pub struct TestPki {
    pub ca_pem: String,
    pub acceptor: TlsAcceptor,
}

impl TestPki {
    pub fn new() -> TestPki {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "torghut test CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = ca_params.self_signed(&ca_key).unwrap();

        let leaf_key = KeyPair::generate().unwrap();
        let mut leaf_params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let leaf = leaf_params.signed_by(&leaf_key, &ca, &ca_key).unwrap();

        let chain: Vec<CertificateDer<'static>> = vec![leaf.der().clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
        config.alpn_protocols = vec![b"postgresql".to_vec()];
        TestPki {
            ca_pem: ca.pem(),
            acceptor: TlsAcceptor::from(Arc::new(config)),
        }
    }
}

async fn read_message<S: AsyncRead + Unpin>(stream: &mut S) -> io::Result<Vec<u8>> {
    let len = stream.read_i32().await?;
    if !(4..=10_000).contains(&len) {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "bad length"));
    }
    let mut body = vec![0; usize::try_from(len).unwrap() - 4];
    stream.read_exact(&mut body).await?;
    Ok(body)
}

fn startup_params(body: &[u8]) -> Vec<(String, String)> {
    let strings: Vec<String> = body[4..]
        .split(|b| *b == 0)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    strings
        .chunks(2)
        .filter(|pair| pair.len() == 2 && !pair[0].is_empty())
        .map(|pair| (pair[0].clone(), pair[1].clone()))
        .collect()
}

async fn login<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    startup: &[u8],
    observed: &mut Observed,
) -> io::Result<()> {
    let protocol = i32::from_be_bytes(startup[..4].try_into().unwrap());
    assert_eq!(protocol, PROTOCOL_3_0, "unexpected startup message");
    for (key, value) in startup_params(startup) {
        match key.as_str() {
            "user" => observed.user = Some(value),
            "database" => observed.database = Some(value),
            _ => {}
        }
    }
    // AuthenticationCleartextPassword.
    stream.write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 3]).await?;
    stream.flush().await?;
    let tag = stream.read_u8().await?;
    assert_eq!(tag, b'p', "expected a password message");
    let body = read_message(stream).await?;
    let password = body.split(|b| *b == 0).next().unwrap_or_default();
    observed.password = Some(String::from_utf8_lossy(password).into_owned());

    let user = observed.user.clone().unwrap_or_default();
    let mut fields = Vec::new();
    for (code, text) in [
        (b'S', "FATAL".to_owned()),
        (b'V', "FATAL".to_owned()),
        (b'C', "28P01".to_owned()),
        (
            b'M',
            format!("password authentication failed for user \"{user}\""),
        ),
    ] {
        fields.push(code);
        fields.extend_from_slice(text.as_bytes());
        fields.push(0);
    }
    fields.push(0);
    let mut message = vec![b'E'];
    message.extend_from_slice(&(i32::try_from(fields.len()).unwrap() + 4).to_be_bytes());
    message.extend_from_slice(&fields);
    stream.write_all(&message).await?;
    stream.flush().await?;
    Ok(())
}

/// Serves one client on an accepted stream.
pub async fn serve<S>(mut stream: S, tls: Option<TlsAcceptor>) -> io::Result<Observed>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut observed = Observed::default();
    let first = read_message(&mut stream).await?;
    let code = i32::from_be_bytes(first[..4].try_into().unwrap());
    if code != SSL_REQUEST {
        login(&mut stream, &first, &mut observed).await?;
        return Ok(observed);
    }
    observed.ssl_request = true;
    match tls {
        Some(acceptor) => {
            stream.write_all(b"S").await?;
            stream.flush().await?;
            let mut tls_stream = acceptor.accept(stream).await?;
            observed.tls = true;
            let startup = read_message(&mut tls_stream).await?;
            login(&mut tls_stream, &startup, &mut observed).await?;
        }
        None => {
            stream.write_all(b"N").await?;
            stream.flush().await?;
            let startup = read_message(&mut stream).await?;
            login(&mut stream, &startup, &mut observed).await?;
        }
    }
    Ok(observed)
}
