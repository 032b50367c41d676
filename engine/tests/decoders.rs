//! The decoders of what comes from disk or a server, fuzzed (proptest): a trace
//! (`Trace::from_bytes`, the database's and the shared cache's format), a remote cache's trace
//! bundle (`decode_bundle`) and a product's JSON (`Product::from_json`, as the content store
//! and a server hold it). On any bytes they return an answer, never panic, and allocate no
//! more than a small multiple of the bytes they were given, whatever counts the bytes claim;
//! valid values come back as they went in.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::BTreeMap;

use kbuild_engine::{decode_bundle, encode_bundle, Entry, Hash, Key, Product, Trace};
use proptest::prelude::*;

/// Counts this thread's live heap bytes and their peak, so a test measures only its own
/// decoding whatever other tests do meanwhile.
struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn grew(n: usize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + n;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

fn shrank(n: usize) {
    let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(n)));
}

// SAFETY: every call is passed on to the system allocator unchanged; only sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            shrank(layout.size());
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f`, returning its result and the most heap it held at once beyond what was live
/// before.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let out = f();
    (out, PEAK.with(Cell::get) - base)
}

/// What a decoder of `n` bytes may hold at once: a small multiple of `n`.
fn bound(n: usize) -> usize {
    64 * n + 64 * 1024
}

fn check_bounded<T>(bytes: &[u8], decode: impl FnOnce(&[u8]) -> T) -> T {
    let (out, peak) = peak_during(|| decode(bytes));
    assert!(
        peak <= bound(bytes.len()),
        "decoding {} bytes held {peak} bytes at once",
        bytes.len()
    );
    out
}

fn key() -> impl Strategy<Value = Key> {
    // Kinds as applications name them: no `:` (the separator), not the engine's own.
    let kind =
        "[a-z][a-z0-9-]{0,7}".prop_filter("not a built-in kind", |k| k != "def" && k != "target");
    prop_oneof![
        (kind, "\\PC{0,24}").prop_map(|(k, a)| Key::input(&k, a)),
        "\\PC{0,16}".prop_map(Key::Def),
        "\\PC{0,16}".prop_map(Key::Target),
    ]
}

fn hash() -> impl Strategy<Value = Hash> {
    any::<[u8; 32]>().prop_map(Hash)
}

fn trace() -> impl Strategy<Value = Trace> {
    (
        prop::collection::vec(prop::collection::vec((key(), hash()), 0..5), 0..4),
        hash(),
    )
        .prop_map(|(batches, result)| Trace { batches, result })
}

fn json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "\\PC{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map("\\PC{0,6}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn product() -> impl Strategy<Value = Product> {
    let entry = (hash(), any::<u64>(), any::<bool>()).prop_map(|(digest, size, exec)| Entry {
        digest,
        size,
        exec,
    });
    (
        prop::collection::btree_map("\\PC{0,20}", entry, 0..6),
        json(),
    )
        .prop_map(|(files, info)| Product {
            files: files.into_iter().collect::<BTreeMap<_, _>>(),
            info,
        })
}

/// A valid encoding damaged: bytes flipped, a count replaced by a huge one, cut short, or
/// extended.
fn damaged(valid: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let n = valid.len().max(1);
    (
        prop::collection::vec((0..n, any::<u8>()), 0..4),
        prop::option::of(0..n),
        prop::option::of(0..n),
        prop::collection::vec(any::<u8>(), 0..8),
    )
        .prop_map(move |(flips, huge_at, cut_at, tail)| {
            let mut b = valid.clone();
            for (i, x) in flips {
                if i < b.len() {
                    b[i] ^= x;
                }
            }
            if let Some(i) = huge_at {
                for (j, x) in u32::MAX.to_le_bytes().into_iter().enumerate() {
                    if let Some(slot) = b.get_mut(i + j) {
                        *slot = x;
                    }
                }
            }
            if let Some(i) = cut_at {
                b.truncate(i);
            }
            b.extend(tail);
            b
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn traces_roundtrip(t in trace()) {
        let bytes = t.to_bytes();
        prop_assert_eq!(check_bounded(&bytes, Trace::from_bytes), Some(t));
    }

    #[test]
    fn bundles_roundtrip(ts in prop::collection::vec(trace(), 0..5)) {
        let bytes = encode_bundle(&ts);
        prop_assert_eq!(check_bounded(&bytes, decode_bundle), Some(ts));
    }

    #[test]
    fn products_roundtrip(p in product()) {
        let bytes = p.to_json();
        prop_assert_eq!(check_bounded(&bytes, Product::from_json), Ok(p));
    }

    #[test]
    fn any_bytes_decode_without_panic_or_unbounded_allocation(
        bytes in prop::collection::vec(any::<u8>(), 0..4096)
    ) {
        check_bounded(&bytes, Trace::from_bytes);
        check_bounded(&bytes, decode_bundle);
        let _ = check_bounded(&bytes, Product::from_json);
        // The same bytes behind a valid bundle header and length.
        let mut bundle = b"kbuild-traces\n".to_vec();
        bundle.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        bundle.extend_from_slice(&bytes);
        check_bounded(&bundle, decode_bundle);
    }

    #[test]
    fn damaged_traces_and_bundles_decode_without_panic_or_unbounded_allocation(
        bytes in prop::collection::vec(trace(), 1..4)
            .prop_flat_map(|ts| damaged(encode_bundle(&ts)))
    ) {
        check_bounded(&bytes, decode_bundle);
        let body = bytes.get(18..).unwrap_or_default();
        check_bounded(body, Trace::from_bytes);
    }

    #[test]
    fn damaged_products_decode_without_panic_or_unbounded_allocation(
        bytes in product().prop_flat_map(|p| damaged(p.to_json()))
    ) {
        if let Ok(p) = check_bounded(&bytes, Product::from_json) {
            // Whatever parsed is a product that serializes again.
            prop_assert!(Product::from_json(&p.to_json()).is_ok());
        }
    }
}

/// Counts that claim more than the bytes could hold: the first trace's batch count, a
/// batch's entry count, a key's length, a bundle entry's length, each `u32::MAX`.
#[test]
fn lying_counts_allocate_nothing_by_their_word() {
    let max = u32::MAX.to_le_bytes();
    let mut one_batch_of_max = 1u32.to_le_bytes().to_vec();
    one_batch_of_max.extend_from_slice(&max);
    let mut key_of_max = 1u32.to_le_bytes().to_vec();
    key_of_max.extend_from_slice(&1u32.to_le_bytes());
    key_of_max.extend_from_slice(&max);
    let mut many_empty_batches = max.to_vec();
    many_empty_batches.extend(std::iter::repeat_n(0u8, 4000));
    for bytes in [
        max.to_vec(),
        one_batch_of_max,
        key_of_max,
        many_empty_batches,
    ] {
        assert_eq!(check_bounded(&bytes, Trace::from_bytes), None);
    }
    let mut bundle = b"kbuild-traces\n".to_vec();
    bundle.extend_from_slice(&max);
    bundle.extend_from_slice(&[0; 64]);
    assert_eq!(check_bounded(&bundle, decode_bundle), None);
}

/// JSON nested past any sensible depth is an error (serde_json's recursion limit), not a
/// stack overflow; a huge declared size is just a number.
#[test]
fn deep_or_huge_product_json_is_an_error_or_a_value() {
    let deep = format!(
        "{{\"files\":{{}},\"info\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert!(check_bounded(deep.as_bytes(), Product::from_json).is_err());
    let huge = format!(
        "{{\"files\":{{\"a\":{{\"digest\":\"{}\",\"size\":18446744073709551615}}}}}}",
        "0".repeat(64)
    );
    let p = check_bounded(huge.as_bytes(), Product::from_json).unwrap();
    assert_eq!(p.files["a"].size, u64::MAX);
}

/// The meter itself: a decoder that sizes a buffer by a count it read is caught.
#[test]
fn the_meter_sees_an_allocation_sized_by_a_claimed_count() {
    let bytes = (64u32 << 20).to_le_bytes();
    let naive =
        |b: &[u8]| Vec::<u8>::with_capacity(u32::from_le_bytes(b.try_into().unwrap()) as usize);
    let (v, peak) = peak_during(|| naive(&bytes));
    assert!(v.capacity() >= 64 << 20);
    assert!(peak > bound(bytes.len()), "{peak}");
}
