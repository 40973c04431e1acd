//! Rendering: tables and JSON (STUB, issue 2).
