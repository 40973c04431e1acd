//! Capture variants derived inside the test from real captures in /work/shared/captures:
//! byte-swapped and nanosecond pcap, gzip/zstd, two-section pcapng, pcapng rewritten with other
//! byte orders, resolutions, offsets and block kinds, files cut or corrupted midway, streams, and
//! inputs that are not captures at all. Expected frames are those of the original file (itself
//! checked against tshark in capture_truth.rs); the synthetic pcapng is also read by tshark when
//! it is installed.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use certflow::capture::{self, CaptureError, CaptureInfo, Input, MAX_NAMES};
use sha2::{Digest, Sha256};

const CAPTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/captures");
/// Classic pcap, little-endian microseconds, Ethernet, 77 frames (ntop/nDPI kerberos.pcap).
const PCAP: &str = "kerberos_ldap_smb2_drsuapi_ndpi.pcap";
/// pcapng, one section, Linux SLL, 6 frames (zeek issue-32.pcapng).
const NG_SLL: &str = "ldap_search_linux_cooked_sll.pcapng";
/// pcapng, one section, Ethernet, 17 frames (zeek kerberos135_auth.pcapng).
const NG_ETH: &str = "dcom_isystemactivator_kerberos_auth_tcp135.pcapng";

/// One frame as delivered, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rec {
    number: u64,
    ts_ns: i64,
    link_type: u32,
    data: Vec<u8>,
    orig_len: u32,
}

fn load(name: &str) -> Option<Vec<u8>> {
    let path = Path::new(CAPTURES).join(name);
    match std::fs::read(&path) {
        Ok(b) => Some(b),
        Err(e) => {
            eprintln!("skipped: {} unavailable ({e})", path.display());
            None
        }
    }
}

fn read_bytes(bytes: &[u8]) -> (Result<CaptureInfo, CaptureError>, Vec<Rec>) {
    let mut recs = Vec::new();
    let result = capture::read_stream("mem", Cursor::new(bytes.to_vec()), &mut |f| {
        recs.push(Rec {
            number: f.number,
            ts_ns: f.ts_ns,
            link_type: f.link_type,
            data: f.data.to_vec(),
            orig_len: f.orig_len,
        })
    });
    (result, recs)
}

fn ok(bytes: &[u8]) -> (CaptureInfo, Vec<Rec>) {
    let (result, recs) = read_bytes(bytes);
    match result {
        Ok(info) => (info, recs),
        Err(e) => panic!("unexpected error: {e}"),
    }
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("certflow-capture-{}-{name}", std::process::id()))
}

// ---- classic pcap rewriting -------------------------------------------------------------------

/// A pcap record: (ts_sec, ts_frac, caplen, origlen) and the captured bytes.
type PcapRecord = ([u32; 4], Vec<u8>);

/// Splits a little-endian microsecond pcap into its header and records (header, data).
fn pcap_records(bytes: &[u8]) -> (Vec<u8>, Vec<PcapRecord>) {
    let header = bytes[..24].to_vec();
    let mut records = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let word = |i: usize| u32::from_le_bytes(bytes[at + i..at + i + 4].try_into().unwrap());
        let fields = [word(0), word(4), word(8), word(12)];
        let end = at + 16 + fields[2] as usize;
        if end > bytes.len() {
            break;
        }
        records.push((fields, bytes[at + 16..end].to_vec()));
        at = end;
    }
    (header, records)
}

/// Rewrites a little-endian microsecond pcap as big-endian and/or nanosecond.
fn rewrite_pcap(bytes: &[u8], big_endian: bool, nanos: bool) -> Vec<u8> {
    let (header, records) = pcap_records(bytes);
    let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
    let u32b = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let u16b = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let le32 = |i: usize| u32::from_le_bytes(header[i..i + 4].try_into().unwrap());
    let le16 = |i: usize| u16::from_le_bytes(header[i..i + 2].try_into().unwrap());
    let mut out = Vec::new();
    out.extend(u32b(magic));
    out.extend(u16b(le16(4)));
    out.extend(u16b(le16(6)));
    for i in [8, 12, 16, 20] {
        out.extend(u32b(le32(i)));
    }
    for (f, data) in records {
        let frac = if nanos { f[1] * 1000 } else { f[1] };
        for v in [f[0], frac, f[2], f[3]] {
            out.extend(u32b(v));
        }
        out.extend(data);
    }
    out
}

#[test]
fn big_endian_and_nanosecond_pcap_keep_frames_and_timestamps() {
    let Some(orig) = load(PCAP) else { return };
    let (info, want) = ok(&orig);
    assert_eq!((info.variant.as_str(), info.packets), ("le-us", 77));
    for (be, ns, variant) in [
        (true, false, "be-us"),
        (false, true, "le-ns"),
        (true, true, "be-ns"),
    ] {
        let (info, got) = ok(&rewrite_pcap(&orig, be, ns));
        assert_eq!(info.variant, variant);
        assert_eq!(got, want, "{variant}");
        assert_eq!(
            (info.first_ts_ns, info.last_ts_ns),
            (want.first().map(|r| r.ts_ns), want.last().map(|r| r.ts_ns))
        );
    }
}

// ---- compression ------------------------------------------------------------------------------

fn check_compressed(orig: &[u8], compressed: &[u8], name: &str, label: &str) {
    let (_, want) = ok(orig);
    let path = temp_path(label);
    std::fs::write(&path, compressed).unwrap();
    let mut got = Vec::new();
    let result = capture::read(&Input::Path(path.clone()), &mut |f| {
        got.push((f.number, f.ts_ns, f.data.to_vec()))
    });
    let _ = std::fs::remove_file(&path);
    let info = result.unwrap_or_else(|e| panic!("{label}: {e}"));
    assert_eq!(info.compression.as_deref(), Some(name), "{label}");
    assert_eq!(
        info.sha256,
        hex(&Sha256::digest(compressed)),
        "{label}: digest of the compressed bytes"
    );
    let want: Vec<_> = want
        .into_iter()
        .map(|r| (r.number, r.ts_ns, r.data))
        .collect();
    assert_eq!(got, want, "{label}");
}

#[test]
fn gzip_and_zstd_are_read_transparently() {
    let Some(orig) = load(NG_ETH) else { return };
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&orig).unwrap();
    let gz = gz.finish().unwrap();
    check_compressed(&orig, &gz, "gzip", "gz.pcapng");
    // Two gzip members back to back read as one stream (gzip(1) semantics): a two-section file.
    let mut two = gz.clone();
    two.extend_from_slice(&gz);
    let (info, recs) = ok(&two);
    assert_eq!(
        (
            info.packets,
            info.variant.as_str(),
            recs.last().map(|r| r.number)
        ),
        (34, "le sections=2", Some(34))
    );

    let zst =
        ruzstd::encoding::compress_to_vec(&orig[..], ruzstd::encoding::CompressionLevel::Fastest);
    check_compressed(&orig, &zst, "zstd", "ruzstd.pcapng");

    let Some(pcap) = load(PCAP) else { return };
    let src = temp_path("cli.pcap");
    std::fs::write(&src, &pcap).unwrap();
    let cli = Command::new("zstd").arg("-q").arg("-c").arg(&src).output();
    let _ = std::fs::remove_file(&src);
    match cli {
        Ok(out) if out.status.success() => {
            check_compressed(&pcap, &out.stdout, "zstd", "cli.pcap.zst")
        }
        _ => eprintln!("skipped zstd CLI case: `zstd` not installed"),
    }
}

#[test]
fn truncated_and_corrupt_compressed_streams_do_not_panic() {
    let Some(orig) = load(PCAP) else { return };
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&orig).unwrap();
    let gz = gz.finish().unwrap();
    // Cut the compressed stream in half: frames before the cut, then damage.
    let (info, recs) = ok(&gz[..gz.len() / 2]);
    let damage = info.damage.expect("damage");
    assert!(!recs.is_empty() && recs.len() < 77, "{} frames", recs.len());
    assert!(damage.offset > 24 && damage.offset < orig.len() as u64);
    // Garbage after a gzip magic: an error at offset 0 naming gzip, not a panic.
    let (result, _) = read_bytes(&[0x1f, 0x8b, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    let err = result.expect_err("error");
    assert_eq!(err.offset, 0);
    assert!(err.message.contains("gzip"), "{}", err.message);
    // HTML inside gzip.
    let mut html = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    html.write_all(b"<html><body>not found</body></html>")
        .unwrap();
    let (result, _) = read_bytes(&html.finish().unwrap());
    assert_eq!(
        result.err().map(|e| e.message),
        Some(
            "not a pcap or pcapng file (inside gzip compression): first bytes 3c 68 74 6d"
                .to_string()
        )
    );
}

// ---- pcapng sections, interfaces, blocks --------------------------------------------------------

#[test]
fn two_pcapng_files_concatenated_are_two_sections() {
    let (Some(a), Some(b)) = (load(NG_SLL), load(NG_ETH)) else {
        return;
    };
    let (_, fa) = ok(&a);
    let (_, fb) = ok(&b);
    let mut both = a.clone();
    both.extend_from_slice(&b);
    let (info, got) = ok(&both);
    assert_eq!(info.variant, "le sections=2");
    assert_eq!(info.interfaces, 2);
    assert_eq!(info.packets, 23);
    assert_eq!(info.link_types.get("linux_sll"), Some(&6));
    assert_eq!(info.link_types.get("ethernet"), Some(&17));
    let mut want = fa;
    want.extend(fb.into_iter().map(|r| Rec {
        number: r.number + 6,
        ..r
    }));
    assert_eq!(got, want);
    // Interface ids are per section: section 2's interface 0 is Ethernet, not section 1's SLL.
    assert!(got[6..].iter().all(|r| r.link_type == 1));
}

/// A pcapng writer (draft-ietf-opsawg-pcapng) for either byte order.
struct Ng {
    be: bool,
    out: Vec<u8>,
}

impl Ng {
    fn u16(&self, v: u16) -> [u8; 2] {
        if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }
    fn u32(&self, v: u32) -> [u8; 4] {
        if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }
    fn block(&mut self, block_type: u32, body: &[u8]) {
        let mut body = body.to_vec();
        while body.len() % 4 != 0 {
            body.push(0);
        }
        let len = 12 + body.len() as u32;
        let (t, l) = (self.u32(block_type), self.u32(len));
        self.out.extend(t);
        self.out.extend(l);
        self.out.extend(body);
        self.out.extend(l);
    }
    fn options(&self, opts: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut o = Vec::new();
        for (code, value) in opts {
            o.extend(self.u16(*code));
            o.extend(self.u16(value.len() as u16));
            o.extend(value);
            while o.len() % 4 != 0 {
                o.push(0);
            }
        }
        if !opts.is_empty() {
            o.extend([0, 0, 0, 0]);
        }
        o
    }
    fn shb(&mut self, be: bool) {
        self.be = be;
        let mut body = self.u32(0x1A2B_3C4D).to_vec();
        body.extend(self.u16(1));
        body.extend(self.u16(0));
        body.extend([0xff; 8]);
        self.block(0x0A0D_0D0A, &body);
    }
    fn idb(&mut self, link_type: u16, snaplen: u32, opts: &[(u16, Vec<u8>)]) {
        let mut body = self.u16(link_type).to_vec();
        body.extend(self.u16(0));
        body.extend(self.u32(snaplen));
        body.extend(self.options(opts));
        self.block(1, &body);
    }
    fn epb(&mut self, if_id: u32, ts: u64, data: &[u8], orig_len: u32) {
        let mut body = Vec::new();
        for v in [
            if_id,
            (ts >> 32) as u32,
            ts as u32,
            data.len() as u32,
            orig_len,
        ] {
            body.extend(self.u32(v));
        }
        body.extend(data);
        self.block(6, &body);
    }
    fn spb(&mut self, data: &[u8], orig_len: u32) {
        let mut body = self.u32(orig_len).to_vec();
        body.extend(data);
        self.block(3, &body);
    }
    fn opb(&mut self, if_id: u16, ts: u64, data: &[u8], orig_len: u32) {
        let mut body = self.u16(if_id).to_vec();
        body.extend(self.u16(0));
        for v in [(ts >> 32) as u32, ts as u32, data.len() as u32, orig_len] {
            body.extend(self.u32(v));
        }
        body.extend(data);
        self.block(2, &body);
    }
    fn nrb(&mut self, records: &[(u16, Vec<u8>)]) {
        let mut body = Vec::new();
        for (kind, value) in records {
            body.extend(self.u16(*kind));
            body.extend(self.u16(value.len() as u16));
            body.extend(value);
            while body.len() % 4 != 0 {
                body.push(0);
            }
        }
        body.extend([0, 0, 0, 0]);
        self.block(4, &body);
    }
}

/// Nanoseconds since the epoch -> units of 2^-20 s (rounded down).
fn to_pow2_20(ns: i64) -> u64 {
    ((ns as i128) * (1 << 20) / 1_000_000_000) as u64
}

/// A pcapng holding the frames of real captures across two sections (little-, then
/// big-endian), three interfaces per section with different link types and resolutions (10^-9, 2^-20 with
/// if_tsoffset, default 10^-6), and every packet block kind plus NRB and an unknown block.
/// Returns the file and the frames expected from it.
fn synthetic_pcapng(eth: &[Rec], sll: &[Rec]) -> (Vec<u8>, Vec<Rec>) {
    const OFFSET_S: i64 = 1_000;
    let mut ng = Ng {
        be: false,
        out: Vec::new(),
    };
    let mut want = Vec::new();
    let push = |want: &mut Vec<Rec>, r: &Rec, ts_ns: i64, link_type: u32, data: &[u8]| {
        let number = want.len() as u64 + 1;
        want.push(Rec {
            number,
            ts_ns,
            link_type,
            data: data.to_vec(),
            orig_len: r.orig_len,
        });
    };
    for be in [false, true] {
        ng.shb(be);
        ng.idb(1, 0, &[(9, vec![9])]); // 0: Ethernet, nanoseconds
        ng.idb(
            113,
            0,
            &[
                (9, vec![0x80 | 20]),
                (
                    14,
                    (if be {
                        (-OFFSET_S).to_be_bytes()
                    } else {
                        (-OFFSET_S).to_le_bytes()
                    })
                    .to_vec(),
                ),
            ],
        ); // 1: SLL, 2^-20 s, offset
        ng.nrb(&[
            (
                1,
                [
                    &[10u8, 0, 0, 1][..],
                    b"dc01.example.test\0ad.example.test\0",
                ]
                .concat(),
            ),
            (
                2,
                [
                    &[0x20u8, 0x01, 0x0d, 0xb8][..],
                    &[0; 11],
                    &[1],
                    b"ca.example.test\0",
                ]
                .concat(),
            ),
        ]);
        ng.block(0x0BAD_0001, b"unknown block, skipped");
        ng.idb(1, 64, &[]); // 2: Ethernet, microseconds (default), snaplen 64
        for r in &eth[..5] {
            ng.epb(0, r.ts_ns as u64, &r.data, r.orig_len);
            push(&mut want, r, r.ts_ns, 1, &r.data);
        }
        for r in sll {
            // Stored relative to if_tsoffset = -1000 s.
            let raw = to_pow2_20(r.ts_ns + OFFSET_S * 1_000_000_000);
            ng.epb(1, raw, &r.data, r.orig_len);
            let secs = (raw >> 20) as i64;
            let frac = ((raw & 0xF_FFFF) as i64 * 1_000_000_000) >> 20;
            push(
                &mut want,
                r,
                secs * 1_000_000_000 + frac - OFFSET_S * 1_000_000_000,
                113,
                &r.data,
            );
        }
        let r = &eth[5];
        ng.opb(2, (r.ts_ns / 1000) as u64, &r.data, r.orig_len);
        push(&mut want, r, r.ts_ns / 1000 * 1000, 1, &r.data);
        let r = &eth[6];
        // SPB on interface 0 of the section: no timestamp, captured length from the block.
        ng.spb(&r.data, r.orig_len);
        push(&mut want, r, 0, 1, &r.data);
    }
    (ng.out, want)
}

#[test]
fn synthetic_pcapng_blocks_resolutions_offsets_and_byte_orders() {
    let (Some(p), Some(s)) = (load(PCAP), load(NG_SLL)) else {
        return;
    };
    let (_, eth) = ok(&p);
    let (_, sll) = ok(&s);
    let (file, want) = synthetic_pcapng(&eth, &sll);
    let (info, got) = ok(&file);
    assert_eq!(got, want);
    assert_eq!(info.variant, "le+be sections=2");
    assert_eq!(info.interfaces, 6);
    assert_eq!(info.packets, 26);
    assert_eq!(info.link_types.get("linux_sll"), Some(&12));
    assert_eq!(info.link_types.get("ethernet"), Some(&14));
    // SPB frames carry no timestamp: first/last come from timed frames only.
    assert_eq!(info.first_ts_ns, Some(want[0].ts_ns));
    assert_eq!(info.last_ts_ns, Some(want[24].ts_ns));
    let names: Vec<String> = info.names.iter().map(|(a, n)| format!("{a} {n}")).collect();
    assert_eq!(
        names[..3],
        [
            "10.0.0.1 dc01.example.test",
            "10.0.0.1 ad.example.test",
            "2001:db8::1 ca.example.test"
        ]
    );
    assert_eq!((info.names.len(), info.names_dropped), (6, 0));

    // Cross-check with tshark when installed: numbers, timestamps, lengths of every frame.
    let path = temp_path("synthetic.pcapng");
    std::fs::write(&path, &file).unwrap();
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&path)
        .args([
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "frame.time_epoch",
            "-e",
            "frame.cap_len",
            "-e",
            "frame.len",
        ])
        .output();
    let _ = std::fs::remove_file(&path);
    let Ok(out) = out else {
        eprintln!("skipped tshark cross-check: tshark not installed");
        return;
    };
    let tshark: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let ours: Vec<String> = got
        .iter()
        .map(|r| {
            let (s, n) = (
                r.ts_ns.div_euclid(1_000_000_000),
                r.ts_ns.rem_euclid(1_000_000_000),
            );
            // SPB frames have no timestamp: tshark prints an empty field, certflow gives 0.
            let time = if r.ts_ns == 0 {
                String::new()
            } else {
                format!("{s}.{n:09}")
            };
            format!("{}\t{time}\t{}\t{}", r.number, r.data.len(), r.orig_len)
        })
        .collect();
    assert_eq!(ours, tshark);
}

#[test]
fn name_resolution_entries_are_capped_and_counted() {
    let mut ng = Ng {
        be: false,
        out: Vec::new(),
    };
    ng.shb(false);
    let records: Vec<(u16, Vec<u8>)> = (0..MAX_NAMES as u32 + 5)
        .map(|i| {
            (
                1,
                [&i.to_be_bytes()[..], format!("h{i}\0").as_bytes()].concat(),
            )
        })
        .collect();
    ng.nrb(&records);
    let (info, _) = ok(&ng.out);
    assert_eq!((info.names.len(), info.names_dropped), (MAX_NAMES, 5));
}

#[test]
fn oversized_blocks_grow_the_buffer_once() {
    let mut ng = Ng {
        be: false,
        out: Vec::new(),
    };
    ng.shb(false);
    ng.idb(1, 0, &[]);
    ng.block(0x0BAD_0002, &vec![0x55; 3 << 20]);
    let big: Vec<u8> = (0..(2u32 << 20)).map(|i| i as u8).collect();
    ng.epb(0, 7_000_000, &big, big.len() as u32);
    ng.epb(0, 8_000_000, &[1, 2, 3], 3);
    let (info, got) = ok(&ng.out);
    assert_eq!(info.damage, None);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].data, big);
    assert_eq!(
        (got[1].number, got[1].ts_ns, got[1].data.clone()),
        (2, 8_000_000_000, vec![1, 2, 3])
    );
}

// ---- damage midway ----------------------------------------------------------------------------

#[test]
fn pcap_cut_midway_keeps_frames_before_the_cut() {
    let Some(orig) = load(PCAP) else { return };
    let (_, all) = ok(&orig);
    // Offset of record 41 (1-based): 24 + the sizes of records 1..=40.
    let start: usize = 24 + all[..40].iter().map(|r| 16 + r.data.len()).sum::<usize>();
    for (cut, what) in [
        (start + 16 + 10, "inside data"),
        (start + 7, "inside header"),
    ] {
        let (info, got) = ok(&orig[..cut]);
        assert_eq!(got, all[..40], "{what}");
        let damage = info.damage.expect("damage");
        assert_eq!(damage.offset, start as u64, "{what}");
        assert!(
            damage.message.starts_with("truncated"),
            "{what}: {}",
            damage.message
        );
    }
    // A record header claiming 4 GB: damage at that record, named as a corrupt length.
    let mut bad = orig.clone();
    bad[start + 8..start + 12].copy_from_slice(&0xFFFF_FF00u32.to_le_bytes());
    let (info, got) = ok(&bad);
    assert_eq!(got.len(), 40);
    let damage = info.damage.expect("damage");
    assert_eq!(damage.offset, start as u64);
    assert!(
        damage.message.contains("corrupt length"),
        "{}",
        damage.message
    );
}

#[test]
fn pcapng_cut_or_corrupted_midway() {
    let Some(orig) = load(NG_ETH) else { return };
    let (_, all) = ok(&orig);
    // Walk the blocks to find the 10th EPB.
    let mut at = 0;
    let mut epbs = 0;
    let ten = loop {
        let t = u32::from_le_bytes(orig[at..at + 4].try_into().unwrap());
        let len = u32::from_le_bytes(orig[at + 4..at + 8].try_into().unwrap()) as usize;
        if t == 6 {
            epbs += 1;
            if epbs == 10 {
                break at;
            }
        }
        at += len;
    };
    let (info, got) = ok(&orig[..ten + 40]);
    assert_eq!(got, all[..9]);
    assert_eq!(info.damage.as_ref().map(|d| d.offset), Some(ten as u64));

    let mut cases: Vec<(&str, Vec<u8>, &str)> = Vec::new();
    let mut zero = orig.clone();
    zero[ten + 4..ten + 8].copy_from_slice(&0u32.to_le_bytes());
    cases.push(("zero length", zero, "less than the minimum"));
    let mut huge = orig.clone();
    huge[ten + 4..ten + 8].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    cases.push(("huge length", huge, "corrupt length"));
    let mut trailer = orig.clone();
    let len = u32::from_le_bytes(orig[ten + 4..ten + 8].try_into().unwrap()) as usize;
    trailer[ten + len - 4] ^= 0x40;
    cases.push(("trailer mismatch", trailer, "differs"));
    let mut caplen = orig.clone();
    caplen[ten + 20..ten + 24].copy_from_slice(&60_000u32.to_le_bytes());
    cases.push(("caplen beyond block", caplen, "claims 60000 captured bytes"));
    let mut iface = orig.clone();
    iface[ten + 8..ten + 12].copy_from_slice(&5u32.to_le_bytes());
    cases.push(("unknown interface", iface, "interface 5"));
    for (what, bytes, says) in cases {
        let (info, got) = ok(&bytes);
        assert_eq!(got, all[..9], "{what}");
        let damage = info.damage.expect(what);
        assert_eq!(damage.offset, ten as u64, "{what}");
        assert!(damage.message.contains(says), "{what}: {}", damage.message);
    }
}

// ---- streams and non-captures -----------------------------------------------------------------

#[test]
fn stream_reading_matches_file_reading() {
    let Some(orig) = load(NG_ETH) else { return };
    let mut from_file = Vec::new();
    let info_file = capture::read(&Input::Path(Path::new(CAPTURES).join(NG_ETH)), &mut |f| {
        from_file.push((f.number, f.ts_ns, f.link_type, f.data.to_vec(), f.orig_len))
    })
    .unwrap();
    let mut from_stream = Vec::new();
    // A reader that hands out 7 bytes at a time, like a slow pipe.
    struct Trickle(Cursor<Vec<u8>>);
    impl std::io::Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(7);
            self.0.read(&mut buf[..n])
        }
    }
    let info_stream = capture::read_stream("-", Trickle(Cursor::new(orig.clone())), &mut |f| {
        from_stream.push((f.number, f.ts_ns, f.link_type, f.data.to_vec(), f.orig_len))
    })
    .unwrap();
    assert_eq!(from_stream, from_file);
    assert_eq!(info_stream.path, "-");
    assert_eq!(info_stream.sha256, info_file.sha256);
    assert_eq!(info_stream.sha256, hex(&Sha256::digest(&orig)));
    // Damage midway on a stream: the digest still covers every byte of the stream.
    let cut = &orig[..orig.len() - 5];
    let (info, _) = ok(cut);
    assert!(info.damage.is_some());
    assert_eq!(info.sha256, hex(&Sha256::digest(cut)));
}

#[test]
fn non_captures_are_errors_at_offset_zero() {
    let Some(pcap) = load(PCAP) else { return };
    let Some(ng) = load(NG_ETH) else { return };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "empty: expected a pcap or pcapng header"),
        (
            "10-byte pcap",
            pcap[..10].to_vec(),
            "truncated pcap file header: expected 24 bytes",
        ),
        (
            "10-byte pcapng",
            ng[..10].to_vec(),
            "truncated pcapng section header block",
        ),
        (
            "10 bytes of text",
            b"0123456789".to_vec(),
            "not a pcap or pcapng file: first bytes 30 31 32 33",
        ),
        (
            "html",
            b"<html><head><title>404</title></head></html>\n".to_vec(),
            "not a pcap or pcapng file: first bytes 3c 68 74 6d",
        ),
    ];
    for (what, bytes, message) in cases {
        let path = temp_path(what.replace(' ', "_").as_str());
        std::fs::write(&path, &bytes).unwrap();
        let result = capture::read(&Input::Path(path.clone()), &mut |_| {});
        let _ = std::fs::remove_file(&path);
        let err = result.err().unwrap_or_else(|| panic!("{what}: no error"));
        assert_eq!((err.offset, err.message.as_str()), (0, message), "{what}");
        assert_eq!(err.path, path.display().to_string());
    }
    // A pcap header with an unknown version.
    let mut v3 = pcap[..24].to_vec();
    v3[4] = 3;
    let (result, _) = read_bytes(&v3);
    assert_eq!(
        result.err().map(|e| e.message),
        Some("unsupported pcap version 3.4: expected 2.4".to_string())
    );
    // A header alone is a valid, empty capture.
    let (info, recs) = ok(&pcap[..24]);
    assert_eq!(
        (info.packets, recs.len(), info.first_ts_ns, info.damage),
        (0, 0, None, None)
    );

    let missing = capture::read(
        &Input::Path(PathBuf::from("/nonexistent/x.pcap")),
        &mut |_| {},
    );
    let err = missing.expect_err("missing file");
    assert_eq!((err.path.as_str(), err.offset), ("/nonexistent/x.pcap", 0));
    assert!(err.message.starts_with("cannot open:"), "{}", err.message);
    let dir = capture::read(&Input::Path(std::env::temp_dir()), &mut |_| {});
    let err = dir.expect_err("directory");
    assert!(err.message.starts_with("cannot read:"), "{}", err.message);
}

#[test]
fn a_fifo_path_is_teed_not_opened_twice() {
    let Some(orig) = load(PCAP) else { return };
    let path = temp_path("fifo.pcap");
    match Command::new("mkfifo").arg(&path).status() {
        Ok(s) if s.success() => {}
        _ => {
            eprintln!("skipped: mkfifo unavailable");
            return;
        }
    }
    let writer = {
        let (path, bytes) = (path.clone(), orig.clone());
        std::thread::spawn(move || std::fs::write(path, bytes))
    };
    let mut frames = 0;
    let result = capture::read(&Input::Path(path.clone()), &mut |_| frames += 1);
    let _ = writer.join();
    let _ = std::fs::remove_file(&path);
    let info = result.expect("fifo read");
    assert_eq!((info.packets, frames), (77, 77));
    assert_eq!(info.sha256, hex(&Sha256::digest(&orig)));
}

#[test]
fn interface_table_is_capped() {
    let mut ng = Ng {
        be: false,
        out: Vec::new(),
    };
    ng.shb(false);
    for _ in 0..=capture::MAX_INTERFACES {
        ng.idb(1, 0, &[]);
    }
    let (info, _) = ok(&ng.out);
    let damage = info.damage.expect("damage");
    assert_eq!(damage.offset, 28 + 20 * capture::MAX_INTERFACES as u64);
    assert!(
        damage.message.contains("interface description blocks"),
        "{}",
        damage.message
    );
}

/// Deterministic mutation run (a poor man's fuzzer): flipped bytes and cuts in real captures
/// must give frames, damage or an error, never a panic or a hang. `CAPTURE_MUTATIONS` raises
/// the count for a longer run.
#[test]
fn mutated_captures_never_panic() {
    let (Some(ng), Some(pcap)) = (load(NG_ETH), load("kerberos_kerberoast_tgsreq_rc4.pcap")) else {
        return;
    };
    let rounds: u64 = std::env::var("CAPTURE_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..rounds {
        let base = if round % 2 == 0 { &ng } else { &pcap };
        let mut bytes = base.clone();
        for _ in 0..1 + next() % 4 {
            let at = (next() % bytes.len() as u64) as usize;
            bytes[at] = next() as u8;
        }
        if next() % 3 == 0 {
            bytes.truncate((next() % bytes.len() as u64) as usize);
        }
        let (result, recs) = read_bytes(&bytes);
        if let Ok(info) = result {
            assert_eq!(info.packets, recs.len() as u64);
        }
    }
}

#[test]
fn hashing_can_be_turned_off() {
    let path = Path::new(CAPTURES).join(PCAP);
    if !path.exists() {
        eprintln!("skipped: {} absent", path.display());
        return;
    }
    let options = capture::ReadOptions { hash: false };
    let info = capture::read_with(&Input::Path(path), &options, &mut |_| {}).expect("read");
    assert_eq!((info.packets, info.sha256.as_str()), (77, ""));
}
