//! A throwaway PostgreSQL cluster, for the demo and the tests on a machine where no
//! database is configured.
//!
//! `initdb` makes the cluster in a fresh temporary directory; `postgres` serves it on
//! a free loopback port with its socket in that directory. The server runs under a
//! small shell that holds a pipe from this process: when this process exits, however
//! it exits (even `kill -9`), the pipe closes, and the shell stops the server and
//! removes the directory. PostgreSQL refuses to run as root, so as root both run as
//! the `postgres` system user. The supervisor runs in a process group of its own, so
//! only the pipe, not a terminal's Ctrl-C, decides when it stops.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use crate::StoreError;

/// A running throwaway cluster; dropping it (or exiting) stops and removes it.
#[derive(Debug)]
pub struct ScratchCluster {
    url: String,
    dir: PathBuf,
    // Closing this pipe is what tells the supervising shell to stop the server.
    _lifeline: ChildStdin,
    _supervisor: Child,
}

const SUPERVISOR: &str = r#"
"$1/postgres" -D "$2/data" -p "$3" -k "$2" -c listen_addresses=127.0.0.1 \
  -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 \
  >"$2/server.log" 2>&1 </dev/null &
pid=$!
echo started
read _ignored
kill -QUIT "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
rm -rf "$2"
"#;

impl ScratchCluster {
    /// Makes and starts a cluster; returns once it accepts connections.
    pub fn start() -> Result<Self, StoreError> {
        let bin = find_bin_dir().ok_or_else(|| {
            StoreError::Cluster(
                "no initdb/postgres found on PATH or in /usr/lib/postgresql/*/bin; install PostgreSQL \
                 (Debian: apt-get install postgresql) or set DATABASE_URL"
                    .to_owned(),
            )
        })?;
        let run_as = if is_root() {
            Some(postgres_user()?)
        } else {
            None
        };
        let dir = std::env::temp_dir().join(format!(
            "interop-gateway-pg-{}-{}",
            std::process::id(),
            nonce()
        ));
        std::fs::create_dir_all(&dir).map_err(|e| cluster_err("create its directory", e))?;
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
                .map_err(|e| cluster_err("chown its directory", e))?;
        }
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .args(["-D"])
            .arg(dir.join("data"))
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        as_user(&mut initdb, run_as);
        let out = initdb.output().map_err(|e| cluster_err("run initdb", e))?;
        if !out.status.success() {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(StoreError::Cluster(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let port = free_port()?;
        let mut sh = Command::new("sh");
        sh.arg("-c")
            .arg(SUPERVISOR)
            .arg("supervisor")
            .arg(&bin)
            .arg(&dir)
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        as_user(&mut sh, run_as);
        // A process group of its own: Ctrl-C at a terminal (or `timeout`) signals the
        // caller's whole group, and would kill the supervisor before it cleans up.
        std::os::unix::process::CommandExt::process_group(&mut sh, 0);
        let mut child = sh.spawn().map_err(|e| cluster_err("start postgres", e))?;
        let lifeline = child
            .stdin
            .take()
            .ok_or_else(|| StoreError::Cluster("no pipe to the supervisor".into()))?;
        if let Some(out) = child.stdout.take() {
            let mut line = String::new();
            let _ = BufReader::new(out).read_line(&mut line);
        }
        let cluster = Self {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            dir,
            _lifeline: lifeline,
            _supervisor: child,
        };
        cluster.wait_until_accepting(port)?;
        Ok(cluster)
    }

    /// The URL of the cluster's `postgres` database, as the superuser `postgres`.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn wait_until_accepting(&self, port: u16) -> Result<(), StoreError> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                // The port opens a moment before the server takes connections.
                std::thread::sleep(Duration::from_millis(200));
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        Err(StoreError::Cluster(format!(
            "postgres did not start within 30 s: {}",
            log.trim()
        )))
    }
}

fn cluster_err(what: &str, e: std::io::Error) -> StoreError {
    StoreError::Cluster(format!("could not {what}: {e}"))
}

fn as_user(cmd: &mut Command, run_as: Option<(u32, u32)>) {
    use std::os::unix::process::CommandExt;
    if let Some((uid, gid)) = run_as {
        cmd.uid(uid).gid(gid);
    }
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// The uid and gid of the `postgres` system user, from /etc/passwd.
fn postgres_user() -> Result<(u32, u32), StoreError> {
    let passwd =
        std::fs::read_to_string("/etc/passwd").map_err(|e| cluster_err("read /etc/passwd", e))?;
    passwd
        .lines()
        .find_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            (f.first() == Some(&"postgres") && f.len() > 3).then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
        })
        .ok_or_else(|| {
            StoreError::Cluster(
                "running as root, and PostgreSQL will not run as root: create a `postgres` system user \
                 (Debian's postgresql package does), run as another user, or set DATABASE_URL"
                    .to_owned(),
            )
        })
}

fn free_port() -> Result<u16, StoreError> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| cluster_err("find a free port", e))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| cluster_err("find a free port", e))
}

fn nonce() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

/// A directory holding both `initdb` and `postgres`: on PATH, else the newest of
/// Debian's /usr/lib/postgresql/<version>/bin.
fn find_bin_dir() -> Option<PathBuf> {
    let has_both = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|d| std::fs::canonicalize(d.join("initdb")).ok())
        .filter_map(|p| p.parent().map(Path::to_path_buf))
        .find(|d| has_both(d));
    on_path.or_else(|| {
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(Result::ok)
            .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
            .filter(|(_, d)| has_both(d))
            .collect();
        versions.sort();
        versions.pop().map(|(_, d)| d)
    })
}
