//! `torghut serve` as a process: logs without the password, stage never migrates, SIGTERM
//! finishes in-flight requests, dev starts its own PostgreSQL.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use torghut_testdb::empty_db;

use crate::{code, run, text, torghut};

struct Server {
    child: Child,
    log: PathBuf,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts `torghut serve ARGS --bind 127.0.0.1:0` with `env`, waits for it to listen.
    // The child is killed and waited for by `Drop` (or `stop`).
    #[allow(clippy::zombie_processes)]
    fn start(args: &[&str], env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        // The dev service's local PostgreSQL may run as another user (as root): let it in.
        let mut perms = std::fs::metadata(dir.path()).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(dir.path(), perms).unwrap();
        let log = dir.path().join("stderr.log");
        let mut cmd = torghut(&["serve", "--bind", "127.0.0.1:0"]);
        cmd.args(args)
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let t = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(rest) = t.split("listening on http://").nth(1) {
                let addr = rest.lines().next().unwrap().trim().to_owned();
                return Server {
                    child,
                    log,
                    addr,
                    _dir: dir,
                };
            }
            assert!(Instant::now() < deadline, "the service did not start: {t}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String) {
        http(&self.addr, method, path, headers, body)
    }

    fn get(&self, path: &str) -> (u16, String) {
        self.request("GET", path, &[], "")
    }

    fn post(&self, path: &str, body: &str) -> (u16, String) {
        self.request("POST", path, &[("content-type", "application/json")], body)
    }

    /// SIGTERM, then the exit code.
    fn stop(mut self) -> (i32, String) {
        sigterm(&self.child);
        let status = wait(&mut self.child, Duration::from_secs(20));
        (status, self.log())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sigterm(child: &Child) {
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
}

fn wait(child: &mut Child, timeout: Duration) -> i32 {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s.code().unwrap_or(-1);
        }
        assert!(Instant::now() < deadline, "the service did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A minimal HTTP/1.1 exchange (Connection: close); returns the status and the body.
fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    (status, body)
}

fn migrate(dsn: &str) {
    let o = run(&["migrate", "--dsn", dsn, "up"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
}

fn wait_ready(s: &Server) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while s.get("/readyz").0 != 200 {
        assert!(
            Instant::now() < deadline,
            "not ready: {}",
            s.get("/readyz").1
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn serve_logs_never_show_the_password_even_at_debug() {
    let db = empty_db().await;
    let url = db.url();
    let password = torghut_testdb::cluster().password().to_string();
    assert!(url.contains(&password));
    migrate(&url);
    let mut logs = Vec::new();
    for format in ["text", "json"] {
        let s = Server::start(
            &["--dsn", &url, "--log-format", format],
            &[("TORGHUT_LOG", "debug"), ("APP_ENV", "stage")],
        );
        wait_ready(&s);
        assert_eq!(s.get("/healthz").0, 200);
        assert_eq!(s.get("/db-check").0, 200);
        let (st, body) = s.post(
            "/v1/strategies",
            r#"{"name":"macd","base_timeframe":"1Min","universe_type":"static"}"#,
        );
        assert_eq!(st, 201, "{body}");
        assert_eq!(s.post("/v1/decisions", "{not json").0, 400);
        assert_eq!(s.post("/v1/decisions", r#"{"password":"x"}"#).0, 422);
        assert_eq!(
            s.request(
                "POST",
                "/v1/executions",
                &[("content-type", "text/plain")],
                "{}"
            )
            .0,
            415
        );
        assert_eq!(s.get("/v1/decisions/nope").0, 404);
        assert_eq!(s.get("/trading/decisions?limit=0").0, 422);
        assert_eq!(
            s.request("GET", "/healthz", &[("x-request-id", "trace-me-42")], "")
                .0,
            200
        );
        assert_eq!(s.get("/metrics").0, 200);
        let (code, log) = s.stop();
        assert_eq!(code, 0, "{log}");
        assert!(log.contains("trace-me-42"), "request ids are logged: {log}");
        if format == "json" {
            let mut requests = 0;
            for line in log.lines().filter(|l| l.starts_with('{')) {
                let v: serde_json::Value =
                    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
                if v["fields"]["message"] == "request answered" {
                    assert!(v["fields"]["request_id"].is_string(), "{line}");
                    requests += 1;
                }
            }
            assert!(requests >= 10, "{log}");
        }
        logs.push(log);
    }
    // A wrong password is not echoed either.
    let wrong = url.replace(&password, "S3cr3t-Pa55word-x9");
    let s = Server::start(
        &["--dsn", &wrong],
        &[("TORGHUT_LOG", "debug"), ("APP_ENV", "prod")],
    );
    assert_eq!(s.get("/readyz").0, 503);
    assert_eq!(s.get("/trading/decisions").0, 503);
    assert_eq!(s.get("/db-check").0, 503);
    logs.push(s.stop().1);
    for log in logs {
        assert!(!log.contains(&password), "password leaked: {log}");
        assert!(
            !log.contains("S3cr3t-Pa55word-x9"),
            "password leaked: {log}"
        );
    }
}

#[tokio::test]
async fn stage_never_migrates_and_becomes_ready_once_migrated() {
    let db = empty_db().await;
    let url = db.url();
    let s = Server::start(
        &["--dsn", &url, "--readiness-interval", "200ms"],
        &[("APP_ENV", "stage")],
    );
    let (st, body) = s.get("/readyz");
    assert_eq!(st, 503, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["ready"], false);
    assert!(v["reason"].as_str().unwrap().contains("revision"), "{v}");
    assert_eq!(
        s.post(
            "/v1/strategies",
            r#"{"name":"x","base_timeframe":"1Min","universe_type":"static"}"#
        )
        .0,
        503
    );
    let tables: i64 = db
        .connect()
        .await
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 0, "serve in stage never migrates");
    migrate(&url);
    wait_ready(&s);
    assert_eq!(
        s.post(
            "/v1/strategies",
            r#"{"name":"x","base_timeframe":"1Min","universe_type":"static"}"#
        )
        .0,
        201
    );
    assert_eq!(s.stop().0, 0);
}

#[tokio::test]
async fn sigterm_finishes_in_flight_requests() {
    let db = empty_db().await;
    let url = db.url();
    migrate(&url);
    let s = Server::start(&["--dsn", &url], &[("APP_ENV", "prod")]);
    wait_ready(&s);
    // Hold a lock so that a read waits inside the service.
    let mut locker = db.connect().await;
    let tx = locker.transaction().await.unwrap();
    tx.batch_execute("LOCK TABLE trade_decisions IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let addr = s.addr.clone();
    let in_flight = std::thread::spawn(move || http(&addr, "GET", "/trading/decisions", &[], ""));
    std::thread::sleep(Duration::from_millis(300));
    sigterm(&s.child);
    std::thread::sleep(Duration::from_millis(300));
    // Stopped accepting: a new connection is refused (or closed unanswered).
    let refused = std::panic::catch_unwind(|| http(&s.addr, "GET", "/healthz", &[], ""));
    assert!(
        refused.is_err() || refused.as_ref().unwrap().0 == 0,
        "{refused:?}"
    );
    tx.rollback().await.unwrap();
    let (status, body) = in_flight.join().unwrap();
    assert_eq!(status, 200, "the in-flight request completed: {body}");
    let (code, log) = s.stop();
    assert_eq!(code, 0, "{log}");
}

#[test]
fn dev_serve_without_a_dsn_starts_local_postgres_and_migrates() {
    let s = Server::start(&["--data-dir", "data"], &[]);
    wait_ready(&s);
    let (st, body) = s.get("/readyz");
    assert_eq!(st, 200, "{body}");
    assert!(Path::new(&s._dir.path().join("data/pg")).is_dir());
    let (st, body) = s.get("/trading/decisions");
    assert_eq!((st, body.as_str()), (200, "[]"));
    // The log says how to reach the dev database by hand; `torghut dev env` prints the DSN that
    // every other command then uses.
    assert!(s.log().contains("connect: psql 'host="), "{}", s.log());
    let data = s._dir.path().join("data");
    let out = crate::torghut(&["dev", "env", "--data-dir", data.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8(out.stdout).unwrap();
    let dsn = line
        .trim()
        .strip_prefix("export DB_DSN='")
        .and_then(|r| r.strip_suffix('\''))
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned();
    let status = crate::torghut(&["migrate", "status"])
        .env("DB_DSN", &dsn)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let (code, log) = s.stop();
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("migrations applied"), "{log}");
    // Once stopped, there is no dev server to point at.
    let out = crate::torghut(&["dev", "env", "--data-dir", data.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// A client that announces a large body and stalls: answered 413 at once from its
/// Content-Length; one that stalls within the limit is answered 408 after the body timeout; one
/// that stalls in its headers is disconnected after the header timeout; and a stalled upload does
/// not keep SIGTERM from finishing past the shutdown grace.
#[tokio::test]
async fn slow_clients_are_bounded_and_do_not_hold_shutdown() {
    use std::io::{Read, Write};
    let db = empty_db().await;
    let url = db.url();
    migrate(&url);
    let s = Server::start(
        &[
            "--dsn",
            &url,
            "--body-timeout",
            "500ms",
            "--header-timeout",
            "1s",
            "--shutdown-grace",
            "1s",
        ],
        &[("APP_ENV", "prod")],
    );
    wait_ready(&s);
    let send = |head: &str| {
        let mut c = std::net::TcpStream::connect(&s.addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        c.write_all(head.as_bytes()).unwrap();
        let start = Instant::now();
        let mut buf = [0u8; 4096];
        let n = c.read(&mut buf).unwrap_or(0);
        (
            String::from_utf8_lossy(&buf[..n]).into_owned(),
            start.elapsed(),
        )
    };
    let (answer, took) = send(
        "POST /v1/strategies HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 52428800\r\n\r\n{}",
    );
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(took < Duration::from_secs(1), "{took:?}");
    let (answer, took) = send(
        "POST /v1/strategies HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{}",
    );
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    // A client that never finishes its headers is disconnected after the header timeout (the
    // read ends well before the client's own 5 s read timeout).
    let (answer, took) = send("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(4),
        "{took:?}"
    );

    // A stalled upload in flight (no body timeout can end it in time: it is longer than the
    // grace), then SIGTERM: the service exits once the grace has passed.
    let s = {
        drop(s);
        Server::start(
            &[
                "--dsn",
                &url,
                "--body-timeout",
                "60s",
                "--shutdown-grace",
                "1s",
            ],
            &[("APP_ENV", "prod")],
        )
    };
    wait_ready(&s);
    let mut stalled = std::net::TcpStream::connect(&s.addr).unwrap();
    stalled
        .write_all(b"POST /v1/strategies HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{}")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let start = Instant::now();
    let (code, log) = s.stop();
    assert_eq!(code, 0, "{log}");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert!(log.contains("shutdown grace"), "{log}");
}

/// A payload refused by the JSON boundary is logged with the request id, the route, the reason
/// and the JSONPath of the refused value, never the value itself (the runbook's detection line).
#[tokio::test]
async fn a_refused_payload_is_logged_with_its_path_and_never_its_value() {
    let db = empty_db().await;
    let url = db.url();
    migrate(&url);
    let s = Server::start(
        &["--dsn", &url],
        &[("APP_ENV", "prod"), ("TORGHUT_LOG_FORMAT", "json")],
    );
    wait_ready(&s);
    let (status, body) = s.post(
        "/v1/strategies",
        r#"{"name":"macd","base_timeframe":"1Min","universe_type":"static","universe_symbols":["AAPL","secret-\u0000-value"]}"#,
    );
    assert_eq!(status, 422, "{body}");
    let (_, log) = s.stop();
    let line = log
        .lines()
        .find(|l| l.contains("JSON payload refused"))
        .unwrap_or_else(|| panic!("no refusal line: {log}"));
    println!("{line}");
    let v: serde_json::Value = serde_json::from_str(line).expect("a JSON log line");
    assert_eq!(v["level"], "WARN", "{line}");
    assert_eq!(v["fields"]["reason"], "nul_character", "{line}");
    assert_eq!(v["fields"]["json_path"], "$.universe_symbols[1]", "{line}");
    assert_eq!(v["fields"]["route"], "/v1/strategies", "{line}");
    assert_eq!(v["fields"]["status"], 422, "{line}");
    assert!(
        v["fields"]["request_id"]
            .as_str()
            .is_some_and(|r| !r.is_empty()),
        "{line}"
    );
    assert!(
        !log.contains("secret-"),
        "the refused value is never logged: {log}"
    );
}
