//! The ABI digest against real javac output: one base source, and edits to it that must or
//! must not change the digest of `p/Api`. Each case compiles with `--release 8` and
//! `--release 17`.

mod common;

use kbuild_classfile::abi_digest;

const API: &str = r#"package p;

import java.io.IOException;
import java.util.*;

public class Api /*EXTENDS*/ {
    public static final int LIMIT = 10;
    public static final String NAME = "a";
    public Map<String, Integer> index;
    protected long total;
    /*FIELDS*/

    public List<String> names() {
        return new ArrayList<String>();
    }

    protected void work() throws IOException {
        int x = 1;
        /*BODY*/
    }

    void pkg(int a) {}

    public int a() { return 1; }
    public int b() { return 2; }

    @Rt(1) public int c() { return 3; }

    /*METHODS*/

    public static class Nested {
        int peek(Api api) { return 0; }
    }
}
"#;

const ANNOTATIONS: [(&str, &str); 3] = [
    (
        "p/Rt.java",
        "package p; import java.lang.annotation.*; @Retention(RetentionPolicy.RUNTIME) public @interface Rt { int value() default 0; }",
    ),
    (
        "p/Src.java",
        "package p; import java.lang.annotation.*; @Retention(RetentionPolicy.SOURCE) public @interface Src {}",
    ),
    // No @Retention: CLASS retention, recorded as RuntimeInvisibleAnnotations.
    ("p/Cls.java", "package p; public @interface Cls {}"),
];

struct Case {
    what: &'static str,
    edits: &'static [(&'static str, &'static str)],
    same_abi: bool,
}

const fn same(what: &'static str, edits: &'static [(&'static str, &'static str)]) -> Case {
    Case {
        what,
        edits,
        same_abi: true,
    }
}

const fn changed(what: &'static str, edits: &'static [(&'static str, &'static str)]) -> Case {
    Case {
        what,
        edits,
        same_abi: false,
    }
}

const CASES: &[Case] = &[
    same("method body", &[("int x = 1;", "int x = 2; System.out.println(x + LIMIT);")]),
    same("private method added", &[("/*METHODS*/", "private void helper(int y) {}")]),
    same("private field added", &[("/*FIELDS*/", "private int count;")]),
    same(
        "private static field with an initializer (adds <clinit>)",
        &[("/*FIELDS*/", "private static final List<String> CACHE = new ArrayList<String>();")],
    ),
    same(
        "comment and line moves (LineNumberTable)",
        &[("    public List<String> names() {", "\n\n    // a comment\n\n    public List<String> names() {")],
    ),
    same(
        "two methods reordered",
        &[(
            "    public int a() { return 1; }\n    public int b() { return 2; }",
            "    public int b() { return 2; }\n    public int a() { return 1; }",
        )],
    ),
    same(
        "fields reordered",
        &[(
            "    public Map<String, Integer> index;\n    protected long total;",
            "    protected long total;\n    public Map<String, Integer> index;",
        )],
    ),
    same(
        "SOURCE-retention annotation added (on its own line)",
        &[("public int a()", "@Src\n    public int a()")],
    ),
    same(
        "anonymous class in a body",
        &[("/*BODY*/", "Runnable r = new Runnable() { public void run() {} }; r.run();")],
    ),
    same("lambda in a body", &[("/*BODY*/", "Runnable r = () -> {}; r.run();")]),
    same(
        "a used nested class of another type (InnerClasses entry)",
        &[("/*BODY*/", "Comparator<Map.Entry<String, String>> c = Map.Entry.comparingByKey();")],
    ),
    same(
        "enum switch in a body (synthetic switch-map class)",
        &[(
            "/*BODY*/",
            "switch (java.util.concurrent.TimeUnit.SECONDS) { case SECONDS: x = 3; break; default: }",
        )],
    ),
    same(
        "private member used from a nested class (access$000 before Java 11)",
        &[
            ("/*METHODS*/", "private int secret() { return 7; }"),
            ("return 0;", "return api.secret();"),
        ],
    ),
    same("private nested class added", &[("/*METHODS*/", "private static class Hidden {}")]),
    changed("public signature", &[("public List<String> names()", "public List<String> names(int n)")]),
    changed(
        "protected signature",
        &[("protected void work() throws", "protected void work(String s) throws")],
    ),
    changed("package-private signature", &[("void pkg(int a)", "void pkg(long a)")]),
    changed("protected becomes public", &[("protected void work()", "public void work()")]),
    changed("package-private field added", &[("/*FIELDS*/", "int visible;")]),
    changed("static final int value", &[("LIMIT = 10", "LIMIT = 11")]),
    changed("static final String value", &[("NAME = \"a\"", "NAME = \"b\"")]),
    changed("public method added", &[("/*METHODS*/", "public void added() {}")]),
    changed("RUNTIME annotation added", &[("public int a()", "@Rt public int a()")]),
    changed("CLASS annotation added", &[("public int a()", "@Cls public int a()")]),
    changed("annotation value", &[("@Rt(1)", "@Rt(2)")]),
    changed("parameter annotation added", &[("void pkg(int a)", "void pkg(@Rt int a)")]),
    changed("@Deprecated added", &[("public int a()", "@Deprecated public int a()")]),
    changed(
        "generic return type",
        &[("public List<String> names()", "public List<Integer> names()"), ("ArrayList<String>", "ArrayList<Integer>")],
    ),
    changed("generic field type", &[("Map<String, Integer> index", "Map<String, Long> index")]),
    changed(
        "throws clause",
        &[("throws IOException {", "throws IOException, InterruptedException {")],
    ),
    changed("interface added", &[("/*EXTENDS*/", "implements java.io.Serializable")]),
    changed("superclass", &[("/*EXTENDS*/", "extends java.util.AbstractList<String>"), ("/*METHODS*/", "public String get(int i) { return null; } public int size() { return 0; }")]),
    changed("class made abstract", &[("public class Api", "public abstract class Api")]),
    changed("nested class access", &[("public static class Nested", "protected static class Nested")]),
    changed("public nested class added", &[("/*METHODS*/", "public interface Added {}")]),
];

fn api_source(edits: &[(&str, &str)]) -> String {
    let mut text = API.to_owned();
    for (from, to) in edits {
        assert!(text.contains(from), "{from:?} is not in the base source");
        text = text.replacen(from, to, 1);
    }
    text
}

fn api_job<'a>(release: &'a str, options: &'a [&'a str], source: String) -> common::Job<'a> {
    let mut job = common::Job::new(release, &ANNOTATIONS);
    job.options = options;
    job.sources.push(("p/Api.java", source));
    job
}

/// Compiles each source of `p/Api` (with the annotation types), checking that every
/// function reads every class file produced.
fn compile_apis(jobs: &[common::Job<'_>]) -> Vec<common::Classes> {
    let all = common::compile_jobs(None, jobs);
    for classes in &all {
        for (name, bytes) in classes {
            common::check_all(name, bytes);
        }
    }
    all
}

fn check_cases(release: &str) {
    let mut jobs = vec![api_job(release, &[], API.to_owned())];
    jobs.extend(
        CASES
            .iter()
            .map(|c| api_job(release, &[], api_source(c.edits))),
    );
    let compiled = compile_apis(&jobs);
    let base_bytes = &compiled[0]["p/Api"];
    let base_digest = abi_digest(base_bytes).unwrap();
    let mut failures = Vec::new();
    for (case, classes) in CASES.iter().zip(&compiled[1..]) {
        let bytes = &classes["p/Api"];
        // Without this the case would prove nothing.
        assert!(
            bytes != base_bytes,
            "--release {release}: {}: the class file did not change",
            case.what
        );
        let digest = abi_digest(bytes).unwrap();
        if (digest == base_digest) != case.same_abi {
            failures.push(format!(
                "--release {release}: {}: expected the ABI digest {}",
                case.what,
                if case.same_abi { "kept" } else { "changed" }
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn abi_digest_follows_what_dependents_see_release_17() {
    check_cases("17");
}

#[test]
fn abi_digest_follows_what_dependents_see_release_8() {
    check_cases("8");
}

#[test]
fn abi_digest_is_deterministic_and_ignores_debug_info() {
    let compiled = compile_apis(&[
        api_job("17", &[], API.to_owned()),
        api_job("17", &["-g"], API.to_owned()),
        api_job("17", &["-g:none"], API.to_owned()),
        api_job("8", &[], API.to_owned()),
    ]);
    let [plain, debug, none, old] = &compiled[..] else {
        unreachable!()
    };
    let d = abi_digest(&plain["p/Api"]).unwrap();
    assert_eq!(d, abi_digest(&plain["p/Api"]).unwrap());
    assert!(plain["p/Api"] != debug["p/Api"]);
    assert_eq!(
        d,
        abi_digest(&debug["p/Api"]).unwrap(),
        "-g (local variable tables)"
    );
    assert_eq!(
        d,
        abi_digest(&none["p/Api"]).unwrap(),
        "-g:none (no SourceFile, no lines)"
    );
    assert_eq!(
        kbuild_classfile::source_file(&plain["p/Api"])
            .unwrap()
            .as_deref(),
        Some("Api.java")
    );
    assert_eq!(kbuild_classfile::source_file(&none["p/Api"]).unwrap(), None);
    // The class file version is part of the ABI.
    assert_ne!(d, abi_digest(&old["p/Api"]).unwrap());
}

#[test]
fn referenced_classes_sees_into_method_bodies() {
    let source = api_source(&[(
        "/*BODY*/",
        "Object o = new java.util.concurrent.ConcurrentHashMap<String, String>(); \
         java.util.function.Supplier<Object> s = java.util.LinkedList::new;",
    )]);
    let classes = compile_apis(&[api_job("17", &[], source)]).pop().unwrap();
    let refs = kbuild_classfile::referenced_classes(&classes["p/Api"]).unwrap();
    for expected in [
        "java/util/ArrayList",                    // new ArrayList<>() in names()
        "java/util/concurrent/ConcurrentHashMap", // only inside work()
        "java/util/LinkedList",                   // only in a method reference
        "java/util/function/Supplier",            // an invokedynamic descriptor
        "java/io/IOException",                    // the throws clause
        "java/lang/Integer",                      // a generic signature only
        "java/util/Map",
        "p/Rt", // an annotation
        "p/Api$Nested",
        "java/lang/Object",
    ] {
        assert!(
            refs.contains(&expected.to_owned()),
            "{expected} missing from {refs:?}"
        );
    }
    assert!(
        !refs.contains(&"p/Api".to_owned()),
        "the class itself is left out"
    );
    let mut sorted = refs.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(refs, sorted);
    let nested = kbuild_classfile::referenced_classes(&classes["p/Api$Nested"]).unwrap();
    assert!(nested.contains(&"p/Api".to_owned()), "{nested:?}");
}

#[test]
fn supertypes_and_constant_fields_are_what_javac_wrote() {
    let classes = common::compile(
        "17",
        &[(
            "q/K.java",
            r#"package q;
public class K extends java.util.AbstractList<String> implements java.io.Serializable, Comparable<K> {
    public static final int I = 7;
    public static final long L = 7;
    static final String S = "s";
    protected static final double D = 0.5;
    private static final int HIDDEN = 1;
    public static final Object NOT_CONSTANT = "x";
    public static int notFinal = 3;
    public String get(int i) { return S; }
    public int size() { return HIDDEN; }
    public int compareTo(K o) { return 0; }
    interface Face { int F = 2; }
}
"#,
        )],
    );
    assert_eq!(
        kbuild_classfile::supertypes(&classes["q/K"]).unwrap(),
        [
            "java/util/AbstractList",
            "java/io/Serializable",
            "java/lang/Comparable"
        ]
    );
    assert_eq!(
        kbuild_classfile::supertypes(&classes["q/K$Face"]).unwrap(),
        ["java/lang/Object"]
    );
    let text = |c: &str| {
        kbuild_classfile::constant_fields(&classes[c])
            .unwrap()
            .into_iter()
            .map(|(f, v)| format!("{f}={v}"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        text("q/K"),
        [
            "D:D=D0x3fe0000000000000",
            "I:I=I7",
            "L:J=J7",
            "S:Ljava/lang/String;=Ss"
        ]
    );
    assert_eq!(text("q/K$Face"), ["F:I=I2"]);
}
