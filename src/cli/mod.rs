//! Command-line arguments and their resolution into a configuration (STUB, issue 2).
