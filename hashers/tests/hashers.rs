use kbuild_hashers::{by_name, digest_or_raw, names, Digest, HashError, Hasher};

fn hasher(name: &str) -> &'static dyn Hasher {
    by_name(name).unwrap_or_else(|| panic!("no hasher {name}"))
}

fn d(name: &str, src: &str) -> Digest {
    hasher(name)
        .digest(src.as_bytes())
        .unwrap_or_else(|e| panic!("{name} failed on {src:?}: {e}"))
}

fn same(name: &str, a: &str, b: &str) {
    assert_eq!(
        d(name, a),
        d(name, b),
        "{name} should not distinguish\n{a}\n---\n{b}"
    );
}

fn differ(name: &str, a: &str, b: &str) {
    assert_ne!(
        d(name, a),
        d(name, b),
        "{name} should distinguish\n{a}\n---\n{b}"
    );
}

const JAVA: &str = r#"package demo;

import java.util.List;

/** Greets people. */
public class Greeter {
    private final String greeting = "Hello, %s!";

    // Formats one greeting.
    public String greet(String name) {
        return String.format(greeting, name);
    }

    public int total(List<Integer> xs) {
        int sum = 0;
        for (int x : xs) { sum += x >> 1; }
        return sum;
    }
}
"#;

#[test]
fn registry_lists_the_five_builtins() {
    assert_eq!(
        names(),
        ["sha512", "java", "java-lines", "clojure", "clojure-lines"]
    );
    for name in names() {
        assert_eq!(hasher(name).id(), *name);
        assert!(hasher(name).version() >= 1);
        assert_eq!(hasher(name).is_raw(), *name == "sha512");
    }
    assert!(by_name("md5").is_none());
}

#[test]
fn sha512_is_the_raw_digest() {
    let known = "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
                 2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";
    assert_eq!(d("sha512", "abc").to_hex(), known);
    assert_eq!(Digest::of_bytes(b"abc").to_hex(), known);
}

#[test]
fn hex_round_trip() {
    let digest = d("java", JAVA);
    let hex = digest.to_hex();
    assert_eq!(hex.len(), 128);
    assert_eq!(hex, format!("{digest}"));
    assert_eq!(hex, format!("{digest:x}"));
    assert_eq!(Digest::from_hex(&hex), Some(digest));
    assert_eq!(Digest::from_hex(&hex.to_uppercase()), Some(digest));
    assert_eq!(Digest::from_hex(&hex[2..]), None);
    assert_eq!(Digest::from_hex(&format!("{hex}00")), None);
    assert_eq!(Digest::from_hex(&hex.replace(&hex[..1], "g")), None);
}

#[test]
fn digests_are_distinct_across_hashers() {
    // Sources every grammar accepts: `class A {}` is also three Clojure forms.
    for src in ["class A {}", "", "\n"] {
        let mut all: Vec<Digest> = names().iter().map(|n| d(n, src)).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), names().len(), "collision for {src:?}");
    }
}

#[test]
fn java_ignores_whitespace_and_comments_unlike_sha512() {
    let reformatted = JAVA
        .replace("    ", "\t")
        .replace("name) {", "name)\n    {")
        .replace("sum += x", "sum+=x")
        .replace("\n\n", "\n\n\n");
    let recommented = JAVA
        .replace(
            "// Formats one greeting.",
            "// Formats a greeting for one person.",
        )
        .replace("/** Greets people. */", "/* Greets\n * people. */")
        .replace("int sum = 0;", "int sum = /* start */ 0; // accumulator");
    for edited in [&reformatted, &recommented] {
        assert_ne!(edited, JAVA);
        same("java", JAVA, edited);
        differ("sha512", JAVA, edited);
    }
}

#[test]
fn java_string_and_char_literals_are_atomic() {
    differ(
        "java",
        JAVA,
        &JAVA.replace("\"Hello, %s!\"", "\"Hello,  %s!\""),
    );
    differ(
        "java",
        "class A { char c = ' '; }",
        "class A { char c = '\t'; }",
    );
    let block = "class A { String s = \"\"\"\n    hi there\n    \"\"\"; }";
    differ("java", block, &block.replace("hi there", "hi  there"));
    differ("java", block, &block.replace("    hi", "  hi"));
}

#[test]
fn java_identifiers_and_token_boundaries_matter() {
    differ("java", JAVA, &JAVA.replace("sum", "total"));
    differ("java", JAVA, &JAVA.replace("greet(", "greets("));
    differ("java", "class A { int ab; }", "class A { int a, b; }");
    differ(
        "java",
        "class A { int x = a >> 1; }",
        "class A { int x = a >>> 1; }",
    );
}

#[test]
fn java_keeps_comments_javac_would_read_as_code() {
    // javac decodes \u000a before lexing, so this "comment" ends early and `int x` is code.
    let escaped = "class A {\n  // note \\u000a int x = 1;\n}\n";
    differ("java", escaped, &escaped.replace("x = 1", "x = 2"));
    // A lone CR ends a line comment for javac, but not for the grammar.
    let lone_cr = "class A {\n  // note\rint x = 1;\n}\n";
    differ("java", lone_cr, &lone_cr.replace("x = 1", "x = 2"));
    // CRLF files are ordinary: their line comments end in CR LF.
    let crlf = "class A {\r\n  // note\r\n  int x = 1;\r\n}\r\n";
    same("java", crlf, &crlf.replace("note", "a longer note"));
}

#[test]
fn java_lines_tracks_token_lines_only() {
    // Same-line whitespace: equal. Comment text edited on its line: equal.
    same(
        "java-lines",
        JAVA,
        &JAVA.replace("sum += x >> 1", "sum  +=  x>>1"),
    );
    same(
        "java-lines",
        JAVA,
        &JAVA.replace("    public String", "  public String"),
    );
    same(
        "java-lines",
        JAVA,
        &JAVA.replace("one greeting", "a single greeting"),
    );
    same(
        "java-lines",
        JAVA,
        &JAVA.replace("/** Greets people. */", "/* Greets all. */"),
    );
    // Anything that moves a token to another line: different.
    let blank_before_method = JAVA.replace("    // Formats", "\n    // Formats");
    differ("java-lines", JAVA, &blank_before_method);
    same("java", JAVA, &blank_before_method);
    differ(
        "java-lines",
        JAVA,
        &JAVA.replace("// Formats one greeting.", "/* Formats\n one greeting. */"),
    );
    differ("java-lines", JAVA, &JAVA.replace("name) {", "name)\n    {"));
    // javac counts a lone CR as a line end; the grammar's rows do not.
    let lf = "class A {\n  int x;\n}\n";
    differ("java-lines", lf, &lf.replace("{\n", "{ "));
    differ(
        "java-lines",
        &lf.replace("{\n", "{\r"),
        &lf.replace("{\n", "{ "),
    );
    same("java-lines", lf, &lf.replace('\n', "\r\n"));
}

const CLJ: &str = r#"(ns demo.core
  (:require [clojure.string :as str]))

;; Greets people.
(defn greet
  "Returns a greeting."
  [name]
  (str "Hello, " name "!"))

(comment
  (greet "you"))
"#;

#[test]
fn clojure_ignores_whitespace_commas_comments_and_discards() {
    let edits = [
        CLJ.replace("\n  [name]", " [name]"),
        CLJ.replace("[clojure.string :as str]", "[clojure.string, :as, str]"),
        CLJ.replace(";; Greets people.", "; Greets everyone\n;; twice"),
        CLJ.replace("[name]", "[name] ; the name"),
        CLJ.replace("(str \"Hello", "#_ (foo) (str \"Hello"),
        CLJ.replace("(str \"Hello", "#_#_ (foo 1) [bar] (str \"Hello"),
        format!("#!/usr/bin/env bb\n{CLJ}"),
    ];
    for edited in &edits {
        assert_ne!(edited, CLJ);
        same("clojure", CLJ, edited);
        differ("sha512", CLJ, edited);
    }
}

#[test]
fn clojure_comment_forms_are_code() {
    differ(
        "clojure",
        CLJ,
        &CLJ.replace("(greet \"you\")", "(greet \"me\")"),
    );
}

#[test]
fn clojure_structure_and_token_kinds_matter() {
    differ("clojure", "(a b)", "[a b]");
    differ("clojure", "(a b)", "{a b}");
    differ("clojure", "(a b)", "#{a b}");
    differ("clojure", "(a b)", "#(a b)");
    differ("clojure", "(a (b))", "((a b))");
    differ("clojure", "(a b)", "(ab)");
    differ("clojure", ":a", "a");
    differ("clojure", ":a", "::a");
    differ("clojure", "'a", "a");
    differ("clojure", "(f a/b)", "(f a.b)");
    differ("clojure", "(def ^:private x 1)", "(def x 1)");
    differ("clojure", CLJ, &CLJ.replace("greet", "greeting"));
}

#[test]
fn clojure_strings_regexes_and_chars_are_atomic() {
    differ("clojure", CLJ, &CLJ.replace("\"Hello, \"", "\"Hello,  \""));
    differ("clojure", CLJ, &CLJ.replace("\"Hello, \"", "\"Hello,\""));
    differ("clojure", "(re-find #\"a b\" s)", "(re-find #\"a  b\" s)");
    differ("clojure", "(re-find #\"a b\" s)", "(re-find #\"ab\" s)");
    differ("clojure", r"[\a \space]", r"[\a \tab]");
    differ("clojure", "(str \"a\" \"b\")", "(str \"a b\")");
}

#[test]
fn clojure_discards_that_act_at_read_time_are_hashed() {
    // The reader reads a discarded form, running data readers and compiling regexes.
    for (a, b) in [
        ("#_ #inst \"2020-01-01\" 1", "#_ #inst \"2020-13-01\" 1"),
        ("#_ (re-find #\"a\" s) 1", "#_ (re-find #\"[\" s) 1"),
        ("#_ ::str/x 1", "#_ ::nope/x 1"),
    ] {
        differ("clojure", a, b);
    }
    same("clojure", "#_ (a :b \"c\") 1", "#_ [x y z] 1");
}

#[test]
fn clojure_lines_tracks_lines_and_list_columns() {
    same(
        "clojure-lines",
        CLJ,
        &CLJ.replace("\"Returns a greeting.\"", "\"Returns a greeting.\"  "),
    );
    same(
        "clojure-lines",
        CLJ,
        &CLJ.replace(";; Greets people.", ";; Greets everyone."),
    );
    same("clojure-lines", CLJ, &CLJ.replace("[name]", "[ name ]"));
    differ("clojure-lines", CLJ, &CLJ.replace("\n  [name]", " [name]"));
    differ("clojure-lines", CLJ, &CLJ.replace("\n(defn", "\n\n(defn"));
    same("clojure", CLJ, &CLJ.replace("\n(defn", "\n\n(defn"));
    // The reader stores each list's column as metadata, and AOT classes keep it.
    differ(
        "clojure-lines",
        CLJ,
        &CLJ.replace("(defn greet", " (defn greet"),
    );
    differ(
        "clojure-lines",
        CLJ,
        &CLJ.replace("  (str \"Hello", "   (str \"Hello"),
    );
    // Columns count characters, as the reader does: "é" is one column but two bytes.
    differ("clojure-lines", "#_ \"ee\" (def x 1)", "#_ \"é\" (def x 1)");
}

#[test]
fn syntax_errors_report_a_position_and_fall_back_to_raw() {
    let broken_java = "class A {\n  void f() {\n    int x = ;\n  }\n}\n";
    let broken_clj = "(ns a)\n\n(defn f [x]\n  (inc x)\n";
    for (name, src, max_line) in [
        ("java", broken_java, 3),
        ("java-lines", broken_java, 3),
        ("clojure", broken_clj, 5),
        ("clojure-lines", broken_clj, 5),
    ] {
        match hasher(name).digest(src.as_bytes()) {
            Err(HashError::Syntax { line, column }) => {
                assert!((1..=max_line).contains(&line), "{name}: line {line}");
                assert!(column >= 1, "{name}: column {column}");
            }
            other => panic!("{name}: expected a syntax error, got {other:?}"),
        }
        let (digest, err) = digest_or_raw(hasher(name), src.as_bytes());
        assert_eq!(digest, Digest::of_bytes(src.as_bytes()));
        assert!(matches!(err, Some(HashError::Syntax { .. })));
    }
    // The Java error is on the line with `= ;`.
    let Err(HashError::Syntax { line, .. }) = hasher("java").digest(broken_java.as_bytes()) else {
        unreachable!()
    };
    assert_eq!(line, 3);
    let (digest, err) = digest_or_raw(hasher("java"), JAVA.as_bytes());
    assert!(err.is_none());
    assert_eq!(digest, d("java", JAVA));
    assert_ne!(digest, Digest::of_bytes(JAVA.as_bytes()));
}

#[test]
fn empty_and_whitespace_only_files_hash_alike() {
    for name in ["java", "java-lines", "clojure", "clojure-lines"] {
        same(name, "", "  \n\t\n");
    }
    same("clojure", "", ", ;; nothing\n#_ x");
}

#[test]
fn usable_from_many_threads() {
    let expected_java = d("java", JAVA);
    let expected_clj = d("clojure-lines", CLJ);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..25 {
                    assert_eq!(d("java", JAVA), expected_java);
                    assert_eq!(d("clojure-lines", CLJ), expected_clj);
                }
            });
        }
    });
}
