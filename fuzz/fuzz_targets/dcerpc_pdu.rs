//! One connection-oriented DCE/RPC fragment (C706 12.6): must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = certflow::proto::dcerpc::pdu::parse_pdu(data);
    let _ = certflow::proto::dcerpc::pdu::plausible_header(data);
});
