//! Shared helpers of the integration tests: the built binary, the public captures, tshark.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The public captures beside the project (`../shared/captures`), if present.
pub fn shared_captures() -> Option<Vec<PathBuf>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/captures");
    let rd = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(_) => {
            eprintln!(
                "skipped: {} is absent (the public captures ship beside the project)",
                dir.display()
            );
            return None;
        }
    };
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            n.ends_with(".pcap") || n.ends_with(".pcapng") || n.ends_with(".pcapng.gz")
        })
        .collect();
    v.sort();
    Some(v)
}

/// The project's own captures (captures/*.pcap, *.pcapng), always present.
pub fn own_captures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("captures/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            n.ends_with(".pcap") || n.ends_with(".pcapng")
        })
        .collect();
    v.sort();
    v
}

/// One public capture by name, if the folder is present.
pub fn shared_capture(name: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/captures")
        .join(name);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipped: {} is absent", p.display());
        None
    }
}

/// A capture the project recorded itself (captures/).
pub fn own_capture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name)
}

/// Runs the built certflow with `args`.
pub fn certflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_certflow"))
        .args(args)
        .output()
        .expect("run certflow")
}

/// `certflow flows --format json FILE`, parsed. Panics (fails the test) on bad JSON.
pub fn flows_json(path: &Path) -> (serde_json::Value, Output) {
    let out = certflow(&[
        "flows",
        "--format",
        "json",
        path.to_str().expect("utf-8 path"),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: bad JSON ({e}); stderr: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, out)
}

/// True if tshark can be run; prints why not otherwise (CI installs it: see .ci/run).
pub fn have_tshark() -> bool {
    match Command::new("tshark").arg("--version").output() {
        Ok(o) if o.status.success() => true,
        _ => {
            eprintln!(
                "skipped: tshark is not installed (apt-get install tshark; .ci/run installs it)"
            );
            false
        }
    }
}

/// Runs tshark with `args` and returns its standard output.
pub fn tshark(args: &[&str]) -> String {
    let o = Command::new("tshark")
        .args(args)
        .output()
        .expect("run tshark");
    String::from_utf8_lossy(&o.stdout).into_owned()
}
