//! Prints a capture's frames as `number<TAB>epoch<TAB>cap_len<TAB>len` (the columns of
//! `tshark -T fields -e frame.number -e frame.time_epoch -e frame.cap_len -e frame.len`), then the
//! CaptureInfo as JSON on stderr. With `--count`, only counts frames (framing throughput);
//! `--no-hash` skips the sha256.
//!
//! Usage: cargo run --example capture_frames -- [--count] [--no-hash] FILE|-

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use certflow::capture::{self, Input};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count_only = args.iter().any(|a| a == "--count");
    let options = capture::ReadOptions {
        hash: !args.iter().any(|a| a == "--no-hash"),
    };
    let Some(path) = args.iter().find(|a| !a.starts_with("--")) else {
        eprintln!("usage: capture_frames [--count] [--no-hash] FILE|-");
        std::process::exit(2);
    };
    let input = if path == "-" {
        Input::Stdin
    } else {
        Input::Path(PathBuf::from(path))
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut bytes = 0u64;
    let start = Instant::now();
    let mut last_frame_at = 0.0;
    let result = capture::read_with(&input, &options, &mut |f| {
        bytes += f.data.len() as u64;
        if count_only && f.number % 4096 == 0 {
            last_frame_at = start.elapsed().as_secs_f64();
        }
        if !count_only {
            let secs = f.ts_ns.div_euclid(1_000_000_000);
            let nanos = f.ts_ns.rem_euclid(1_000_000_000);
            let _ = writeln!(
                out,
                "{}\t{secs}.{nanos:09}\t{}\t{}",
                f.number,
                f.data.len(),
                f.orig_len
            );
        }
    });
    let elapsed = start.elapsed().as_secs_f64();
    let _ = out.flush();
    match result {
        Ok(info) => {
            eprintln!(
                "{}",
                serde_json::to_string_pretty(&info).unwrap_or_default()
            );
            eprintln!(
                "{} frames, {bytes} captured bytes in {elapsed:.3} s (frames done by {last_frame_at:.3} s)",
                info.packets
            );
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
