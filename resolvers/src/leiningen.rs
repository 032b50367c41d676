//! Leiningen's classpath order.
//!
//! `lein classpath` lists the keys of the map pomegranate builds from the resolved graph
//! (`cemerick.pomegranate.aether/dependency-graph`), one key per artifact: the dependency
//! vector `[group/artifact "version" :scope "test" :exclusions [...]]`. While that map holds
//! at most 8 entries it is a Clojure array map and keeps resolution order; beyond, it is a
//! hash map, whose order is that of Clojure's hashes of those vectors. So this module
//! computes the same hashes (Clojure 1.6+'s Murmur3-based `hasheq`).

use crate::resolve::{ResolvedArtifact, Scope};

/// Clojure's `PersistentArrayMap` becomes a hash map past this many entries.
const ARRAY_MAP_MAX: usize = 8;

/// Indices into `artifacts` (resolution order) in the order `lein classpath` lists them.
pub fn leiningen_order(artifacts: &[ResolvedArtifact]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..artifacts.len()).collect();
    if artifacts.len() > ARRAY_MAP_MAX {
        let hashes: Vec<u32> = artifacts
            .iter()
            .map(|a| hasheq(&dependency_vector(a)) as u32)
            .collect();
        // A hash array mapped trie iterates by 5-bit chunks of the hash, lowest first; equal
        // hashes share a collision node in insertion order (the sort is stable).
        order.sort_by_key(|&i| trie_path(hashes[i]));
    }
    order
}

fn trie_path(h: u32) -> [u32; 7] {
    std::array::from_fn(|level| (h >> (5 * level)) & 31)
}

/// The Clojure values pomegranate's `dep-spec` builds.
#[derive(Debug)]
enum Form<'a> {
    Symbol(Option<&'a str>, &'a str),
    Keyword(&'a str),
    Str(&'a str),
    True,
    Vector(Vec<Form<'a>>),
}

/// `group/artifact`, or just `artifact` when the two are the same (as Leiningen writes it).
fn coordinate_symbol<'a>(group: &'a str, artifact: &'a str) -> Form<'a> {
    Form::Symbol((group != artifact).then_some(group), artifact)
}

fn dependency_vector(a: &ResolvedArtifact) -> Form<'_> {
    let c = &a.coord;
    let mut v = vec![
        coordinate_symbol(&c.group, &c.artifact),
        Form::Str(&c.version),
    ];
    if !c.classifier.is_empty() && c.classifier != "*" {
        v.extend([Form::Keyword("classifier"), Form::Str(&c.classifier)]);
    }
    if !c.extension.is_empty() && c.extension != "*" && c.extension != "jar" {
        v.extend([Form::Keyword("extension"), Form::Str(&c.extension)]);
    }
    if a.optional {
        v.extend([Form::Keyword("optional"), Form::True]);
    }
    if a.scope != Scope::Compile {
        v.extend([Form::Keyword("scope"), Form::Str(a.scope.as_str())]);
    }
    if !a.exclusions.is_empty() {
        let exclusions = a
            .exclusions
            .iter()
            .map(|x| Form::Vector(vec![coordinate_symbol(&x.group, &x.artifact)]))
            .collect();
        v.extend([Form::Keyword("exclusions"), Form::Vector(exclusions)]);
    }
    Form::Vector(v)
}

/// `clojure.lang.Util/hasheq`.
fn hasheq(f: &Form) -> i32 {
    match f {
        Form::Str(s) => murmur3::hash_int(java_string_hash(s)),
        Form::Symbol(ns, name) => symbol_hash(*ns, name),
        Form::Keyword(name) => symbol_hash(None, name).wrapping_add(0x9e3779b9_u32 as i32),
        Form::True => 1231, // java.lang.Boolean.TRUE.hashCode()
        Form::Vector(items) => {
            let mut h: i32 = 1;
            for x in items {
                h = h.wrapping_mul(31).wrapping_add(hasheq(x));
            }
            murmur3::mix_coll_hash(h, items.len() as i32)
        }
    }
}

fn symbol_hash(ns: Option<&str>, name: &str) -> i32 {
    hash_combine(
        murmur3::hash_unencoded_chars(name),
        ns.map_or(0, java_string_hash),
    )
}

/// `clojure.lang.Util/hashCombine` (after boost).
fn hash_combine(seed: i32, hash: i32) -> i32 {
    seed ^ hash
        .wrapping_add(0x9e3779b9_u32 as i32)
        .wrapping_add(seed << 6)
        .wrapping_add(seed >> 2)
}

/// `java.lang.String#hashCode`, over UTF-16 code units.
fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
}

/// `clojure.lang.Murmur3` (seed 0).
mod murmur3 {
    const C1: i32 = 0xcc9e2d51_u32 as i32;
    const C2: i32 = 0x1b873593;

    pub fn hash_int(input: i32) -> i32 {
        if input == 0 {
            return 0;
        }
        fmix(mix_h1(0, mix_k1(input)), 4)
    }

    pub fn hash_unencoded_chars(s: &str) -> i32 {
        let units: Vec<u16> = s.encode_utf16().collect();
        let pairs = units.chunks_exact(2);
        let odd = pairs.remainder();
        let mut h1 = 0;
        for pair in pairs {
            let k1 = pair[0] as i32 | ((pair[1] as i32) << 16);
            h1 = mix_h1(h1, mix_k1(k1));
        }
        if let [last] = odd {
            h1 ^= mix_k1(*last as i32);
        }
        fmix(h1, 2 * units.len() as i32)
    }

    pub fn mix_coll_hash(hash: i32, count: i32) -> i32 {
        fmix(mix_h1(0, mix_k1(hash)), count)
    }

    fn mix_k1(k1: i32) -> i32 {
        k1.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2)
    }

    fn mix_h1(h1: i32, k1: i32) -> i32 {
        (h1 ^ k1)
            .rotate_left(13)
            .wrapping_mul(5)
            .wrapping_add(0xe6546b64_u32 as i32)
    }

    fn fmix(mut h1: i32, length: i32) -> i32 {
        h1 ^= length;
        h1 ^= ((h1 as u32) >> 16) as i32;
        h1 = h1.wrapping_mul(0x85ebca6b_u32 as i32);
        h1 ^= ((h1 as u32) >> 13) as i32;
        h1 = h1.wrapping_mul(0xc2b2ae35_u32 as i32);
        h1 ^= ((h1 as u32) >> 16) as i32;
        h1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values printed by `(hash ...)` in Clojure 1.11.1.
    #[test]
    fn hashes_are_clojures() {
        use Form::*;
        assert_eq!(hasheq(&Symbol(Some("org.clojure"), "clojure")), -1720503840);
        assert_eq!(hasheq(&Symbol(None, "fast-zip")), -718102498);
        assert_eq!(hasheq(&Symbol(None, "é")), 1763584775);
        assert_eq!(hasheq(&Str("1.11.1")), 533247644);
        assert_eq!(hasheq(&Str("")), 0);
        assert_eq!(hasheq(&Keyword("scope")), -439358418);
        assert_eq!(
            hasheq(&Vector(vec![
                Symbol(Some("org.clojure"), "clojure"),
                Str("1.6.0")
            ])),
            -1829369221
        );
        // [fast-zip "0.4.0" :scope "test" :optional true :exclusions [[org.clojure/clojure] [foo]]]
        assert_eq!(
            hasheq(&Vector(vec![
                Symbol(None, "fast-zip"),
                Str("0.4.0"),
                Keyword("scope"),
                Str("test"),
                Keyword("optional"),
                True,
                Keyword("exclusions"),
                Vector(vec![
                    Vector(vec![Symbol(Some("org.clojure"), "clojure")]),
                    Vector(vec![Symbol(None, "foo")]),
                ]),
            ])),
            -140567082
        );
    }

    #[test]
    fn the_trie_orders_by_the_lowest_five_bits_first() {
        let mut v = vec![
            0b00001_00000_u32,
            0b00000_00010,
            0b00000_00001,
            0b00010_00001,
        ];
        v.sort_by_key(|&h| trie_path(h));
        assert_eq!(
            v,
            vec![0b00001_00000, 0b00000_00001, 0b00010_00001, 0b00000_00010]
        );
    }
}
