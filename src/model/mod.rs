//! What the evidence says about the hosts of a capture (names now; roles and the documented
//! baseline later). Reads typed evidence only, never packet bytes.

pub mod hosts;
