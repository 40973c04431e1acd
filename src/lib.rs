//! certflow: packet captures of AD CS enrollments -> flows -> protocol evidence -> firewall rules.
//!
//! Data flows one way, each module owning one stage:
//!
//! ```text
//! capture bytes -> capture::Frame -> decode::Packet -> flow (connections, flow set)
//!   -> proto analyzers -> evidence::Evidence per flow -> report
//! ```
//!
//! Nothing below `cli` knows about clap; nothing in `report` touches packet bytes.

pub mod analysis;
pub mod capture;
pub mod cli;
pub mod decode;
pub mod evidence;
pub mod flow;
pub mod model;
pub mod proto;
pub mod report;
pub mod services;
