#![allow(clippy::unwrap_used)]

//! TLS and passwords by default: `verify-full` unless told otherwise, `PGSSLMODE` /
//! `PGSSLROOTCERT` honoured, no password in a target URL, and no cleartext or MD5 password
//! over a connection whose server is not verified. Against real, throwaway PostgreSQL servers
//! (see `import::pg_harness`) and a fake one that asks for the password in clear text.

mod support;

use import::pg_harness::{HostAuth, TestPostgres};
use import::{connect, ConnectOptions, ImportResult, PgEnv, RootCert, SslMode, TargetSpec};
use std::time::Duration;
use support::{ctx, note, uuid};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn pg_spec(s: &TargetSpec) -> &import::PgSpec {
    match s {
        TargetSpec::Postgres(p) => p,
        other => panic!("not postgres: {other:?}"),
    }
}

fn parse(url: &str, env: &PgEnv) -> TargetSpec {
    TargetSpec::parse_with_env(url, env).unwrap()
}

fn one_line(e: &import::ImportError) -> String {
    let s = e.to_string();
    assert!(!s.contains('\n'), "{s}");
    s
}

#[test]
fn verify_full_is_the_default_and_the_libpq_environment_fills_in() {
    let none = PgEnv::default();
    let s = parse("postgres://scribe@db.lan/practice", &none);
    let p = pg_spec(&s);
    assert_eq!(
        (p.sslmode, p.sslmode_explicit, &p.sslrootcert),
        (SslMode::VerifyFull, false, &None)
    );
    assert_eq!(
        s.display(),
        "postgres://scribe@db.lan:5432/practice?sslmode=verify-full"
    );
    // PGSSLMODE / PGSSLROOTCERT / PGUSER apply where the URL says nothing …
    let env = PgEnv {
        sslmode: Some("disable".into()),
        sslrootcert: Some("/etc/ssl/clinic-ca.pem".into()),
        user: Some("envuser".into()),
    };
    let s = parse("postgres://db.lan/practice", &env);
    let p = pg_spec(&s);
    assert_eq!((p.sslmode, p.sslmode_explicit), (SslMode::Disable, true));
    assert_eq!(
        p.sslrootcert,
        Some(RootCert::File("/etc/ssl/clinic-ca.pem".into()))
    );
    assert_eq!(p.user, "envuser");
    // … and the URL wins where it does.
    let s = parse(
        "postgres://scribe@db.lan/practice?sslmode=verify-ca&sslrootcert=system",
        &env,
    );
    let p = pg_spec(&s);
    assert_eq!(
        (p.sslmode, &p.sslrootcert, p.user.as_str()),
        (SslMode::VerifyCa, &Some(RootCert::System), "scribe")
    );
    // `allow` reads as prefer, as in libpq; nonsense in PGSSLMODE is named as such.
    let allow = PgEnv {
        sslmode: Some("allow".into()),
        ..Default::default()
    };
    assert_eq!(
        pg_spec(&parse("postgres://u@h/db", &allow)).sslmode,
        SslMode::Prefer
    );
    let bad = PgEnv {
        sslmode: Some("sometimes".into()),
        ..Default::default()
    };
    let e = TargetSpec::parse_with_env("postgres://u@h/db", &bad).unwrap_err();
    assert_eq!(e.code(), "unsupported_target");
    assert!(one_line(&e).contains("PGSSLMODE"), "{e}");
}

#[test]
fn a_password_in_the_target_url_is_refused_with_what_to_do_instead() {
    for url in [
        "postgres://scribe:hunter2@db.lan/practice",
        "postgresql://scribe:hunter2@db.lan:6543/practice?sslmode=verify-full",
        "postgres://scribe:@db.lan/practice",
        "postgres://scribe@db.lan/practice?password=hunter2",
    ] {
        let e = TargetSpec::parse_with_env(url, &PgEnv::default()).unwrap_err();
        assert_eq!(e.code(), "unsupported_target", "{url}");
        let line = one_line(&e);
        assert!(
            line.contains("keyring") && line.contains("PGPASSWORD"),
            "{line}"
        );
        assert!(!line.contains("hunter2"), "{line}");
    }
    // A user name with an encoded `@` or `:` is no password.
    let s = parse("postgres://dr%40x@db.lan/practice", &PgEnv::default());
    assert_eq!(pg_spec(&s).user, "dr@x");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_sslmode_against_a_server_without_tls_is_refused() {
    let pg = TestPostgres::start().unwrap_or_else(|e| panic!("cannot start PostgreSQL: {e}"));
    let s = parse(&pg.url_with("127.0.0.1", ""), &PgEnv::default()).with_password(&pg.password);
    let e = connect(&s, None, ConnectOptions::default())
        .await
        .err()
        .unwrap();
    assert_eq!(e.code(), "tls", "{e}");
    let line = one_line(&e);
    assert!(
        line.contains("does not accept TLS") && line.contains("turn on ssl"),
        "{line}"
    );
    assert!(
        line.contains("sslmode=disable"),
        "says how to opt out: {line}"
    );
    // PGSSLMODE=disable is an explicit choice: then it connects (SCRAM, nothing revealed).
    let env = PgEnv {
        sslmode: Some("disable".into()),
        ..Default::default()
    };
    let s = parse(&pg.url_with("127.0.0.1", ""), &env).with_password(&pg.password);
    connect(&s, None, ConnectOptions::default()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_the_certificate_must_name_the_host_and_chain_to_a_trusted_root() {
    let pg = TestPostgres::start_tls()
        .unwrap_or_else(|e| panic!("cannot start the TLS test PostgreSQL: {e}"));
    let ca = pg.ca_cert.clone().unwrap();
    let try_ = |host: &str, q: String, env: PgEnv| {
        let s = TargetSpec::parse_with_env(&pg.url_with(host, &q), &env)
            .unwrap()
            .with_password(&pg.password);
        async move { connect(&s, None, ConnectOptions::default()).await }
    };
    // The certificate is for localhost only: via 127.0.0.1 it is refused, whatever the CA.
    let e = try_(
        "127.0.0.1",
        format!("sslrootcert={}", ca.display()),
        PgEnv::default(),
    )
    .await
    .err()
    .unwrap();
    assert_eq!(e.code(), "tls", "{e}");
    let line = one_line(&e);
    assert!(
        line.contains("127.0.0.1") && line.contains("not for `127.0.0.1`"),
        "{line}"
    );
    // Signed by a CA the system roots do not hold: refused, with sslrootcert as the fix.
    let e = try_("localhost", String::new(), PgEnv::default())
        .await
        .err()
        .unwrap();
    assert_eq!(e.code(), "tls", "{e}");
    assert!(one_line(&e).contains("sslrootcert=/path/to/ca.crt"), "{e}");
    // The right name and the right CA (from the URL, or PGSSLROOTCERT): an import works.
    let t = try_(
        "localhost",
        format!("sslmode=verify-full&sslrootcert={}", ca.display()),
        PgEnv::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        t.import(&note(&uuid(1), "over verified TLS", None), &ctx("a"))
            .await
            .unwrap()
            .result,
        ImportResult::Imported
    );
    let env = PgEnv {
        sslrootcert: Some(ca.display().to_string()),
        ..Default::default()
    };
    try_("localhost", String::new(), env).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn md5_and_cleartext_passwords_never_go_over_an_unverified_connection() {
    let md5 = TestPostgres::start_with_auth(HostAuth::Md5)
        .unwrap_or_else(|e| panic!("cannot start PostgreSQL: {e}"));
    for q in ["sslmode=disable", "sslmode=prefer"] {
        let s =
            parse(&md5.url_with("127.0.0.1", q), &PgEnv::default()).with_password(&md5.password);
        let e = connect(&s, None, ConnectOptions::default())
            .await
            .err()
            .unwrap();
        assert_eq!(e.code(), "tls", "{q}: {e}");
        let line = one_line(&e);
        assert!(
            line.contains("as MD5") && line.contains("not sent"),
            "{line}"
        );
        assert!(
            line.contains("verify-full") && line.contains("SCRAM"),
            "{line}"
        );
        assert!(!line.contains(&md5.password));
    }
    // The same server, a role whose password is stored for SCRAM: PostgreSQL then uses SCRAM
    // even under `md5`, which reveals nothing, so it may go over sslmode=disable.
    md5.run_sql(
        "SET password_encryption = 'scram-sha-256'; \
         CREATE ROLE scribe LOGIN PASSWORD 'scram-pw'; \
         GRANT ALL ON SCHEMA public TO scribe",
    )
    .unwrap();
    let s = parse(
        &md5.url_with("127.0.0.1", "sslmode=disable&user=scribe"),
        &PgEnv::default(),
    )
    .with_password("scram-pw");
    connect(&s, None, ConnectOptions::default()).await.unwrap();

    let clear = TestPostgres::start_with_auth(HostAuth::Password)
        .unwrap_or_else(|e| panic!("cannot start PostgreSQL: {e}"));
    let s = parse(
        &clear.url_with("127.0.0.1", "sslmode=disable"),
        &PgEnv::default(),
    )
    .with_password(&clear.password);
    let e = connect(&s, None, ConnectOptions::default())
        .await
        .err()
        .unwrap();
    assert_eq!(e.code(), "tls", "{e}");
    assert!(one_line(&e).contains("in clear text"), "{e}");
}

/// A server that asks for the password in clear text (code 3) or as MD5 (code 5) and returns
/// every byte the client sent after its startup message.
async fn fake_server(auth_code: u32) -> (u16, tokio::task::JoinHandle<Vec<u8>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let len = s.read_u32().await.unwrap() as usize;
        let mut startup = vec![0; len - 4];
        s.read_exact(&mut startup).await.unwrap();
        let mut r = vec![b'R'];
        let payload: Vec<u8> = if auth_code == 5 {
            [5u32.to_be_bytes().as_slice(), b"salt"].concat()
        } else {
            auth_code.to_be_bytes().to_vec()
        };
        r.extend_from_slice(&(payload.len() as u32 + 4).to_be_bytes());
        r.extend_from_slice(&payload);
        s.write_all(&r).await.unwrap();
        let mut after = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut after)).await;
        after
    });
    (port, task)
}

#[tokio::test]
async fn a_server_asking_for_the_password_in_clear_gets_nothing() {
    // The fake server is no straw man: an unguarded client sends it the password.
    let (port, heard) = fake_server(3).await;
    let _ = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user=u password=hunter2 sslmode=disable"),
        tokio_postgres::NoTls,
    )
    .await;
    let bytes = heard.await.unwrap();
    assert_eq!(bytes.first(), Some(&b'p'), "{bytes:?}");
    assert!(bytes.windows(7).any(|w| w == b"hunter2"));

    for code in [3, 5] {
        let (port, heard) = fake_server(code).await;
        let s = parse(
            &format!("postgres://u@127.0.0.1:{port}/db?sslmode=disable"),
            &PgEnv::default(),
        )
        .with_password("hunter2");
        let e = connect(&s, None, ConnectOptions::default())
            .await
            .err()
            .unwrap();
        assert_eq!(e.code(), "tls", "{e}");
        let bytes = heard.await.unwrap();
        assert!(
            bytes.is_empty(),
            "nothing may follow the startup message: {bytes:?}"
        );
    }
}
