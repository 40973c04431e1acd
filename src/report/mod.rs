//! Rendering: aligned tables for a terminal and JSON documents. Renders what the analysis
//! holds; never parses packet bytes.

pub mod compact;
pub mod json;
pub mod summary;
pub mod table;
pub mod text;

use std::io::{self, Write};

use crate::analysis::Analysis;

/// Output format of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned text table.
    Table,
    /// One JSON document.
    Json,
}

/// Writes the flow set of `a` in `format`.
pub fn flows(a: &Analysis, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Table => table::flows(a, out),
        Format::Json => {
            json::FlowsDoc::new(a).write(out)?;
            writeln!(out)
        }
    }
}
