//! Leiningen's `checkouts/`, against Debian's real `lein` offline: a dependency installed as a
//! jar in the local repository and also linked under `checkouts/`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::lein::{debian_m2, kbuild, lein, totals};
use common::Project;

/// The library installed by `lein install` into a copy of Debian's repository, and the app
/// with `checkouts/greet` linked to it.
fn setup() -> (Project, Project, tempfile::TempDir, PathBuf) {
    let repo = tempfile::tempdir().unwrap();
    let m2 = repo.path().join("m2");
    let ok = Command::new("cp")
        .arg("-r")
        .arg(debian_m2())
        .arg(&m2)
        .status()
        .unwrap();
    assert!(ok.success());
    let lib = Project::new("lein-checkout/greet");
    let out = lein(&lib, &m2, &["install"]);
    assert!(
        out.status.success(),
        "lein install: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let app = Project::new("lein-checkout/app");
    std::fs::create_dir(app.path("checkouts")).unwrap();
    std::os::unix::fs::symlink(lib.dir.path(), app.path("checkouts/greet")).unwrap();
    (lib, app, repo, m2)
}

fn lein_text(p: &Project, m2: &Path, args: &[&str]) -> (bool, String) {
    let out = lein(p, m2, args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The checkout's source, test and resource paths, then its compiled Java where Leiningen puts
/// its compile path, after the project's own and before the jars (its own jar included).
#[test]
fn kbuild_classpath_puts_a_checkout_where_lein_classpath_does() {
    let (lib, app, _repo, m2) = setup();
    let (ok, theirs) = lein_text(&app, &m2, &["classpath"]);
    assert!(ok, "lein classpath: {theirs}");
    let theirs = theirs.lines().last().unwrap().trim().to_string();
    let (app_root, lib_root) = (
        app.dir.path().display().to_string(),
        lib.dir.path().display().to_string(),
    );
    assert!(theirs.contains(&format!("{lib_root}/src")), "{theirs}");
    assert!(theirs.contains("greet-1.0.0.jar"), "{theirs}");
    // kbuild names the checkout through its link (keys hold paths inside the project), its
    // classes by the target that compiles them; the app compiles nothing into target/classes.
    let want: Vec<String> = theirs
        .split(':')
        .filter(|e| *e != format!("{app_root}/target/classes"))
        .map(|e| {
            if e == format!("{lib_root}/target/classes") {
                format!("{app_root}/target/kbuild/checkout-greet-java")
            } else {
                e.replacen(&lib_root, &format!("{app_root}/checkouts/greet"), 1)
            }
        })
        .collect();
    let b = kbuild(&app, &m2, &["classpath"]);
    assert!(b.ok(), "{}", b.stderr);
    let ours: Vec<String> = b.stdout.trim().split(':').map(String::from).collect();
    assert_eq!(ours, want);
}

/// lein's classpath for the app, its entries named as kbuild names them (see above), each
/// once: a share that meta-merge repeats (the project's, then `:base`'s) lists a path twice
/// under lein, and the first of them is the one the JVM uses.
fn lein_classpath_as_kbuild_names_it(lib: &Project, app: &Project, m2: &Path) -> Vec<String> {
    let (ok, theirs) = lein_text(app, m2, &["classpath"]);
    assert!(ok, "lein classpath: {theirs}");
    let theirs = theirs.lines().last().unwrap().trim().to_string();
    let (app_root, lib_root) = (
        app.dir.path().display().to_string(),
        lib.dir.path().display().to_string(),
    );
    let mut want: Vec<String> = Vec::new();
    for e in theirs.split(':') {
        let e = if e == format!("{app_root}/target/classes") {
            continue;
        } else if e == format!("{lib_root}/target/classes") {
            format!("{app_root}/target/kbuild/checkout-greet-java")
        } else {
            e.replacen(&lib_root, &format!("{app_root}/checkouts/greet"), 1)
        };
        if !want.contains(&e) {
            want.push(e);
        }
    }
    want
}

/// The project's own `:checkout-deps-shares`, in the order given: merged before `:base`'s
/// default as lein merges them, or alone with `^:replace`; `:java-source-paths` shares the
/// Java sources themselves, and without `:compile-path` the checkout's classes stay off.
#[test]
fn checkout_deps_shares_put_the_named_paths_in_their_order() {
    let (lib, app, _repo, m2) = setup();
    for (shares, compiled) in [
        ("[:compile-path :java-source-paths :source-paths]", true),
        ("^:replace [:resource-paths :source-paths]", false),
    ] {
        app.write(
            "project.clj",
            &format!(
                "(defproject kbt/app \"0.1.0\"\n  :dependencies [[org.clojure/clojure \"1.11.1\"] [kbt/greet \"1.0.0\"]]\n  :checkout-deps-shares {shares})\n"
            ),
        );
        let want = lein_classpath_as_kbuild_names_it(&lib, &app, &m2);
        let java = format!(
            "{}/target/kbuild/checkout-greet-java",
            app.dir.path().display()
        );
        assert_eq!(want.contains(&java), compiled, "{shares}: {want:?}");
        let b = kbuild(&app, &m2, &["classpath"]);
        assert!(b.ok(), "{shares}: {}", b.stderr);
        let ours: Vec<String> = b.stdout.trim().split(':').map(String::from).collect();
        assert_eq!(ours, want, "{shares}");
    }
}

/// A function among the shares runs under lein; kbuild evaluates nothing, and says so with
/// the line once there are checkouts (without any, lein calls no share either).
#[test]
fn a_checkout_deps_share_function_is_an_error_naming_its_line() {
    let (lib, app, _repo, m2) = setup();
    app.write(
        "project.clj",
        "(defproject kbt/app \"0.1.0\"\n  :dependencies [[org.clojure/clojure \"1.11.1\"] [kbt/greet \"1.0.0\"]]\n  :checkout-deps-shares [:source-paths\n                         ~(fn [p] (str (:root p) \"/extra\"))])\n",
    );
    let want = lein_classpath_as_kbuild_names_it(&lib, &app, &m2);
    assert!(
        want.contains(&format!(
            "{}/checkouts/greet/extra",
            app.dir.path().display()
        )),
        "lein runs the function: {want:?}"
    );
    let b = kbuild(&app, &m2, &["classpath"]);
    assert_eq!(b.code, Some(2), "{}", b.stderr);
    assert!(
        b.stderr.contains("project.clj:4:") && b.stderr.contains(":checkout-deps-shares"),
        "{}",
        b.stderr
    );
    std::fs::remove_file(app.path("checkouts/greet")).unwrap();
    let b = kbuild(&app, &m2, &["classpath"]);
    assert!(b.ok(), "without checkouts: {}", b.stderr);
}

/// The tests see the checkout's code, compiled Java included, with lein's counts; an edit of
/// the checkout's source reaches them, as it reaches `lein test`.
#[test]
fn an_edit_in_a_checkout_reaches_the_dependents_tests() {
    let (lib, app, _repo, m2) = setup();
    let (ok, theirs) = lein_text(&app, &m2, &["test"]);
    assert!(ok, "lein test: {theirs}");
    let b = kbuild(&app, &m2, &["--json", "test"]);
    assert!(b.ok(), "{}", b.stderr);
    assert_eq!(totals(&b.stderr), totals(&theirs));
    assert!(
        b.executed().contains("checkout-greet-java"),
        "{:?}",
        b.executed()
    );

    lib.edit("src/greet/core.clj", "\"hello \"", "\"hi \"");
    let (ok, theirs) = lein_text(&app, &m2, &["test"]);
    assert!(!ok && theirs.contains("1 failures"), "lein test: {theirs}");
    let b = kbuild(&app, &m2, &["--json", "test"]);
    assert_eq!(b.code, Some(1), "{}", b.stderr);
    assert_eq!(totals(&b.stderr), totals(&theirs), "{}", b.stderr);
}
