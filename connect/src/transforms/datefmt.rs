//! A `java.text.SimpleDateFormat` in UTC (what TimestampConverter and
//! TimestampRouter use): the pattern letters G y Y M L d D E u a H k K h m
//! s S z Z X, quoted literals (`'T'`, `''`), lenient parsing as Java does
//! it (fields roll over, trailing text is ignored).

use std::fmt::Write;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

pub const MILLIS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (month may be out of range).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = y + (m - 1).div_euclid(12);
    let m = (m - 1).rem_euclid(12) + 1;
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month 1-12, day 1-31) of a day count since the epoch.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Lit(String),
    Field(char, usize),
}

/// A compiled pattern.
#[derive(Clone, Debug)]
pub struct DateFormat {
    pattern: String,
    toks: Vec<Tok>,
}

impl DateFormat {
    /// Compile a pattern; the error is Java's `IllegalArgumentException` message.
    pub fn new(pattern: &str) -> Result<DateFormat, String> {
        let mut toks: Vec<Tok> = Vec::new();
        let chars: Vec<char> = pattern.chars().collect();
        let mut i = 0;
        let mut lit = String::new();
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                if chars.get(i + 1) == Some(&'\'') {
                    lit.push('\'');
                    i += 2;
                    continue;
                }
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("Unterminated quote".to_string()),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            lit.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(c) => {
                            lit.push(*c);
                            i += 1;
                        }
                    }
                }
                continue;
            }
            if c.is_ascii_alphabetic() {
                if !"GyYMLdDEuaHkKhmsSzZX".contains(c) {
                    return Err(format!("Illegal pattern character '{c}'"));
                }
                let mut n = 1;
                while chars.get(i + n) == Some(&c) {
                    n += 1;
                }
                if !lit.is_empty() {
                    toks.push(Tok::Lit(std::mem::take(&mut lit)));
                }
                toks.push(Tok::Field(c, n));
                i += n;
                continue;
            }
            lit.push(c);
            i += 1;
        }
        if !lit.is_empty() {
            toks.push(Tok::Lit(lit));
        }
        Ok(DateFormat {
            pattern: pattern.to_string(),
            toks,
        })
    }

    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Format milliseconds since the epoch, in UTC.
    pub fn format(&self, millis: i64) -> String {
        let days = millis.div_euclid(MILLIS_PER_DAY);
        let ms = millis.rem_euclid(MILLIS_PER_DAY);
        let (y, mo, d) = civil_from_days(days);
        let hour = ms / 3_600_000;
        let min = ms / 60_000 % 60;
        let sec = ms / 1000 % 60;
        let milli = ms % 1000;
        // 1970-01-01 was a Thursday; 0 = Monday.
        let dow = (days + 3).rem_euclid(7) as usize;
        let mut out = String::new();
        let num = |out: &mut String, v: i64, n: usize| {
            let _ = write!(out, "{v:0n$}");
        };
        for t in &self.toks {
            match t {
                Tok::Lit(s) => out.push_str(s),
                Tok::Field(c, n) => {
                    let n = *n;
                    match c {
                        'G' => out.push_str(if y > 0 { "AD" } else { "BC" }),
                        'y' | 'Y' => {
                            let year = if y > 0 { y } else { 1 - y };
                            if n == 2 {
                                num(&mut out, year % 100, 2)
                            } else {
                                num(&mut out, year, n)
                            }
                        }
                        'M' | 'L' => {
                            if n >= 4 {
                                out.push_str(MONTHS[(mo - 1) as usize]);
                            } else if n == 3 {
                                out.push_str(&MONTHS[(mo - 1) as usize][..3]);
                            } else {
                                num(&mut out, mo, n)
                            }
                        }
                        'd' => num(&mut out, d, n),
                        'D' => num(&mut out, days - days_from_civil(y, 1, 1) + 1, n),
                        'E' => {
                            if n >= 4 {
                                out.push_str(DAYS[dow]);
                            } else {
                                out.push_str(&DAYS[dow][..3]);
                            }
                        }
                        'u' => num(&mut out, dow as i64 + 1, n),
                        'a' => out.push_str(if hour < 12 { "AM" } else { "PM" }),
                        'H' => num(&mut out, hour, n),
                        'k' => num(&mut out, if hour == 0 { 24 } else { hour }, n),
                        'K' => num(&mut out, hour % 12, n),
                        'h' => num(&mut out, if hour % 12 == 0 { 12 } else { hour % 12 }, n),
                        'm' => num(&mut out, min, n),
                        's' => num(&mut out, sec, n),
                        'S' => num(&mut out, milli, n),
                        'z' => out.push_str(if n >= 4 {
                            "Coordinated Universal Time"
                        } else {
                            "UTC"
                        }),
                        'Z' => out.push_str("+0000"),
                        'X' => out.push('Z'),
                        _ => {}
                    }
                }
            }
        }
        out
    }

    /// Parse text into milliseconds since the epoch (UTC unless the text
    /// carries a zone); `None` when it does not match.
    pub fn parse(&self, text: &str) -> Option<i64> {
        let s: Vec<char> = text.chars().collect();
        let mut pos = 0;
        let (mut y, mut mo, mut d) = (1970i64, 1i64, 1i64);
        let (mut hour, mut min, mut sec, mut milli) = (0i64, 0i64, 0i64, 0i64);
        let mut pm: Option<bool> = None;
        let mut h12: Option<i64> = None;
        let mut offset_ms = 0i64;
        let mut bc = false;
        for (i, t) in self.toks.iter().enumerate() {
            match t {
                Tok::Lit(l) => {
                    for c in l.chars() {
                        if s.get(pos) != Some(&c) {
                            return None;
                        }
                        pos += 1;
                    }
                }
                Tok::Field(c, n) => {
                    let abutting = matches!(self.toks.get(i + 1), Some(Tok::Field(nc, nn)) if is_numeric(*nc, *nn));
                    let numeric = is_numeric(*c, *n);
                    if numeric {
                        let max = if abutting { *n } else { usize::MAX };
                        let start = pos;
                        let neg = *c == 'y' && s.get(pos) == Some(&'-');
                        if neg {
                            pos += 1;
                        }
                        let digits_start = pos;
                        while pos < s.len() && s[pos].is_ascii_digit() && pos - digits_start < max {
                            pos += 1;
                        }
                        if pos == digits_start {
                            return None;
                        }
                        let txt: String = s[digits_start..pos].iter().collect();
                        let mut v: i64 = txt.parse().ok()?;
                        if neg {
                            v = -v;
                        }
                        match c {
                            'y' | 'Y' => {
                                y = if *n <= 2 && pos - start == 2 {
                                    two_digit_year(v)
                                } else {
                                    v
                                }
                            }
                            'M' | 'L' => mo = v,
                            'd' => d = v,
                            'D' => {
                                mo = 1;
                                d = v;
                            }
                            'u' => {}
                            'H' => hour = v,
                            'k' => hour = if v == 24 { 0 } else { v },
                            'K' | 'h' => h12 = Some(if v == 12 && *c == 'h' { 0 } else { v }),
                            'm' => min = v,
                            's' => sec = v,
                            'S' => milli = v,
                            _ => {}
                        }
                        continue;
                    }
                    let rest: String = s[pos..].iter().collect();
                    let lower = rest.to_ascii_lowercase();
                    match c {
                        'M' | 'L' => {
                            let (idx, len) = match_name(&lower, &MONTHS)?;
                            mo = idx as i64 + 1;
                            pos += len;
                        }
                        'E' => {
                            let (_, len) = match_name(&lower, &DAYS)?;
                            pos += len;
                        }
                        'G' => {
                            if lower.starts_with("ad") {
                                pos += 2;
                            } else if lower.starts_with("bc") {
                                bc = true;
                                pos += 2;
                            } else {
                                return None;
                            }
                        }
                        'a' => {
                            if lower.starts_with("am") {
                                pm = Some(false);
                            } else if lower.starts_with("pm") {
                                pm = Some(true);
                            } else {
                                return None;
                            }
                            pos += 2;
                        }
                        'z' | 'Z' | 'X' => {
                            let (off, len) = parse_zone(&rest)?;
                            offset_ms = off;
                            pos += len;
                        }
                        _ => return None,
                    }
                }
            }
        }
        if let Some(h) = h12 {
            hour = h + if pm == Some(true) { 12 } else { 0 };
        } else if pm == Some(true) && hour < 12 {
            // `a` without `h`/`K` is ignored by Java for `H`; keep H as parsed.
        }
        if bc {
            y = 1 - y;
        }
        let days = days_from_civil(y, mo, 1) + d - 1;
        Some(
            days * MILLIS_PER_DAY + hour * 3_600_000 + min * 60_000 + sec * 1000 + milli
                - offset_ms,
        )
    }
}

fn is_numeric(c: char, n: usize) -> bool {
    match c {
        'M' | 'L' => n <= 2,
        'G' | 'E' | 'a' | 'z' | 'Z' | 'X' => false,
        _ => true,
    }
}

/// A full or three-letter name at the start of `lower`: (index, length).
fn match_name(lower: &str, names: &[&str]) -> Option<(usize, usize)> {
    for (i, n) in names.iter().enumerate() {
        let full = n.to_ascii_lowercase();
        if lower.starts_with(&full) {
            return Some((i, full.len()));
        }
    }
    for (i, n) in names.iter().enumerate() {
        let short = n[..3].to_ascii_lowercase();
        if lower.starts_with(&short) {
            return Some((i, 3));
        }
    }
    None
}

/// `Z`, `UTC`, `GMT`, `+hh:mm`, `+hhmm`, `+hh`: (offset millis, length).
fn parse_zone(rest: &str) -> Option<(i64, usize)> {
    if rest.starts_with('Z') {
        return Some((0, 1));
    }
    for name in ["UTC", "GMT"] {
        if rest.starts_with(name) {
            let (off, len) = parse_zone(&rest[3..])
                .filter(|_| rest[3..].starts_with(['+', '-']))
                .unwrap_or((0, 0));
            return Some((off, 3 + len));
        }
    }
    let sign = match rest.chars().next()? {
        '+' => 1,
        '-' => -1,
        _ => return None,
    };
    let b = rest.as_bytes();
    let digit = |i: usize| {
        b.get(i)
            .filter(|c| c.is_ascii_digit())
            .map(|c| i64::from(c - b'0'))
    };
    let hh = digit(1)? * 10 + digit(2)?;
    let (mm, len) = if b.get(3) == Some(&b':') {
        (digit(4)? * 10 + digit(5)?, 6)
    } else if let (Some(a), Some(c)) = (digit(3), digit(4)) {
        (a * 10 + c, 5)
    } else {
        (0, 3)
    };
    Some((sign * (hh * 3_600_000 + mm * 60_000), len))
}

/// Java's two-digit year: within 80 years before and 20 after now.
fn two_digit_year(v: i64) -> i64 {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let (now_year, _, _) = civil_from_days(now_ms.div_euclid(MILLIS_PER_DAY));
    let start = now_year - 80;
    let mut y = start - start.rem_euclid(100) + v;
    if y < start {
        y += 100;
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11017);
        assert_eq!(civil_from_days(11017), (2000, 3, 1));
        assert_eq!(days_from_civil(2017, 13, 1), days_from_civil(2018, 1, 1));
    }

    #[test]
    fn format_and_parse() {
        let f = DateFormat::new("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").unwrap();
        // 2017-01-03T06:30:01.864Z
        let ms = 1_483_425_001_864;
        assert_eq!(f.format(ms), "2017-01-03T06:30:01.864Z");
        assert_eq!(f.parse("2017-01-03T06:30:01.864Z"), Some(ms));
        let f = DateFormat::new("yyyyMMdd").unwrap();
        assert_eq!(f.format(ms), "20170103");
        assert_eq!(f.parse("20170103"), Some(1_483_401_600_000));
        let f = DateFormat::new("EEE, d MMM yyyy hh:mm a z").unwrap();
        assert_eq!(f.format(ms), "Tue, 3 Jan 2017 06:30 AM UTC");
        assert_eq!(
            f.parse("Tue, 3 Jan 2017 06:30 PM UTC"),
            Some(ms - 1864 + 12 * 3_600_000)
        );
        let f = DateFormat::new("yyyy-MM-dd HH:mmXXX").unwrap();
        assert_eq!(f.parse("2017-01-03 08:30+02:00"), Some(ms - 1864));
        assert!(DateFormat::new("bad pattern q").is_err());
        assert_eq!(DateFormat::new("yyyy").unwrap().parse("x"), None);
    }
}
