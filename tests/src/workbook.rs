//! XLSX answers read back as a spreadsheet program reads them: openpyxl (PyPI), in a
//! virtual environment the first test to need it makes under the target directory
//! (other test processes wait for it). A workbook it cannot open fails the test.

use std::path::PathBuf;
use std::process::Command;

/// One sheet of a workbook.
#[derive(Debug, serde::Deserialize)]
pub struct Sheet {
    pub title: String,
    /// The top-left cell of the scrolling part (`A2`: the header row is frozen).
    pub freeze: Option<String>,
    /// Every row, each cell as text (empty when blank).
    pub rows: Vec<Vec<String>>,
}

/// The Python with openpyxl, made once per target directory.
fn python() -> PathBuf {
    let venv = crate::tools::target().join("e2e-python");
    let ready = venv.join(".ready");
    crate::tools::once(
        "e2e-python",
        || ready.exists(),
        || {
            crate::tools::run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
            crate::tools::run(
                Command::new(venv.join("bin").join("pip"))
                    .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
                    .arg(crate::tools::workspace().join("tests/python/requirements.txt")),
            )?;
            std::fs::write(&ready, b"").map_err(|e| e.to_string())
        },
    );
    venv.join("bin").join("python")
}

/// Opens `bytes` as a workbook with openpyxl; panics with its error if it cannot.
/// Runs off the test's runtime, which also serves the gateway under test.
pub async fn read(bytes: &[u8]) -> Vec<Sheet> {
    let bytes = bytes.to_vec();
    tokio::task::spawn_blocking(move || read_blocking(&bytes))
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

fn read_blocking(bytes: &[u8]) -> Vec<Sheet> {
    let file = std::env::temp_dir().join(format!("e2e-{}.xlsx", uuid::Uuid::new_v4()));
    std::fs::write(&file, bytes).expect("write the workbook");
    let out = Command::new(python())
        .arg(crate::tools::workspace().join("tests/python/read_xlsx.py"))
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
