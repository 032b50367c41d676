//! Real upstream Clojure libraries, unchanged (their release tarballs, see
//! fixtures/upstream/README.md): their own test suites under Debian's `lein test` and under
//! `kbuild test` give the same counts, and `kbuild classpath` is `lein classpath`.

mod common;

use std::path::PathBuf;

use common::lein::{kbuild, lein, local_repo, totals, Alias};
use common::Project;

/// The versions these projects pin, served from the Debian packages `.ci/run` installs.
const ALIASES: &[Alias] = &[
    ("org.clojure:clojure", "1.10.x", "1.10.1"),
    ("org.clojure:clojure", "1.10.x", "1.10.2"),
    ("org.clojure:clojure", "1.11.1", "1.4.0"),
    ("org.clojure:clojure", "1.11.1", "1.6.0"),
    ("org.clojure:clojure", "1.11.1", "1.8.0"),
    ("org.yaml:snakeyaml", "1.33", "1.26"),
    ("fast-zip:fast-zip", "0.5.0", "0.4.0"),
    ("org.clojure:test.generative", "1.0.0", "0.5.1"),
];

fn m2() -> PathBuf {
    local_repo(ALIASES)
}

/// What `lein test` prints as totals for the unpacked tarball, which must pass.
fn lein_test(tarball: &str, m2: &std::path::Path) -> String {
    let p = Project::unpack(&format!("upstream/{tarball}"));
    let out = lein(&p, m2, &["test"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "lein test: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    totals(&text).expect("lein's totals")
}

/// Runs the library's suite under both tools and compares; returns kbuild's first run.
fn same_counts_as_lein(tarball: &str) -> (Project, common::Build) {
    let m2 = m2();
    let theirs = lein_test(tarball, &m2);
    assert!(theirs.ends_with("0 failures, 0 errors."), "{theirs}");

    let p = Project::unpack(&format!("upstream/{tarball}"));
    let b = kbuild(&p, &m2, &["--json", "test"]);
    assert!(b.ok(), "kbuild test: {}", b.stderr);
    let ours = totals(&b.stderr).expect("kbuild's totals");
    assert_eq!(ours, theirs, "kbuild test output:\n{}", b.stderr);

    // Unchanged inputs: the outcome comes from the cache, without a JVM.
    let again = kbuild(&p, &m2, &["--json", "test"]);
    assert!(
        again.ok() && again.executed().is_empty(),
        "ran {:?}",
        again.executed()
    );
    assert_eq!(totals(&again.stderr).as_deref(), Some(theirs.as_str()));

    same_classpath_as_lein(&p, &m2);
    (p, b)
}

/// `kbuild classpath` is `lein classpath`, with kbuild's compiled products (if the project
/// compiles anything) where lein has `target/classes`.
fn same_classpath_as_lein(p: &Project, m2: &std::path::Path) {
    let out = lein(p, m2, &["classpath"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let root = p.dir.path().display().to_string();
    let compiled = |e: &str| {
        e == format!("{root}/target/classes") || e.starts_with(&format!("{root}/target/kbuild/"))
    };
    let normalize = |cp: &str| {
        let mut v: Vec<String> = Vec::new();
        for e in cp.trim().split(':') {
            let e = if compiled(e) { "<compiled>" } else { e };
            if !(e == "<compiled>" && v.last().is_some_and(|l| l == e)) {
                v.push(e.to_string());
            }
        }
        v
    };
    let theirs = normalize(&String::from_utf8_lossy(&out.stdout));
    let b = kbuild(p, m2, &["classpath"]);
    assert!(b.ok(), "{}", b.stderr);
    let mut ours = normalize(&b.stdout);
    // lein lists target/classes even when nothing is compiled into it; kbuild lists no
    // empty product.
    if !ours.iter().any(|e| e == "<compiled>") {
        let at = theirs.iter().position(|e| e == "<compiled>").unwrap();
        ours.insert(at, "<compiled>".into());
    }
    assert_eq!(ours, theirs);
}

#[test]
fn murphy() {
    same_counts_as_lein("murphy-clojure_0.5.2.orig.tar.gz");
}

#[test]
fn nrepl_incomplete() {
    same_counts_as_lein("nrepl-incomplete-clojure_0.1.0.orig.tar.gz");
}

#[test]
fn clj_yaml_with_its_java_sources() {
    let tarball = "clj-yaml-clojure_0.7.2.orig.tar.xz";
    let (p, b) = same_counts_as_lein(tarball);
    assert!(
        b.executed().contains("java"),
        "javac ran: {:?}",
        b.executed()
    );
    same_jar_as_lein(tarball, &p, "target/clj-yaml-0.7.2.jar");
}

/// `kbuild jar` holds the files `lein jar` does (the sources, Java ones included; the
/// project.clj, README and LICENSE under META-INF/leiningen; the Maven metadata), with the
/// same bytes where no tool generated them.
fn same_jar_as_lein(tarball: &str, p: &Project, jar: &str) {
    let m2 = m2();
    let with_lein = Project::unpack(&format!("upstream/{tarball}"));
    let out = lein(&with_lein, &m2, &["jar"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let b = kbuild(p, &m2, &["jar"]);
    assert!(b.ok(), "{}", b.stderr);
    let files = |path: PathBuf| {
        let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
        let mut out = std::collections::BTreeMap::new();
        for i in 0..zip.len() {
            let mut e = zip.by_index(i).unwrap();
            if e.is_dir() {
                continue;
            }
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut bytes).unwrap();
            out.insert(e.name().to_string(), bytes);
        }
        out
    };
    let (theirs, ours) = (files(with_lein.path(jar)), files(p.path(jar)));
    assert_eq!(
        theirs.keys().collect::<Vec<_>>(),
        ours.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &theirs {
        let generated =
            name.ends_with(".class") || name.ends_with("pom.xml") || name.ends_with("MANIFEST.MF");
        assert!(generated || ours[name] == *bytes, "{name} differs");
    }
}

#[test]
fn clj_stacktrace() {
    same_counts_as_lein("clj-stacktrace-clojure_0.2.7.orig.tar.gz");
}

#[test]
fn parsley() {
    same_counts_as_lein("parsley-clojure_0.9.3.orig.tar.gz");
}

#[test]
fn dynapath() {
    same_counts_as_lein("libdynapath-clojure_1.0.0.orig.tar.gz");
}

#[test]
fn fast_zip_visit() {
    same_counts_as_lein("fast-zip-visit-clojure_1.0.2.orig.tar.xz");
}

/// A Maven-layout project whose project.clj names no test paths: lein runs nothing and
/// passes, and so does kbuild, saying why.
#[test]
fn data_fressian_has_no_tests_where_its_project_clj_looks() {
    let (_, b) = same_counts_as_lein("data-fressian-clojure_1.0.0.orig.tar.xz");
    assert!(b.stderr.contains("Ran 0 tests containing 0 assertions."));
    assert!(b.stderr.contains("no clojure.test namespaces under test"));
}
