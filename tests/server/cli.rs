//! The binary as an operator meets it: --help, zero-configuration start, and one clear line
//! (never a panic) for each way start-up can fail.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{TcpListener, TcpStream},
    os::unix::fs::PermissionsExt,
    process::{Command, Output, Stdio},
    sync::mpsc,
    time::Duration,
};

use uuid::Uuid;

fn custodian() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_custodian"));
    command.env_remove("DATABASE_URL").env("RUST_LOG", "warn");
    command
}

/// `custodian serve` on `addr` with its data in `data_dir`.
fn serve_with(addr: &str, data_dir: &std::path::Path) -> Command {
    let mut command = custodian();
    command
        .args(["serve", "--site-addr", addr, "--data-dir"])
        .arg(data_dir);
    command
}

/// The server's PostgreSQL, from the DATABASE_URL the tests run with, with another database.
fn database_url(database: &str) -> String {
    let base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut url = url::Url::parse(&base).unwrap();
    url.set_path(database);
    url.to_string()
}

fn free_addr() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// Asserts the command failed with exactly one line on stderr that mentions each of `words`.
fn assert_one_line_failure(output: Output, words: &[&str]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "succeeded: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    for word in words {
        assert!(lines[0].contains(word), "{word:?} missing from {stderr}");
    }
}

#[test]
fn help_lists_the_subcommands_and_every_setting_with_its_default() {
    let output = custodian().arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "serve",
        "migrate",
        "invite",
        "audit",
        "DATABASE_URL",
        "APP_DATABASE_URL",
        "SITE_ADDR",
        "PUBLIC_URL",
        "DATA_DIR",
        "KEY_FILE",
        "MAIL_TRANSPORT",
        "[default: ./data]",
        "[default: 127.0.0.1:3000]",
        "[default: file]",
    ] {
        assert!(
            help.contains(expected),
            "{expected:?} missing from --help:\n{help}"
        );
    }
    let invite = custodian()
        .args(["invite", "create", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&invite.stdout).contains("--expires-in <DAYS>"));
}

#[test]
fn a_malformed_database_url_is_one_clear_line() {
    let output = custodian()
        .args(["migrate"])
        .env("DATABASE_URL", "mysql//nope")
        .output()
        .unwrap();
    assert_one_line_failure(output, &["DATABASE_URL", "not a valid PostgreSQL URL"]);
}

#[test]
fn an_unreachable_database_is_one_clear_line_without_the_password() {
    let output = custodian()
        .args(["migrate"])
        .env(
            "DATABASE_URL",
            "postgres://someone:s3cret-pw@127.0.0.1:1/custodian",
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("s3cret-pw"), "{stderr}");
    assert_one_line_failure(output, &["cannot reach PostgreSQL", "127.0.0.1:1"]);
}

#[test]
fn an_unusable_data_directory_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let output = serve_with(&free_addr(), &file.join("data"))
        .output()
        .unwrap();
    assert_one_line_failure(output, &["data directory", "--data-dir"]);
}

#[test]
fn a_corrupt_key_file_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("kek.key");
    std::fs::write(&key, "this is not a key\n").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let output = serve_with(&free_addr(), dir.path())
        .arg("--key-file")
        .arg(&key)
        .output()
        .unwrap();
    assert_one_line_failure(output, &["key file", "corrupt"]);
}

#[test]
fn a_configured_key_that_is_not_a_key_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let output = serve_with(&free_addr(), dir.path())
        .env("KEY_ENCRYPTION_KEY", "not a key")
        .output()
        .unwrap();
    assert_one_line_failure(output, &["KEY_ENCRYPTION_KEY", "256-bit"]);
    // Refused before anything was written: no key file was generated in its place.
    assert!(!dir.path().join("keys").exists());
}

#[test]
fn a_busy_port_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = serve_with(&addr, dir.path()).output().unwrap();
    assert_one_line_failure(output, &["cannot listen on", &addr, "already in use"]);
}

#[test]
fn an_invalid_invite_expiry_is_one_clear_line() {
    let output = custodian()
        .args(["invite", "create", "--expires-in", "0"])
        .env(
            "DATABASE_URL",
            "postgres://nobody@127.0.0.1:1/never-reached",
        )
        .output()
        .unwrap();
    assert_one_line_failure(output, &["expire in 1 to 90 days"]);
}

fn http_get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// Starts `serve` and returns it once it prints "serving", with every stdout line so far.
fn start(
    database: &str,
    data_dir: &std::path::Path,
    addr: &str,
    env: &[(&str, &str)],
) -> (std::process::Child, Vec<String>) {
    let mut child = serve_with(addr, data_dir)
        .envs(env.iter().copied())
        .env("DATABASE_URL", database_url(database))
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines_tx, lines_rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let stderr = child.stderr.take().unwrap();
    let (ready_tx, ready_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("serving") {
                let _ = ready_tx.send(());
            }
        }
    });
    ready_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the server did not start");
    // Stdout is line-buffered; give its reader a moment to pass on what came before "serving".
    std::thread::sleep(Duration::from_millis(300));
    let lines = lines_rx.try_iter().collect();
    (child, lines)
}

fn stop(mut child: std::process::Child) -> std::process::ExitStatus {
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    child.wait().unwrap()
}

#[test]
fn a_first_start_needs_no_configuration_and_stops_gracefully() {
    let database = format!("custodian_first_start_{}", Uuid::new_v4().simple());
    let data_dir = tempfile::tempdir().unwrap();
    let addr = free_addr();

    let (child, stdout) = start(&database, data_dir.path(), &addr, &[]);
    let signup = stdout
        .iter()
        .find(|l| l.contains("/signup?invite="))
        .cloned();
    let health = http_get(&addr, "/healthz");
    let status = stop(child);

    let signup = signup.unwrap_or_else(|| panic!("no sign-up URL printed: {stdout:?}"));
    // The directory and a database per region, named after it, all created on first start.
    let made = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-Atc"])
        .arg(format!(
            "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database \
             WHERE datname LIKE '{database}%'"
        ))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&made.stdout).trim(),
        format!("{database},{database}_eu_west,{database}_us_east")
    );
    // A loopback address is published as localhost, which WebAuthn accepts.
    let port = addr.rsplit(':').next().unwrap();
    assert!(
        signup.contains(&format!("http://localhost:{port}/signup?invite=")),
        "{signup}"
    );
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(
        status.success(),
        "SIGTERM should end the server cleanly: {status}"
    );
    let key = data_dir.path().join("keys/kek.key");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Mail holds single-use links: the folder is the server's user's alone.
    let mail = data_dir.path().join("mail");
    assert!(mail.is_dir());
    assert_eq!(
        std::fs::metadata(&mail).unwrap().permissions().mode() & 0o777,
        0o700
    );

    // A second start keeps the key and does not create another first invite.
    let key_before = std::fs::read(&key).unwrap();
    let (child, stdout) = start(&database, data_dir.path(), &addr, &[]);
    stop(child);
    assert!(
        !stdout.iter().any(|l| l.contains("/signup?invite=")),
        "{stdout:?}"
    );
    assert_eq!(std::fs::read(&key).unwrap(), key_before);

    // The same key given by configuration: another data directory needs no key file.
    let configured = String::from_utf8(key_before).unwrap();
    let other_dir = tempfile::tempdir().unwrap();
    let (child, _) = start(
        &database,
        other_dir.path(),
        &addr,
        &[("KEY_ENCRYPTION_KEY", configured.trim())],
    );
    assert!(stop(child).success());
    assert!(!other_dir.path().join("keys/kek.key").exists());

    let invite = custodian()
        .args([
            "invite",
            "create",
            "--expires-in",
            "3",
            "--public-url",
            "https://c.example",
        ])
        .env("DATABASE_URL", database_url(&database))
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&invite.stdout);
    assert!(
        invite.status.success(),
        "{}",
        String::from_utf8_lossy(&invite.stderr)
    );
    assert!(
        printed.contains("Sign up at:  https://c.example/signup?invite="),
        "{printed}"
    );
    let expires = printed
        .lines()
        .find(|l| l.starts_with("Expires:"))
        .unwrap_or_default();
    assert!(
        expires.ends_with(" UTC") && expires.len() == "Expires:     2026-11-25 19:26 UTC".len(),
        "{printed}"
    );

    for name in [
        database.clone(),
        format!("{database}_us_east"),
        format!("{database}_eu_west"),
    ] {
        Command::new("dropdb")
            .args(["--if-exists", "-h", "127.0.0.1", "-U", "postgres", &name])
            .status()
            .ok();
    }
}
