//! moto's S3 server, started on 127.0.0.1 for a test and stopped when dropped.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::config::{
    Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
    StalledStreamProtectionConfig,
};

/// Set to `1` (the README's test command and CI do) to turn a missing moto into a test failure.
pub const REQUIRE_ENV: &str = "REKCHECK_REQUIRE_MOTO";

/// A running moto server.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    addr: SocketAddr,
}

impl Moto {
    /// Starts moto, or returns `None` (after saying so on stderr) when it is not installed and
    /// [`REQUIRE_ENV`] is not set. Panics when it is required but missing, or does not start.
    pub fn start() -> Option<Moto> {
        let Some((python, python_path)) = interpreter() else {
            let required = std::env::var(REQUIRE_ENV).as_deref() == Ok("1");
            assert!(
                !required,
                "moto is required ({REQUIRE_ENV}=1) but no Python imports moto.server ({PYTHON_ENV}, target/moto-venv, target/moto-lib/python, python3): run scripts/test, which installs it"
            );
            eprintln!(
                "skipped: moto is not installed (scripts/test installs it; set {REQUIRE_ENV}=1 to fail instead)"
            );
            return None;
        };
        let port = free_port();
        // The interpreter itself, not a shell or pyenv shim, so that the PID is the server's;
        // with the PYTHONPATH a wrapper (target/moto-lib/python) gave it.
        let mut command = Command::new(&python);
        if let Some(path) = python_path {
            command.env("PYTHONPATH", path);
        }
        let child = command
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {python} -m moto.server: {e}"));
        let mut moto = Moto {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        moto.wait_ready();
        Some(moto)
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_mins(1);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("moto exited at start: {status}");
            }
            if let Ok(mut s) = TcpStream::connect(self.addr) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                if s.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                    .is_ok()
                {
                    let mut buf = [0u8; 12];
                    if s.read_exact(&mut buf).is_ok() && buf.starts_with(b"HTTP/1.") {
                        return;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("moto did not answer on {} within 60 s", self.addr);
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The server's PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Names an interpreter that has moto (set by `scripts/test`); tried first.
pub const PYTHON_ENV: &str = "REKCHECK_MOTO_PYTHON";

/// The Python interpreter that can import `moto.server`, as an absolute path, and the
/// `PYTHONPATH` it ran with when that was not empty: the one named by [`PYTHON_ENV`], then the
/// test kit's own virtual environment (`<target>/moto-venv`, made by `scripts/test` where the
/// system Python refuses `pip install`), then its `pip install --target` folder's wrapper
/// (`<target>/moto-lib/python`, made where Python cannot make a virtual environment), then
/// `python3` on `PATH`.
fn interpreter() -> Option<(String, Option<String>)> {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        std::path::PathBuf::from,
    );
    let venv = target.join("moto-venv/bin/python");
    let lib = target.join("moto-lib/python");
    let candidates = std::env::var_os(PYTHON_ENV)
        .into_iter()
        .map(std::path::PathBuf::from)
        .chain([venv, lib, std::path::PathBuf::from("python3")]);
    for candidate in candidates {
        let Ok(out) = Command::new(&candidate)
            .args([
                "-c",
                "import os, sys, moto.server; print(sys.executable); print(os.environ.get('PYTHONPATH', ''))",
            ])
            .stderr(Stdio::null())
            .output()
        else {
            continue;
        };
        if !out.status.success() {
            continue;
        }
        let Ok(text) = String::from_utf8(out.stdout) else {
            continue;
        };
        let mut lines = text.lines();
        let exe = lines.next().unwrap_or("").trim();
        let path = lines.next().unwrap_or("").trim();
        if !exe.is_empty() {
            return Some((exe.to_owned(), (!path.is_empty()).then(|| path.to_owned())));
        }
    }
    None
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

/// An SDK config for a local S3 endpoint: dummy credentials, us-east-1, checksums only when
/// required, no SDK retries (rekcheck retries itself), and a short stalled-stream grace period
/// so that a stalled body is noticed quickly.
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "rekcheck-testkit",
        ))
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .stalled_stream_protection(
            StalledStreamProtectionConfig::enabled()
                .grace_period(Duration::from_secs(1))
                .build(),
        )
        .load()
        .await
}

/// A path-style S3 client for a local endpoint.
pub async fn s3_client(endpoint: &str) -> aws_sdk_s3::Client {
    let sdk = sdk_config(endpoint).await;
    let conf = aws_sdk_s3::config::Builder::from(&sdk)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// Creates `bucket` and puts each `(key, body)` in it.
pub async fn put_objects(client: &aws_sdk_s3::Client, bucket: &str, objects: &[(&str, Vec<u8>)]) {
    let _ = client.create_bucket().bucket(bucket).send().await;
    for (key, body) in objects {
        client
            .put_object()
            .bucket(bucket)
            .key(*key)
            .body(body.clone().into())
            .send()
            .await
            .unwrap_or_else(|e| panic!("put s3://{bucket}/{key}: {e:?}"));
    }
}

/// Sets up `cmd` to talk to local test servers only: fixed test credentials and region, no
/// profile, config file, instance metadata or endpoint from the developer's environment, and
/// no proxy for 127.0.0.1.
pub fn isolated_aws_env(cmd: &mut std::process::Command) -> &mut std::process::Command {
    cmd.env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("NO_COLOR", "1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_S3")
        .env_remove("AWS_ENDPOINT_URL_REKOGNITION")
}
