//! The `torghut` binary as an operator runs it, against a real PostgreSQL.

// Tests read what they set up: a column that does not decode is a failed test.
#![allow(clippy::disallowed_methods)]

mod deploy;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use torghut_testdb::{empty_db, TestDb};

mod serve;

fn torghut(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_torghut"));
    c.args(args)
        .env_remove("DB_DSN")
        .env_remove("DB_URL")
        .env_remove("DATABASE_URL")
        .env_remove("APP_ENV")
        .stdin(Stdio::null());
    c
}

fn run(args: &[&str]) -> Output {
    torghut(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

#[tokio::test]
async fn status_up_verify_exit_codes_and_json() {
    let db = empty_db().await;
    let dsn = db.url();
    let o = run(&["migrate", "--dsn", &dsn, "status"]);
    assert_eq!(code(&o), 1, "pending -> exit 1: {}", text(&o));
    let o = run(&[
        "migrate",
        "--dsn",
        &dsn,
        "up",
        "--to",
        "0003_llm_decision_reviews",
        "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    // Progress as JSON lines (each migration started and applied), then the report.
    let lines = json_lines(&o.stdout);
    assert_eq!(lines.len(), 7, "{}", text(&o));
    assert_eq!(lines[0]["event"], "migration_started");
    assert_eq!(lines[0]["id"], "0001_initial");
    assert_eq!(lines[5]["event"], "migration_applied");
    assert_eq!(lines[5]["id"], "0003_llm_decision_reviews");
    let v = lines.last().unwrap();
    assert_eq!(v["up"]["current"], "0003_llm_decision_reviews");
    let o = run(&["migrate", "--dsn", &dsn, "up"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = run(&["migrate", "--dsn", &dsn, "status", "--json"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["status"]["clean"], true);
    let o = run(&["migrate", "--dsn", &dsn, "verify"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    db.connect()
        .await
        .batch_execute("ALTER TABLE strategies ALTER COLUMN name DROP NOT NULL")
        .await
        .unwrap();
    let o = run(&["migrate", "--dsn", &dsn, "verify"]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(
        text(&o).contains("column name nullability: expected NOT NULL, found nullable"),
        "{}",
        text(&o)
    );
    let o = run(&["migrate", "--dsn", &dsn, "plan"]);
    assert_eq!(code(&o), 0);
    assert!(text(&o).contains("nothing to apply"));
    let o = run(&["migrate", "--dsn", &dsn, "up", "--to", "0003"]);
    assert_eq!(code(&o), 2, "unknown id is a usage error: {}", text(&o));
}

#[tokio::test]
async fn down_in_prod_needs_allow_destructive_and_reason() {
    let db = empty_db().await;
    let dsn = db.url();
    assert_eq!(code(&run(&["migrate", "--dsn", &dsn, "up"])), 0);
    let o = torghut(&[
        "migrate",
        "--dsn",
        &dsn,
        "down",
        "--to",
        "0004_trade_cursor_seq",
    ])
    .env("APP_ENV", "prod")
    .output()
    .unwrap();
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("--allow-destructive"));
    let o = torghut(&[
        "migrate",
        "--dsn",
        &dsn,
        "down",
        "--to",
        "0004_trade_cursor_seq",
        "--allow-destructive",
        "--reason",
        "bad release",
    ])
    .env("APP_ENV", "prod")
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let c = db.connect().await;
    let reasons: Vec<String> = c
        .query(
            "SELECT reason FROM torghut_meta.migration_log WHERE action = 'down'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(!reasons.is_empty());
    assert!(reasons.iter().all(|r| r == "bad release"), "{reasons:?}");
    // The run log, as an operator reads it: the last entries, oldest first.
    let o = run(&["migrate", "--dsn", &dsn, "log", "--last", "2"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let lines: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), 2, "{}", text(&o));
    assert!(
        lines[1].contains(" down ") && lines[1].contains("(reason: bad release)"),
        "{lines:?}"
    );
    let o = run(&["migrate", "--dsn", &dsn, "log", "--last", "0", "--json"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let log = v["log"].as_array().unwrap();
    assert!(log.len() > 12, "every entry: {}", log.len());
    assert_eq!(log.last().unwrap()["action"], "down");
    assert_eq!(log[0]["action"], "up");
}

#[tokio::test]
async fn eight_concurrent_processes_all_succeed_and_apply_each_migration_once() {
    let db = empty_db().await;
    let dsn = db.url();
    let children: Vec<_> = (0..8)
        .map(|_| {
            torghut(&["migrate", "--dsn", &dsn, "up", "--json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut applied = 0;
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", text(&o));
        let v = json_lines(&o.stdout).pop().unwrap();
        applied += v["up"]["applied"].as_array().unwrap().len();
    }
    let c = db.connect().await;
    let n: i64 = c
        .query_one("SELECT count(*) FROM torghut_meta.schema_history", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(applied as i64, n);
    let ups: i64 = c
        .query_one(
            "SELECT count(*) FROM torghut_meta.migration_log WHERE action = 'up' AND outcome = 'ok'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(ups, n, "each migration applied exactly once");
}

fn write_migrations(dir: &std::path::Path, extra: &[(&str, &str, &str)]) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    for e in std::fs::read_dir(root).unwrap().flatten() {
        let to = dir.join(e.file_name());
        std::fs::create_dir_all(&to).unwrap();
        for f in ["up.sql", "down.sql"] {
            std::fs::copy(e.path().join(f), to.join(f)).unwrap();
        }
    }
    for (id, up, down) in extra {
        let to = dir.join(id);
        std::fs::create_dir_all(&to).unwrap();
        std::fs::write(to.join("up.sql"), up).unwrap();
        std::fs::write(to.join("down.sql"), down).unwrap();
    }
}

#[tokio::test]
async fn a_run_killed_mid_migration_leaves_a_consistent_state_and_the_next_run_completes() {
    let db = empty_db().await;
    let dsn = db.url();
    assert_eq!(code(&run(&["migrate", "--dsn", &dsn, "up"])), 0);
    let dir = std::env::temp_dir().join(format!("torghut-kill-{}", std::process::id()));
    write_migrations(
        &dir,
        &[(
            "9001_slow",
            "CREATE TABLE slow_one (x int);\nSELECT pg_sleep(30);\nCREATE TABLE slow_two (x int);",
            "DROP TABLE slow_two; DROP TABLE slow_one;",
        )],
    );
    let source = dir.to_str().unwrap();
    let mut child = torghut(&["migrate", "--dsn", &dsn, "--source", source, "up"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the migration is running (its first table exists inside the open transaction).
    let c = db.connect().await;
    let start = Instant::now();
    loop {
        let n: i64 = c
            .query_one("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()", &[])
            .await
            .unwrap()
            .get(0);
        if n > 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "migration never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Nothing of the killed migration is visible; the history is at the previous revision.
    let exists: bool = c
        .query_one("SELECT to_regclass('slow_one') IS NOT NULL", &[])
        .await
        .unwrap()
        .get(0);
    assert!(!exists);
    // The next run (a fixed migration) waits for the dead session to go away, then completes.
    write_migrations(
        &dir,
        &[(
            "9001_slow",
            "CREATE TABLE slow_one (x int);\nCREATE TABLE slow_two (x int);",
            "DROP TABLE slow_two; DROP TABLE slow_one;",
        )],
    );
    let o = run(&["migrate", "--dsn", &dsn, "--source", source, "up"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = run(&["migrate", "--dsn", &dsn, "--source", source, "status"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn adopt_refuses_drift_with_exit_1_and_then_adopts() {
    let db: TestDb = empty_db().await;
    let c = db.connect().await;
    for m in torghut_migrate::MigrationSet::embedded()
        .all()
        .iter()
        .take(3)
    {
        c.batch_execute(&m.up).await.unwrap();
    }
    c.batch_execute(
        "CREATE TABLE alembic_version (version_num varchar(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
         INSERT INTO alembic_version VALUES ('0003_llm_decision_reviews');
         ALTER TABLE strategies ADD COLUMN hand_made int;",
    )
    .await
    .unwrap();
    let dsn = db.url();
    let o = run(&["migrate", "--dsn", &dsn, "adopt"]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(
        text(&o).contains("column hand_made: unexpected"),
        "{}",
        text(&o)
    );
    c.batch_execute("ALTER TABLE strategies DROP COLUMN hand_made")
        .await
        .unwrap();
    let o = run(&["migrate", "--dsn", &dsn, "adopt", "--reason", "cut-over"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = run(&["migrate", "--dsn", &dsn, "up"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
}

#[tokio::test]
async fn no_password_appears_in_any_output() {
    let db = empty_db().await;
    let url = db.url();
    let password = torghut_testdb::cluster().password().to_string();
    assert!(url.contains(&password));
    let wrong = url.replace(&password, "S3cr3t-Pa55word-x9");
    let mut outputs = Vec::new();
    for args in [
        vec!["migrate", "--dsn", &url, "status"],
        vec!["migrate", "--dsn", &url, "up"],
        vec!["migrate", "--dsn", &url, "status", "--json"],
        vec!["migrate", "--dsn", &url, "verify", "--json"],
        vec!["migrate", "--dsn", &wrong, "status"],
        vec!["migrate", "--dsn", &wrong, "status", "--json"],
    ] {
        let o = torghut(&args).env("TORGHUT_LOG", "debug").output().unwrap();
        outputs.push(text(&o));
    }
    // A wrong password: connection error, exit 2, and the password is not echoed.
    let o = run(&["migrate", "--dsn", &wrong, "status"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    // The DSN through each environment variable, and malformed DSNs.
    for var in ["DB_DSN", "DB_URL", "DATABASE_URL"] {
        let o = torghut(&["migrate", "status"])
            .env(var, &wrong)
            .output()
            .unwrap();
        assert_eq!(code(&o), 2);
        outputs.push(text(&o));
    }
    for bad in [
        "postgresql://u:S3cr3t-Pa55word-x9@host:notaport/db",
        "postgresql+foo://u:S3cr3t-Pa55word-x9@host/db",
        "host=x password='S3cr3t-Pa55word-x9",
        "mysql://u:S3cr3t-Pa55word-x9@host/db",
    ] {
        let o = run(&["migrate", "--dsn", bad, "status"]);
        assert_eq!(code(&o), 2, "bad DSN exits 2: {}", text(&o));
        assert!(text(&o).contains("invalid DSN"), "{}", text(&o));
        outputs.push(text(&o));
    }
    for out in outputs {
        assert!(!out.contains(&password), "password leaked: {out}");
        assert!(
            !out.contains("S3cr3t-Pa55word-x9"),
            "password leaked: {out}"
        );
    }
}

#[test]
fn missing_database_and_bad_app_env_are_configuration_errors() {
    let o = run(&["migrate", "status"]);
    assert_eq!(code(&o), 2);
    assert!(text(&o).contains("--dsn"), "{}", text(&o));
    let o = torghut(&[
        "migrate",
        "--dsn",
        "postgresql://x@127.0.0.1:1/db",
        "status",
    ])
    .env("APP_ENV", "production-ish")
    .output()
    .unwrap();
    assert_eq!(code(&o), 2, "{}", text(&o));
    let o = run(&["migrate", "frobnicate"]);
    assert_eq!(code(&o), 2);
    let o = run(&["migrate", "--help"]);
    assert!(o.status.success());
    for sub in [
        "status", "plan", "up", "down", "verify", "adopt", "repair", "lint", "log",
    ] {
        assert!(text(&o).contains(sub), "--help lists {sub}");
    }
}

#[test]
fn decision_hash_reads_json_lines_and_reports_bad_lines() {
    use std::io::Write;
    let vectors = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../torghut-hash/tests/data/spec-vectors.jsonl"),
    )
    .unwrap();
    let mut input = String::new();
    let mut expected = Vec::new();
    for line in vectors.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        input.push_str(v["input"].as_str().unwrap());
        input.push('\n');
        expected.push(v["hash"].as_str().unwrap().to_string());
    }
    input.push_str("{\"strategy_id\": \"s1\", \"symbol\": \"AAPL\"}\n");
    let mut child = torghut(&["decision-hash"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(code(&o), 1);
    let got: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(got, expected);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("line {}", expected.len() + 1)),
        "{err}"
    );
    assert!(
        err.contains("event_ts") || err.contains("timeframe"),
        "{err}"
    );
}

#[test]
fn lint_flags_unsafe_statements_and_honours_reasoned_suppressions() {
    let dir = std::env::temp_dir().join(format!("torghut-lint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.sql");
    std::fs::write(
        &bad,
        "ALTER TABLE executions ADD COLUMN venue text NOT NULL;\n",
    )
    .unwrap();
    let o = run(&["migrate", "lint", bad.to_str().unwrap(), "--json"]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let ok = dir.join("ok.sql");
    std::fs::write(
        &ok,
        "-- torghut-lint: allow require-concurrent-index-creation reason: table is empty at this point\nCREATE INDEX ix_x ON executions (status);\n",
    )
    .unwrap();
    let o = run(&["migrate", "lint", ok.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let no_reason = dir.join("noreason.sql");
    std::fs::write(
        &no_reason,
        "-- torghut-lint: allow require-concurrent-index-creation\nCREATE INDEX ix_x ON executions (status);\n",
    )
    .unwrap();
    let o = run(&["migrate", "lint", no_reason.to_str().unwrap()]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    // The built-in migrations after 0005 are clean.
    let o = run(&["migrate", "lint"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn bench_write_reports_throughput_and_latency_as_json() {
    let db = empty_db().await;
    let dsn = db.url();
    let o = run(&["migrate", "--dsn", &dsn, "up"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = run(&[
        "bench",
        "write",
        "--dsn",
        &dsn,
        "--clients",
        "2",
        "--seconds",
        "1",
        "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let last = stdout.lines().last().expect("a JSON line on stdout");
    let v: serde_json::Value = serde_json::from_str(last).unwrap();
    assert!(v["trails_per_s"].as_f64().unwrap() > 0.0, "{v}");
    assert!(v["p50_ms"].as_f64().unwrap() > 0.0, "{v}");
    assert!(v["p99_ms"].as_f64().unwrap() >= v["p50_ms"].as_f64().unwrap());
    assert_eq!(v["clients"], 2);
    assert_eq!(v["errors"], 0, "{v}");
    let trails = v["trails"].as_i64().unwrap();
    assert!(trails > 0);
    // Every trail is a decision with its review and its execution, under the bench strategy.
    let c = db.connect().await;
    let row = c
        .query_one(
            "SELECT (SELECT count(*) FROM trade_decisions WHERE strategy_id = $1::text::uuid),
                    (SELECT count(*) FROM llm_decision_reviews),
                    (SELECT count(*) FROM executions e JOIN trade_decisions d
                       ON d.id = e.trade_decision_id AND e.client_order_id = d.decision_hash)",
            &[&v["strategy_id"].as_str().unwrap()],
        )
        .await
        .unwrap();
    for i in 0..3 {
        assert_eq!(row.get::<_, i64>(i), trails, "column {i}");
    }
}

#[tokio::test]
async fn bench_write_refuses_an_unmigrated_database() {
    let db = empty_db().await;
    let dsn = db.url();
    let args = [
        "bench",
        "write",
        "--dsn",
        &dsn,
        "--clients",
        "1",
        "--seconds",
        "1",
    ];
    let o = run(&args);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("not migrated"), "{}", text(&o));
    let o = run(&["migrate", "--dsn", &dsn, "up", "--to", "0002_trading_core"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = run(&args);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(
        text(&o).contains("migrated only to 0002_trading_core"),
        "{}",
        text(&o)
    );
    let n: i64 = db
        .connect()
        .await
        .query_one("SELECT count(*) FROM strategies", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "nothing is written to a refused database");
}

#[tokio::test]
async fn bench_write_on_a_database_without_event_tables_writes_the_same_rows_without_events() {
    let db = empty_db().await;
    let dsn = db.url();
    let o = run(&[
        "migrate",
        "--dsn",
        &dsn,
        "up",
        "--to",
        "0005_trade_cursor_symbol",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = run(&["bench", "write", "--dsn", &dsn, "--seconds", "1", "--json"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(v["path"], "v1-no-events", "{v}");
    assert_eq!(v["schema"], "0005_trade_cursor_symbol", "{v}");
    let trails = v["trails"].as_i64().unwrap();
    assert!(trails > 0, "{v}");
    let row = db
        .connect()
        .await
        .query_one(
            "SELECT (SELECT count(*) FROM trade_decisions WHERE status = 'submitted'),
                    (SELECT count(*) FROM llm_decision_reviews),
                    (SELECT count(*) FROM executions e JOIN trade_decisions d
                       ON d.id = e.trade_decision_id AND e.client_order_id = d.decision_hash)",
            &[],
        )
        .await
        .unwrap();
    for i in 0..3 {
        assert_eq!(row.get::<_, i64>(i), trails, "column {i}");
    }
}

#[tokio::test]
async fn audit_verify_and_checkpoint_exit_codes() {
    let db = empty_db().await;
    let dsn = db.url();
    let o = run(&["audit", "verify", "--dsn", &dsn]);
    assert_eq!(code(&o), 2, "not migrated: {}", text(&o));
    let o = run(&["migrate", "--dsn", &dsn, "up"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = run(&["bench", "write", "--dsn", &dsn, "--seconds", "1"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = run(&["audit", "checkpoint", "--dsn", &dsn, "--json"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = run(&["audit", "verify", "--dsn", &dsn]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(text(&o).contains("intact"), "{}", text(&o));
    // Anchors: a key, a signed checkpoint written outside the database, verify against it.
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("anchor.key");
    let o = run(&["audit", "keygen", "--out", key.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let public = String::from_utf8_lossy(&o.stdout).trim().to_owned();
    assert_eq!(public.len(), 64, "{public}");
    let o = run(&["audit", "keygen", "--out", key.to_str().unwrap()]);
    assert_eq!(
        code(&o),
        2,
        "an existing key is never overwritten: {}",
        text(&o)
    );
    let anchors = dir.path().join("anchors");
    std::fs::create_dir(&anchors).unwrap();
    let o = run(&[
        "audit",
        "checkpoint",
        "--dsn",
        &dsn,
        "--signing-key",
        key.to_str().unwrap(),
        "--anchor-out",
        anchors.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let line = String::from_utf8_lossy(&o.stdout)
        .lines()
        .last()
        .unwrap()
        .to_owned();
    let anchor: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(anchor["public_key"], public.as_str(), "{line}");
    let o = run(&[
        "audit",
        "verify",
        "--dsn",
        &dsn,
        "--anchors",
        anchors.to_str().unwrap(),
        "--public-key",
        &public,
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(text(&o).contains("1 anchor"), "{}", text(&o));
    let c = db.connect().await;
    let id: uuid::Uuid = c
        .query_one("SELECT id FROM llm_decision_reviews LIMIT 1", &[])
        .await
        .unwrap()
        .get(0);
    c.batch_execute(&format!(
        "BEGIN; SET LOCAL session_replication_role = replica; \
         UPDATE llm_decision_reviews SET verdict = 'reject' WHERE id = '{id}'; COMMIT"
    ))
    .await
    .unwrap();
    let o = run(&["audit", "verify", "--dsn", &dsn, "--json"]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["findings"][0]["problem"], "modified", "{v}");
    assert_eq!(v["findings"][0]["table"], "llm_decision_reviews", "{v}");
    assert_eq!(v["findings"][0]["id"], id.to_string(), "{v}");
    // Archive: a bad date is a usage error.
    let o = run(&[
        "audit",
        "archive",
        "--dsn",
        &dsn,
        "--before",
        "yesterday",
        "--reason",
        "r",
        "--approved-by",
        "a",
    ]);
    assert_eq!(code(&o), 2, "{}", text(&o));
}

/// Every line of `out` as JSON.
fn json_lines(out: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(out)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}
