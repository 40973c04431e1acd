//! The certflow command (STUB, issue 2).

fn main() {}
