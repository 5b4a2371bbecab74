//! Running under systemd: the unit in `deploy/` passes `systemd-analyze verify`, and the real
//! binary sends `READY=1` only once it answers on its port, and `STOPPING=1` on SIGTERM
//! (`Type=notify`), read from a notify socket the test holds.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// `systemd-analyze`, or `None` (a failure in CI) where it is not installed.
fn systemd_analyze() -> Option<&'static str> {
    let path = "/usr/bin/systemd-analyze";
    if Path::new(path).exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "systemd-analyze is missing (scripts/setup-tools.sh --test installs systemd)"
    );
    println!("skipped: systemd-analyze is not installed");
    None
}

#[test]
fn the_unit_passes_systemd_analyze_verify() -> TestResult {
    let Some(analyze) = systemd_analyze() else {
        return Ok(());
    };
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/latchkey.service"
    ))?;
    assert!(unit.contains("ExecStart=/usr/local/bin/latchkey serve"));
    // verify also checks that the program exists: point it at the one just built.
    let dir = tempfile::tempdir()?;
    let installed = dir.path().join("latchkey.service");
    std::fs::write(
        &installed,
        unit.replace("/usr/local/bin/latchkey", env!("CARGO_BIN_EXE_latchkey")),
    )?;
    let output = Command::new(analyze)
        .args(["verify", "--man=no"])
        .arg(&installed)
        .current_dir(dir.path())
        .output()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.trim().is_empty(), "warnings: {stderr}");
    for needed in [
        "Type=notify",
        "User=latchkey",
        "StateDirectory=latchkey",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        "CapabilityBoundingSet=\n",
    ] {
        assert!(unit.contains(needed), "the unit lacks {needed:?}");
    }
    Ok(())
}

#[test]
fn readiness_is_sent_once_listening_and_stopping_on_sigterm() -> TestResult {
    let dir = tempfile::tempdir()?;
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path)?;
    socket.set_read_timeout(Some(Duration::from_secs(60)))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .arg("serve")
        .env("NOTIFY_SOCKET", &socket_path)
        .env(
            "LATCHKEY_DATABASE_URL",
            format!("sqlite://{}/l.db", dir.path().display()),
        )
        .env("LATCHKEY_SECRET_KEY_FILE", dir.path().join("secret.key"))
        .env("LATCHKEY_ADDR", format!("127.0.0.1:{port}"))
        .env("LATCHKEY_LOG", "error")
        .env("LEPTOS_OUTPUT_NAME", "latchkey")
        .env("LEPTOS_SITE_ROOT", dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let result = (|| -> TestResult {
        let mut message = [0u8; 256];
        let length = socket.recv(&mut message)?;
        assert_eq!(
            String::from_utf8_lossy(&message[..length]).trim(),
            "READY=1"
        );
        // Ready means listening: the port answers at once, with no retry.
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
        std::io::Write::write_all(
            &mut stream,
            b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        )?;
        let mut answer = String::new();
        std::io::Read::read_to_string(&mut stream, &mut answer)?;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

        let killed = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()?;
        assert!(killed.success());
        let length = socket.recv(&mut message)?;
        assert_eq!(
            String::from_utf8_lossy(&message[..length]).trim(),
            "STOPPING=1"
        );
        Ok(())
    })();
    if result.is_err() {
        let _ = child.kill();
    }
    let status = child.wait()?;
    result?;
    assert!(
        status.success(),
        "a SIGTERM ends Latchkey cleanly: {status}"
    );
    Ok(())
}

#[test]
fn the_sample_settings_file_names_real_settings_with_values_they_take() -> TestResult {
    let sample = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/latchkey.env"),
    )?;
    let help = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .arg("--help")
        .output()?;
    let help = String::from_utf8(help.stdout)?;
    let dir = tempfile::tempdir()?;
    let mut migrate = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    let mut settings = 0;
    // Every line, commented out or not, as an operator would turn it on.
    for line in sample.lines() {
        let Some((name, value)) = line.trim_start_matches('#').split_once('=') else {
            continue;
        };
        if !name.starts_with("LATCHKEY_") {
            continue;
        }
        assert!(
            help.contains(&format!("[env: {name}")),
            "{name} is not a setting of `latchkey --help`"
        );
        settings += 1;
        if name != "LATCHKEY_DATABASE_URL" {
            migrate.env(name, value);
        }
    }
    assert!(settings >= 10, "{settings} settings in the sample");
    let migrated = migrate
        .arg("migrate")
        .env(
            "LATCHKEY_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("latchkey.db").display()),
        )
        .env("LATCHKEY_SECRET_KEY_FILE", dir.path().join("secret.key"))
        .output()?;
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    Ok(())
}
