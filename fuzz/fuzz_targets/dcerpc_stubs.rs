//! EPM (C706 appendix O) and DCOM (MS-DCOM) stub decoders: must never panic.
#![no_main]
use certflow::proto::dcerpc::{dcom, epm};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = epm::parse_tower(data);
    for ndr64 in [false, true] {
        let _ = epm::parse_map_request(data, true, ndr64);
        let _ = epm::parse_map_response(data, true, ndr64);
        let _ = epm::parse_lookup_response(data, true, ndr64);
    }
    let _ = dcom::parse_activation_request(data);
    let _ = dcom::parse_activation_reply(data);
    let _ = dcom::parse_resolve_oxid_reply(data, true);
    let _ = dcom::parse_server_alive2_reply(data, true);
});
