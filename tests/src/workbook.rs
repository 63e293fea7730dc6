//! XLSX answers read back as a spreadsheet program reads them: openpyxl (PyPI), in a
//! virtual environment the first test to need it makes under the target directory
//! (other test processes wait for it). A workbook it cannot open fails the test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// One sheet of a workbook.
#[derive(Debug, serde::Deserialize)]
pub struct Sheet {
    pub title: String,
    /// The top-left cell of the scrolling part (`A2`: the header row is frozen).
    pub freeze: Option<String>,
    /// Every row, each cell as text (empty when blank).
    pub rows: Vec<Vec<String>>,
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

/// The Python with openpyxl, made once per target directory.
fn python() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace().join("target"), PathBuf::from);
    let venv = target.join("e2e-python");
    let python = venv.join("bin").join("python");
    let ready = venv.join(".ready");
    let lock = target.join("e2e-python.lock");
    let deadline = Instant::now() + Duration::from_secs(600);
    while !ready.exists() {
        // One process makes it; a lock left by a process that died goes after 10 min.
        if std::fs::create_dir_all(&target).is_ok() && std::fs::create_dir(&lock).is_ok() {
            let made = make(&venv);
            std::fs::remove_dir(&lock).ok();
            made.unwrap_or_else(|e| panic!("making {}: {e}", venv.display()));
            std::fs::write(&ready, b"").expect("mark the environment ready");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "waited 10 minutes for {} (remove {} if no test is making it)",
            venv.display(),
            lock.display()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    python
}

fn make(venv: &Path) -> Result<(), String> {
    let run = |cmd: &mut Command| -> Result<(), String> {
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
    };
    run(Command::new("python3").arg("-m").arg("venv").arg(venv))?;
    run(Command::new(venv.join("bin").join("pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(workspace().join("tests/python/requirements.txt")))
}

/// Opens `bytes` as a workbook with openpyxl; panics with its error if it cannot.
pub fn read(bytes: &[u8]) -> Vec<Sheet> {
    let file = std::env::temp_dir().join(format!("e2e-{}.xlsx", uuid::Uuid::new_v4()));
    std::fs::write(&file, bytes).expect("write the workbook");
    let out = Command::new(python())
        .arg(workspace().join("tests/python/read_xlsx.py"))
        .arg(&file)
        .output()
        .expect("run openpyxl");
    std::fs::remove_file(&file).ok();
    assert!(
        out.status.success(),
        "openpyxl cannot open the workbook: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the reader's JSON")
}
