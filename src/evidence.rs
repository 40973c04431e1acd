//! Typed, owned facts about what a flow carried, taken from protocol content.
//!
//! Every fact remembers the first frame that proved it (1-based, Wireshark's numbering) and how
//! often it was seen, so every line of a report can be traced back to the capture. Collections are
//! capped: a flow cannot grow a fact table without bound, and hitting a cap is counted.

use std::borrow::{Borrow, Cow};
use std::cell::Cell;
use std::cmp::Ordering;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};

use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};

/// Where a fact was first seen: the capture (index into the capture set) and the frame number
/// inside it, 1-based as Wireshark numbers frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FrameRef {
    /// Index of the capture in the capture set (0 for the first or only file).
    pub capture: u16,
    /// 1-based frame number inside that capture.
    pub frame: u64,
}

impl FrameRef {
    /// A frame of the first (or only) capture.
    pub fn new(capture: u16, frame: u64) -> Self {
        FrameRef { capture, frame }
    }
}

/// Serialised as the bare frame number for the first capture and as `"capture:frame"` is never
/// used: a fact that needs the capture index carries it as its own field (see [`Fact`]).
impl Serialize for FrameRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.frame)
    }
}

/// Longest map searched by an equality scan before the binary search (see `SortedMap::find`).
const LINEAR_SCAN_MAX: usize = 8;

/// A map kept as a vector sorted by key. Fact lists are small (most hold one to five values)
/// and there are many of them, one set per flow: a B-tree allocates a node for eleven entries
/// even for one, which made evidence the largest part of a flow's memory.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SortedMap<K, V>(Vec<(K, V)>);

impl<K, V> Default for SortedMap<K, V> {
    fn default() -> Self {
        SortedMap(Vec::new())
    }
}

impl<K: Ord, V> SortedMap<K, V> {
    /// `Ok(index)` of `key`, or `Err(index)` where it would be inserted.
    ///
    /// Short maps (most of them) are first scanned for an equal key: equality of two strings
    /// compares their lengths before any byte, so a scan of a few entries is cheaper than the
    /// two to four full comparisons of a binary search, and nearly every lookup finds its key.
    fn find<Q: Ord + ?Sized>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
    {
        self.find_with(|k| k.borrow() == key, |k| k.borrow().cmp(key))
    }

    /// `find` of a key given by `eq` (is this it?) and `cmp` (how a key orders against it, as
    /// `K`'s `Ord` would).
    fn find_with(
        &self,
        eq: impl Fn(&K) -> bool,
        cmp: impl Fn(&K) -> Ordering,
    ) -> Result<usize, usize> {
        if self.0.len() <= LINEAR_SCAN_MAX {
            if let Some(i) = self.0.iter().position(|(k, _)| eq(k)) {
                return Ok(i);
            }
        }
        self.0.binary_search_by(|(k, _)| cmp(k))
    }
    /// Like `find` for a key known to sort after every key before `lo` (merging two sorted
    /// lists). The entry at `lo` is tried first: lists merged into a flow mostly hold the same
    /// keys, so the next key is usually right there.
    fn find_from(&self, lo: usize, key: &K) -> Result<usize, usize> {
        let rest = self.0.get(lo..).unwrap_or_default();
        match rest.first().map(|(k, _)| k.cmp(key)) {
            None => Err(lo),
            Some(std::cmp::Ordering::Equal) => Ok(lo),
            Some(std::cmp::Ordering::Greater) => Err(lo),
            Some(std::cmp::Ordering::Less) => {
                match rest
                    .get(1..)
                    .unwrap_or_default()
                    .binary_search_by(|(k, _)| k.cmp(key))
                {
                    Ok(i) => Ok(lo + 1 + i),
                    Err(i) => Err(lo + 1 + i),
                }
            }
        }
    }

    /// Folds `other` in, as adding its entries one by one in key order would: an entry whose
    /// key is present is `combine`d into it; a new one is inserted while fewer than
    /// [`MAX_FACTS_PER_LIST`] are kept. Returns the count (from `Counted::count`) of the new
    /// entries that did not fit. An empty side costs nothing (`self` empty takes `other`'s
    /// vector whole); when both fit under the cap the shorter is merged into the longer (below
    /// the cap a merge is a union, whatever the order). Both are sorted, so each key is
    /// searched only after the place of the previous one; its key is moved in when new.
    fn merge_capped(&mut self, other: SortedMap<K, V>, mut combine: impl FnMut(&mut V, V)) -> u64
    where
        V: Counted,
    {
        if other.0.is_empty() {
            return 0;
        }
        if self.0.is_empty() && other.0.len() <= MAX_FACTS_PER_LIST {
            *self = other;
            return 0;
        }
        let mut other = other.0;
        if other.len() > self.0.len() && other.len() + self.0.len() <= MAX_FACTS_PER_LIST {
            std::mem::swap(&mut self.0, &mut other);
        }
        let mut dropped = 0;
        let mut lo = 0;
        for (k, v) in other {
            match self.find_from(lo, &k) {
                Ok(i) => {
                    if let Some((_, mine)) = self.0.get_mut(i) {
                        combine(mine, v);
                    }
                    lo = i + 1;
                }
                Err(i) => {
                    lo = i;
                    if self.0.len() < MAX_FACTS_PER_LIST {
                        self.0.insert(lo, (k, v));
                        lo += 1;
                    } else {
                        dropped += v.count();
                    }
                }
            }
        }
        dropped
    }
    fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| &self.0[i].1)
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<K, V> IntoIterator for SortedMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// What a table entry counts (a fact's count, a counter's value): what is reported as dropped
/// when the entry does not fit.
trait Counted {
    fn count(&self) -> u64;
}

impl Counted for (FrameRef, u64) {
    fn count(&self) -> u64 {
        self.1
    }
}

impl Counted for u64 {
    fn count(&self) -> u64 {
        *self
    }
}

/// Set once any fact list or counter table anywhere has dropped something (see
/// [`dropped_lists`]): until then a report looks for nothing.
static ANY_DROPPED: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// While set, [`Facts`] and [`Counts`] serialise as `{DROPPED_KEY: dropped}` (see
    /// [`dropped_lists`]).
    static DROPS_ONLY: Cell<bool> = const { Cell::new(false) };
}

/// The key [`Facts`] and [`Counts`] serialise their drop count under in [`dropped_lists`]' pass
/// (a control character: no field of the evidence is named so).
const DROPPED_KEY: &str = "\u{1}dropped";

/// Adds `n` to a table's drop count and remembers that something was dropped.
fn count_dropped(dropped: &mut u64, n: u64) {
    if n > 0 {
        *dropped += n;
        ANY_DROPPED.store(true, AtomicOrdering::Relaxed);
    }
}

/// The fact lists and counter tables of `evidence` that were full, by path ("tls.cert_san",
/// "dcerpc.interfaces.opnums" ...), with the sightings of values they did not store; empty
/// when nothing was dropped (the common case costs one atomic load). Found by serialising the
/// evidence with every table written as its drop count.
pub fn dropped_lists(evidence: &impl Serialize) -> Vec<(String, u64)> {
    if !ANY_DROPPED.load(AtomicOrdering::Relaxed) {
        return Vec::new();
    }
    DROPS_ONLY.with(|d| d.set(true));
    let tree = serde_json::to_value(evidence);
    DROPS_ONLY.with(|d| d.set(false));
    let mut out = std::collections::BTreeMap::new();
    if let Ok(tree) = tree {
        collect_dropped(&tree, &mut String::new(), &mut out);
    }
    out.into_iter().collect()
}

fn collect_dropped(
    v: &serde_json::Value,
    path: &mut String,
    out: &mut std::collections::BTreeMap<String, u64>,
) {
    match v {
        serde_json::Value::Object(m) => {
            if let Some(n) = m.get(DROPPED_KEY).and_then(|n| n.as_u64()) {
                if n > 0 {
                    *out.entry(path.clone()).or_insert(0) += n;
                }
                return;
            }
            for (k, x) in m {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                collect_dropped(x, path, out);
                path.truncate(len);
            }
        }
        serde_json::Value::Array(a) => {
            for x in a {
                collect_dropped(x, path, out);
            }
        }
        _ => {}
    }
}

/// True while [`dropped_lists`] is looking for drops.
fn looking_for_drops() -> bool {
    DROPS_ONLY.with(|d| d.get())
}

/// Writes a table as `{DROPPED_KEY: dropped}` (for [`dropped_lists`]).
fn write_dropped<S: Serializer>(s: S, dropped: u64) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(1))?;
    m.serialize_entry(DROPPED_KEY, &dropped)?;
    m.end()
}

/// `s` cut to at most `max` bytes (at a character boundary), marked with "..." when cut: for
/// strings from the wire kept as evidence.
pub fn capped(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// For `#[serde(skip_serializing_if)]`: a count written only when not 0.
pub fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Most distinct values one fact list of one flow keeps. Beyond it values are counted in
/// `Facts::dropped` and reported, not stored: a hostile capture cannot grow memory per flow.
pub const MAX_FACTS_PER_LIST: usize = 256;

/// One deduplicated fact with the first frame that showed it and how many times it was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact<T> {
    /// The value (a principal name, a server name, an operation ...).
    pub value: T,
    /// The first frame that carried it.
    pub first: FrameRef,
    /// How many messages carried it.
    pub count: u64,
}

impl<T: Serialize> Serialize for Fact<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n = if self.first.capture > 0 { 4 } else { 3 };
        let mut st = s.serialize_struct("Fact", n)?;
        st.serialize_field("value", &self.value)?;
        st.serialize_field("frame", &self.first.frame)?;
        if self.first.capture > 0 {
            st.serialize_field("capture", &self.first.capture)?;
        }
        st.serialize_field("count", &self.count)?;
        st.end()
    }
}

/// A capped, deduplicated list of facts of one kind. Serialised as a list ordered by first frame,
/// then value, so output is deterministic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts<T: Ord> {
    map: SortedMap<T, (FrameRef, u64)>,
    /// Distinct values not stored because the list was full.
    pub dropped: u64,
}

impl<T: Ord> Default for Facts<T> {
    fn default() -> Self {
        Facts {
            map: SortedMap::default(),
            dropped: 0,
        }
    }
}

impl<T: Ord + Clone> Facts<T> {
    /// Records `value` seen at `at`; keeps the earliest frame and counts repeats.
    pub fn add(&mut self, value: T, at: FrameRef) {
        self.add_n(value, at, 1);
    }

    /// Records a borrowed `value` seen at `at`, allocating only when it is new: the hot path
    /// for values repeated in every message (operation names, message types).
    pub fn add_ref<Q>(&mut self, value: &Q, at: FrameRef)
    where
        T: std::borrow::Borrow<Q>,
        Q: Ord + ToOwned<Owned = T> + ?Sized,
    {
        self.add_ref_n(value, at, 1);
    }

    /// Records `n` sightings of a borrowed `value`, the earliest at `at`: the same as `n` calls
    /// of [`Facts::add_ref`] (for analyzers that tally per connection and hand over at the end).
    pub fn add_ref_n<Q>(&mut self, value: &Q, at: FrameRef, n: u64)
    where
        T: std::borrow::Borrow<Q>,
        Q: Ord + ToOwned<Owned = T> + ?Sized,
    {
        match self.map.find(value) {
            Ok(i) => self.bump(i, at, n),
            Err(i) => {
                if self.map.len() < MAX_FACTS_PER_LIST {
                    self.map.0.insert(i, (value.to_owned(), (at, n)));
                } else {
                    count_dropped(&mut self.dropped, n);
                }
            }
        }
    }

    /// Records a value given by its parts, building it (`make`) only when it is new: `cmp`
    /// orders a stored value against it exactly as `T`'s `Ord` would. The hot path for
    /// composite values (a DNS question: name and type) that a flow mostly holds already.
    pub fn add_by(&mut self, cmp: impl Fn(&T) -> Ordering, make: impl FnOnce() -> T, at: FrameRef) {
        match self.map.find_with(|k| cmp(k) == Ordering::Equal, &cmp) {
            Ok(i) => self.bump(i, at, 1),
            Err(_) if self.map.len() >= MAX_FACTS_PER_LIST => count_dropped(&mut self.dropped, 1),
            Err(i) => self.insert_new(i, make(), at, 1),
        }
    }

    fn add_n(&mut self, value: T, at: FrameRef, n: u64) {
        match self.map.find(&value) {
            Ok(i) => self.bump(i, at, n),
            Err(i) => self.insert_new(i, value, at, n),
        }
    }

    /// Counts `n` more sightings of the value at index `i`, first seen at `at`.
    fn bump(&mut self, i: usize, at: FrameRef, n: u64) {
        if let Some((_, e)) = self.map.0.get_mut(i) {
            if at < e.0 {
                e.0 = at;
            }
            e.1 += n;
        }
    }

    /// Stores a new value at its place `i`, or counts it as dropped when the list is full.
    fn insert_new(&mut self, i: usize, value: T, at: FrameRef, n: u64) {
        if self.map.len() < MAX_FACTS_PER_LIST {
            self.map.0.insert(i, (value, (at, n)));
        } else {
            count_dropped(&mut self.dropped, n);
        }
    }

    /// Folds `other` into `self` (connections folded into one flow).
    ///
    /// The result is that of adding `other`'s values one by one in value order (the cap keeps
    /// the smallest new values that fit). An empty side costs nothing: `other` empty is a no-op,
    /// `self` empty takes `other`'s vector whole; when the two together fit under the cap the
    /// shorter is merged into the longer. Both lists are sorted, so each value is searched only
    /// after the place of the previous one; its key is moved in when new, freed when present.
    pub fn merge(&mut self, other: Facts<T>) {
        self.dropped += other.dropped;
        let dropped = self.map.merge_capped(other.map, |e, (at, n)| {
            if at < e.0 {
                e.0 = at;
            }
            e.1 += n;
        });
        count_dropped(&mut self.dropped, dropped);
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty() && self.dropped == 0
    }

    /// Number of distinct values kept.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True if `value` was recorded.
    pub fn contains(&self, value: &T) -> bool {
        self.map.get(value).is_some()
    }

    /// The first frame that showed `value`.
    pub fn first_frame(&self, value: &T) -> Option<FrameRef> {
        self.map.get(value).map(|e| e.0)
    }

    /// True when value order is also (first frame, value) order: values are distinct, so it is
    /// enough that first frames never decrease.
    fn in_frame_order(&self) -> bool {
        self.map.0.windows(2).all(|w| match w {
            [(_, a), (_, b)] => a.0 <= b.0,
            _ => true,
        })
    }

    /// The facts ordered by first frame, then value.
    pub fn iter(&self) -> impl Iterator<Item = Fact<&T>> {
        let mut v: Vec<Fact<&T>> = self
            .map
            .iter()
            .map(|(value, &(first, count))| Fact {
                value,
                first,
                count,
            })
            .collect();
        if !self.in_frame_order() {
            // Stable, and `v` is in value order: equal frames keep their value order, so
            // values are never compared.
            v.sort_by_key(|f| f.first);
        }
        v.into_iter()
    }

    /// The values alone, sorted.
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.map.iter().map(|(k, _)| k)
    }
}

impl<T: Ord + Clone + Serialize> Serialize for Facts<T> {
    /// Writes the facts in (first frame, value) order. The map is in value order, so when the
    /// first frames never decrease along it (nearly always: most lists hold one value, and values
    /// often first appear in their own order) it is written as it stands, without the copy and
    /// sort of [`Facts::iter`].
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if looking_for_drops() {
            return write_dropped(s, self.dropped);
        }
        if self.in_frame_order() {
            s.collect_seq(self.map.iter().map(|(value, &(first, count))| Fact {
                value,
                first,
                count,
            }))
        } else {
            s.collect_seq(self.iter())
        }
    }
}

/// Counters keyed by name (message types, error codes ...), serialised as a JSON object in key
/// order. Capped like [`Facts`].
///
/// Keys are `Cow<'static, str>`: nearly every key is a fixed name (a message type, an operation),
/// which is kept borrowed, so counting it allocates nothing in the connection and freeing the
/// connection's table after it is merged into its flow frees nothing per key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    map: SortedMap<Cow<'static, str>, u64>,
    /// Increments not stored because the table was full.
    pub dropped: u64,
}

impl Counts {
    /// Adds `n` to the counter `key` (copied when it is new; see [`Counts::add_static`] and
    /// [`Counts::add_name`], which never copy).
    pub fn add(&mut self, key: &str, n: u64) {
        self.add_with(key, n, |k| Cow::Owned(k.to_string()));
    }
    /// Adds `n` to the counter of a fixed name: never allocates.
    pub fn add_static(&mut self, key: &'static str, n: u64) {
        self.add_with(key, n, Cow::Borrowed);
    }
    /// Adds `n` to the counter `key`, moving the key in when it is new (a borrowed name stays
    /// borrowed, an owned one is not copied).
    pub fn add_name(&mut self, key: Cow<'static, str>, n: u64) {
        match self.map.find(key.as_ref()) {
            Ok(i) => self.bump(i, n),
            Err(i) => self.insert_new(i, key, n),
        }
    }
    /// Looks `key` up; makes the stored key with `own` only when it is new and fits.
    fn add_with<'k>(
        &mut self,
        key: &'k str,
        n: u64,
        own: impl FnOnce(&'k str) -> Cow<'static, str>,
    ) {
        match self.map.find(key) {
            Ok(i) => self.bump(i, n),
            Err(i) => {
                if self.map.len() < MAX_FACTS_PER_LIST {
                    self.map.0.insert(i, (own(key), n));
                } else {
                    count_dropped(&mut self.dropped, n);
                }
            }
        }
    }
    fn bump(&mut self, i: usize, n: u64) {
        if let Some((_, c)) = self.map.0.get_mut(i) {
            *c += n;
        }
    }
    fn insert_new(&mut self, i: usize, key: Cow<'static, str>, n: u64) {
        if self.map.len() < MAX_FACTS_PER_LIST {
            self.map.0.insert(i, (key, n));
        } else {
            count_dropped(&mut self.dropped, n);
        }
    }
    /// Folds `other` into `self`: the result of adding `other`'s counters one by one in key
    /// order, with `other`'s keys moved in rather than copied (see [`Facts::merge`]).
    pub fn merge(&mut self, other: Counts) {
        self.dropped += other.dropped;
        let dropped = self.map.merge_capped(other.map, |c, n| *c += n);
        count_dropped(&mut self.dropped, dropped);
    }
    /// The value of one counter.
    pub fn get(&self, key: &str) -> u64 {
        self.map.get(key).copied().unwrap_or(0)
    }
    /// True when nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty() && self.dropped == 0
    }
    /// The counters in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.map.iter().map(|(k, &v)| (k.as_ref(), v))
    }
}

impl Serialize for Counts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if looking_for_drops() {
            return write_dropped(s, self.dropped);
        }
        let mut m = s.serialize_map(Some(self.map.len()))?;
        for (k, v) in self.map.iter() {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// Folding the evidence of one connection into the evidence of its flow.
pub trait Merge {
    /// Folds `other` into `self`.
    fn merge(&mut self, other: Self);
}

impl<T: Ord + Clone> Merge for Facts<T> {
    fn merge(&mut self, other: Self) {
        Facts::merge(self, other)
    }
}

impl Merge for Counts {
    fn merge(&mut self, other: Self) {
        Counts::merge(self, other)
    }
}

impl<T: Merge> Merge for Box<T> {
    fn merge(&mut self, other: Self) {
        (**self).merge(*other)
    }
}

impl<T: Merge> Merge for Option<T> {
    fn merge(&mut self, other: Self) {
        match (self.as_mut(), other) {
            (Some(a), Some(b)) => a.merge(b),
            (None, Some(b)) => *self = Some(b),
            (_, None) => {}
        }
    }
}

/// Everything the protocol analyzers proved about one flow: one entry per protocol seen.
/// Entries are boxed so a flow without them costs a pointer each, not the evidence's size.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Evidence {
    /// Kerberos (RFC 4120) messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kerberos: Option<Box<crate::proto::krb::KrbEvidence>>,
    /// Kerberos password change (RFC 3244).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kpasswd: Option<Box<crate::proto::krb::KpasswdEvidence>>,
    /// LDAP (RFC 4511) and CLDAP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ldap: Option<Box<crate::proto::ldap::LdapEvidence>>,
    /// TLS handshakes (RFC 5246, RFC 8446).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<Box<crate::proto::tls::TlsEvidence>>,
    /// DNS (RFC 1035).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<Box<crate::proto::dns::DnsEvidence>>,
    /// SMB2/3 (MS-SMB2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smb: Option<Box<crate::proto::smb::SmbEvidence>>,
    /// HTTP/1.x (RFC 9112).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<Box<crate::proto::http::HttpEvidence>>,
    /// Connection-oriented DCE/RPC (C706, MS-RPCE), EPM and DCOM activation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dcerpc: Option<Box<crate::proto::dcerpc::DcerpcEvidence>>,
    /// NTLM (MS-NLMP) messages inside the tokens of the protocols above.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ntlm: Option<Box<crate::proto::ntlm::NtlmEvidence>>,
    /// Notes on content: what the content proved, and where it contradicts the port.
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub notes: Facts<String>,
}

impl Evidence {
    /// True when no analyzer recorded anything.
    pub fn is_empty(&self) -> bool {
        self.kerberos.is_none()
            && self.kpasswd.is_none()
            && self.ldap.is_none()
            && self.tls.is_none()
            && self.dns.is_none()
            && self.smb.is_none()
            && self.http.is_none()
            && self.dcerpc.is_none()
            && self.ntlm.is_none()
            && self.notes.is_empty()
    }
}

impl Merge for Evidence {
    fn merge(&mut self, o: Self) {
        self.kerberos.merge(o.kerberos);
        self.kpasswd.merge(o.kpasswd);
        self.ldap.merge(o.ldap);
        self.tls.merge(o.tls);
        self.dns.merge(o.dns);
        self.smb.merge(o.smb);
        self.http.merge(o.http);
        self.dcerpc.merge(o.dcerpc);
        self.ntlm.merge(o.ntlm);
        self.notes.merge(o.notes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A string over the cap is cut at a character boundary and marked; one within is kept.
    #[test]
    fn capped_cuts_at_a_character_boundary() {
        assert_eq!(capped("ldap/dc1", 8), "ldap/dc1");
        assert_eq!(capped("ldap/dc1", 4), "ldap...");
        // "é" is two bytes: a cut inside it moves back before it.
        assert_eq!(capped("abé", 3), "ab...");
    }

    /// Full lists are found by their path (list inside a list of records too), with the
    /// sightings they dropped; the normal JSON is unchanged by the search.
    #[test]
    fn full_lists_are_named_by_path() {
        #[derive(Serialize, Default)]
        struct Iface {
            opnums: Facts<String>,
        }
        #[derive(Serialize, Default)]
        struct Proto {
            names: Facts<String>,
            kinds: Counts,
            interfaces: Vec<Iface>,
        }
        #[derive(Serialize, Default)]
        struct Ev {
            tls: Proto,
        }
        let at = FrameRef::new(0, 1);
        let mut ev = Ev::default();
        ev.tls.names.add("one".into(), at);
        ev.tls.interfaces = vec![Iface::default(), Iface::default()];
        for (k, iface) in ev.tls.interfaces.iter_mut().enumerate() {
            for i in 0..MAX_FACTS_PER_LIST + 3 + k {
                iface.opnums.add(format!("op{i:04}"), at);
            }
        }
        for i in 0..MAX_FACTS_PER_LIST + 2 {
            ev.tls.kinds.add_name(Cow::Owned(format!("k{i:04}")), 1);
        }
        let json_before = serde_json::to_string(&ev).unwrap();
        assert_eq!(
            dropped_lists(&ev),
            vec![
                ("tls.interfaces.opnums".to_string(), 3 + 4),
                ("tls.kinds".to_string(), 2)
            ]
        );
        // The search leaves serialisation as it was: the full lists written whole, no count.
        let json = serde_json::to_string(&ev).unwrap();
        assert_eq!(json, json_before);
        assert!(json.contains(r#"{"value":"op0255","frame":1,"count":1}"#));
        assert!(!json.contains("dropped"), "{json}");
    }

    #[test]
    fn facts_keep_first_frame_and_count() {
        let mut f = Facts::default();
        f.add("b".to_string(), FrameRef::new(0, 9));
        f.add("a".to_string(), FrameRef::new(0, 12));
        f.add("b".to_string(), FrameRef::new(0, 4));
        let v: Vec<_> = f
            .iter()
            .map(|x| (x.value.clone(), x.first.frame, x.count))
            .collect();
        assert_eq!(v, vec![("b".into(), 4, 2), ("a".into(), 12, 1)]);
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            r#"[{"value":"b","frame":4,"count":2},{"value":"a","frame":12,"count":1}]"#
        );
    }

    #[test]
    fn add_ref_n_is_n_calls_of_add_ref() {
        let (mut one, mut many) = (Facts::<String>::default(), Facts::<String>::default());
        for (v, at, n) in [("b", 9, 3), ("a", 12, 1), ("b", 4, 2)] {
            for _ in 0..n {
                one.add_ref(v, FrameRef::new(0, at));
            }
            many.add_ref_n(v, FrameRef::new(0, at), n);
        }
        assert_eq!(one, many);
        assert_eq!(many.first_frame(&"b".to_string()).map(|f| f.frame), Some(4));
        // A full list counts every sighting of a new value as dropped.
        let (mut one, mut many) = (Facts::<String>::default(), Facts::<String>::default());
        for i in 0..MAX_FACTS_PER_LIST {
            one.add_ref(i.to_string().as_str(), FrameRef::new(0, 1));
            many.add_ref(i.to_string().as_str(), FrameRef::new(0, 1));
        }
        for _ in 0..5 {
            one.add_ref("new", FrameRef::new(0, 2));
        }
        many.add_ref_n("new", FrameRef::new(0, 2), 5);
        assert_eq!((one.dropped, many.dropped), (5, 5));
        assert_eq!(one, many);
    }

    /// `add_by` (a value given by its parts) keeps the same list as `add` of the built value,
    /// the cap included, and builds a value only when it is new.
    #[test]
    fn add_by_is_add_of_the_built_value() {
        let (mut by, mut plain) = (Facts::default(), Facts::default());
        let mut built = 0;
        for i in 0..(3 * MAX_FACTS_PER_LIST as u64) {
            let (name, kind) = (format!("n{}", i * 7 % 300), (i % 3) as u8);
            let at = FrameRef::new(0, 1000 - i);
            by.add_by(
                |v: &(String, u8)| (v.0.as_str(), v.1).cmp(&(name.as_str(), kind)),
                || {
                    built += 1;
                    (name.clone(), kind)
                },
                at,
            );
            plain.add((name.clone(), kind), at);
        }
        assert_eq!(by, plain);
        assert!(by.dropped > 0);
        // Built once per value kept, never for one that did not fit.
        assert_eq!(built, by.len() as u64);
    }

    #[test]
    fn facts_are_capped() {
        let mut f = Facts::default();
        for i in 0..(MAX_FACTS_PER_LIST as u64 + 10) {
            f.add(i, FrameRef::new(0, i + 1));
        }
        assert_eq!(f.len(), MAX_FACTS_PER_LIST);
        assert_eq!(f.dropped, 10);
    }

    /// A small deterministic generator (xorshift64*), so the random cases are the same on
    /// every run and a failure can be replayed from its seed.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// The plain model of a fact list: a B-tree, a value added one at a time, the cap checked
    /// on every new value. What `Facts` must behave like, however it is optimised.
    #[derive(Debug, Clone, Default)]
    struct Model {
        map: std::collections::BTreeMap<String, (FrameRef, u64)>,
        dropped: u64,
    }

    impl Model {
        fn add_n(&mut self, v: String, at: FrameRef, n: u64) {
            if let Some(e) = self.map.get_mut(&v) {
                e.0 = e.0.min(at);
                e.1 += n;
            } else if self.map.len() < MAX_FACTS_PER_LIST {
                self.map.insert(v, (at, n));
            } else {
                self.dropped += n;
            }
        }
        /// Merging as adding the other's values one by one, in value order.
        fn merge(&mut self, o: &Model) {
            self.dropped += o.dropped;
            for (v, &(at, n)) in &o.map {
                self.add_n(v.clone(), at, n);
            }
        }
        /// The JSON `Facts` must write: ordered by first frame, then value.
        fn json(&self) -> String {
            let mut v: Vec<_> = self.map.iter().collect();
            v.sort_by(|a, b| (a.1 .0, a.0).cmp(&(b.1 .0, b.0)));
            let items: Vec<String> = v
                .iter()
                .map(|(k, (at, n))| {
                    format!(r#"{{"value":"{k}","frame":{},"count":{n}}}"#, at.frame)
                })
                .collect();
            format!("[{}]", items.join(","))
        }
        fn counts_json(&self) -> String {
            let items: Vec<String> = self
                .map
                .iter()
                .map(|(k, (_, n))| format!(r#""{k}":{n}"#))
                .collect();
            format!("{{{}}}", items.join(","))
        }
    }

    /// Fills a fact list, a counter table and their model with `len` random additions drawn
    /// from `values` distinct values; frames are sometimes in value order, sometimes not.
    fn random_lists(rng: &mut Rng, len: u64, values: u64) -> (Facts<String>, Counts, Model) {
        let (mut f, mut c, mut m) = (Facts::default(), Counts::default(), Model::default());
        let ordered = rng.below(2) == 0;
        for i in 0..len {
            let x = rng.below(values.max(1));
            let v = format!("v{x:04}");
            let frame = if ordered {
                x * 3 + 1
            } else {
                rng.below(50) + 1
            };
            let at = FrameRef::new(0, frame);
            let n = rng.below(3) + 1;
            if i % 2 == 0 {
                f.add_n(v.clone(), at, n);
            } else {
                f.add_ref(v.as_str(), at);
                f.add_n(v.clone(), at, n - 1);
            }
            c.add(&v, n);
            m.add_n(v, at, n);
        }
        (f, c, m)
    }

    fn assert_same(f: &Facts<String>, c: &Counts, m: &Model, what: &str) {
        let got: Vec<_> = f.map.iter().map(|(k, &e)| (k.clone(), e)).collect();
        let want: Vec<_> = m.map.iter().map(|(k, &e)| (k.clone(), e)).collect();
        assert_eq!(got, want, "{what}: facts");
        assert_eq!(f.dropped, m.dropped, "{what}: facts dropped");
        assert_eq!(
            serde_json::to_string(f).unwrap(),
            m.json(),
            "{what}: facts JSON"
        );
        let it: Vec<_> = f.iter().map(|x| (x.first, x.value.clone())).collect();
        let mut sorted = it.clone();
        sorted.sort();
        assert_eq!(it, sorted, "{what}: iter order");
        let counts: Vec<_> = c.iter().map(|(k, n)| (k.to_string(), n)).collect();
        let want: Vec<_> = m.map.iter().map(|(k, e)| (k.clone(), e.1)).collect();
        assert_eq!(counts, want, "{what}: counts");
        assert_eq!(c.dropped, m.dropped, "{what}: counts dropped");
        assert_eq!(serde_json::to_string(c).unwrap(), m.counts_json());
    }

    #[test]
    fn adding_and_merging_match_the_one_by_one_model() {
        let cap = MAX_FACTS_PER_LIST as u64;
        // (additions, distinct values) per side: empty, short (scanned), long (searched), and
        // over the cap on either side or only once merged.
        let sizes = [
            (0, 1),
            (1, 1),
            (3, 4),
            (8, 9),
            (9, 12),
            (40, 30),
            (cap, cap / 2 + 20),
            (cap * 3, cap + 40),
        ];
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for (seed, &(la, va)) in sizes.iter().cycle().take(sizes.len() * 6).enumerate() {
            for &(lb, vb) in &sizes {
                let (mut fa, mut ca, mut ma) = random_lists(&mut rng, la, va);
                let (fb, cb, mb) = random_lists(&mut rng, lb, vb);
                let what = format!("case {seed}: {la}/{va} + {lb}/{vb}");
                assert_same(&fa, &ca, &ma, &format!("{what}, before"));
                assert_same(&fb, &cb, &mb, &format!("{what}, other"));
                fa.merge(fb);
                ca.merge(cb);
                ma.merge(&mb);
                assert_same(&fa, &ca, &ma, &format!("{what}, merged"));
                assert!(fa.len() <= MAX_FACTS_PER_LIST);
            }
        }
    }

    /// The three ways of adding a counter give one table whatever the key's form: a borrowed
    /// name, a copied one and a moved-in owned one are the same key, in the same place, with
    /// the same JSON, and the cap counts the same dropped increments.
    #[test]
    fn counts_keys_are_one_whatever_their_form() {
        let mut a = Counts::default();
        a.add_static("request", 2);
        a.add("request", 1);
        a.add_name(Cow::Owned("request".to_string()), 4);
        a.add_name(Cow::Borrowed("bind"), 1);
        a.add("0xc0000016", 3);
        let mut b = Counts::default();
        b.add("bind", 1);
        b.add("request", 7);
        b.add("0xc0000016", 3);
        assert_eq!(a, b);
        assert_eq!(a.get("request"), 7);
        assert!(matches!(a.map.0[2].0, Cow::Borrowed(_)), "{:?}", a.map.0);
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"{"0xc0000016":3,"bind":1,"request":7}"#
        );
        // Merging a table of borrowed keys into one of owned keys (and the reverse) adds up.
        let mut m = b.clone();
        m.merge(a.clone());
        a.merge(b);
        assert_eq!(m, a);
        assert_eq!(a.get("request"), 14);
        // The cap: every form of a new key is dropped alike once the table is full.
        let mut full = Counts::default();
        for i in 0..MAX_FACTS_PER_LIST {
            full.add(&format!("k{i:04}"), 1);
        }
        full.add_static("zz", 2);
        full.add_name(Cow::Borrowed("zy"), 3);
        full.add("zx", 4);
        full.add_static("k0000", 5);
        assert_eq!(full.dropped, 9);
        assert_eq!(full.get("k0000"), 6);
    }

    #[test]
    fn find_from_agrees_with_find() {
        let m = SortedMap(vec![(2, ()), (4, ()), (6, ()), (8, ())]);
        for lo in 0..=4 {
            for key in 0..10 {
                // find_from's promise: every key before `lo` sorts before `key`.
                if m.0.iter().take(lo).all(|(k, _)| *k < key) {
                    assert_eq!(m.find_from(lo, &key), m.find(&key), "lo {lo}, key {key}");
                }
            }
        }
        assert_eq!(m.find_from(4, &9), Err(4));
        assert_eq!(m.find_from(1, &4), Ok(1));
        assert_eq!(m.find_from(1, &8), Ok(3));
        assert_eq!(m.find_from(2, &5), Err(2));
    }

    #[test]
    fn merge_over_the_cap_keeps_the_smallest_new_values() {
        let mut a = Facts::default();
        let mut b = Facts::default();
        for i in 0..(MAX_FACTS_PER_LIST as u64 - 2) {
            a.add(i * 2, FrameRef::new(0, 1));
        }
        // Values 1, 3, 5 are new (only two fit), 0 and 2 are present, 1000 is new and dropped.
        for (v, frame) in [(5, 9), (0, 7), (1, 3), (2, 1), (3, 4), (1000, 2)] {
            b.add(v, FrameRef::new(0, frame));
        }
        a.merge(b);
        assert_eq!(a.len(), MAX_FACTS_PER_LIST);
        assert!(a.contains(&1) && a.contains(&3) && !a.contains(&5) && !a.contains(&1000));
        assert_eq!(a.dropped, 2);
        assert_eq!(a.first_frame(&2), Some(FrameRef::new(0, 1)));
        assert_eq!(a.first_frame(&3), Some(FrameRef::new(0, 4)));
        let counts: Vec<_> = a.iter().take(3).map(|f| (*f.value, f.count)).collect();
        assert_eq!(counts, vec![(0, 2), (2, 2), (4, 1)]);
    }
}
