//! Starts real local servers and checks that they stop cleanly, leaving no process behind.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use torghut_localpg::{ClusterOptions, LocalPg};

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

fn wait_gone(pid: i32, within: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < within {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    !alive(pid)
}

fn psql(dsn: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([dsn, "-XAtc", sql])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn uid_of(pid: i32) -> u32 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn temporary_cluster_starts_answers_and_stops_without_leftovers() {
    let pg = LocalPg::start(ClusterOptions::temporary().unwrap()).unwrap();
    let pid = pg.server_pid();
    assert!(pid > 0 && alive(pid));
    assert_ne!(uid_of(pid), 0, "the server never runs as root");
    let base = pg.base_dir().to_path_buf();
    assert_eq!(psql(&pg.socket_dsn("postgres"), "select 1"), "1");
    pg.stop();
    assert!(
        wait_gone(pid, Duration::from_secs(10)),
        "postmaster {pid} still running"
    );
    assert!(
        !base.exists(),
        "temporary cluster directory {base:?} was not removed"
    );
}

#[test]
fn tcp_port_uses_password_authentication() {
    let mut opts = ClusterOptions::temporary().unwrap();
    opts.tcp_port = Some(0);
    let pg = LocalPg::start(opts).unwrap();
    let url = pg.tcp_url("postgres").unwrap();
    assert_eq!(psql(&url, "select current_user"), "postgres");
    let wrong = format!(
        "postgresql://postgres:wrong@127.0.0.1:{}/postgres?sslmode=disable",
        pg.port()
    );
    let out = Command::new("psql")
        .args([&wrong, "-XAtc", "select 1"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "a wrong password must be refused");
    pg.stop();
}

#[test]
fn persistent_cluster_keeps_data_across_restarts_and_refuses_a_second_server() {
    let dir = std::env::temp_dir().join(format!(
        "torghut-persist-{}",
        torghut_localpg::random_hex(4)
    ));
    let pg = LocalPg::start(ClusterOptions {
        durable: false,
        ..ClusterOptions::persistent(&dir)
    })
    .unwrap();
    psql(
        &pg.socket_dsn("postgres"),
        "create table kept(x int); insert into kept values (42)",
    );
    let second = LocalPg::start(ClusterOptions {
        durable: false,
        ..ClusterOptions::persistent(&dir)
    });
    assert!(
        matches!(
            second,
            Err(torghut_localpg::LocalPgError::AlreadyRunning { .. })
        ),
        "{second:?}"
    );
    pg.stop();
    let pg = LocalPg::start(ClusterOptions {
        durable: false,
        ..ClusterOptions::persistent(&dir)
    })
    .unwrap();
    assert_eq!(psql(&pg.socket_dsn("postgres"), "select x from kept"), "42");
    pg.stop();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The owner of a server is killed with SIGKILL: the server must still go away.
#[test]
fn server_stops_when_its_owner_is_killed() {
    if std::env::var_os("TORGHUT_LOCALPG_CHILD").is_some() {
        // Child mode: start a server, report its pid and base dir, then wait to be killed.
        let pg = LocalPg::start(ClusterOptions::temporary().unwrap()).unwrap();
        let report = std::env::var("TORGHUT_LOCALPG_CHILD").unwrap();
        std::fs::write(
            &report,
            format!("{} {}", pg.server_pid(), pg.base_dir().display()),
        )
        .unwrap();
        std::thread::sleep(Duration::from_secs(120));
        return;
    }
    let report = std::env::temp_dir().join(format!(
        "torghut-localpg-report-{}",
        torghut_localpg::random_hex(4)
    ));
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "server_stops_when_its_owner_is_killed",
            "--exact",
            "--test-threads=1",
        ])
        .env("TORGHUT_LOCALPG_CHILD", &report)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let (pid, base) = loop {
        if let Ok(text) = std::fs::read_to_string(&report) {
            if let Some((pid, base)) = text.split_once(' ') {
                break (pid.parse::<i32>().unwrap(), base.to_string());
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "child did not report its server"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    std::fs::remove_file(&report).unwrap();
    assert!(alive(pid));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        wait_gone(pid, Duration::from_secs(15)),
        "postmaster {pid} outlived its owner"
    );
    let start = Instant::now();
    while Path::new(&base).exists() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!Path::new(&base).exists(), "{base} left behind");
}
