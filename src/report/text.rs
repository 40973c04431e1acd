//! Small text helpers shared by the renderers: timestamps and escaping of untrusted strings.

/// Formats nanoseconds since the Unix epoch as RFC 3339 UTC, with microseconds, or nanoseconds
/// when the value has sub-microsecond precision.
pub fn rfc3339(ts_ns: i64) -> String {
    let mut out = Vec::with_capacity(30);
    rfc3339_to(&mut out, ts_ns);
    out.into_iter().map(char::from).collect()
}

/// Appends [`rfc3339`]`(ts_ns)` to `out`.
pub fn rfc3339_to(out: &mut Vec<u8>, ts_ns: i64) {
    let secs = ts_ns.div_euclid(1_000_000_000);
    let nanos = ts_ns.rem_euclid(1_000_000_000) as u64;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u64;
    let (y, m, d) = civil_from_days(days);
    // Two timestamps per flow, and `format!` was most of a flows-only JSON document's cost:
    // the date and the time are each one number of eight digits (`YYYYMMDD`, `00HHMMSS`)
    // turned into digits at once and placed in a fixed buffer, copied whole. The i64 range of
    // nanoseconds spans the years 1677-2262: four digits.
    let date = eight_digits(y.unsigned_abs() as u32 * 10_000 + m * 100 + d);
    let time = eight_digits((sod / 3600 * 10_000 + sod % 3600 / 60 * 100 + sod % 60) as u32);
    let [y0, y1, y2, y3, m0, m1, d0, d1] = date;
    let [_, _, h0, h1, i0, i1, s0, s1] = time;
    let stamp = [
        y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, b'T', h0, h1, b':', i0, i1, b':', s0, s1, b'.',
    ];
    out.extend_from_slice(&stamp);
    if nanos % 1000 == 0 {
        // Microseconds: six digits.
        let [_, _, f @ ..] = eight_digits((nanos / 1000) as u32);
        out.extend_from_slice(&f);
    } else {
        push_decimal(out, nanos, 9);
    }
    out.push(b'Z');
}

/// The eight decimal digits of `v` (below 10^8; only the last eight digits of a larger one),
/// zero-padded, as ASCII.
#[inline]
pub fn eight_digits(v: u32) -> [u8; 8] {
    (digit_word(v) | ASCII_ZEROS).to_le_bytes()
}

/// '0' in every byte of a word: added to a [`digit_word`], it makes the digits ASCII.
pub const ASCII_ZEROS: u64 = u64::from_le_bytes([b'0'; 8]);

/// The eight decimal digits of `v` (below 10^8; only the last eight digits of a larger one),
/// zero-padded, as the byte values 0 to 9 of a little-endian word: the most significant
/// digit is its lowest byte, so the leading zeros of `v` are its trailing zero bytes.
///
/// All eight are computed in one 64-bit word without a division or a table: `v` is split into
/// two four-digit halves in 32-bit lanes, each lane into two-digit halves in 16-bit lanes,
/// each of those into digits in bytes, every split by a multiplication by a reciprocal that
/// is exact in the lane's range (`(n * 5243) >> 19 == n / 100` below 10^4 and
/// `(n * 103) >> 10 == n / 10` below 100; both checked for every value by the tests).
#[inline]
pub fn digit_word(v: u32) -> u64 {
    let v = u64::from(v % 100_000_000);
    // [v / 10^4, v % 10^4] in 32-bit lanes.
    let x = (v / 10_000) | ((v % 10_000) << 32);
    // Each lane into [n / 100, n % 100] in 16-bit lanes.
    let hundreds = ((x * 5243) >> 19) & 0x0000_007f_0000_007f;
    let x = hundreds | (x - hundreds * 100) << 16;
    // Each 16-bit lane into [n / 10, n % 10] in bytes.
    let tens = ((x * 103) >> 10) & 0x000f_000f_000f_000f;
    tens | (x - tens * 10) << 8
}

/// Appends `v` in decimal ASCII digits, zero-padded to at least `width` digits (at most 20).
///
/// The digits are written into a stack buffer of '0's from the right, two per division (a
/// table of the pairs 00-99, as the itoa crate does), then all twenty bytes are appended and
/// the excess cut: a copy of a fixed length is a few moves, one of a variable length a call to
/// `memcpy`.
#[inline]
pub fn push_decimal(out: &mut Vec<u8>, mut v: u64, width: usize) {
    let len = v.checked_ilog10().map_or(1, |l| l as usize + 1);
    let n = len.max(width).min(20);
    // Right-aligned at `n`: the '0's before the digits are the padding.
    let mut buf = [b'0'; 20];
    let mut i = n;
    while v >= 10 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        if let (Some(to), Some(from)) = (buf.get_mut(i - 2..i), PAIRS.get(pair..pair + 2)) {
            to.copy_from_slice(from);
        }
        i -= 2;
    }
    if len % 2 == 1 {
        if let Some(b) = buf.get_mut(i.wrapping_sub(1)) {
            *b = b'0' + v as u8;
        }
    }
    let start = out.len();
    out.extend_from_slice(&buf);
    out.truncate(start + n);
}

/// Appends the last two decimal digits of `v` (`v % 100`, zero-padded).
#[inline]
pub fn push_two_digits(out: &mut Vec<u8>, v: u64) {
    let pair = (v % 100) as usize * 2;
    out.extend_from_slice(PAIRS.get(pair..pair + 2).unwrap_or(b"00"));
}

/// The two-digit numbers 00 to 99.
const PAIRS: &[u8; 200] = b"\
    0001020304050607080910111213141516171819\
    2021222324252627282930313233343536373839\
    4041424344454647484950515253545556575859\
    6061626364656667686970717273747576777879\
    8081828384858687888990919293949596979899";

/// Days since 1970-01-01 -> (year, month, day) in the proleptic Gregorian calendar
/// (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms").
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Makes a string taken from a capture safe to print on a terminal: control characters
/// (escape sequences could rewrite the screen) are shown as `\u{..}` escapes.
pub fn terminal_safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        // kerberos_kerberoast_tgsreq_rc4.pcap frame 1 per its PROVENANCE entry:
        // 2018-08-19 10:03:24.596879 UTC = 1534673004.596879.
        assert_eq!(
            rfc3339(1_534_673_004_596_879_000),
            "2018-08-19T10:03:24.596879Z"
        );
        assert_eq!(
            rfc3339(1_695_728_003_815_495_640),
            "2023-09-26T11:33:23.815495640Z"
        );
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(rfc3339(-1_000), "1969-12-31T23:59:59.999999Z");
        assert_eq!(rfc3339(i64::MIN), "1677-09-21T00:12:43.145224192Z");
        assert_eq!(rfc3339(i64::MAX), "2262-04-11T23:47:16.854775807Z");
    }

    /// The digit writer gives what `format!` gives, across the whole range.
    #[test]
    fn timestamps_match_format() {
        let reference = |ts: i64| {
            let secs = ts.div_euclid(1_000_000_000);
            let nanos = ts.rem_euclid(1_000_000_000);
            let sod = secs.rem_euclid(86_400);
            let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
            let frac = if nanos % 1000 == 0 {
                format!("{:06}", nanos / 1000)
            } else {
                format!("{nanos:09}")
            };
            format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac}Z",
                sod / 3600,
                sod % 3600 / 60,
                sod % 60
            )
        };
        let mut rng = crate::proto::testutil::Rng(3339);
        for _ in 0..20_000 {
            let ts = rng.next() as i64;
            assert_eq!(rfc3339(ts), reference(ts));
            let us = ts / 1000 * 1000;
            assert_eq!(rfc3339(us), reference(us));
        }
    }

    /// The word-at-a-time digits are `format!`'s for every four-digit half and every value
    /// around the powers of ten; the reciprocals they divide by are exact in their whole
    /// range (0 to 9,999 and 0 to 99: the lane's values).
    #[test]
    fn eight_digits_match_format() {
        for n in 0..10_000u64 {
            assert_eq!((n * 5243) >> 19, n / 100, "{n}");
        }
        for n in 0..100u64 {
            assert_eq!((n * 103) >> 10, n / 10, "{n}");
        }
        let mut values: Vec<u32> = Vec::new();
        for half in 0..10_000 {
            values.extend([half, half * 10_000, half * 10_000 + 9_999 - half]);
        }
        for p in 0..9 {
            values.extend([10u32.pow(p), 10u32.pow(p) - 1, 10u32.pow(p) + 1]);
        }
        let mut rng = crate::proto::testutil::Rng(8);
        values.extend((0..20_000).map(|_| rng.next() as u32 % 100_000_000));
        values.retain(|&v| v < 100_000_000);
        for v in values {
            assert_eq!(eight_digits(v), *format!("{v:08}").as_bytes(), "{v}");
        }
        // Only the last eight digits of a larger value.
        assert_eq!(&eight_digits(u32::MAX), b"94967295");
    }

    /// The decimal writer gives what `format!` gives, for every width and digit count.
    #[test]
    fn decimal_matches_format() {
        let mut rng = crate::proto::testutil::Rng(10);
        let mut values = vec![0, 1, 9, 10, 99, 100, 101, 999, 1000, u64::MAX, u64::MAX - 1];
        for p in 0..20 {
            values.push(10u64.pow(p));
            values.push(10u64.pow(p) - 1);
        }
        for _ in 0..5000 {
            let v = rng.next();
            values.push(v);
            values.push(v >> (rng.next() % 64));
        }
        for v in values {
            for width in [0, 1, 2, 4, 6, 9, 19, 20, 25] {
                let want = format!("x{v:0width$}", width = width.min(20));
                let mut out = b"x".to_vec();
                push_decimal(&mut out, v, width);
                assert_eq!(out, want.as_bytes(), "{v} {width}");
            }
        }
    }

    #[test]
    fn escapes_control_characters() {
        assert_eq!(terminal_safe("a\x1b[2Jb"), "a\\u{1b}[2Jb");
    }
}
