//! `kbuild deps --tree` and `--why` against Debian's real `lein deps :tree`, offline, on
//! project.clj files made from the resolver's fixture repositories (`fixtures/maven/`): the
//! same chosen versions, and Leiningen's "Possibly confusing dependencies found" report with
//! its suggested exclusions, word for word.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::lein::lein;
use common::{fixture, Project};

/// Conflicts of each kind Maven mediation decides (nearest, first declaration, direct,
/// managed, exclusions, scopes) and a version range, which Leiningen's report leaves out.
const CASES: &[&str] = &[
    "range-beats-nearer-soft-version",
    "nearest-wins",
    "deep-diamond",
    "first-declaration-wins",
    "first-declaration-wins-reversed",
    "depmgmt-root-version",
    "direct-wins-even-when-lower",
    "shared-subtree-nearer-later",
    "exclusion-on-one-path-only",
    "scope-compile-runtime",
];

/// Debian's repository (for lein's own nREPL dependencies) with the cases' artifacts added.
fn local_repo(dir: &Path) -> PathBuf {
    let m2 = dir.join("m2");
    let ok = Command::new("cp")
        .arg("-rL")
        .arg("/usr/share/maven-repo")
        .arg(&m2)
        .status()
        .unwrap();
    assert!(ok.success());
    for case in CASES {
        let repo = fixture(&format!("maven/{case}/repo"));
        common::copy_dir(&repo, &m2);
        local_metadata(&repo, &m2);
    }
    m2
}

/// Offline, Maven reads an artifact's versions from the local repository's
/// `maven-metadata-local.xml`: the fixtures' `maven-metadata.xml` copied under that name.
fn local_metadata(repo: &Path, m2: &Path) {
    for e in fs::read_dir(repo).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            local_metadata(&p, &m2.join(p.file_name().unwrap()));
        } else if p.file_name().is_some_and(|n| n == "maven-metadata.xml") {
            fs::copy(&p, m2.join("maven-metadata-local.xml")).unwrap();
        }
    }
}

/// A project.clj declaring what a case's `case.txt` declares.
fn project_for(case: &str) -> Project {
    let text = fs::read_to_string(fixture(&format!("maven/{case}/case.txt"))).unwrap();
    let (mut deps, mut managed) = (Vec::new(), Vec::new());
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let mut words = line.split_whitespace();
        let (Some(kind), Some(coord)) = (words.next(), words.next()) else {
            continue;
        };
        let parts: Vec<&str> = coord.split(':').collect();
        let mut dep = format!("[{}/{} \"{}\"", parts[0], parts[1], parts[2]);
        for w in words {
            if let Some(ex) = w.strip_prefix("excl=") {
                let names: Vec<String> = ex.split(',').map(|e| e.replace(':', "/")).collect();
                dep.push_str(&format!(" :exclusions [{}]", names.join(" ")));
            } else if let Some(s) = w.strip_prefix("scope=") {
                dep.push_str(&format!(" :scope \"{s}\""));
            } else {
                panic!("{case}: unexpected word {w}");
            }
        }
        dep.push(']');
        match kind {
            "dep" => deps.push(dep),
            "managed" => managed.push(dep),
            _ => panic!("{case}: {line}"),
        }
    }
    let p = Project::new("lein-mixed");
    p.write(
        "project.clj",
        &format!(
            "(defproject kbt.case/{case} \"0.1.0\"\n  :dependencies [{}]\n  :managed-dependencies [{}])\n",
            deps.join("\n                 "),
            managed.join(" ")
        ),
    );
    p
}

/// `name version` of each line of `lein deps :tree`'s tree (`[g/a "v" ...]`, indented).
fn lein_chosen(stdout: &str) -> BTreeSet<String> {
    stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix('['))
        .map(|l| {
            let mut w = l.split_whitespace();
            let name = w.next().unwrap().to_string();
            let version = w.next().unwrap().trim_matches(|c| c == '"' || c == ']');
            format!("{name} {version}")
        })
        .collect()
}

/// The same from `kbuild deps --tree`'s drawing (`+- g:a:type:version:scope`), leaving out
/// the lines that show what lost.
fn kbuild_chosen(stdout: &str) -> BTreeSet<String> {
    stdout
        .lines()
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once("- ").map(|(_, rest)| rest))
        .filter(|l| !l.contains("(omitted"))
        .map(|l| {
            let parts: Vec<&str> = l.split_whitespace().next().unwrap().split(':').collect();
            let (g, a, v) = (parts[0], parts[1], parts[parts.len() - 2]);
            let name = if g == a {
                g.to_string()
            } else {
                format!("{g}/{a}")
            };
            format!("{name} {v}")
        })
        .collect()
}

/// From "Possibly confusing dependencies found:" to the end of the report.
fn report(text: &str) -> String {
    match text.find("Possibly confusing dependencies found:") {
        Some(i) => {
            let rest = &text[i..];
            // Leiningen's report ends at its last exclusion's blank line.
            let end = rest.rfind("\n\n").map_or(rest.len(), |j| j + 2);
            rest[..end].to_string()
        }
        None => String::new(),
    }
}

#[test]
fn tree_chooses_what_lein_chooses_and_reports_conflicts_as_lein_does() {
    let work = tempfile::tempdir().unwrap();
    let m2 = local_repo(work.path());
    let mut reported = 0;
    for case in CASES {
        let p = project_for(case);
        let theirs = lein(&p, &m2, &["deps", ":tree"]);
        let (out, err) = (
            String::from_utf8_lossy(&theirs.stdout).into_owned(),
            String::from_utf8_lossy(&theirs.stderr).into_owned(),
        );
        assert!(theirs.status.success(), "{case}: lein deps :tree: {err}");
        let ours = p
            .command(&[
                "--offline",
                "--local-repo",
                m2.to_str().unwrap(),
                "deps",
                "--tree",
            ])
            .env("LEIN_HOME", p.path(".lein-home"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&ours.stdout).into_owned();
        assert!(
            ours.status.success(),
            "{case}: {}",
            String::from_utf8_lossy(&ours.stderr)
        );
        let body = text
            .strip_prefix("deps:\n")
            .expect("the target's name first");
        let want = lein_chosen(&out);
        assert!(want.len() > 2, "{case}: {out}");
        assert_eq!(kbuild_chosen(body), want, "{case}:\n{text}\nlein:\n{out}");
        let lein_report = report(&err);
        assert_eq!(report(body), lein_report, "{case}:\n{text}\nlein:\n{err}");
        if !lein_report.is_empty() {
            reported += 1;
            assert!(body.contains("(omitted: "), "{case}: {text}");
        }
        if *case == "depmgmt-root-version" {
            assert!(
                body.contains("kbt.dm:c:jar:1.5:compile (version managed)"),
                "{case}: {text}"
            );
        }
    }
    assert!(reported >= 3, "the cases include conflicts lein reports");
}

#[test]
fn why_prints_every_path_and_what_overrode_it() {
    let work = tempfile::tempdir().unwrap();
    let m2 = local_repo(work.path());
    let p = project_for("nearest-wins");
    let run = |args: &[&str]| {
        let mut all = vec!["--offline", "--local-repo", m2.to_str().unwrap(), "deps"];
        all.extend_from_slice(args);
        p.command(&all)
            .env("LEIN_HOME", p.path(".lein-home"))
            .output()
            .unwrap()
    };
    let out = run(&["--why", "kbt.nearest/c"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "deps:\n  [kbt.nearest/d \"1.0\"] -> [kbt.nearest/c \"1.0\"]\n  \
         [kbt.nearest/a \"1.0\"] -> [kbt.nearest/b \"1.0\"] -> [kbt.nearest/c \"2.0\"]  (omitted: 1.0 chosen, nearest)\n"
    );
    // lein deps :why shows the same chosen path (and no other).
    let theirs = lein(&p, &m2, &["deps", ":why", "kbt.nearest/c"]);
    let theirs: Vec<String> = String::from_utf8_lossy(&theirs.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .collect();
    assert_eq!(theirs, ["[kbt.nearest/d 1.0]", "[kbt.nearest/c 1.0]"]);

    let out = run(&["--json", "--why", "kbt.nearest/c"]);
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(v["tree"][1]["artifact"], "kbt.nearest:d:jar:1.0");
    assert_eq!(
        v["tree"][1]["children"][0]["artifact"],
        "kbt.nearest:c:jar:1.0"
    );
    assert_eq!(v["conflicts"][0]["artifact"], "kbt.nearest:c");
    assert_eq!(v["conflicts"][0]["requested"], "2.0");
    assert_eq!(v["conflicts"][0]["chosen"], "1.0");
    assert_eq!(v["conflicts"][0]["reason"], "nearest");
    assert_eq!(
        v["conflicts"][0]["exclusion"],
        "[kbt.nearest/a \"1.0\" :exclusions [kbt.nearest/c]]"
    );

    let out = run(&["--why", "no.such/thing"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("project.clj") && err.contains("no.such/thing"),
        "{err}"
    );
}

/// The same on a kbuild.edn `:maven` target and on a deps.edn, whose rule (the newest
/// version below the top level) explains its choice as such.
#[test]
fn tree_marks_conflicts_in_kbuild_edn_and_deps_edn() {
    let work = tempfile::tempdir().unwrap();
    let m2 = local_repo(work.path());
    let p = Project::new("lein-mixed");
    fs::remove_file(p.path("project.clj")).unwrap();
    p.write(
        "kbuild.edn",
        "{:targets {libs {:rule :maven :coords [[kbt.nearest/a \"1.0\"] [kbt.nearest/d \"1.0\"]]}}}\n",
    );
    let run = |p: &Project| {
        p.command(&[
            "--offline",
            "--local-repo",
            m2.to_str().unwrap(),
            "deps",
            "--tree",
        ])
        .output()
        .unwrap()
    };
    let out = run(&p);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.starts_with("libs:\n"), "{text}");
    assert!(
        text.contains("\\- kbt.nearest:c:jar:2.0 (omitted: 1.0 chosen, nearest)"),
        "{text}"
    );
    assert!(text.contains("[kbt.nearest/a \"1.0\" :exclusions [kbt.nearest/c]]"));

    fs::remove_file(p.path("kbuild.edn")).unwrap();
    p.write(
        "deps.edn",
        "{:deps {kbt.nearest/a {:mvn/version \"1.0\"} kbt.nearest/d {:mvn/version \"1.0\"}}}\n",
    );
    let out = run(&p);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("\\- kbt.nearest:c:jar:1.0 (omitted: 2.0 chosen, newest)"),
        "{text}"
    );
}

/// The same on real libraries' project.clj files (fixtures/upstream), resolved offline from
/// Debian's packages under the versions they pin (as tests/upstream.rs serves them).
#[test]
fn upstream_libraries_trees_choose_what_lein_chooses() {
    const ALIASES: &[common::lein::Alias] = &[
        ("org.clojure:clojure", "1.10.x", "1.10.1"),
        ("org.clojure:clojure", "1.10.x", "1.10.2"),
        ("org.clojure:clojure", "1.11.1", "1.4.0"),
        ("org.clojure:clojure", "1.11.1", "1.6.0"),
        ("org.clojure:clojure", "1.11.1", "1.8.0"),
        ("org.yaml:snakeyaml", "1.33", "1.26"),
        ("fast-zip:fast-zip", "0.5.0", "0.4.0"),
        ("org.clojure:test.generative", "1.0.0", "0.5.1"),
    ];
    let m2 = common::lein::local_repo(ALIASES);
    let mut tarballs: Vec<String> = fs::read_dir(fixture("upstream"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tar."))
        .collect();
    tarballs.sort();
    assert!(tarballs.len() >= 8);
    for t in &tarballs {
        let p = Project::unpack(&format!("upstream/{t}"));
        let theirs = lein(&p, &m2, &["deps", ":tree"]);
        let (out, err) = (
            String::from_utf8_lossy(&theirs.stdout).into_owned(),
            String::from_utf8_lossy(&theirs.stderr).into_owned(),
        );
        assert!(theirs.status.success(), "{t}: lein deps :tree: {err}");
        let ours = common::lein::kbuild(&p, &m2, &["deps", "--tree"]);
        assert!(ours.ok(), "{t}: {}", ours.stderr);
        let body = ours
            .stdout
            .strip_prefix("deps:\n")
            .expect("the target first");
        assert_eq!(
            kbuild_chosen(body),
            lein_chosen(&out),
            "{t}:\n{}\nlein:\n{out}",
            ours.stdout
        );
        assert_eq!(report(body), report(&err), "{t}");
    }
}
