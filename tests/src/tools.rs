//! The outside tools some tests drive, installed on first use so that the README's
//! test command works on a fresh machine: npm packages from a directory's lock file
//! (the OpenID provider, the browser driver) and Debian's Chromium. One test process
//! installs each (the others wait on a lock directory under the target directory);
//! `.ci/run` installs them up front, so there they are found ready.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The workspace's root.
pub(crate) fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

/// The target directory, where the locks live.
pub(crate) fn target() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace().join("target"), PathBuf::from)
}

/// Runs `make` once across test processes unless `ready()` already holds: whoever
/// takes the lock `name` makes it; the others wait (a lock left by a process that
/// died is waited out for 10 minutes, then named in the failure).
pub(crate) fn once(
    name: &str,
    ready: impl Fn() -> bool,
    make: impl FnOnce() -> Result<(), String>,
) {
    let lock = target().join(format!("{name}.lock"));
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut make = Some(make);
    while !ready() {
        if std::fs::create_dir_all(target()).is_ok() && std::fs::create_dir(&lock).is_ok() {
            let made = if ready() {
                Ok(())
            } else {
                (make.take().expect("made once"))()
            };
            std::fs::remove_dir(&lock).ok();
            made.unwrap_or_else(|e| panic!("installing {name}: {e}"));
            assert!(ready(), "installing {name} left it unusable");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "waited 10 minutes for {name} (remove {} if no test is installing it)",
            lock.display()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Runs a command, its standard error in the failure.
pub(crate) fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?}: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The npm packages of `tests/<dir>` (its `package-lock.json`), installed by `npm ci`
/// unless `tests/<dir>/node_modules/<probe>` is there. Returns the directory.
pub fn npm_packages(dir: &str, probe: &str) -> PathBuf {
    let path = workspace().join("tests").join(dir);
    let installed = path.join("node_modules").join(probe);
    once(
        &format!("npm-{dir}"),
        || installed.exists(),
        || {
            run(Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--prefix"])
                .arg(&path))
        },
    );
    path
}

/// Debian's Chromium: `CHROMIUM`, else `/usr/bin/chromium`, installed with apt-get
/// where it is missing and this process may (root).
pub fn chromium() -> PathBuf {
    let path =
        PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned()));
    once(
        "chromium",
        || path.exists(),
        || {
            let root = Command::new("id")
                .arg("-u")
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
            if !root {
                return Err(format!(
                    "no Chromium at {}: `apt-get install chromium` (or set CHROMIUM)",
                    path.display()
                ));
            }
            run(Command::new("apt-get").args(["update", "-qq"]))?;
            run(Command::new("apt-get")
                .args(["install", "-y", "-qq", "chromium"])
                .env("DEBIAN_FRONTEND", "noninteractive"))
        },
    );
    path
}

/// Where the browser tests save each one's final page.
pub const SCREENSHOTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/screenshots");

/// Runs `tests/browser/{script}` with `args` against Debian's headless Chromium (both
/// installed on first use) and returns what it printed; fails the test when the
/// script does.
pub async fn browser_script(script: &str, args: &[&str]) -> String {
    let dir = npm_packages("browser", "puppeteer-core");
    let chromium = chromium();
    let run = tokio::process::Command::new("node")
        .env("CHROMIUM", &chromium)
        .arg(dir.join(script))
        .args(args)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(180), run)
        .await
        .expect("the browser is done within 3 minutes")
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{stdout}");
    stdout
}
