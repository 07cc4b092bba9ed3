//! Parsing, redaction and error-text tests (no database needed).

use std::path::Path;
use std::time::Duration;

use proptest::prelude::*;
use secrecy::{ExposeSecret, SecretString};
use tokio_postgres::config::{Host, SslMode as Wire, TargetSessionAttrs};

use crate::error::{Component, KeyLocation};
use crate::{redact_dsn, CertVerification, DbConfig, DsnError, SslMode};

fn parse(dsn: &str) -> DbConfig {
    DbConfig::parse(dsn).unwrap_or_else(|e| panic!("{dsn:?} should parse: {e}"))
}

fn err(dsn: &str) -> DsnError {
    match DbConfig::parse(dsn) {
        Ok(cfg) => panic!("{dsn:?} should not parse, got {cfg}"),
        Err(e) => e,
    }
}

fn password(cfg: &DbConfig) -> Option<&str> {
    cfg.password().map(|p| p.expose_secret())
}

fn tcp_hosts(cfg: &DbConfig) -> Vec<String> {
    cfg.pg_config()
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Tcp(name) => name.clone(),
            Host::Unix(path) => format!("unix:{}", path.display()),
        })
        .collect()
}

#[test]
fn plain_url() {
    let cfg = parse("postgresql://torghut_app:s3cret@db.example.com:6543/torghut");
    assert_eq!(cfg.user(), "torghut_app");
    assert_eq!(password(&cfg), Some("s3cret"));
    assert_eq!(cfg.dbname(), "torghut");
    assert_eq!(cfg.sslmode(), SslMode::Prefer);
    assert_eq!(cfg.host_description(), "db.example.com:6543");
    let pg = cfg.pg_config();
    assert_eq!(tcp_hosts(&cfg), ["db.example.com"]);
    assert_eq!(pg.get_ports(), [6543]);
    assert_eq!(pg.get_user(), Some("torghut_app"));
    assert_eq!(pg.get_password(), Some(&b"s3cret"[..]));
    assert_eq!(pg.get_dbname(), Some("torghut"));
    assert_eq!(pg.get_ssl_mode(), Wire::Prefer);
    assert_eq!(
        cfg.to_string(),
        "postgresql://torghut_app:***@db.example.com:6543/torghut"
    );
    assert_eq!(
        format!("{cfg:?}"),
        "DbConfig(\"postgresql://torghut_app:***@db.example.com:6543/torghut\")"
    );
}

#[test]
fn scheme_spellings() {
    for scheme in ["postgres", "postgresql", "POSTGRESQL", "Postgres"] {
        let cfg = parse(&format!("{scheme}://u:p@h/d"));
        assert_eq!(cfg.to_string(), "postgresql://u:***@h:5432/d");
    }
}

#[test]
fn percent_encoded_components() {
    let cfg = parse("postgresql://us%65r:p%40ss%3Aw%2Frd%25%20x@h/my%20db");
    assert_eq!(cfg.user(), "user");
    assert_eq!(password(&cfg), Some("p@ss:w/rd% x"));
    assert_eq!(cfg.dbname(), "my db");
    assert_eq!(cfg.to_string(), "postgresql://user:***@h:5432/my%20db");
    // `+` is a literal plus, not a space.
    assert_eq!(password(&parse("postgresql://u:a+b@h/d")), Some("a+b"));
}

#[test]
fn unescaped_at_in_password_is_tolerated() {
    let cfg = parse("postgresql://app:p@ss@db/app");
    assert_eq!(password(&cfg), Some("p@ss"));
    assert_eq!(cfg.host_description(), "db:5432");
}

#[test]
fn query_parameters() {
    let cfg = parse(
        "postgresql://u:p@h/d?sslmode=verify-full&sslrootcert=/etc/ca.pem&connect_timeout=7\
         &application_name=torghut%20api&options=-c%20search_path%3Dtorghut\
         &target_session_attrs=read-write&keepalives=1&keepalives_idle=30&gssencmode=disable",
    );
    assert_eq!(cfg.sslmode(), SslMode::VerifyFull);
    assert_eq!(cfg.sslrootcert(), Some(Path::new("/etc/ca.pem")));
    assert_eq!(cfg.cert_verification(), CertVerification::ChainAndHostname);
    let pg = cfg.pg_config();
    assert_eq!(pg.get_ssl_mode(), Wire::Require);
    assert_eq!(pg.get_connect_timeout(), Some(&Duration::from_secs(7)));
    assert_eq!(pg.get_application_name(), Some("torghut api"));
    assert_eq!(pg.get_options(), Some("-c search_path=torghut"));
    assert_eq!(pg.get_target_session_attrs(), TargetSessionAttrs::ReadWrite);
    assert_eq!(pg.get_keepalives_idle(), Duration::from_secs(30));
    assert_eq!(
        cfg.to_string(),
        "postgresql://u:***@h:5432/d?sslmode=verify-full&sslrootcert=/etc/ca.pem\
         &connect_timeout=7&application_name=torghut%20api\
         &options=-c%20search_path%3Dtorghut&keepalives=1&keepalives_idle=30\
         &target_session_attrs=read-write"
    );
}

#[test]
fn query_overrides_url_parts() {
    let cfg = parse("postgresql://a:b@h:1/d?user=u2&password=p2&dbname=d2&host=h2&port=2");
    assert_eq!(cfg.user(), "u2");
    assert_eq!(password(&cfg), Some("p2"));
    assert_eq!(cfg.dbname(), "d2");
    assert_eq!(cfg.host_description(), "h2:2");
}

#[test]
fn unix_sockets() {
    for dsn in [
        "postgresql://app@/torghut?host=/run/postgresql",
        "postgresql://app@%2Frun%2Fpostgresql/torghut",
        "postgresql:///torghut?host=/run/postgresql&user=app",
        "host=/run/postgresql user=app dbname=torghut",
    ] {
        let cfg = parse(dsn);
        assert_eq!(tcp_hosts(&cfg), ["unix:/run/postgresql"], "{dsn}");
        assert_eq!(cfg.host_description(), "/run/postgresql/.s.PGSQL.5432");
        assert_eq!(
            cfg.to_string(),
            "postgresql://app@/torghut?host=/run/postgresql&port=5432"
        );
        // TLS is never used over Unix sockets, whatever the sslmode.
        assert_eq!(cfg.pg_config().get_ssl_mode(), Wire::Disable);
        assert_eq!(cfg.cert_verification(), CertVerification::NoTls);
    }
    let cfg = parse("postgresql://app@/torghut?host=/tmp&port=5433&sslmode=verify-full");
    assert_eq!(cfg.sslmode(), SslMode::VerifyFull);
    assert_eq!(cfg.pg_config().get_ssl_mode(), Wire::Disable);
    assert_eq!(cfg.host_description(), "/tmp/.s.PGSQL.5433");
}

#[test]
fn ipv6_hosts() {
    let cfg = parse("postgresql://u:p@[::1]:5433/d");
    assert_eq!(tcp_hosts(&cfg), ["::1"]);
    assert_eq!(cfg.pg_config().get_ports(), [5433]);
    assert_eq!(cfg.host_description(), "[::1]:5433");
    assert_eq!(cfg.to_string(), "postgresql://u:***@[::1]:5433/d");
    let cfg = parse("postgresql://u@[2001:db8::7]/d");
    assert_eq!(cfg.host_description(), "[2001:db8::7]:5432");
    let cfg = parse("host=::1 user=u");
    assert_eq!(cfg.host_description(), "[::1]:5432");
    assert_eq!(
        err("postgresql://u@[::1/d"),
        DsnError::InvalidHost {
            reason: "IPv6 address is missing its closing `]`"
        }
    );
    assert!(matches!(
        err("postgresql://u@[not-ipv6]/d"),
        DsnError::InvalidHost { .. }
    ));
    assert!(matches!(
        err("postgresql://u@[::1]x/d"),
        DsnError::InvalidHost { .. }
    ));
}

#[test]
fn multiple_hosts() {
    let cfg = parse("postgresql://u@h1:5432,h2:5433,[::1]/d?target_session_attrs=read-write");
    assert_eq!(tcp_hosts(&cfg), ["h1", "h2", "::1"]);
    assert_eq!(cfg.pg_config().get_ports(), [5432, 5433, 5432]);
    assert_eq!(cfg.host_description(), "h1:5432,h2:5433,[::1]:5432");
    let cfg = parse("host=h1,h2 port=6000 user=u");
    assert_eq!(cfg.host_description(), "h1:6000,h2:6000");
    assert_eq!(
        err("host=h1,h2,h3 port=1,2 user=u"),
        DsnError::PortCountMismatch { hosts: 3, ports: 2 }
    );
    assert_eq!(err("postgresql://u@h1,,h2/d"), DsnError::EmptyHost);
    assert_eq!(err("host=h1,,h2 user=u"), DsnError::EmptyHost);
}

#[test]
fn hostaddr() {
    let cfg = parse("host=db.internal hostaddr=10.1.2.3 user=u");
    assert_eq!(
        cfg.pg_config().get_hostaddrs(),
        ["10.1.2.3".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(
        cfg.to_string(),
        "postgresql://u@db.internal:5432/u?hostaddr=10.1.2.3"
    );
    assert_eq!(
        err("host=a,b hostaddr=10.0.0.1 user=u"),
        DsnError::HostaddrCountMismatch {
            hosts: 2,
            hostaddrs: 1
        }
    );
    assert_eq!(
        err("host=a hostaddr=nope user=u"),
        DsnError::InvalidValue {
            key: "hostaddr",
            expected: "a comma-separated list of IP addresses"
        }
    );
}

#[test]
fn sqlalchemy_forms() {
    for driver in ["psycopg", "psycopg2", "asyncpg"] {
        let cfg = parse(&format!(
            "postgresql+{driver}://torghut:pw@db:5432/torghut?sslmode=require"
        ));
        assert_eq!(cfg.sslmode(), SslMode::Require, "{driver}");
        assert_eq!(
            cfg.to_string(),
            "postgresql://torghut:***@db:5432/torghut?sslmode=require"
        );
    }
    let asyncpg = |q: &str| parse(&format!("postgresql+asyncpg://u:p@h/d?{q}")).sslmode();
    assert_eq!(asyncpg("ssl=require"), SslMode::Require);
    assert_eq!(asyncpg("ssl=verify-full"), SslMode::VerifyFull);
    assert_eq!(asyncpg("ssl=verify-ca"), SslMode::VerifyCa);
    assert_eq!(asyncpg("ssl=disable"), SslMode::Disable);
    assert_eq!(asyncpg("ssl=prefer"), SslMode::Prefer);
    assert_eq!(asyncpg("ssl=true"), SslMode::Require);
    assert_eq!(asyncpg("ssl=false"), SslMode::Disable);
    assert_eq!(
        err("postgresql+asyncpg://u:p@h/d?ssl=bogus"),
        DsnError::UnknownSslMode
    );
    assert_eq!(
        parse("postgresql+asyncpg://u:p@h/x?database=d").dbname(),
        "d"
    );
    assert_eq!(parse("POSTGRES+PSYCOPG://u@h/d").user(), "u");
    // libpq's JDBC-compatible spelling.
    assert_eq!(
        parse("postgresql://u@h/d?ssl=true").sslmode(),
        SslMode::Require
    );
    assert!(matches!(
        err("postgresql://u@h/d?ssl=require"),
        DsnError::InvalidValue { key: "ssl", .. }
    ));
    assert!(matches!(
        err("postgresql+psycopg://u@h/x?database=d"),
        DsnError::UnknownKey { .. }
    ));
}

#[test]
fn unknown_scheme_and_driver() {
    assert_eq!(
        err("postgresql+foo://u@h/d"),
        DsnError::UnknownDriver { driver: None }
    );
    assert_eq!(
        err("postgresql+pg8000://u@h/d"),
        DsnError::UnknownDriver {
            driver: Some("pg8000".into())
        }
    );
    assert_eq!(
        err("postgresql+://u@h/d"),
        DsnError::UnknownDriver { driver: None }
    );
    assert_eq!(
        err("mysql://u:p@h/d"),
        DsnError::UnknownScheme {
            scheme: Some("mysql".into())
        }
    );
    assert_eq!(
        err("jdbc:postgresql://h/d?user=u&password=p"),
        DsnError::UnknownScheme { scheme: None }
    );
    assert_eq!(
        err("MySQL://u@h/d").to_string(),
        "unknown URL scheme `mysql`: expected postgresql://, postgres:// or postgresql+<driver>://"
    );
    assert_eq!(
        err("mysql+asyncpg://u@h/d"),
        DsnError::UnknownScheme { scheme: None }
    );
    assert_eq!(
        err("postgresql+pg8000://u@h/d").to_string(),
        "unknown SQLAlchemy driver `pg8000` in the URL scheme: expected psycopg, psycopg2 or asyncpg"
    );
    assert_eq!(
        err("postgresql+foo://u@h/d").to_string(),
        "unknown SQLAlchemy driver in the URL scheme: expected psycopg, psycopg2 or asyncpg"
    );
}

#[test]
fn cloudnativepg_uris() {
    let cfg = parse("postgresql://app:p%40ss@torghut-db-rw.torghut:5432/app");
    assert_eq!(password(&cfg), Some("p@ss"));
    assert_eq!(cfg.host_description(), "torghut-db-rw.torghut:5432");
    assert_eq!(cfg.dbname(), "app");
    assert_eq!(cfg.sslmode(), SslMode::Prefer);

    let cfg = parse("postgresql://app:pw@torghut-db-rw.torghut.svc/app");
    assert_eq!(cfg.host_description(), "torghut-db-rw.torghut.svc:5432");

    let cfg = parse(
        "postgresql://app:pw@torghut-db-rw.torghut.svc.cluster.local:5432/app?sslmode=require",
    );
    assert_eq!(cfg.sslmode(), SslMode::Require);
    assert_eq!(cfg.cert_verification(), CertVerification::None);

    let cfg = parse(
        "postgresql://app:pw@torghut-db-rw:5432/app?sslmode=verify-full\
         &sslrootcert=/etc/torghut/db-ca/ca.crt",
    );
    assert_eq!(cfg.cert_verification(), CertVerification::ChainAndHostname);
    assert_eq!(
        cfg.sslrootcert(),
        Some(Path::new("/etc/torghut/db-ca/ca.crt"))
    );

    // A trailing newline, as in a mounted secret file.
    assert_eq!(parse("postgresql://app:pw@h/app\n").dbname(), "app");
}

#[test]
fn key_value_strings() {
    let cfg = parse(
        r"host=db port = 5433 dbname='my db' user=app password='it\'s a \\ secret' sslmode=require",
    );
    assert_eq!(cfg.host_description(), "db:5433");
    assert_eq!(cfg.dbname(), "my db");
    assert_eq!(cfg.user(), "app");
    assert_eq!(password(&cfg), Some(r"it's a \ secret"));
    assert_eq!(cfg.sslmode(), SslMode::Require);
    assert_eq!(
        cfg.to_string(),
        "postgresql://app:***@db:5433/my%20db?sslmode=require"
    );

    // Backslash escapes outside quotes too; empty quoted values.
    let cfg = parse(r"host=db user=app password=a\ b\'c application_name=''");
    assert_eq!(password(&cfg), Some("a b'c"));
    assert_eq!(cfg.application_name(), None);

    // Leading/trailing whitespace and tabs/newlines between pairs.
    let cfg = parse("  host=db\n\tuser=app   ");
    assert_eq!(cfg.user(), "app");

    // Later values win, as in libpq.
    assert_eq!(parse("host=a host=b user=u").host_description(), "b:5432");
    // Keywords are case-insensitive.
    assert_eq!(parse("HOST=a User=u").user(), "u");
}

#[test]
fn key_value_errors() {
    assert_eq!(
        err("host=db user=app password='abc"),
        DsnError::UnterminatedQuote { offset: 26 }
    );
    assert_eq!(
        err(r"host=db user=app password='abc\'"),
        DsnError::UnterminatedQuote { offset: 26 }
    );
    assert_eq!(
        err("host=db user=app sslmod=require"),
        DsnError::UnknownKey {
            location: KeyLocation::KeyValue { offset: 17 },
            suggestion: Some("sslmode"),
        }
    );
    assert_eq!(
        err("host=db user=app sslmod=require").to_string(),
        "unknown parameter at byte 17 of the key=value DSN (did you mean `sslmode`?)"
    );
    assert_eq!(
        err("host=db user=app sslcert=/x"),
        DsnError::UnsupportedKey { key: "sslcert" }
    );
    assert_eq!(
        err("host=db user=app password"),
        DsnError::MissingEquals { offset: 17 }
    );
    assert_eq!(err("host=db user=app port=x"), DsnError::InvalidPort);
    // As in libpq, whitespace after `=` is skipped, so the value is `user=app`.
    assert!(matches!(
        err("host= user=app"),
        DsnError::InvalidHost { .. }
    ));
    assert_eq!(err("host='' user=app"), DsnError::EmptyHost);
    assert_eq!(err("user=app"), DsnError::EmptyHost);
    assert_eq!(err("host=db"), DsnError::MissingUser);
    assert_eq!(
        err("host=db user=app sslmode=allow"),
        DsnError::UnknownSslMode
    );
    assert!(matches!(
        err("host=d[b user=app"),
        DsnError::InvalidHost { .. }
    ));
}

#[test]
fn url_errors() {
    assert_eq!(err(""), DsnError::Empty);
    assert_eq!(err("   \n"), DsnError::Empty);
    assert_eq!(err("just some words"), DsnError::UnrecognizedFormat);
    for port in ["0", "65536", "x", "-1", "", "5432x", "123456"] {
        assert_eq!(
            err(&format!("postgresql://u:p@h:{port}/d")),
            DsnError::InvalidPort,
            "{port:?}"
        );
    }
    assert_eq!(err("postgresql://u:p@/d"), DsnError::EmptyHost);
    assert_eq!(err("postgresql://u:p@:5432/d"), DsnError::EmptyHost);
    assert_eq!(err("postgresql://u:p@h/d?host="), DsnError::EmptyHost);
    assert_eq!(err("postgresql://h/d"), DsnError::MissingUser);
    assert_eq!(err("postgresql://:pw@h/d"), DsnError::MissingUser);
    assert_eq!(
        err("postgresql://u:p%zz@h/d"),
        DsnError::InvalidPercentEncoding {
            component: Component::Password
        }
    );
    assert_eq!(
        err("postgresql://u:p@h/d%"),
        DsnError::InvalidPercentEncoding {
            component: Component::Dbname
        }
    );
    assert_eq!(
        err("postgresql://u%ff:p@h/d"),
        DsnError::InvalidUtf8 {
            component: Component::User
        }
    );
    assert_eq!(
        err("postgresql://u:p@h/d?sslmode=verify_full"),
        DsnError::UnknownSslMode
    );
    assert_eq!(
        err("postgresql://u:p@h/d?sslmode"),
        DsnError::MalformedQuery { index: 1 }
    );
    assert_eq!(
        err("postgresql://u:p@h/d?sslmode=require&bogus=1"),
        DsnError::UnknownKey {
            location: KeyLocation::Query { index: 2 },
            suggestion: None
        }
    );
    assert_eq!(
        err("postgresql://u:p@h/d?application_name=%zz"),
        DsnError::InvalidPercentEncoding {
            component: Component::Param("application_name")
        }
    );
    assert_eq!(
        err("postgresql://u:p@h/d?connect_timeout=soon"),
        DsnError::InvalidValue {
            key: "connect_timeout",
            expected: "an integer number of seconds"
        }
    );
    assert_eq!(err("postgresql://u:pa/ss@h/d"), DsnError::UnencodedUserinfo);
    assert_eq!(err("postgresql://u:pa?ss@h/d"), DsnError::UnencodedUserinfo);
    assert!(matches!(
        err("postgresql://u@h/a/b"),
        DsnError::InvalidValue { key: "dbname", .. }
    ));
}

#[test]
fn sslmode_rules() {
    assert_eq!(parse("host=h user=u").sslmode(), SslMode::Prefer);
    let cfg = parse("host=h user=u sslmode=disable");
    assert_eq!(cfg.pg_config().get_ssl_mode(), Wire::Disable);
    assert_eq!(cfg.cert_verification(), CertVerification::NoTls);
    let cfg = parse("host=h user=u sslmode=require sslrootcert=/ca.pem");
    assert_eq!(cfg.cert_verification(), CertVerification::Chain);
    let cfg = parse("host=h user=u sslmode=verify-ca");
    assert_eq!(cfg.cert_verification(), CertVerification::Chain);
    assert_eq!(cfg.pg_config().get_ssl_mode(), Wire::Require);

    // sslrootcert=system implies verify-full and forbids weaker modes.
    let cfg = parse("host=h user=u sslrootcert=system");
    assert_eq!(cfg.sslmode(), SslMode::VerifyFull);
    assert_eq!(cfg.sslrootcert(), None);
    assert_eq!(
        cfg.to_string(),
        "postgresql://u@h:5432/u?sslrootcert=system"
    );
    assert_eq!(
        err("host=h user=u sslrootcert=system sslmode=verify-ca"),
        DsnError::WeakSslModeWithSystemRoots
    );

    // Mixed Unix/TCP host lists cannot require TLS.
    assert_eq!(
        parse("host=/tmp,db user=u").host_description(),
        "/tmp/.s.PGSQL.5432,db:5432"
    );
    assert_eq!(
        err("host=/tmp,db user=u sslmode=require"),
        DsnError::TlsWithMixedHosts {
            mode: SslMode::Require
        }
    );
}

#[test]
fn other_parameters() {
    let cfg = parse(
        "host=h user=u sslnegotiation=direct sslmode=require channel_binding=require \
         load_balance_hosts=random keepalives=0 keepalives_interval=5 keepalives_count=3 \
         tcp_user_timeout=1500 fallback_application_name=fb connect_timeout=1",
    );
    let pg = cfg.pg_config();
    assert_eq!(
        pg.get_ssl_negotiation(),
        tokio_postgres::config::SslNegotiation::Direct
    );
    assert_eq!(
        pg.get_channel_binding(),
        tokio_postgres::config::ChannelBinding::Require
    );
    assert_eq!(
        pg.get_load_balance_hosts(),
        tokio_postgres::config::LoadBalanceHosts::Random
    );
    assert!(!pg.get_keepalives());
    assert_eq!(pg.get_keepalives_interval(), Some(Duration::from_secs(5)));
    assert_eq!(pg.get_keepalives_retries(), Some(3));
    assert_eq!(
        pg.get_tcp_user_timeout(),
        Some(&Duration::from_millis(1500))
    );
    assert_eq!(pg.get_application_name(), Some("fb"));
    // libpq: a timeout of 1 s means 2 s.
    assert_eq!(pg.get_connect_timeout(), Some(&Duration::from_secs(2)));
    assert_eq!(
        parse("host=h user=u connect_timeout=0")
            .pg_config()
            .get_connect_timeout(),
        None
    );
    // fallback_application_name does not override application_name.
    assert_eq!(
        parse("host=h user=u application_name=a fallback_application_name=b").application_name(),
        Some("a")
    );
    assert!(matches!(
        err("host=h user=u gssencmode=require"),
        DsnError::InvalidValue {
            key: "gssencmode",
            ..
        }
    ));
}

#[test]
fn dbname_defaults_to_user_and_survives_with_user() {
    let cfg = parse("postgresql://torghut:pw@h");
    assert_eq!(cfg.dbname(), "torghut");
    assert_eq!(cfg.pg_config().get_dbname(), Some("torghut"));
    let other = cfg.with_user("reader", Some(SecretString::from("r3ad")));
    assert_eq!(other.user(), "reader");
    assert_eq!(other.dbname(), "torghut");
    assert_eq!(other.pg_config().get_user(), Some("reader"));
    assert_eq!(other.pg_config().get_password(), Some(&b"r3ad"[..]));
    assert_eq!(other.to_string(), "postgresql://reader:***@h:5432/torghut");
}

#[test]
fn with_dbname_and_with_user() {
    let cfg = parse("postgresql://app:pw@h:5433/app?sslmode=require&application_name=x");
    let clone = cfg.with_dbname("app_test_0042");
    assert_eq!(clone.dbname(), "app_test_0042");
    assert_eq!(clone.pg_config().get_dbname(), Some("app_test_0042"));
    assert_eq!(clone.user(), "app");
    assert_eq!(password(&clone), Some("pw"));
    assert_eq!(clone.sslmode(), SslMode::Require);
    assert_eq!(
        clone.to_string(),
        "postgresql://app:***@h:5433/app_test_0042?sslmode=require&application_name=x"
    );
    // The original is unchanged.
    assert_eq!(cfg.dbname(), "app");

    let role = clone.with_user("torghut_reader", None);
    assert_eq!(role.user(), "torghut_reader");
    assert_eq!(role.password().map(|p| p.expose_secret().len()), None);
    assert_eq!(role.pg_config().get_password(), None);
    assert_eq!(role.dbname(), "app_test_0042");
    assert_eq!(
        role.to_string(),
        "postgresql://torghut_reader@h:5433/app_test_0042?sslmode=require&application_name=x"
    );
    let named = role.with_application_name("migrate");
    assert_eq!(named.pg_config().get_application_name(), Some("migrate"));
}

#[test]
fn display_never_shows_the_password_even_when_it_repeats_other_parts() {
    let cfg = parse("postgresql://app:app@app:5432/app");
    assert_eq!(cfg.to_string(), "postgresql://app:***@app:5432/app");
    let cfg = parse("host=torghut user=torghut password=torghut dbname=torghut");
    assert_eq!(
        cfg.to_string(),
        "postgresql://torghut:***@torghut:5432/torghut"
    );
    let cfg = parse("postgresql://u:5432@h:5432/d");
    assert_eq!(cfg.redacted(), "postgresql://u:***@h:5432/d");
    assert_eq!(redact_dsn("postgresql://u:5432@h:5432/d"), cfg.redacted());
}

const SECRET: &str = "Zq9xK2pW";

#[test]
fn errors_never_contain_the_password() {
    let cases = [
        "postgresql://u:Zq9xK2pW@h:notaport/d",
        "postgresql://u:Zq9xK2pW@h:99999/d",
        "postgresql://u:Zq9xK2pW%zz@h/d",
        "postgresql://u:Zq9xK2pW%ff@h/d",
        "postgresql://u:Zq9xK2pW@h/d?sslmode=Zq9xK2pW",
        "postgresql://u:Zq9xK2pW@h/d?Zq9xK2pW=1",
        "postgresql://u:Zq9xK2pW@h/d?connect_timeout=Zq9xK2pW",
        "postgresql://u:Zq9xK2pW@h/d?password=Zq9xK2pW&port=x",
        "postgresql://u:Zq9xK2pW@[::1/d",
        "postgresql://u:Zq9xK2pW@[Zq9xK2pW]/d",
        "postgresql://u:Zq9xK2pW@h:5432,h2:x/d",
        "postgresql://u:Zq9xK2pW@/d",
        "postgresql://u:Zq9x/K2pW@h/d",
        "postgresql://u:Zq9x?K2pW@h/d",
        "postgresql://u:Zq9x:K2pW/@h/d",
        "postgresql://Zq9xK2pW@h:x/d",
        "postgresql://u:Zq9xK2pW@h/d?sslmode",
        "postgresql+foo://u:Zq9xK2pW@h/d",
        "mysql://u:Zq9xK2pW@h/d",
        "jdbc:postgresql://h/d?password=Zq9xK2pW",
        "host=h user=u password=Zq9xK2pW sslmode=Zq9xK2pW",
        "host=h user=u password='Zq9xK2pW",
        "host=h user=u password=Zq9x K2pW",
        "host=h user=u password=Zq9x K2pW=1",
        "host=h user=u password=Zq9xK2pW port=Zq9xK2pW",
        "host=h user=u password=Zq9xK2pW Zq9xK2pW=1",
        "host=Zq9xK2pW[ user=u",
        "password=Zq9xK2pW",
        "Zq9xK2pW",
        "Zq9xK2pW://",
        "postgresql+Zq9xK2pW://u@h/d",
    ];
    for dsn in cases {
        let e = err(dsn);
        for text in [e.to_string(), format!("{e:?}")] {
            for needle in [SECRET, "Zq9x", "K2pW"] {
                assert!(
                    !text.contains(needle),
                    "error for {dsn:?} leaks {needle:?}: {text}"
                );
            }
        }
    }
}

#[test]
fn parsed_configs_never_show_the_password() {
    let cases = [
        "postgresql://u:Zq9xK2pW@h/d",
        "postgresql://u@h/d?password=Zq9xK2pW",
        "postgresql+asyncpg://u:Zq9xK2pW@h/d?ssl=require",
        "host=h user=u password=Zq9xK2pW",
        "host=h user=u password='Zq9xK2pW'",
        "postgresql://u:Zq9x@K2pW@h/d",
    ];
    for dsn in cases {
        let cfg = parse(dsn);
        for text in [cfg.to_string(), format!("{cfg:?}"), cfg.redacted()] {
            assert!(!text.contains("Zq9x"), "{dsn:?} shows the password: {text}");
            assert!(!text.contains("K2pW"), "{dsn:?} shows the password: {text}");
        }
        assert!(redact_dsn(dsn).contains("***"), "{dsn}");
        assert!(!redact_dsn(dsn).contains("Zq9x"), "{dsn}");
        assert!(!redact_dsn(dsn).contains("K2pW"), "{dsn}");
    }
}

#[test]
fn redacted_form_parses_back_to_the_same_config() {
    for dsn in [
        "postgresql://torghut_app:pw@h:5432/torghut",
        "postgresql://us%40er:pw@h/d%2Fb?application_name=a%26b%3Dc%40d&options=-c%20x%3Dy",
        "postgresql://u@[::1]:5433,h2/d?sslmode=verify-ca&sslrootcert=/etc/ca%20dir/ca.pem",
        "host=/run/postgresql,/tmp port=5432,5433 user=u dbname=d",
        "host=/tmp,db user=u",
        "host=h hostaddr=::1 user=u sslrootcert=system keepalives=1 tcp_user_timeout=9",
        "host=h user=u sslnegotiation=direct sslmode=require channel_binding=disable",
        "host=h user=u target_session_attrs=read-only load_balance_hosts=random",
    ] {
        let cfg = parse(dsn);
        let again = parse(&cfg.redacted());
        assert_eq!(again.redacted(), cfg.redacted(), "{dsn}");
        assert_eq!(again.host_description(), cfg.host_description(), "{dsn}");
        assert_eq!(again.dbname(), cfg.dbname(), "{dsn}");
        assert_eq!(again.user(), cfg.user(), "{dsn}");
    }
}

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Quotes a value for a libpq key=value string.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_never_panics(input in any::<String>()) {
        let _ = DbConfig::parse(&input);
        let _ = redact_dsn(&input);
    }

    #[test]
    fn parse_never_panics_on_dsn_like_text(
        prefix in prop::sample::select(vec![
            "postgresql://", "postgres://", "postgresql+asyncpg://", "postgresql+x://", "host=", "",
        ]),
        body in "[a-z0-9:/@%?&=,\\[\\]' .+_\\\\-]{0,60}",
    ) {
        let input = format!("{prefix}{body}");
        if let Ok(cfg) = DbConfig::parse(&input) {
            // Whatever parses must display and reparse consistently.
            let again = DbConfig::parse(&cfg.redacted());
            prop_assert!(again.is_ok(), "{input:?} -> {}", cfg.redacted());
            prop_assert_eq!(again.unwrap().redacted(), cfg.redacted());
        }
        let _ = redact_dsn(&input);
    }

    #[test]
    fn url_password_never_leaks(
        user in "[a-z_]{1,8}",
        pw_tail in "[ -~]{10,20}",
        host in prop::sample::select(vec![
            "db", "torghut-db-rw.torghut", "[::1]", "%2Ftmp", "", "h1,h2", "[::1", "h,", "a b",
        ]),
        port in prop::option::of("[0-9a-z]{0,6}"),
        db in "[a-z0-9%/]{0,8}",
        query in prop::collection::vec(
            (
                prop::sample::select(vec![
                    "sslmode", "sslrootcert", "connect_timeout", "application_name", "port",
                    "host", "ssl", "bogus", "sslcert", "",
                ]),
                "[a-z0-9%=\\-]{0,8}",
            ),
            0..4,
        ),
    ) {
        let password = format!("Pw{pw_tail}");
        let mut dsn = format!("postgresql://{user}:{}@{host}", encode(&password));
        if let Some(port) = port {
            dsn.push(':');
            dsn.push_str(&port);
        }
        dsn.push('/');
        dsn.push_str(&db);
        for (i, (key, value)) in query.iter().enumerate() {
            dsn.push(if i == 0 { '?' } else { '&' });
            dsn.push_str(key);
            dsn.push('=');
            dsn.push_str(value);
        }
        match DbConfig::parse(&dsn) {
            Err(e) => {
                let text = e.to_string();
                let debug = format!("{e:?}");
                prop_assert!(!text.contains(&password), "{dsn:?}: {text}");
                prop_assert!(!debug.contains(&password), "{dsn:?}: {debug}");
                prop_assert!(!text.contains(&encode(&password)), "{dsn:?}: {text}");
            }
            Ok(cfg) => {
                prop_assert_eq!(cfg.password().map(|p| p.expose_secret()), Some(password.as_str()));
                prop_assert!(!cfg.to_string().contains(&password));
                let debug = format!("{cfg:?}");
                prop_assert!(!debug.contains(&password));
            }
        }
        let redacted = redact_dsn(&dsn);
        prop_assert!(!redacted.contains(&encode(&password)), "{dsn:?} -> {redacted}");
    }

    #[test]
    fn key_value_password_round_trips(pw in "[ -~]{1,24}", extra in "[a-z]{0,6}") {
        let dsn = format!("host=db user=app password={} dbname={}", quote(&pw), quote(&extra));
        let cfg = DbConfig::parse(&dsn).unwrap();
        prop_assert_eq!(cfg.password().map(|p| p.expose_secret()), Some(pw.as_str()));
        let redacted = redact_dsn(&dsn);
        prop_assert!(redacted.contains("password='***'"), "{redacted}");
    }
}
