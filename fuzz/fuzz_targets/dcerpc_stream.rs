//! The per-connection analyzer over an arbitrary two-direction byte stream: the first byte
//! picks where the client's bytes end; segments are offered as the flow layer does.
#![no_main]
use certflow::evidence::{Evidence, FrameRef};
use certflow::proto::dcerpc::analyzer::DcerpcAnalyzer;
use certflow::proto::{Analyzer, Ctx, Dir, Transport};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let cut = (cut as usize * rest.len()) / 256;
    let (c2s, s2c) = rest.split_at(cut);
    let mut a = DcerpcAnalyzer::new();
    let mut pending = [Vec::new(), Vec::new()];
    for (i, chunk) in c2s.chunks(97).zip(s2c.chunks(89)).enumerate() {
        for (dir, bytes) in [(Dir::ToServer, chunk.0), (Dir::ToClient, chunk.1)] {
            let buf: &mut Vec<u8> = &mut pending[dir.index()];
            buf.extend_from_slice(bytes);
            let ctx = Ctx {
                frame: FrameRef::new(0, i as u64 + 1),
                ts_ns: 0,
                dir,
                transport: Transport::Tcp,
                server_port: 135,
            };
            let used = a.stream(&ctx, buf);
            assert!(used <= buf.len());
            buf.drain(..used);
        }
        if i % 7 == 6 {
            a.gap(Dir::ToClient);
        }
    }
    let mut ev = Evidence::default();
    a.finish(&mut ev);
    let _ = serde_json::to_string(&ev);
});
