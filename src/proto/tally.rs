//! Per-connection counters keyed by a numeric code (DCE/RPC PDU types, SMB2 commands, NT
//! statuses ...), kept as a short vector of `(code, count)` and turned into the evidence's
//! name-keyed [`Counts`] only when the analyzer finishes: the name of a code is built once per
//! code, not once per message, and counting a message costs a short linear search on integers
//! instead of a string search (and often an allocation) in `Counts`.
//!
//! The result is exactly what counting every message straight into `Counts` gives, caps
//! included, provided `name` gives distinct codes distinct names and every increment of that
//! `Counts` goes through the tally: codes are kept in the order first seen and handed over in
//! that order, so the same keys find room before `Counts` is full; when the tally itself is full
//! it hands its codes over early (bounded memory, same result).

use std::borrow::Cow;

use crate::evidence::Counts;

/// Most distinct codes held before they are handed to `Counts` early. Real connections show a
/// dozen PDU types or commands; the cap only bounds what a hostile capture can make us hold.
pub const MAX_TALLY_CODES: usize = 64;

/// Turns a code into its counter name.
pub type CodeName = fn(u32) -> Cow<'static, str>;

/// Counts by code, in the order codes were first seen (see the module documentation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    codes: Vec<(u32, u64)>,
}

impl Tally {
    /// Counts one `code`; when the tally is full, hands what it holds to `into` first.
    pub fn add(&mut self, code: u32, into: &mut Counts, name: CodeName) {
        if let Some(e) = self.codes.iter_mut().find(|e| e.0 == code) {
            e.1 += 1;
            return;
        }
        if self.codes.len() >= MAX_TALLY_CODES {
            self.drain_into(into, name);
        }
        self.codes.push((code, 1));
    }

    /// Hands every count to `into` under its name, in first-seen order, and empties the tally.
    /// The name is moved in: a fixed name stays borrowed, a built one is not copied again.
    pub fn drain_into(&mut self, into: &mut Counts, name: CodeName) {
        for (code, n) in self.codes.drain(..) {
            into.add_name(name(code), n);
        }
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::MAX_FACTS_PER_LIST;

    fn name(code: u32) -> Cow<'static, str> {
        match code {
            0 => Cow::Borrowed("request"),
            2 => Cow::Borrowed("response"),
            n => Cow::Owned(format!("code_{n}")),
        }
    }

    /// Counts `codes` both ways: straight into `Counts` one by one, and through a tally.
    fn both(codes: &[u32]) -> (Counts, Counts) {
        let mut direct = Counts::default();
        for &c in codes {
            direct.add(&name(c), 1);
        }
        let mut via = Counts::default();
        let mut t = Tally::default();
        for &c in codes {
            t.add(c, &mut via, name);
        }
        t.drain_into(&mut via, name);
        assert!(t.is_empty());
        (direct, via)
    }

    #[test]
    fn same_counts_as_direct() {
        let (direct, via) = both(&[0, 2, 0, 2, 0, 7, 2, 0]);
        assert_eq!(via, direct);
        let got: Vec<(&str, u64)> = via.iter().collect();
        assert_eq!(got, vec![("code_7", 1), ("request", 4), ("response", 3)]);
        assert_eq!(
            serde_json::to_string(&via).unwrap(),
            r#"{"code_7":1,"request":4,"response":3}"#
        );
    }

    #[test]
    fn caps_and_early_hand_over_match_direct() {
        // More distinct codes than the tally holds and than Counts keeps, repeated and
        // interleaved: the kept keys, their counts and the dropped increments are the same.
        let mut codes = Vec::new();
        for round in 0..3u32 {
            for c in 0..(MAX_FACTS_PER_LIST as u32 + 40) {
                codes.push((c * 7 + round) % 400);
                codes.push(c % 5);
            }
        }
        let (direct, via) = both(&codes);
        assert!(direct.dropped > 0, "the test must reach the Counts cap");
        assert_eq!(via, direct);
        assert_eq!(via.dropped, direct.dropped);
    }
}
