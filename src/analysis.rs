//! The pipeline for a capture set: read -> decode -> track -> flows.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::capture::{self, CaptureError, CaptureInfo, Input, ReadOptions};
use crate::decode::{self, defrag::Defrag, Skip};
use crate::evidence::FrameRef;
use crate::flow::{Flow, Tracker, TrackerStats};
use crate::proto::dcerpc::attribute::{attribute, FlowSlot};

/// One capture of the set, with what was read and decoded from it.
#[derive(Debug, Clone, Serialize)]
pub struct CaptureSummary {
    /// What the reader learned.
    #[serde(flatten)]
    pub info: CaptureInfo,
    /// Frames turned into TCP/UDP/ICMP packets (IPv4 fragments count once their datagram
    /// completes).
    pub decoded: u64,
    /// Frames not decoded, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Frames captured shorter than they were on the wire (a snap length): what they carried
    /// past the cut is missing from the evidence, and their flows say so.
    pub truncated_frames: u64,
    /// Packets decoded inside UDP tunnels (VXLAN, Geneve), in addition to their outer packet.
    pub tunnelled: u64,
    /// Packets inside UDP tunnels that could not be decoded, by reason.
    pub tunnelled_skipped: BTreeMap<String, u64>,
}

/// Everything learned from a capture set.
#[derive(Debug)]
pub struct Analysis {
    /// The captures, in the order given.
    pub captures: Vec<CaptureSummary>,
    /// The flow set.
    pub flows: Vec<Flow>,
    /// Connection tracking counters.
    pub tracker: TrackerStats,
}

impl Analysis {
    /// Captures that were damaged midway.
    pub fn damaged(&self) -> impl Iterator<Item = &CaptureSummary> {
        self.captures.iter().filter(|c| c.info.damage.is_some())
    }
}

/// Links endpoint-mapper and DCOM activation answers to the connections that followed them
/// (MS-RPCE 3.1.3.5: the client connects to the port the mapper returned), so a flow to a
/// dynamic port is named even when its bind is not in the capture.
fn attribute_rpc(flows: &mut [Flow]) {
    let mut slots: Vec<FlowSlot> = flows
        .iter_mut()
        .map(|f| FlowSlot {
            client: f.key.client,
            server: f.key.server,
            transport: f.key.transport,
            port: f.key.port,
            first: f.first,
            evidence: &mut f.evidence,
        })
        .collect();
    attribute(&mut slots);
}

/// If `pkt` is a UDP tunnel packet, copies its inner frame into `scratch`, marks the tunnel's
/// connection as carrying it (its content is proven: "vxlan", "geneve" ...) and returns the
/// inner link type. (A copy, because the outer packet may borrow the reassembly buffer the
/// inner decode needs.)
fn udp_tunnel(pkt: &decode::Packet, tracker: &mut Tracker, scratch: &mut Vec<u8>) -> Option<u32> {
    let decode::L4::Udp {
        sport,
        dport,
        payload,
        ..
    } = pkt.l4
    else {
        return None;
    };
    let t = decode::udp_tunnel(dport, payload).or_else(|| decode::udp_tunnel(sport, payload))?;
    tracker.carries_tunnel(pkt, t.service);
    scratch.clear();
    scratch.extend_from_slice(t.inner);
    Some(t.link_type)
}

/// Reads every capture of the set in order and builds the flow set. Frames are numbered per
/// file; connections may continue from one file into the next (a ring-buffer capture set).
pub fn analyze(inputs: &[Input]) -> Result<Analysis, CaptureError> {
    analyze_with(inputs, &ReadOptions::default(), true)
}

/// [`analyze`] with reader options (e.g. without hashing), and with or without the protocol
/// analyzers.
pub fn analyze_with(
    inputs: &[Input],
    options: &ReadOptions,
    dissect: bool,
) -> Result<Analysis, CaptureError> {
    let mut tracker = Tracker::with_dissection(dissect);
    let mut captures = Vec::with_capacity(inputs.len());
    for (idx, input) in inputs.iter().enumerate() {
        let capture_idx = u16::try_from(idx).unwrap_or(u16::MAX);
        let mut defrag = Defrag::default();
        let mut decoded = 0u64;
        let mut skipped: BTreeMap<Skip, u64> = BTreeMap::new();
        let mut encapsulated: BTreeMap<Skip, u64> = BTreeMap::new();
        let mut inner_decoded = 0u64;
        let mut scratch: Vec<u8> = Vec::new();
        let mut truncated_frames = 0u64;
        let mut on_frame = |f: &capture::Frame| {
            truncated_frames += u64::from(f.data.len() < f.orig_len as usize);
            let completed_before = defrag.completed;
            let at = FrameRef::new(capture_idx, f.number);
            let mut tunnel = None;
            let missing = f.orig_len.saturating_sub(f.data.len() as u32);
            match decode::decode_cut(f.link_type, f.data, f.number, f.ts_ns, missing, &mut defrag) {
                Ok(pkt) => {
                    tracker.packet(&pkt, at, f.ts_ns, f.orig_len);
                    tunnel = udp_tunnel(&pkt, &mut tracker, &mut scratch);
                    decoded += if defrag.completed != completed_before {
                        defrag.last_frames
                    } else {
                        1
                    };
                }
                Err(Skip::FragmentHeld) => {}
                Err(why) => *skipped.entry(why).or_insert(0) += 1,
            }
            // A UDP tunnel (VXLAN, Geneve) carries a frame of its own: its packet is a second
            // connection seen in the same frame, as tshark counts it.
            let mut depth = 0;
            while let Some(lt) = tunnel.take() {
                depth += 1;
                let inner = std::mem::take(&mut scratch);
                match decode::decode(lt, &inner, f.number, f.ts_ns, &mut defrag) {
                    Ok(pkt) => {
                        tracker.packet(&pkt, at, f.ts_ns, f.orig_len);
                        inner_decoded += 1;
                        if depth < decode::MAX_ENCAP_DEPTH {
                            tunnel = udp_tunnel(&pkt, &mut tracker, &mut scratch);
                        }
                    }
                    Err(why) => *encapsulated.entry(why).or_insert(0) += 1,
                }
            }
        };
        let info = capture::read_with(input, options, &mut on_frame)?;
        defrag.finish();
        if defrag.abandoned_frames > 0 {
            *skipped.entry(Skip::IncompleteFragments).or_insert(0) += defrag.abandoned_frames;
        }
        captures.push(CaptureSummary {
            info,
            decoded,
            skipped: skipped.into_iter().map(|(k, v)| (k.reason(), v)).collect(),
            truncated_frames,
            tunnelled: inner_decoded,
            tunnelled_skipped: encapsulated
                .into_iter()
                .map(|(k, v)| (k.reason(), v))
                .collect(),
        });
    }
    let (mut flows, stats) = tracker.finish();
    attribute_rpc(&mut flows);
    Ok(Analysis {
        captures,
        flows,
        tracker: stats,
    })
}
