//! Aligned text tables for a terminal.

use std::io::{self, Write};

use super::text::terminal_safe;
use crate::analysis::Analysis;
use crate::flow::Flow;

/// Writes the capture summary and the flow table.
pub fn flows(a: &Analysis, out: &mut dyn Write) -> io::Result<()> {
    for c in &a.captures {
        let i = &c.info;
        let skipped: u64 = c.skipped.values().sum();
        write!(
            out,
            "capture {} ({}{}, {}): {} packets read, {} decoded, {} skipped",
            terminal_safe(&i.path),
            i.format,
            i.compression
                .as_deref()
                .map(|z| format!("+{z}"))
                .unwrap_or_default(),
            i.variant,
            i.packets,
            c.decoded,
            skipped
        )?;
        if skipped > 0 {
            let why: Vec<String> = c.skipped.iter().map(|(k, v)| format!("{k} {v}")).collect();
            write!(out, " ({})", why.join(", "))?;
        }
        if c.truncated_frames > 0 {
            write!(out, "; {} cut short by the snap length", c.truncated_frames)?;
        }
        writeln!(out)?;
        if let Some(d) = &i.damage {
            writeln!(
                out,
                "  damaged at offset {}: {}",
                d.offset,
                terminal_safe(&d.message)
            )?;
        }
    }
    let t = &a.tracker;
    if t.untracked_packets > 0 || t.flows_dropped > 0 {
        writeln!(
            out,
            "caps reached: {} packets untracked (live-connection cap), {} connections not stored (flow cap)",
            t.untracked_packets, t.flows_dropped
        )?;
    }
    let full: Vec<usize> = a
        .flows
        .iter()
        .map(|f| crate::evidence::dropped_lists(&f.evidence).len())
        .filter(|&n| n > 0)
        .collect();
    let hosts = crate::model::hosts::hosts(a);
    let full_hosts = hosts.iter().filter(|h| h.names_dropped > 0).count();
    if full_hosts > 0 {
        writeln!(
            out,
            "caps reached: {full_hosts} hosts with more than {} names; `names_dropped` in the JSON's hosts",
            crate::model::hosts::MAX_NAMES_PER_HOST
        )?;
    }
    if !full.is_empty() {
        writeln!(
            out,
            "caps reached: {} fact lists full ({} values each) in {} flows; `facts_dropped` in the JSON names them",
            full.iter().sum::<usize>(),
            crate::evidence::MAX_FACTS_PER_LIST,
            full.len()
        )?;
    }
    writeln!(out)?;
    let header = [
        "CLIENT", "SERVER", "PROTO", "PORT", "SERVICE", "CONN", "EST", "REF", "UNANS", "PKTS",
        "BYTES", "FRAME", "EVIDENCE",
    ];
    let show = |addr: &std::net::IpAddr| -> String {
        match hosts
            .binary_search_by(|h| h.address.cmp(addr))
            .ok()
            .and_then(|i| hosts[i].best_name())
        {
            Some(n) => format!("{addr} ({})", terminal_safe(n)),
            None => addr.to_string(),
        }
    };
    let rows: Vec<[String; 13]> = a.flows.iter().map(|f| row(f, &show)).collect();
    let mut width = header.map(str::len);
    for r in &rows {
        for (w, cell) in width.iter_mut().zip(r.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(width.iter()).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else if (5..12).contains(&i) || i == 3 {
                s.push_str(&format!("{cell:>w$}  "));
            } else {
                s.push_str(&format!("{cell:<w$}  "));
            }
        }
        s.trim_end().to_string()
    };
    writeln!(out, "{}", line(&header.map(String::from)))?;
    for r in &rows {
        writeln!(out, "{}", line(r))?;
    }
    writeln!(out, "\n{} flows", a.flows.len())
}

fn row(f: &Flow, show: &dyn Fn(&std::net::IpAddr) -> String) -> [String; 13] {
    [
        show(&f.key.client),
        show(&f.key.server),
        f.key.transport.as_str().to_string(),
        f.key.port.to_string(),
        f.service().to_string(),
        f.connections.to_string(),
        f.outcomes.established.to_string(),
        f.outcomes.refused.to_string(),
        f.outcomes.unanswered.to_string(),
        f.total_packets().to_string(),
        f.total_bytes().to_string(),
        f.first.frame.to_string(),
        terminal_safe(&super::summary::evidence(f)),
    ]
}
