//! Connections and the flow set (STUB, issue 2).
