//! A flood of sign-ins against the real server process: 200 at once, for names that do not
//! exist, each from its own address (so only the hashing gate, not throttling, holds them
//! back). Memory stays bounded (peak RSS of the process, printed), every answer is a 401 or a
//! quick 503 with `Retry-After`, and `/healthz` keeps answering throughout (never so slowly, so
//! often in a row, that an orchestrator's probe would take the instance out of service).

mod support;

use std::time::{Duration, Instant};

use support::TestResult;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Peak resident memory allowed for the server during the flood. Without the gate, 200
/// argon2 runs of 19 MiB each at once pass 3 GiB.
const MAX_PEAK_RSS_MIB: u64 = 160;

/// A health probe's timeout and how many failed probes in a row take an instance out of
/// service: Kubernetes' defaults (`timeoutSeconds: 1`, `failureThreshold: 3`). One slow
/// answer on a busy machine is not an outage; three in a row would be.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
const PROBE_FAILURES_TO_REMOVE: u32 = 3;

/// Sends one HTTP/1.1 request and returns the status and the response head.
async fn send(port: u16, request: String) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, answer))
}

fn sign_in_request(n: usize) -> String {
    let body = format!("username=nobody{n}%40example.org&password=guess+number+{n}");
    format!(
        "POST /api/sign_in HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\
         Accept: application/json\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         X-Forwarded-For: 198.51.{}.{}\r\nContent-Length: {}\r\n\r\n{body}",
        n / 200,
        n % 200 + 1,
        body.len()
    )
}

fn peak_rss_kib(pid: u32) -> std::io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    Ok(status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0))
}

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_sign_ins_keep_memory_bounded_and_health_checks_answered()
-> TestResult {
    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let server = Server(
        std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .arg("serve")
            .env(
                "LATCHKEY_DATABASE_URL",
                format!("sqlite://{}/l.db", dir.path().display()),
            )
            .env("LATCHKEY_SECRET_KEY_FILE", dir.path().join("secret.key"))
            .env("LATCHKEY_ADDR", format!("127.0.0.1:{port}"))
            .env("LATCHKEY_LOG", "error")
            .env("LEPTOS_OUTPUT_NAME", "latchkey")
            .env("LEPTOS_SITE_ROOT", dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()?,
    );
    let pid = server.0.id();
    let health = || {
        send(
            port,
            "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".into(),
        )
    };
    let started = Instant::now();
    while !matches!(health().await, Ok((200, _))) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let baseline_kib = peak_rss_kib(pid)?;

    let flood: Vec<_> = (0..200)
        .map(|n| tokio::spawn(send(port, sign_in_request(n))))
        .collect();
    // Health checks while the flood runs. A probe counts as failed past its timeout; the
    // instance is taken out of service only after several failures in a row.
    let mut slowest_health = Duration::ZERO;
    let (mut slow_in_a_row, mut most_slow_in_a_row) = (0, 0);
    while !flood.iter().all(|task| task.is_finished()) {
        let asked = Instant::now();
        let (status, _) = tokio::time::timeout(Duration::from_secs(5), health()).await??;
        assert_eq!(status, 200);
        let took = asked.elapsed();
        slowest_health = slowest_health.max(took);
        slow_in_a_row = if took >= PROBE_TIMEOUT {
            slow_in_a_row + 1
        } else {
            0
        };
        most_slow_in_a_row = most_slow_in_a_row.max(slow_in_a_row);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the flood never ended"
        );
    }
    let (mut refused, mut busy) = (0, 0);
    for task in flood {
        let (status, head) = task.await??;
        match status {
            401 => refused += 1,
            503 => {
                assert!(head.to_ascii_lowercase().contains("retry-after:"), "{head}");
                busy += 1;
            }
            other => panic!("unexpected answer {other}: {head}"),
        }
    }
    let peak_mib = peak_rss_kib(pid)? / 1024;
    println!(
        "200 concurrent sign-ins: {refused} checked (401), {busy} refused as busy (503); \
         peak RSS {peak_mib} MiB (at start {} MiB); slowest /healthz {slowest_health:?}",
        baseline_kib / 1024
    );
    assert!(refused >= 2, "some sign-ins were checked");
    assert!(
        peak_mib <= MAX_PEAK_RSS_MIB,
        "peak RSS {peak_mib} MiB > {MAX_PEAK_RSS_MIB} MiB"
    );
    assert!(
        most_slow_in_a_row < PROBE_FAILURES_TO_REMOVE,
        "{most_slow_in_a_row} health checks in a row took {PROBE_TIMEOUT:?} or more \
         (slowest {slowest_health:?})"
    );
    Ok(())
}
