//! `kbuild outdated` and `--upgrade` on the three kinds of build file, against repositories
//! whose `maven-metadata.xml` list newer releases, pre-releases and snapshots: a `file:`
//! repository and a real HTTP server on 127.0.0.1. `--upgrade` must change the version
//! strings and nothing else, so whole files are compared.

mod common;

use std::fs;
use std::path::Path;

use common::{Project, Server};

/// A repository listing kbt.nearest a (1.0 only), b (1.0, 1.1) and c (1.0, 2.0, 2.1-beta1,
/// 2.2-SNAPSHOT): only the metadata, which is all `outdated` reads.
fn repository(dir: &Path) -> String {
    for (artifact, versions) in [
        ("a", &["1.0"][..]),
        ("b", &["1.0", "1.1"][..]),
        ("c", &["1.0", "2.0", "2.1-beta1", "2.2-SNAPSHOT"][..]),
    ] {
        let d = dir.join("kbt/nearest").join(artifact);
        fs::create_dir_all(&d).unwrap();
        let listed: String = versions
            .iter()
            .map(|v| format!("<version>{v}</version>"))
            .collect();
        fs::write(
            d.join("maven-metadata.xml"),
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata><groupId>kbt.nearest</groupId><artifactId>{artifact}</artifactId><versioning><versions>{listed}</versions></versioning></metadata>\n"),
        )
        .unwrap();
    }
    format!("file://{}", dir.display())
}

fn empty_project() -> Project {
    let p = Project::new("lein-mixed");
    fs::remove_file(p.path("project.clj")).unwrap();
    p
}

fn stdout(p: &Project, args: &[&str]) -> String {
    let out = p.run(args);
    assert!(
        out.status.success(),
        "kbuild {args:?} ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn project_clj_outdated_and_upgraded_in_place() {
    let repo_dir = tempfile::tempdir().unwrap();
    let url = repository(repo_dir.path());
    let p = empty_project();
    let original = format!(
        r#";; A project whose comments and layout must survive an upgrade.
(defproject kbt/app "0.1.0"
  :repositories ^:replace [["fixtures" "{url}"]]
  :managed-dependencies [[kbt.nearest/c "1.0"]]
  :dependencies [[kbt.nearest/a "1.0"]   ; newest already
                 [kbt.nearest/c    "1.0" :exclusions [foo/bar]] ; ☃ two spaces before
                 ]
  ;; dev-only
  :profiles {{:dev {{:dependencies [[kbt.nearest/b "1.0"]]}}}})
"#
    );
    p.write("project.clj", &original);
    assert_eq!(
        stdout(&p, &["outdated"]),
        "kbt.nearest/b 1.0 -> 1.1 (deps)\nkbt.nearest/c 1.0 -> 2.0 (deps)\n"
    );
    // Pre-releases and snapshots when asked: the newest by Maven's order.
    assert!(stdout(&p, &["outdated", "--pre"]).contains("kbt.nearest/c 1.0 -> 2.2-SNAPSHOT"));
    assert_eq!(p.read("project.clj"), original, "listing changes nothing");

    let printed = stdout(&p, &["outdated", "--upgrade"]);
    assert!(printed.contains("upgraded in project.clj"), "{printed}");
    assert_eq!(
        p.read("project.clj"),
        original
            .replace("[kbt.nearest/c    \"1.0\"", "[kbt.nearest/c    \"2.0\"")
            .replace("[[kbt.nearest/c \"1.0\"]]", "[[kbt.nearest/c \"2.0\"]]")
            .replace("[kbt.nearest/b \"1.0\"]", "[kbt.nearest/b \"1.1\"]")
    );
    assert_eq!(stdout(&p, &["outdated"]), "", "nothing left to upgrade");
}

#[test]
fn deps_edn_upgraded_in_place_aliases_included() {
    let repo_dir = tempfile::tempdir().unwrap();
    let url = repository(repo_dir.path());
    let p = empty_project();
    let original = format!(
        r#";; deps.edn with comments
{{:mvn/repos {{"central" nil "clojars" nil "fixtures" {{:url "{url}"}}}}
 :deps {{kbt.nearest/c {{:mvn/version "1.0"}}   ; pinned, for now
        kbt.nearest/a {{:mvn/version "1.0"}}}}
 :aliases {{:dev {{:extra-deps {{kbt.nearest/b {{:mvn/version "1.0"}}}}}}}}}}
"#
    );
    p.write("deps.edn", &original);
    assert_eq!(
        stdout(&p, &["-A:dev", "outdated"]),
        "kbt.nearest/b 1.0 -> 1.1 (deps)\nkbt.nearest/c 1.0 -> 2.0 (deps)\n"
    );
    stdout(&p, &["-A:dev", "outdated", "--upgrade"]);
    assert_eq!(
        p.read("deps.edn"),
        original
            .replace(
                "kbt.nearest/c {:mvn/version \"1.0\"}",
                "kbt.nearest/c {:mvn/version \"2.0\"}"
            )
            .replace(
                "kbt.nearest/b {:mvn/version \"1.0\"}",
                "kbt.nearest/b {:mvn/version \"1.1\"}"
            )
    );
}

/// A kbuild.edn's `:maven` targets over HTTP, and `--json`.
#[test]
fn kbuild_edn_over_http_with_json() {
    let repo_dir = tempfile::tempdir().unwrap();
    repository(repo_dir.path());
    let server = Server::serve(repo_dir.path());
    let p = empty_project();
    let original = format!(
        "{{:repositories {{\"fixtures\" \"{}\"}}\n :allow-http true\n :targets {{libs {{:rule :maven\n                  :coords [[kbt.nearest/c \"1.0\"] ; c\n                           [kbt.nearest/b \"1.1\"]]}}\n           more {{:rule :maven :coords [[kbt.nearest/c \"1.0\"]]}}}}}}\n",
        server.url
    );
    p.write("kbuild.edn", &original);
    let text = stdout(&p, &["--json", "outdated"]);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!(lines[0]["artifact"], "kbt.nearest/c");
    assert_eq!(lines[0]["current"], "1.0");
    assert_eq!(lines[0]["latest"], "2.0");
    assert_eq!(lines[0]["targets"], serde_json::json!(["libs", "more"]));

    stdout(&p, &["outdated", "--upgrade"]);
    assert_eq!(
        p.read("kbuild.edn"),
        original.replace("[kbt.nearest/c \"1.0\"]", "[kbt.nearest/c \"2.0\"]")
    );
}

#[test]
fn an_unreachable_repository_names_the_dependency_and_the_file() {
    let p = empty_project();
    // Nothing listens on port 9 of this machine.
    p.write(
        "kbuild.edn",
        "{:repositories {\"down\" \"http://127.0.0.1:9/\"} :allow-http true\n :targets {libs {:rule :maven :coords [[kbt.nearest/c \"1.0\"]]}}}\n",
    );
    let out = p.run(&["outdated"]);
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("kbt.nearest/c") && err.contains("kbuild.edn"),
        "{err}"
    );

    p.write(
        "kbuild.edn",
        "{:targets {res {:rule :resources :root \"resources\" :srcs [\"resources/**\"]}}}\n",
    );
    let out = p.run(&["outdated"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("kbuild.edn") && err.contains("no :maven target"),
        "{err}"
    );
}
