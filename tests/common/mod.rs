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

/// Writes `src` as a classic pcap (nanosecond, little-endian) at `dst` without the frames whose
/// 1-based numbers are in `drop` (as `editcap SRC DST N...` would). The frames after a dropped
/// one are renumbered, as in any edited capture.
pub fn write_without_frames(src: &Path, dst: &Path, drop: &[u64]) {
    write_edited(src, dst, drop, 262_144);
}

/// Writes `src` as a classic pcap at `dst` with every frame cut to its first `snaplen` bytes
/// (`orig_len` kept), as `editcap -s SNAPLEN` does and as `tcpdump -s SNAPLEN` records.
pub fn write_with_snaplen(src: &Path, dst: &Path, snaplen: u32) {
    write_edited(src, dst, &[], snaplen);
}

/// [`write_without_frames`] with the frames cut to `snaplen` bytes.
fn write_edited(src: &Path, dst: &Path, drop: &[u64], snaplen: u32) {
    use certflow::capture::{read, Input};
    let mut out: Vec<u8> = Vec::new();
    let mut link: Option<u32> = None;
    let mut records: Vec<u8> = Vec::new();
    read(&Input::Path(src.to_path_buf()), &mut |f| {
        link.get_or_insert(f.link_type);
        if drop.contains(&f.number) {
            return;
        }
        let (s, ns) = (
            f.ts_ns.div_euclid(1_000_000_000),
            f.ts_ns.rem_euclid(1_000_000_000),
        );
        let data = &f.data[..f.data.len().min(snaplen as usize)];
        records.extend_from_slice(&(s as u32).to_le_bytes());
        records.extend_from_slice(&(ns as u32).to_le_bytes());
        records.extend_from_slice(&(data.len() as u32).to_le_bytes());
        records.extend_from_slice(&f.orig_len.to_le_bytes());
        records.extend_from_slice(data);
    })
    .expect("read the source capture");
    out.extend_from_slice(&0xa1b2_3c4du32.to_le_bytes());
    out.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&snaplen.to_le_bytes());
    out.extend_from_slice(&link.unwrap_or(1).to_le_bytes());
    out.extend_from_slice(&records);
    std::fs::write(dst, out).expect("write the edited capture");
}

/// The entry of host `addr` in a flows document's `hosts`.
pub fn host<'a>(v: &'a serde_json::Value, addr: &str) -> &'a serde_json::Value {
    v["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["address"] == addr)
        .expect("host listed")
}

/// The names certflow gives the host `addr` in a flows document, as (name, source, frame).
pub fn host_names(v: &serde_json::Value, addr: &str) -> Vec<(String, String, u64)> {
    host(v, addr)["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["name"].as_str().unwrap().into(),
                n["source"].as_str().unwrap().into(),
                n["frame"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}
