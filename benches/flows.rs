//! Throughput and peak memory of `certflow flows`, side by side with `cat`, `tcpdump -nr`,
//! `tshark -q -z conv,tcp` and the minimal pcap-parser + etherparse flow loop the throughput
//! target was derived from (`examples/minimal_flow_loop.rs`), on the same large capture, in the
//! same run.
//!
//! Run on demand: `cargo bench --bench flows` (builds the release binary first). The large
//! capture is built under target/bench/ by replicating a real capture: each copy maps every IPv4
//! address to a distinct one (second and third octet XOR the copy number), so flows multiply as
//! in a larger network, and shifts timestamps past the previous copy. Environment:
//! - `CERTFLOW_BENCH_SRC`: the capture to replicate (default: every public capture in
//!   ../shared/captures, a mix of real Windows AD traffic; else the project's captures/);
//! - `CERTFLOW_BENCH_MB`: target size in MB (default 1024);
//! - `CERTFLOW_BENCH_TOOLS=0`: skip tcpdump and tshark (they take minutes on 1 GB);
//! - `CERTFLOW_BENCH_RUNS`: runs of each fast program (default 7), interleaved round by round
//!   so that a machine whose speed drifts (a shared VM) slows every program alike; the median
//!   is printed, with the fastest and slowest run. tcpdump and tshark run once.
//!
//! Peak memory comes from `/usr/bin/time -f %M` (Debian package `time`).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use certflow::capture::{self, Input};
use certflow::decode::link;

struct Packet {
    ts_ns: i64,
    link_type: u32,
    data: Vec<u8>,
    orig_len: u32,
}

/// Reads the Ethernet frames of `sources`, one after the other in time.
fn load(sources: &[PathBuf]) -> Vec<Packet> {
    let mut v: Vec<Packet> = Vec::new();
    for src in sources {
        let start = v.last().map(|p| p.ts_ns + 1_000_000_000).unwrap_or(0);
        let mut first: Option<i64> = None;
        let res = capture::read(&Input::Path(src.clone()), &mut |f| {
            if f.link_type != link::LINKTYPE_ETHERNET {
                return;
            }
            let base = *first.get_or_insert(f.ts_ns);
            v.push(Packet {
                ts_ns: start + (f.ts_ns - base).max(0),
                link_type: f.link_type,
                data: f.data.to_vec(),
                orig_len: f.orig_len,
            })
        });
        if let Err(e) = res {
            eprintln!("skipping {}: {e}", src.display());
        }
    }
    v
}

/// The captures to replicate: `CERTFLOW_BENCH_SRC` (one file), else every public capture (a mix
/// of real Windows AD traffic), else the project's own captures.
fn sources(root: &Path) -> Vec<PathBuf> {
    if let Some(p) = std::env::var_os("CERTFLOW_BENCH_SRC") {
        return vec![PathBuf::from(p)];
    }
    for dir in [root.join("../shared/captures"), root.join("captures")] {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut v: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let n = p.to_string_lossy();
                n.ends_with(".pcap") || n.ends_with(".pcapng") || n.ends_with(".pcapng.gz")
            })
            .collect();
        v.sort();
        if !v.is_empty() {
            return v;
        }
    }
    Vec::new()
}

/// Rewrites the IPv4 addresses of a frame for copy `k`.
fn remap(p: &Packet, k: u32) -> Vec<u8> {
    let mut d = p.data.clone();
    if let Ok(link::LinkPayload::Ip(ip)) = link::strip(p.link_type, &p.data) {
        let off = p.data.len() - ip.len();
        if ip.first().is_some_and(|b| b >> 4 == 4) && ip.len() >= 20 {
            for a in [off + 12, off + 16] {
                d[a + 1] ^= (k >> 8) as u8;
                d[a + 2] ^= k as u8;
            }
        }
    }
    d
}

fn build(src: &[Packet], target_bytes: u64, pcap: &Path, pcapng: &Path) -> (u64, u64) {
    let link_type = src.first().map(|p| p.link_type).unwrap_or(1);
    let span = src.last().map(|p| p.ts_ns).unwrap_or(0) - src.first().map(|p| p.ts_ns).unwrap_or(0)
        + 1_000_000_000;
    let mut a = BufWriter::with_capacity(1 << 20, File::create(pcap).unwrap());
    let mut b = BufWriter::with_capacity(1 << 20, File::create(pcapng).unwrap());
    // Classic pcap header: LE, microseconds, snaplen 262144.
    a.write_all(&0xa1b2c3d4u32.to_le_bytes()).unwrap();
    a.write_all(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
    a.write_all(&262_144u32.to_le_bytes()).unwrap();
    a.write_all(&link_type.to_le_bytes()).unwrap();
    // pcapng: SHB + one IDB (nanosecond resolution: if_tsresol = 9).
    let shb: Vec<u8> = [
        &0x0a0d0d0au32.to_le_bytes()[..],
        &28u32.to_le_bytes(),
        &0x1a2b3c4du32.to_le_bytes(),
        &1u16.to_le_bytes(),
        &0u16.to_le_bytes(),
        &u64::MAX.to_le_bytes(),
        &28u32.to_le_bytes(),
    ]
    .concat();
    b.write_all(&shb).unwrap();
    let idb: Vec<u8> = [
        &1u32.to_le_bytes()[..],
        &32u32.to_le_bytes(),
        &(link_type as u16).to_le_bytes(),
        &0u16.to_le_bytes(),
        &262_144u32.to_le_bytes(),
        &[9, 0, 1, 0, 9, 0, 0, 0],
        &[0, 0, 0, 0],
        &32u32.to_le_bytes(),
    ]
    .concat();
    b.write_all(&idb).unwrap();
    let (mut written, mut packets, mut k) = (0u64, 0u64, 0u32);
    while written < target_bytes {
        for p in src {
            let d = remap(p, k);
            let ts = p.ts_ns + i64::from(k) * span;
            let (s, us) = (
                ts.div_euclid(1_000_000_000),
                ts.rem_euclid(1_000_000_000) / 1000,
            );
            a.write_all(&(s as u32).to_le_bytes()).unwrap();
            a.write_all(&(us as u32).to_le_bytes()).unwrap();
            a.write_all(&(d.len() as u32).to_le_bytes()).unwrap();
            a.write_all(&p.orig_len.to_le_bytes()).unwrap();
            a.write_all(&d).unwrap();
            let pad = (4 - d.len() % 4) % 4;
            let total = 32 + d.len() + pad;
            let tsu = ts as u64;
            b.write_all(&6u32.to_le_bytes()).unwrap();
            b.write_all(&(total as u32).to_le_bytes()).unwrap();
            b.write_all(&0u32.to_le_bytes()).unwrap();
            b.write_all(&((tsu >> 32) as u32).to_le_bytes()).unwrap();
            b.write_all(&(tsu as u32).to_le_bytes()).unwrap();
            b.write_all(&(d.len() as u32).to_le_bytes()).unwrap();
            b.write_all(&p.orig_len.to_le_bytes()).unwrap();
            b.write_all(&d).unwrap();
            b.write_all(&[0u8; 3][..pad]).unwrap();
            b.write_all(&(total as u32).to_le_bytes()).unwrap();
            written += 16 + d.len() as u64;
            packets += 1;
        }
        k += 1;
    }
    (std::fs::metadata(pcap).unwrap().len(), packets)
}

/// Runs `cmd` under /usr/bin/time, returns (seconds, peak RSS in MB).
fn measure(cmd: &str) -> Option<(f64, f64)> {
    // Warm-up run so every program reads from the page cache.
    let t0 = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M", "sh", "-c", cmd])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .ok()?;
    let secs = t0.elapsed().as_secs_f64();
    let err = String::from_utf8_lossy(&out.stderr);
    let kb: f64 = err.lines().last()?.trim().parse().ok()?;
    Some((secs, kb / 1024.0))
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let srcs = sources(&root);
    let mb: u64 = std::env::var("CERTFLOW_BENCH_MB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1024);
    let tools = std::env::var("CERTFLOW_BENCH_TOOLS")
        .map(|v| v != "0")
        .unwrap_or(true);
    let rounds: usize = std::env::var("CERTFLOW_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7)
        .max(1);
    if !Path::new("/usr/bin/time").exists() {
        eprintln!("bench needs /usr/bin/time (apt-get install time)");
        return;
    }
    let status = Command::new("cargo")
        .args([
            "build",
            "--release",
            "--quiet",
            "--bin",
            "certflow",
            "--example",
            "minimal_flow_loop",
        ])
        .current_dir(&root)
        .status();
    assert!(
        status.map(|s| s.success()).unwrap_or(false),
        "cargo build --release failed"
    );
    let bin = root.join("target/release/certflow");
    let minimal = root.join("target/release/examples/minimal_flow_loop");
    let dir = root.join("target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    let (pcap, pcapng) = (
        dir.join(format!("big-{mb}.pcap")),
        dir.join(format!("big-{mb}.pcapng")),
    );
    let source = load(&srcs);
    assert!(!source.is_empty(), "no Ethernet frames to replicate");
    let t = Instant::now();
    let (bytes, packets) = build(&source, mb << 20, &pcap, &pcapng);
    println!(
        "built {} ({} MB, {} packets, {:.0} B mean) and {} from {} capture(s) in {:.1}s",
        pcap.display(),
        bytes >> 20,
        packets,
        bytes as f64 / packets as f64,
        pcapng.display(),
        srcs.len(),
        t.elapsed().as_secs_f64()
    );
    println!(
        "{:<44} {:>8} {:>8} {:>9} {:>9}   range",
        "program", "median s", "GB/s", "Mpkt/s", "peak MB"
    );
    for file in [&pcap, &pcapng] {
        let size = std::fs::metadata(file).unwrap().len() as f64;
        let f = file.display();
        let b = bin.display();
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let fast = [
            (format!("cat {name}"), format!("cat {f} >/dev/null")),
            (
                format!("certflow flows --format json {name}"),
                format!("{b} flows --format json {f} >/dev/null"),
            ),
            (
                format!("certflow flows --format json --no-hash {name}"),
                format!("{b} flows --format json --no-hash {f} >/dev/null"),
            ),
            (
                format!("certflow flows --no-hash --no-dissect {name}"),
                format!("{b} flows --format json --no-hash --no-dissect {f} >/dev/null"),
            ),
            (
                "minimal pcap-parser+etherparse loop".to_string(),
                format!("{} {f} >/dev/null", minimal.display()),
            ),
        ];
        let _ = measure(&format!("cat {f} >/dev/null"));
        let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new(); fast.len()];
        for _ in 0..rounds {
            for (i, (_, cmd)) in fast.iter().enumerate() {
                runs[i].extend(measure(cmd));
            }
        }
        let print = |name: &str, secs: &[f64], rss: f64| {
            let mut sorted = secs.to_vec();
            sorted.sort_by(f64::total_cmp);
            let Some(&median) = sorted.get(sorted.len() / 2) else {
                println!("{name:<44} (not run: command missing)");
                return;
            };
            println!(
                "{:<44} {:>8.2} {:>8.2} {:>9.2} {:>9.1}   {:.2}-{:.2} s over {} runs",
                name,
                median,
                size / median / 1e9,
                packets as f64 / median / 1e6,
                rss,
                sorted[0],
                sorted[sorted.len() - 1],
                sorted.len()
            );
        };
        for ((name, _), r) in fast.iter().zip(&runs) {
            let secs: Vec<f64> = r.iter().map(|x| x.0).collect();
            let rss = r.iter().map(|x| x.1).fold(0.0, f64::max);
            print(name, &secs, rss);
        }
        // Issue 4's target: dissection on costs at most 1.25 times flows only (both --no-hash).
        if let (Some(d), Some(f)) = (median(&runs[2]), median(&runs[3])) {
            println!(
                "dissection / flows only (--no-hash): {:.2} times (target: at most 1.25)",
                d / f
            );
        }
        if tools {
            for (name, cmd) in [
                ("tcpdump -nr", format!("tcpdump -nr {f} >/dev/null 2>&1")),
                (
                    "tshark -q -z conv,tcp -r",
                    format!("tshark -q -z conv,tcp -r {f} >/dev/null 2>&1"),
                ),
            ] {
                let r: Vec<(f64, f64)> = measure(&cmd).into_iter().collect();
                let secs: Vec<f64> = r.iter().map(|x| x.0).collect();
                print(name, &secs, r.first().map_or(0.0, |x| x.1));
            }
        }
    }
}

/// Median wall time of a program's runs.
fn median(runs: &[(f64, f64)]) -> Option<f64> {
    let mut secs: Vec<f64> = runs.iter().map(|x| x.0).collect();
    secs.sort_by(f64::total_cmp);
    secs.get(secs.len() / 2).copied()
}
