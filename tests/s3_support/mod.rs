//! Helpers for the S3 archive tests (tests/s3_*.rs). They run against a real S3
//! server: scripts/test.sh starts moto_server (scripts/s3-server.sh) and passes
//! it in XWAL_S3_* variables. Without XWAL_S3_ENDPOINT a test prints why and
//! passes without running, so a plain `cargo test --features s3` still works.
#![allow(dead_code)]

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use std::time::Duration;
use xwal::archive::{S3Config, S3Credentials};

/// Where the server is, from the environment.
#[derive(Debug, Clone)]
pub struct S3Env {
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
}

/// The server from XWAL_S3_*, or `None` (with a printed reason) to skip.
pub fn env() -> Option<S3Env> {
    let Ok(endpoint) = std::env::var("XWAL_S3_ENDPOINT") else {
        eprintln!(
            "skipping: XWAL_S3_ENDPOINT is not set (scripts/test.sh starts a real S3 server and sets it)"
        );
        return None;
    };
    let var = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    Some(S3Env {
        endpoint,
        region: var("XWAL_S3_REGION", "us-east-1"),
        bucket: var("XWAL_S3_BUCKET", "xwal-test"),
        access_key: var("XWAL_S3_ACCESS_KEY", "test"),
        secret_key: var("XWAL_S3_SECRET_KEY", "test"),
    })
}

/// A prefix no other test (or earlier run) uses.
pub fn unique_prefix(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("tests/{name}-{}-{nanos}", std::process::id())
}

impl S3Env {
    /// Archive settings for a fresh prefix, with short timeouts and quick retries.
    pub fn config(&self, name: &str) -> S3Config {
        S3Config::new(&self.bucket)
            .prefix(unique_prefix(name))
            .region(&self.region)
            .endpoint(&self.endpoint)
            .path_style(true)
            .credentials(S3Credentials::static_keys(
                &self.access_key,
                &self.secret_key,
            ))
            .timeouts(Duration::from_secs(2), Duration::from_secs(10))
            .max_backoff(Duration::from_millis(500))
            .poll_interval(Duration::from_millis(50))
    }

    /// A command for `program` with this server's keys in the AWS environment
    /// (where a user would put them), never on the command line.
    pub fn command(&self, program: &str) -> std::process::Command {
        let mut c = std::process::Command::new(program);
        c.env("AWS_ACCESS_KEY_ID", &self.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret_key)
            .env_remove("AWS_SESSION_TOKEN");
        c
    }

    /// A direct client, for the tests to look at or damage objects.
    pub fn store(&self) -> AmazonS3 {
        AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_region(&self.region)
            .with_bucket_name(&self.bucket)
            .with_access_key_id(&self.access_key)
            .with_secret_access_key(&self.secret_key)
            .build()
            .unwrap()
    }
}

/// Runs a future to completion on a small runtime.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

pub fn segment_key(cfg: &S3Config, n: u64) -> String {
    format!("{}/segments/{n:020}.seg", cfg.prefix.trim_matches('/'))
}

pub fn manifest_key(cfg: &S3Config) -> String {
    format!("{}/manifest", cfg.prefix.trim_matches('/'))
}

pub fn get(store: &AmazonS3, key: &str) -> Option<Vec<u8>> {
    block_on(async {
        match store.get(&Path::from(key)).await {
            Ok(r) => Some(r.bytes().await.unwrap().to_vec()),
            Err(object_store::Error::NotFound { .. }) => None,
            Err(e) => panic!("GET {key}: {e}"),
        }
    })
}

pub fn put(store: &AmazonS3, key: &str, data: Vec<u8>) {
    block_on(async {
        store
            .put(&Path::from(key), PutPayload::from(data))
            .await
            .unwrap()
    });
}

pub fn delete(store: &AmazonS3, key: &str) {
    block_on(async { store.delete(&Path::from(key)).await.unwrap() });
}

/// Keys under `prefix`.
pub fn list(store: &AmazonS3, prefix: &str) -> Vec<String> {
    block_on(async {
        let r = store
            .list_with_delimiter(Some(&Path::from(format!("{prefix}/segments"))))
            .await
            .unwrap();
        r.objects.iter().map(|o| o.location.to_string()).collect()
    })
}

/// Segment numbers present as files in a WAL directory.
pub fn local_segments(dir: &std::path::Path) -> Vec<u64> {
    let mut v: Vec<u64> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(
            |e| match xwal::format::classify(&e.unwrap().file_name().to_string_lossy()) {
                xwal::format::FileKind::Segment { segment, .. } => Some(segment),
                _ => None,
            },
        )
        .collect();
    v.sort_unstable();
    v
}

/// Waits until `f` holds, up to `secs` seconds.
pub fn wait_until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A moto_server of the test's own (scripts/s3-server.sh), stopped on drop.
pub struct OwnServer {
    pub env: S3Env,
    pub pid: i32,
    envfile: std::path::PathBuf,
    script: String,
}

impl OwnServer {
    /// Starts one; needs the venv that scripts/test.sh installed.
    pub fn start() -> OwnServer {
        let script = std::env::var("XWAL_S3_SERVER_SCRIPT")
            .unwrap_or_else(|_| format!("{}/scripts/s3-server.sh", env!("CARGO_MANIFEST_DIR")));
        let envfile = std::env::temp_dir().join(format!(
            "xwal-own-moto-{}-{}.env",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let out = std::process::Command::new("bash")
            .arg(&script)
            .arg("start")
            .arg(&envfile)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "starting moto: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&envfile).unwrap();
        let get = |k: &str| -> String {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("export {k}=")))
                .unwrap_or_else(|| panic!("{k} missing in {text}"))
                .to_string()
        };
        OwnServer {
            env: S3Env {
                endpoint: get("XWAL_S3_ENDPOINT"),
                region: get("XWAL_S3_REGION"),
                bucket: get("XWAL_S3_BUCKET"),
                access_key: get("XWAL_S3_ACCESS_KEY"),
                secret_key: get("XWAL_S3_SECRET_KEY"),
            },
            pid: get("XWAL_S3_SERVER_PID").parse().unwrap(),
            envfile,
            script,
        }
    }

    /// SIGSTOP: the server process stops answering (connections hang).
    pub fn pause(&self) {
        assert_eq!(unsafe { libc::kill(self.pid, libc::SIGSTOP) }, 0);
    }

    /// SIGCONT: it answers again, with everything it held.
    pub fn resume(&self) {
        assert_eq!(unsafe { libc::kill(self.pid, libc::SIGCONT) }, 0);
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = std::process::Command::new("bash")
            .arg(&self.script)
            .arg("stop")
            .arg(&self.envfile)
            .status();
    }
}
