//! Command-line arguments (clap types) and their resolution into configurations the core reads.
//! Nothing outside this module knows clap.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::capture::Input;
use crate::report::Format;

/// certflow: packet captures of AD CS enrollments -> flows, evidence and firewall rules.
#[derive(Debug, Parser)]
#[command(name = "certflow", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the flows of a capture set: who talked to whom, on which port, with what outcome.
    Flows(FlowsArgs),
}

/// Arguments of `certflow flows`.
#[derive(Debug, clap::Args)]
pub struct FlowsArgs {
    /// Capture files (pcap or pcapng, optionally gzip/zstd compressed); `-` reads standard input.
    /// Several files form one capture set; frames are numbered per file.
    #[arg(required = true, value_name = "CAPTURE")]
    pub captures: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,
    /// Do not compute the captures' SHA-256 (`sha256` is then empty). SHA-256 runs at about
    /// 1.5 GB/s per core and bounds the speed on large captures.
    #[arg(long)]
    pub no_hash: bool,
    /// Do not run the protocol analyzers: flows, outcomes and port guesses only (no evidence).
    #[arg(long)]
    pub no_dissect: bool,
}

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// An aligned table for a terminal.
    Table,
    /// One JSON document (schema `certflow.flows/1`).
    Json,
}

/// What `certflow flows` was asked to do, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowsConfig {
    /// The capture set, in order.
    pub inputs: Vec<Input>,
    /// The output format.
    pub format: Format,
    /// Compute each capture's SHA-256.
    pub hash: bool,
    /// Run the protocol analyzers.
    pub dissect: bool,
}

impl FlowsArgs {
    /// Resolves the arguments into a configuration.
    pub fn resolve(&self) -> FlowsConfig {
        let inputs = self
            .captures
            .iter()
            .map(|c| {
                if c == "-" {
                    Input::Stdin
                } else {
                    Input::Path(PathBuf::from(c))
                }
            })
            .collect();
        let format = match self.format {
            FormatArg::Table => Format::Table,
            FormatArg::Json => Format::Json,
        };
        FlowsConfig {
            inputs,
            format,
            hash: !self.no_hash,
            dissect: !self.no_dissect,
        }
    }
}
