//! Maven version ordering (maven-artifact's `ComparableVersion`, Maven 3.8 semantics) and
//! version ranges (`[1.0,2.0)`, `(,1.0]`, `[1.5]`, unions).

use std::cmp::Ordering;
use std::fmt;

/// A version string with Maven's ordering. Equality follows the ordering, so `1` == `1.0.0`.
#[derive(Clone, Debug)]
pub struct Version {
    raw: String,
    items: Vec<Item>,
}

#[derive(Clone, Debug)]
enum Item {
    /// Digits without leading zeros ("0" for zero); any length, compared numerically.
    Int(String),
    /// A lower-cased qualifier with aliases applied (`ga`/`final`/`release` → "", `cr` → `rc`).
    Str(String),
    List(Vec<Item>),
}

const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
/// Index of the release qualifier "" in `QUALIFIERS`, as Maven's string comparison expects.
const RELEASE_INDEX: &str = "5";

fn comparable_qualifier(q: &str) -> String {
    match QUALIFIERS.iter().position(|x| *x == q) {
        Some(i) => i.to_string(),
        None => format!("{}-{}", QUALIFIERS.len(), q),
    }
}

fn cmp_ints(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

impl Item {
    fn int(digits: &str) -> Item {
        let t = digits.trim_start_matches('0');
        Item::Int(if t.is_empty() { "0".into() } else { t.into() })
    }

    fn string(s: &str, followed_by_digit: bool) -> Item {
        let s = if followed_by_digit && s.len() == 1 {
            match s {
                "a" => "alpha",
                "b" => "beta",
                "m" => "milestone",
                other => other,
            }
        } else {
            s
        };
        let s = match s {
            "ga" | "final" | "release" => "",
            "cr" => "rc",
            other => other,
        };
        Item::Str(s.to_string())
    }

    fn is_null(&self) -> bool {
        match self {
            Item::Int(d) => d == "0",
            Item::Str(s) => s.is_empty(),
            Item::List(l) => l.is_empty(),
        }
    }

    /// Compares against another item or, for `None`, against the padding Maven uses when
    /// one version is longer than the other.
    fn compare(&self, other: Option<&Item>) -> Ordering {
        match (self, other) {
            (Item::Int(d), None) => {
                if d == "0" {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            (Item::Int(a), Some(Item::Int(b))) => cmp_ints(a, b),
            (Item::Int(_), Some(_)) => Ordering::Greater,
            (Item::Str(s), None) => comparable_qualifier(s).as_str().cmp(RELEASE_INDEX),
            (Item::Str(_), Some(Item::Int(_))) => Ordering::Less,
            (Item::Str(a), Some(Item::Str(b))) => {
                comparable_qualifier(a).cmp(&comparable_qualifier(b))
            }
            (Item::Str(_), Some(Item::List(_))) => Ordering::Less,
            (Item::List(l), None) => match l.first() {
                None => Ordering::Equal,
                Some(first) => first.compare(None),
            },
            (Item::List(_), Some(Item::Int(_))) => Ordering::Less,
            (Item::List(_), Some(Item::Str(_))) => Ordering::Greater,
            (Item::List(a), Some(Item::List(b))) => cmp_lists(a, b),
        }
    }
}

fn cmp_lists(a: &[Item], b: &[Item]) -> Ordering {
    let n = a.len().max(b.len());
    for i in 0..n {
        let r = match (a.get(i), b.get(i)) {
            (None, None) => Ordering::Equal,
            (None, Some(r)) => r.compare(None).reverse(),
            (Some(l), r) => l.compare(r),
        };
        if r != Ordering::Equal {
            return r;
        }
    }
    Ordering::Equal
}

/// Drops trailing null items (0, "", empty lists), looking past non-null sub-lists as Maven does.
fn normalize(list: &mut Vec<Item>) {
    let mut i = list.len();
    while i > 0 {
        i -= 1;
        if list[i].is_null() {
            list.remove(i);
        } else if !matches!(list[i], Item::List(_)) {
            break;
        }
    }
}

/// Parse state. Maven's parser only ever descends: each new sub-list is appended to the
/// current list and becomes current. So the open lists form a chain, each the (future) last
/// element of the one before, and a stack of item vectors represents them.
struct Builder {
    open: Vec<Vec<Item>>,
}

impl Builder {
    fn add(&mut self, item: Item) {
        if let Some(cur) = self.open.last_mut() {
            cur.push(item);
        }
    }

    fn open_sublist(&mut self) {
        self.open.push(Vec::new());
    }

    /// Closes the chain innermost first, normalizing each list as Maven does.
    fn finish(mut self) -> Vec<Item> {
        let mut inner: Option<Vec<Item>> = None;
        while let Some(mut list) = self.open.pop() {
            if let Some(child) = inner.take() {
                list.push(Item::List(child));
            }
            normalize(&mut list);
            inner = Some(list);
        }
        inner.unwrap_or_default()
    }
}

fn parse_item(is_digit: bool, s: &str) -> Item {
    if is_digit {
        Item::int(s)
    } else {
        Item::string(s, false)
    }
}

impl Version {
    pub fn parse(s: &str) -> Version {
        let lower = s.to_lowercase();
        let chars: Vec<char> = lower.chars().collect();
        let mut b = Builder {
            open: vec![Vec::new()],
        };
        let mut is_digit = false;
        let mut start = 0usize;
        let sub = |from: usize, to: usize| -> String { chars[from..to].iter().collect() };
        for (i, &c) in chars.iter().enumerate() {
            if c == '.' {
                if i == start {
                    b.add(Item::Int("0".into()));
                } else {
                    b.add(parse_item(is_digit, &sub(start, i)));
                }
                start = i + 1;
            } else if c == '-' {
                if i == start {
                    b.add(Item::Int("0".into()));
                } else {
                    b.add(parse_item(is_digit, &sub(start, i)));
                }
                start = i + 1;
                b.open_sublist();
            } else if c.is_ascii_digit() {
                if !is_digit && i > start {
                    b.add(Item::string(&sub(start, i), true));
                    start = i;
                    b.open_sublist();
                }
                is_digit = true;
            } else {
                if is_digit && i > start {
                    b.add(parse_item(true, &sub(start, i)));
                    start = i;
                    b.open_sublist();
                }
                is_digit = false;
            }
        }
        if chars.len() > start {
            b.add(parse_item(is_digit, &sub(start, chars.len())));
        }
        Version {
            raw: s.to_string(),
            items: b.finish(),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    pub fn is_snapshot(&self) -> bool {
        self.raw.ends_with("SNAPSHOT")
    }

    /// Maven's canonical form, e.g. `1.0-alpha-1` → `1-alpha-1`.
    pub fn canonical(&self) -> String {
        fn write(items: &[Item], out: &mut String) {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(if matches!(item, Item::List(_)) {
                        '-'
                    } else {
                        '.'
                    });
                }
                match item {
                    Item::Int(d) => out.push_str(d),
                    Item::Str(s) => out.push_str(s),
                    Item::List(l) => write(l, out),
                }
            }
        }
        let mut out = String::new();
        write(&self.items, &mut out);
        out
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Version {}
impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_lists(&self.items, &other.items)
    }
}
impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// One interval of a range; `None` bounds are unbounded.
#[derive(Clone, Debug, PartialEq)]
pub struct Restriction {
    pub lower: Option<Version>,
    pub lower_inclusive: bool,
    pub upper: Option<Version>,
    pub upper_inclusive: bool,
}

impl Restriction {
    pub fn contains(&self, v: &Version) -> bool {
        if let Some(lo) = &self.lower {
            match v.cmp(lo) {
                Ordering::Less => return false,
                Ordering::Equal if !self.lower_inclusive => return false,
                _ => {}
            }
        }
        if let Some(hi) = &self.upper {
            match v.cmp(hi) {
                Ordering::Greater => return false,
                Ordering::Equal if !self.upper_inclusive => return false,
                _ => {}
            }
        }
        true
    }
}

/// A dependency's version requirement: a plain (soft) version or a union of ranges.
#[derive(Clone, Debug, PartialEq)]
pub enum VersionReq {
    Soft(Version),
    Ranges(Vec<Restriction>),
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("invalid version range `{spec}`: {reason}")]
pub struct RangeError {
    pub spec: String,
    pub reason: String,
}

impl VersionReq {
    pub fn parse(spec: &str) -> Result<VersionReq, RangeError> {
        let err = |reason: &str| RangeError {
            spec: spec.to_string(),
            reason: reason.to_string(),
        };
        let mut rest = spec.trim();
        let mut ranges = Vec::new();
        while rest.starts_with('[') || rest.starts_with('(') {
            let close = rest
                .find([')', ']'])
                .ok_or_else(|| err("unbounded range"))?;
            ranges.push(parse_restriction(&rest[..=close]).map_err(|r| err(&r))?);
            rest = rest[close + 1..].trim();
            if let Some(r) = rest.strip_prefix(',') {
                rest = r.trim();
            }
        }
        if !rest.is_empty() {
            if !ranges.is_empty() {
                return Err(err(
                    "only fully-qualified sets allowed in multiple set scenario",
                ));
            }
            return Ok(VersionReq::Soft(Version::parse(rest)));
        }
        if ranges.is_empty() {
            return Err(err("empty version"));
        }
        Ok(VersionReq::Ranges(ranges))
    }

    pub fn is_range(&self) -> bool {
        matches!(self, VersionReq::Ranges(_))
    }

    /// A soft requirement accepts any version (it only recommends one).
    pub fn contains(&self, v: &Version) -> bool {
        match self {
            VersionReq::Soft(_) => true,
            VersionReq::Ranges(rs) => rs.iter().any(|r| r.contains(v)),
        }
    }
}

fn parse_restriction(spec: &str) -> Result<Restriction, String> {
    let lower_inclusive = spec.starts_with('[');
    let upper_inclusive = spec.ends_with(']');
    let inner = spec[1..spec.len() - 1].trim();
    match inner.find(',') {
        None => {
            if !lower_inclusive || !upper_inclusive {
                return Err("single version must be surrounded by []".into());
            }
            let v = Version::parse(inner);
            Ok(Restriction {
                lower: Some(v.clone()),
                lower_inclusive,
                upper: Some(v),
                upper_inclusive,
            })
        }
        Some(comma) => {
            let lo = inner[..comma].trim();
            let hi = inner[comma + 1..].trim();
            if hi.contains(',') {
                return Err("invalid range".into());
            }
            let lower = (!lo.is_empty()).then(|| Version::parse(lo));
            let upper = (!hi.is_empty()).then(|| Version::parse(hi));
            if let (Some(l), Some(u)) = (&lower, &upper) {
                if u < l {
                    return Err("range defies version ordering".into());
                }
            }
            Ok(Restriction {
                lower,
                lower_inclusive,
                upper,
                upper_inclusive,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Sequences from Maven's ComparableVersionTest: each is strictly increasing.
    const VERSIONS_QUALIFIER: &[&str] = &[
        "1-alpha2snapshot",
        "1-alpha2",
        "1-alpha-123",
        "1-beta-2",
        "1-beta123",
        "1-m2",
        "1-m11",
        "1-rc",
        "1-cr2",
        "1-rc123",
        "1-SNAPSHOT",
        "1",
        "1-sp",
        "1-sp2",
        "1-sp123",
        "1-abc",
        "1-def",
        "1-pom-1",
        "1-1-snapshot",
        "1-1",
        "1-2",
        "1-123",
    ];
    const VERSIONS_NUMBER: &[&str] = &[
        "2.0", "2-1", "2.0.a", "2.0.0.a", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b", "2.1-c",
        "2.1-1", "2.1.0.1", "2.2", "2.123", "11.a2", "11.a11", "11.b2", "11.b11", "11.m2",
        "11.m11", "11", "11.a", "11b", "11c", "11m",
    ];

    fn v(s: &str) -> Version {
        let parsed = Version::parse(s);
        // The canonical form must be stable, as Maven's test checks.
        assert_eq!(
            Version::parse(&parsed.canonical()).canonical(),
            parsed.canonical(),
            "{s}"
        );
        parsed
    }

    fn check_order(seq: &[&str]) {
        for i in 0..seq.len() {
            for j in 0..seq.len() {
                let (a, b) = (v(seq[i]), v(seq[j]));
                assert_eq!(a.cmp(&b), i.cmp(&j), "{} vs {}", seq[i], seq[j]);
            }
        }
    }

    fn lt(a: &str, b: &str) {
        assert!(v(a) < v(b), "{a} < {b}");
        assert!(v(b) > v(a), "{b} > {a}");
    }

    fn eq(a: &str, b: &str) {
        assert_eq!(v(a), v(b), "{a} == {b}");
        assert_eq!(v(b), v(a), "{b} == {a}");
    }

    #[test]
    fn qualifier_sequence() {
        check_order(VERSIONS_QUALIFIER);
    }

    #[test]
    fn number_sequence() {
        check_order(VERSIONS_NUMBER);
    }

    #[test]
    fn equal_versions() {
        for (a, b) in [
            ("1", "1"),
            ("1", "1.0"),
            ("1", "1.0.0"),
            ("1.0", "1.0.0"),
            ("1", "1-0"),
            ("1", "1.0-0"),
            ("1.0", "1.0-0"),
            ("1a", "1-a"),
            ("1a", "1.0-a"),
            ("1a", "1.0.0-a"),
            ("1.0a", "1-a"),
            ("1.0.0a", "1-a"),
            ("1x", "1-x"),
            ("1x", "1.0-x"),
            ("1x", "1.0.0-x"),
            ("1.0x", "1-x"),
            ("1.0.0x", "1-x"),
            ("1ga", "1"),
            ("1release", "1"),
            ("1final", "1"),
            ("1-ga", "1"),
            ("1-final", "1"),
            ("1-release", "1"),
            ("1.Final", "1"),
            ("1cr", "1rc"),
            ("1a1", "1-alpha-1"),
            ("1b2", "1-beta-2"),
            ("1m3", "1-milestone-3"),
            ("1X", "1x"),
            ("1A", "1a"),
            ("1B", "1b"),
            ("1M", "1m"),
            ("1Ga", "1"),
            ("1GA", "1"),
            ("1RELEASE", "1"),
            ("1FINAL", "1"),
            ("1Cr", "1Rc"),
            ("1cR", "1rC"),
            ("1m3", "1Milestone3"),
            ("1m3", "1MileStone3"),
            ("1m3", "1MILESTONE3"),
        ] {
            eq(a, b);
        }
    }

    #[test]
    fn comparing() {
        for (a, b) in [
            ("1", "2"),
            ("1.5", "2"),
            ("1", "2.5"),
            ("1.0", "1.1"),
            ("1.1", "1.2"),
            ("1.0.0", "1.1"),
            ("1.0.1", "1.1"),
            ("1.1", "1.2.0"),
            ("1.0-alpha-1", "1.0"),
            ("1.0-alpha-1", "1.0-alpha-2"),
            ("1.0-alpha-1", "1.0-beta-1"),
            ("1.0-beta-1", "1.0-SNAPSHOT"),
            ("1.0-SNAPSHOT", "1.0"),
            ("1.0-alpha-1-SNAPSHOT", "1.0-alpha-1"),
            ("1.0", "1.0-1"),
            ("1.0-1", "1.0-2"),
            ("1.0.0", "1.0-1"),
            ("2.0-1", "2.0.1"),
            ("2.0.1-klm", "2.0.1-lmn"),
            ("2.0.1", "2.0.1-xyz"),
            ("2.0.1", "2.0.1-123"),
            ("2.0.1-xyz", "2.0.1-123"),
        ] {
            lt(a, b);
        }
    }

    #[test]
    fn mng_5568_and_big_numbers() {
        lt("6.1.0rc3", "6.1.0");
        lt("6.1.0rc3", "6.1H.5-beta");
        lt("6.1.0", "6.1H.5-beta");
        lt("1.0.0.2147483647", "1.0.0.2147483648");
        lt("1.0.0.9223372036854775807", "1.0.0.9223372036854775808");
        eq("1.0.0.0009223372036854775808", "1.0.0.9223372036854775808");
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(Version::parse("1.0-alpha-1").canonical(), "1-alpha-1");
        assert_eq!(Version::parse("1.0.0").canonical(), "1");
        assert_eq!(Version::parse("1-SNAPSHOT").canonical(), "1-snapshot");
    }

    #[test]
    fn ranges() {
        let r = VersionReq::parse("[1.0,2.0)").unwrap();
        assert!(r.contains(&v("1.0")) && r.contains(&v("1.9.9")) && !r.contains(&v("2.0")));
        assert!(
            r.contains(&v("2.0-alpha-1")),
            "pre-releases of 2.0 sort below it"
        );
        let r = VersionReq::parse("(,1.0]").unwrap();
        assert!(r.contains(&v("0.1")) && r.contains(&v("1.0")) && !r.contains(&v("1.0.1")));
        let r = VersionReq::parse("[1.5]").unwrap();
        assert!(r.contains(&v("1.5")) && r.contains(&v("1.5.0")) && !r.contains(&v("1.6")));
        let r = VersionReq::parse("[1,2),(3,)").unwrap();
        assert!(r.contains(&v("1.5")) && !r.contains(&v("2.5")) && !r.contains(&v("3")));
        assert!(r.contains(&v("3.1")));
        let r = VersionReq::parse("(1.0,)").unwrap();
        assert!(!r.contains(&v("1.0")) && r.contains(&v("1.0.1")));
        assert_eq!(
            VersionReq::parse("1.0").unwrap(),
            VersionReq::Soft(v("1.0"))
        );
        assert!(!VersionReq::parse("1.0").unwrap().is_range());
        for bad in ["[1.0", "(1.0)", "[2.0,1.0]", "[1,2),3", "[1,2,3]", ""] {
            assert!(VersionReq::parse(bad).is_err(), "{bad}");
        }
    }
}
