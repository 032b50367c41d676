//! Arbitrary bytes and mutated real class files: no function panics, and none allocates out
//! of proportion to its input (a forged count or a constant referenced thousands of times
//! must not make a small input reserve megabytes).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::OnceLock;

use proptest::prelude::*;

/// Records the largest single allocation each thread makes.
struct Counting;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
}

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs every public function on `bytes`; checks that a successful `abi_digest` or
/// `referenced_classes` implies a successful `class_name` (all read the whole structure),
/// and that no single allocation exceeds a small multiple of the input.
fn exercise(bytes: &[u8]) {
    LARGEST.with(|l| l.set(0));
    let name = kbuild_classfile::class_name(bytes);
    let digest = kbuild_classfile::abi_digest(bytes);
    let refs = kbuild_classfile::referenced_classes(bytes);
    let source = kbuild_classfile::source_file(bytes);
    let largest = LARGEST.with(Cell::get);
    let bound = 512 * bytes.len() + (64 << 10);
    assert!(
        largest <= bound,
        "a {largest}-byte allocation for {} input bytes",
        bytes.len()
    );
    if digest.is_ok() || refs.is_ok() || source.is_ok() {
        assert!(name.is_ok(), "{name:?} but {digest:?} {refs:?} {source:?}");
    }
    if let Ok(d) = digest {
        assert_eq!(kbuild_classfile::abi_digest(bytes).unwrap(), d);
    }
}

const CORPUS_SOURCE: &str = r#"package f;
import java.lang.annotation.*;
import java.util.*;
import java.util.function.*;
@Retention(RetentionPolicy.RUNTIME) @Target({ElementType.TYPE, ElementType.METHOD, ElementType.FIELD, ElementType.PARAMETER, ElementType.TYPE_USE})
@interface A { int i() default 1; String s() default "s"; Class<?> c() default Object.class; ElementType e() default ElementType.TYPE; long[] a() default {1L, 2L}; Deprecated n() default @Deprecated; }
@A(i = 2, s = "t", c = int[].class, e = ElementType.FIELD, a = {3L})
public class Corpus<T extends Comparable<? super T>> implements Iterable<T> {
    public static final long BIG = 1L << 40;
    public static final double PI = 3.14159;
    public static final float F = 1.5f;
    public static final String S = "\u0000\u00e9\u4e2d\ud83d\ude00";
    @A protected List<@A T> items = new ArrayList<>();
    private int count;
    public Corpus(@A(i = 3) int n) throws IllegalArgumentException { count = n; }
    @Override public Iterator<T> iterator() { return items.iterator(); }
    public <R> R fold(R init, BiFunction<R, ? super T, R> f) {
        R acc = init;
        for (T t : items) acc = f.apply(acc, t);
        return acc;
    }
    public String kind(Object o) {
        switch (String.valueOf(o)) { case "a": return "A"; case "b": return "B"; default: return "?"; }
    }
    public Runnable task() { return () -> count++; }
    public class Inner { public int get() { return count; } }
    public static class Nested<U> { public U u; }
    public enum E { X, Y { @Override public String toString() { return "y"; } } }
    public interface I { default int f() { return 1; } static I of() { return new I() {}; } }
}
"#;

const RECORDS: &str = r#"package f;
public sealed interface Shape permits Shape.Circle, Shape.Square {
    record Circle(double r) implements Shape {}
    record Square(@Deprecated double side) implements Shape {}
}
"#;

/// Real class files: the corpus above at two releases, and a module-info.
fn corpus() -> &'static Vec<Vec<u8>> {
    static CORPUS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let compiled = common::compile_jobs(
            None,
            &[
                common::Job::new("8", &[("f/Corpus.java", CORPUS_SOURCE)]),
                common::Job::new(
                    "17",
                    &[
                        ("f/Corpus.java", CORPUS_SOURCE),
                        ("f/Shape.java", RECORDS),
                        (
                            "module-info.java",
                            "module f { requires java.logging; exports f; uses f.Shape; }",
                        ),
                    ],
                ),
            ],
        );
        compiled.into_iter().flat_map(|c| c.into_values()).collect()
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    Set(prop::sample::Index, u8),
    /// Two bytes: counts, lengths and pool indices are u2.
    SetU16(prop::sample::Index, u16),
    Truncate(prop::sample::Index),
    Delete(prop::sample::Index, usize),
    Insert(prop::sample::Index, Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let byte = prop_oneof![any::<u8>(), Just(0u8), Just(0xFF), 1u8..=20];
    let word = prop_oneof![any::<u16>(), Just(0u16), Just(0xFFFF), Just(1), 0u16..64];
    prop_oneof![
        4 => (any::<prop::sample::Index>(), byte).prop_map(|(i, b)| Mutation::Set(i, b)),
        3 => (any::<prop::sample::Index>(), word).prop_map(|(i, w)| Mutation::SetU16(i, w)),
        1 => any::<prop::sample::Index>().prop_map(Mutation::Truncate),
        1 => (any::<prop::sample::Index>(), 1usize..16).prop_map(|(i, n)| Mutation::Delete(i, n)),
        1 => (any::<prop::sample::Index>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(i, v)| Mutation::Insert(i, v)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    match m {
        Mutation::Set(i, b) => {
            let i = i.index(bytes.len());
            bytes[i] = *b;
        }
        Mutation::SetU16(i, w) => {
            let i = i.index(bytes.len());
            for (k, b) in w.to_be_bytes().into_iter().enumerate() {
                if let Some(slot) = bytes.get_mut(i + k) {
                    *slot = b;
                }
            }
        }
        Mutation::Truncate(i) => bytes.truncate(i.index(bytes.len())),
        Mutation::Delete(i, n) => {
            let i = i.index(bytes.len());
            let end = (i + n).min(bytes.len());
            bytes.drain(i..end);
        }
        Mutation::Insert(i, v) => {
            let i = i.index(bytes.len());
            bytes.splice(i..i, v.iter().copied());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_class_files_never_panic(
        which in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let corpus = corpus();
        let mut bytes = corpus[which.index(corpus.len())].clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        exercise(&bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        exercise(&bytes);
    }

    #[test]
    fn arbitrary_bytes_after_a_class_header_never_panic(
        pool_count in any::<u16>(),
        tail in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut bytes = vec![0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, 61];
        bytes.extend(pool_count.to_be_bytes());
        bytes.extend(tail);
        exercise(&bytes);
    }
}

#[test]
fn the_unmutated_corpus_reads() {
    for bytes in corpus() {
        exercise(bytes);
        kbuild_classfile::abi_digest(bytes).unwrap();
        kbuild_classfile::referenced_classes(bytes).unwrap();
    }
    assert!(corpus().len() >= 10);
}

/// A small class whose constant pool holds one long string, referenced from thousands of
/// annotation elements and Signature attributes: it must fail or stay small, not encode to
/// gigabytes.
#[test]
fn amplification_through_shared_constants_is_bounded() {
    fn u2(v: &mut Vec<u8>, x: u16) {
        v.extend(x.to_be_bytes());
    }
    let mut c = vec![0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, 61];
    // Pool: 1 Utf8 "C", 2 Class #1, 3 Utf8 long signature, 4 Utf8 "Signature",
    // 5 Utf8 "RuntimeVisibleAnnotations", 6 Utf8 "v".
    u2(&mut c, 7);
    c.push(1);
    u2(&mut c, 1);
    c.push(b'C');
    c.push(7);
    u2(&mut c, 1);
    let long = format!("La{};", ".b".repeat(32_000));
    c.push(1);
    u2(&mut c, long.len() as u16);
    c.extend(long.as_bytes());
    for s in ["Signature", "RuntimeVisibleAnnotations", "v"] {
        c.push(1);
        u2(&mut c, s.len() as u16);
        c.extend(s.as_bytes());
    }
    u2(&mut c, 0x0021); // access
    u2(&mut c, 2); // this
    u2(&mut c, 0); // super
    u2(&mut c, 0); // interfaces
    u2(&mut c, 0); // fields
    u2(&mut c, 0); // methods
    let annotations = 4000u16;
    u2(&mut c, 2); // attributes
    u2(&mut c, 4); // Signature
    c.extend(2u32.to_be_bytes());
    u2(&mut c, 3);
    // One annotation of type #3 with `annotations` string elements, all the long string.
    u2(&mut c, 5);
    c.extend((2 + 4 + 5 * u32::from(annotations)).to_be_bytes());
    u2(&mut c, 1);
    u2(&mut c, 3);
    u2(&mut c, annotations);
    for _ in 0..annotations {
        u2(&mut c, 6);
        c.push(b's');
        u2(&mut c, 3);
    }
    assert_eq!(kbuild_classfile::class_name(&c).unwrap(), "C");
    let started = std::time::Instant::now();
    exercise(&c);
    let out_of_proportion = |r: Result<_, kbuild_classfile::ClassError>| matches!(r, Err(kbuild_classfile::ClassError::Malformed(m)) if m.contains("out of proportion"));
    // 4000 × 64 KB.
    assert!(out_of_proportion(
        kbuild_classfile::abi_digest(&c).map(drop)
    ));
    // a$b, a$b$b, ...: quadratic in the signature's length.
    assert!(out_of_proportion(
        kbuild_classfile::referenced_classes(&c).map(drop)
    ));
    assert!(started.elapsed().as_secs() < 10);
}
