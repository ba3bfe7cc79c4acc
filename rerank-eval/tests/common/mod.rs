//! Helpers shared by integration tests: finding the Python interpreter that carries
//! the reference packages (pytrec_eval, scipy).

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// The Python with the reference packages: `$RERANK_PYTHON`, else the workspace's
/// `.venv` (made by `scripts/python-env.sh`). Panics with instructions when missing,
/// unless `RERANK_SKIP_PYTHON_REFERENCE=1`, in which case it returns `None` and the
/// caller skips (saying so).
pub fn reference_python(module: &str) -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = std::env::var_os("RERANK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv/bin/python"));
    let ok = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        return Some(python);
    }
    if std::env::var("RERANK_SKIP_PYTHON_REFERENCE").as_deref() == Ok("1") {
        eprintln!("SKIPPED: no Python with `{module}` (RERANK_SKIP_PYTHON_REFERENCE=1)");
        return None;
    }
    panic!(
        "this test compares against the Python package `{module}`, not found with {}.\n\
         Run `bash scripts/python-env.sh` (creates .venv with the pinned reference packages), \
         or set RERANK_PYTHON to a Python that has it, \
         or set RERANK_SKIP_PYTHON_REFERENCE=1 to skip the reference checks.",
        python.display()
    );
}
