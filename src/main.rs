//! The certflow command: parse arguments, run, map errors to exit codes.
//!
//! Exit codes: 0 success; 2 bad input (a capture missing, unreadable, not a capture, or damaged
//! midway: a damaged capture is still analysed up to the damage and reported); 2 also for usage
//! errors (clap's convention). A closed output pipe (`| head`) is not an error.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

use certflow::analysis;
use certflow::cli::{Cli, Command};
use certflow::report;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("certflow: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> io::Result<ExitCode> {
    match cli.command {
        Command::Flows(args) => {
            let cfg = args.resolve();
            let options = certflow::capture::ReadOptions { hash: cfg.hash };
            let analysis = match analysis::analyze_with(&cfg.inputs, &options, cfg.dissect) {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("certflow: error: {e}");
                    return Ok(ExitCode::from(2));
                }
            };
            // Large writes: the JSON document of a big capture is tens of megabytes.
            let mut out = io::BufWriter::with_capacity(1 << 16, document_stdout()?);
            report::flows(&analysis, cfg.format, &mut out)?;
            out.flush()?;
            let mut code = ExitCode::SUCCESS;
            let damaged: Vec<_> = analysis.damaged().cloned().collect();
            // The process ends here: freeing every flow one by one would only cost time.
            std::mem::forget(analysis);
            for c in &damaged {
                if let Some(d) = &c.info.damage {
                    eprintln!(
                        "certflow: warning: {}: offset {}: {}; analysed the {} packets read before the damage",
                        c.info.path, d.offset, d.message, c.info.packets
                    );
                    code = ExitCode::from(2);
                }
            }
            Ok(code)
        }
    }
}

/// Standard output for one large document. On Unix it is a duplicate of the descriptor, so
/// that the buffered writer's chunks go straight to it: Rust's `Stdout` is line-buffered and
/// searches every chunk for a newline (1.7% of a run with evidence). Elsewhere it is `Stdout`.
#[cfg(unix)]
fn document_stdout() -> io::Result<Box<dyn Write>> {
    use std::os::fd::AsFd;
    let fd = io::stdout().as_fd().try_clone_to_owned()?;
    Ok(Box::new(std::fs::File::from(fd)))
}

/// See the Unix version.
#[cfg(not(unix))]
fn document_stdout() -> io::Result<Box<dyn Write>> {
    Ok(Box::new(io::stdout().lock()))
}
