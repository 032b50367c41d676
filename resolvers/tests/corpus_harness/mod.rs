//! The Debian Maven corpus: every artifact under `/usr/share/maven-repo` that has a POM is a
//! root, resolved by the real `mvn dependency:list` (its result committed under
//! `fixtures/maven-corpus/expected/`) and by kbuild's resolver, both from one loopback server
//! serving a copy of that repository. Shared by `resolvers/tests/maven_corpus.rs` (the CI
//! sample, the live check and the generator) and `benches/maven_corpus.rs` (the whole corpus).
//!
//! An expected file, `expected/<group>/<artifact>/<version>.txt`:
//!
//! ```text
//! # comments
//! root org.apache.commons:commons-lang3:jar:3.12.0
//! org.apache.commons:commons-lang3:jar:3.12.0:compile      (mvn's list, sorted)
//! ```
//!
//! or, where mvn fails, `fails COORD` lines naming the artifacts mvn could not resolve (or
//! whose descriptor it could not read), in mvn's order, and a `# mvn:` comment with its
//! message. kbuild agrees with a failure when it fails too and its error names the first of
//! those artifacts (the one nearest the root in classpath order: kbuild stops at it, mvn
//! lists the others too).
//!
//! Needs `crate::support` (resolvers/tests/support) beside it in the including crate.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use kbuild_resolvers::{resolve, to_list_lines, Dependency};

use crate::support;

/// A root: one artifact of Debian's repository, as a dependency of type `type_`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Root {
    pub group: String,
    pub artifact: String,
    pub version: String,
    /// `pom` for a POM whose packaging is `pom` (parents, BOMs, aggregators: they have no
    /// jar), else `jar` (also for `bundle` and `maven-plugin`, whose files are jars).
    pub type_: String,
}

impl Root {
    /// `group:artifact:type:version`, as written in the expected files.
    pub fn coord(&self) -> String {
        format!(
            "{}:{}:{}:{}",
            self.group, self.artifact, self.type_, self.version
        )
    }

    pub fn parse(coord: &str) -> Option<Root> {
        let [g, a, t, v]: [&str; 4] = coord
            .trim()
            .split(':')
            .collect::<Vec<_>>()
            .try_into()
            .ok()?;
        Some(Root {
            group: g.into(),
            artifact: a.into(),
            version: v.into(),
            type_: t.into(),
        })
    }

    pub fn dependency(&self) -> Dependency {
        Dependency::parse(&self.coord()).expect("a root coordinate")
    }

    /// Its expected file under `dir` (`fixtures/maven-corpus`).
    pub fn expected_path(&self, dir: &Path) -> PathBuf {
        dir.join("expected")
            .join(&self.group)
            .join(&self.artifact)
            .join(format!("{}.txt", self.version))
    }
}

/// What a tool made of a root: the sorted `dependency:list` lines, or a failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Resolved(Vec<String>),
    Failed {
        /// The artifacts named as not resolvable (mvn), empty for kbuild.
        artifacts: Vec<String>,
        message: String,
    },
}

/// `fixtures/maven-corpus` at the workspace root.
pub fn corpus_dir() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let own = here.join("fixtures/maven-corpus");
    if own.is_dir() || here.join("fixtures/maven").is_dir() {
        own
    } else {
        here.join("../fixtures/maven-corpus")
    }
}

/// The packaging of the POM at `path` (a direct child of `<project>`; `jar` without one).
fn packaging(path: &Path) -> String {
    use quick_xml::events::Event;
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut depth = 0usize;
    let mut in_packaging = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                depth += 1;
                in_packaging = depth == 2 && e.local_name().as_ref() == b"packaging";
            }
            Ok(Event::End(_)) => {
                depth = depth.saturating_sub(1);
                in_packaging = false;
            }
            Ok(Event::Text(t)) if in_packaging => {
                return t
                    .unescape()
                    .map(|s| s.trim().to_string())
                    .unwrap_or_default();
            }
            Ok(Event::Eof) | Err(_) => return "jar".into(),
            _ => {}
        }
    }
}

/// Every root of the Debian repository at `repo`, sorted: each `G/A/V/A-V.pom`. Debian
/// installs each library's POM twice, under its real version and under the version
/// `debian` (the same POM, version rewritten, that other Debian POMs depend on; the jars of
/// both are symlinks to one file in /usr/share/java). A `debian` version is skipped when the
/// artifact has any other version with a POM, so each library counts once; it stays a root
/// when it is the only one (a few packages install nothing else). Relocation stubs (`3.x`,
/// `1.2.x`...) are roots: they exercise relocation.
pub fn debian_roots(repo: &Path) -> Vec<Root> {
    let mut found: BTreeMap<(String, String), Vec<(String, PathBuf)>> = BTreeMap::new();
    let mut stack = vec![repo.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let Ok(rel) = path.strip_prefix(repo) else {
                continue;
            };
            let parts: Vec<String> = rel
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if parts.len() < 4 {
                continue;
            }
            let n = parts.len();
            let (a, v) = (&parts[n - 3], &parts[n - 2]);
            if parts[n - 1] != format!("{a}-{v}.pom") {
                continue;
            }
            let g = parts[..n - 3].join(".");
            found
                .entry((g, a.clone()))
                .or_default()
                .push((v.clone(), path));
        }
    }
    let mut roots = Vec::new();
    for ((g, a), versions) in found {
        let only = versions.len() == 1;
        for (v, pom) in versions {
            if v == "debian" && !only {
                continue;
            }
            let type_ = if packaging(&pom) == "pom" {
                "pom"
            } else {
                "jar"
            };
            roots.push(Root {
                group: g.clone(),
                artifact: a.clone(),
                version: v,
                type_: type_.into(),
            });
        }
    }
    roots.sort();
    roots
}

// ---- expected files ---------------------------------------------------------------------------

pub struct Expected {
    pub root: Root,
    pub outcome: Outcome,
}

pub fn read_expected(path: &Path) -> Expected {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut root = None;
    let mut list = Vec::new();
    let mut fails = Vec::new();
    let mut message = String::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(m) = line.strip_prefix("# mvn: ") {
            message = m.to_string();
        } else if line.starts_with('#') {
        } else if let Some(r) = line.strip_prefix("root ") {
            root = Root::parse(r);
        } else if let Some(f) = line.strip_prefix("fails ") {
            fails.push(f.to_string());
        } else {
            list.push(line.to_string());
        }
    }
    let root = root.unwrap_or_else(|| panic!("{}: no root line", path.display()));
    let outcome = if fails.is_empty() && message.is_empty() {
        Outcome::Resolved(list)
    } else {
        Outcome::Failed {
            artifacts: fails,
            message,
        }
    };
    Expected { root, outcome }
}

pub fn write_expected(dir: &Path, e: &Expected) {
    let mut text = format!(
        "# mvn dependency:list of {}: cargo test -p kbuild-resolvers --test maven_corpus -- --ignored regenerate\nroot {}\n",
        e.root.coord(),
        e.root.coord()
    );
    match &e.outcome {
        Outcome::Resolved(list) => {
            for l in list {
                let _ = writeln!(text, "{l}");
            }
        }
        Outcome::Failed { artifacts, message } => {
            let _ = writeln!(text, "# mvn: {message}");
            for a in artifacts {
                let _ = writeln!(text, "fails {a}");
            }
        }
    }
    let path = e.root.expected_path(dir);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, text).expect("write expected");
}

/// Every expected file under `dir`, sorted by root.
pub fn all_expected(dir: &Path) -> Vec<Expected> {
    let mut files = Vec::new();
    let mut stack = vec![dir.join("expected")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "txt") {
                files.push(p);
            }
        }
    }
    let mut all: Vec<Expected> = files.iter().map(|p| read_expected(p)).collect();
    all.sort_by(|a, b| a.root.cmp(&b.root));
    all
}

/// `sample.txt`: the roots the CI test runs.
pub fn sample(dir: &Path) -> Vec<Root> {
    coords_file(&dir.join("sample.txt"))
        .into_keys()
        .map(|c| Root::parse(&c).unwrap_or_else(|| panic!("sample.txt: bad root {c}")))
        .collect()
}

/// `exceptions.txt`: root coordinate -> why kbuild and mvn are allowed to differ on it.
pub fn exceptions(dir: &Path) -> BTreeMap<String, String> {
    coords_file(&dir.join("exceptions.txt"))
}

/// A file of `COORD [text]` lines (`#` comments): coordinate -> text.
fn coords_file(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once(char::is_whitespace) {
            Some((c, why)) => (c.to_string(), why.trim().to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}

/// The fixed CI sample: 50 roots spread evenly over the sorted corpus (every n/50-th).
pub fn choose_sample(roots: &[Root], n: usize) -> Vec<Root> {
    if roots.len() <= n {
        return roots.to_vec();
    }
    (0..n).map(|i| roots[i * roots.len() / n].clone()).collect()
}

// ---- the served repository --------------------------------------------------------------------

/// What both tools resolve from: the copy of Debian's repository that mvn also uses as its
/// local repository (`support::mvn_seed`: dereferenced, with the `junit:junit:4.x` stub that
/// sisu-plexus asks for), served read-only over loopback HTTP.
pub fn served_repo() -> &'static Path {
    support::mvn_seed()
}

/// A settings.xml that sends every repository (Debian's POMs declare a few) to `url`, as
/// mvn's does, so that nothing leaves the machine.
pub fn settings_xml(url: &str, local: &Path) -> String {
    format!(
        "<settings><localRepository>{}</localRepository><mirrors><mirror><id>corpus</id><mirrorOf>*</mirrorOf><url>{url}</url></mirror></mirrors></settings>",
        local.display()
    )
}

/// The repository every project declares (snapshots on: Debian has a few SNAPSHOT versions).
fn repositories_xml(url: &str) -> String {
    format!(
        "<repositories><repository><id>kbt</id><url>{url}</url><snapshots><enabled>true</enabled></snapshots></repository></repositories>"
    )
}

// ---- mvn --------------------------------------------------------------------------------------

pub fn assert_mvn() {
    let ok = Command::new("mvn")
        .arg("-v")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok && Path::new(
            "/usr/share/maven-repo/org/apache/maven/plugins/maven-dependency-plugin/3.5.0"
        )
        .is_dir(),
        "mvn and Debian's maven-dependency-plugin 3.5.0 are installed (.ci/run installs them)"
    );
}

/// `mvn dependency:list` of every root, in one mvn run: a reactor of one module per root
/// (`r0000`...), each a POM project with that one dependency, built with `--fail-at-end` so
/// that one root's failure does not stop the others; each module's section of the output,
/// and its line in the failure summary, are that root's result.
pub fn mvn_outcomes(url: &str, roots: &[Root], work: &Path) -> Vec<Outcome> {
    assert_mvn();
    let local = work.join("m2");
    let ok = Command::new("cp")
        .arg("-al")
        .arg(served_repo())
        .arg(&local)
        .status()
        .expect("cp")
        .success();
    assert!(ok, "cp -al failed");
    std::fs::write(work.join("settings.xml"), settings_xml(url, &local)).expect("write");
    let project = work.join("reactor");
    let mut modules = String::new();
    for (i, r) in roots.iter().enumerate() {
        let name = format!("r{i:04}");
        let dir = project.join(&name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let type_ = if r.type_ == "jar" {
            String::new()
        } else {
            format!("<type>{}</type>", r.type_)
        };
        let pom = format!(
            "<project><modelVersion>4.0.0</modelVersion><groupId>kbuild.corpus</groupId><artifactId>{name}</artifactId><version>1</version><packaging>pom</packaging>{}\
             <dependencies><dependency><groupId>{}</groupId><artifactId>{}</artifactId><version>{}</version>{type_}</dependency></dependencies></project>",
            repositories_xml(url), r.group, r.artifact, r.version
        );
        std::fs::write(dir.join("pom.xml"), pom).expect("write");
        let _ = write!(modules, "<module>{name}</module>");
    }
    std::fs::write(
        project.join("pom.xml"),
        format!("<project><modelVersion>4.0.0</modelVersion><groupId>kbuild.corpus</groupId><artifactId>all</artifactId><version>1</version><packaging>pom</packaging><modules>{modules}</modules></project>"),
    )
    .expect("write");
    let out = Command::new("mvn")
        .current_dir(&project)
        .args(["-B", "-ntp", "-fae", "-Dstyle.color=never", "-s"])
        .arg(work.join("settings.xml"))
        .arg("org.apache.maven.plugins:maven-dependency-plugin:3.5.0:list")
        .env("MAVEN_OPTS", "-XX:TieredStopAtLevel=1 -Xshare:auto")
        .output()
        .expect("mvn is installed");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (sections, errors) = split_reactor(&text, url);
    let outcomes: Vec<Outcome> = (0..roots.len())
        .map(|i| {
            let name = format!("r{i:04}");
            match errors.get(&name) {
                Some(message) => Outcome::Failed {
                    artifacts: failed_artifacts(message),
                    message: message.clone(),
                },
                None => {
                    let section = sections.get(&name).unwrap_or_else(|| {
                        panic!(
                            "mvn printed nothing for {name} ({}):\n{text}",
                            roots[i].coord()
                        )
                    });
                    let mut list = support::list_and_tree(section).0;
                    list.sort();
                    Outcome::Resolved(list)
                }
            }
        })
        .collect();
    assert!(
        out.status.success() || !errors.is_empty(),
        "mvn failed without naming a module:\n{text}"
    );
    outcomes
}

/// A reactor's output split by module (`------< kbuild.corpus:r0001 >------` starts one),
/// and its `Failed to execute goal ... on project r0001: MESSAGE` lines by module, with the
/// repository URL written `<repo>` and mvn's `-> [Help 1]` cut.
fn split_reactor(text: &str, url: &str) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut sections: BTreeMap<String, String> = BTreeMap::new();
    let mut errors = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.split("< kbuild.corpus:").nth(1) {
            current = rest.split_whitespace().next().map(str::to_string);
            continue;
        }
        if let Some(rest) = line
            .strip_prefix("[ERROR] Failed to execute goal")
            .and_then(|l| l.split_once(" on project "))
            .map(|(_, r)| r)
        {
            if let Some((name, message)) = rest.split_once(": ") {
                let message = message.split(" -> [Help").next().unwrap_or(message);
                // Without the module's name, which is only its index in this run.
                let message = match message.split_once(":pom:1: ") {
                    Some((head, rest))
                        if head.starts_with(
                            "Could not resolve dependencies for project kbuild.corpus:",
                        ) =>
                    {
                        rest
                    }
                    _ => message,
                };
                let message = uncached(&message.replace(url.trim_end_matches('/'), "<repo>"));
                errors.insert(name.to_string(), message.trim().to_string());
            }
            continue;
        }
        if let Some(name) = &current {
            let s = sections.entry(name.clone()).or_default();
            s.push_str(line);
            s.push('\n');
        }
    }
    (sections, errors)
}

/// A module whose missing artifact an earlier module of the run missed already gets
/// "X was not found in URL during a previous attempt. This failure was cached..." for its
/// "Could not find artifact X in corpus (URL)": written as the latter, so that a root's
/// message does not depend on which roots ran before it.
fn uncached(message: &str) -> String {
    match message.split_once(" was not found in <repo>/ during a previous attempt.") {
        Some((head, _)) => {
            let (before, artifact) = head.rsplit_once(": ").unwrap_or(("", head));
            let before = if before.is_empty() {
                String::new()
            } else {
                format!("{before}: ")
            };
            format!("{before}Could not find artifact {artifact} in corpus (<repo>/)")
        }
        None => message.to_string(),
    }
}

/// The artifacts an mvn resolution error names as the cause: those it "could not resolve"
/// or "could not find", and the one whose descriptor it "failed to read".
pub fn failed_artifacts(message: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut push = |s: &str| {
        let s = s.trim().trim_end_matches([':', ',', '.']);
        if s.split(':').count() >= 4 && !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    };
    if let Some(rest) = message
        .split("The following artifacts could not be resolved: ")
        .nth(1)
    {
        let list = rest.split(": ").next().unwrap_or(rest);
        list.split(", ").for_each(&mut push);
    }
    for marker in [
        "Could not find artifact ",
        "Failed to read artifact descriptor for ",
        "the artifact ",
    ] {
        for part in message.split(marker).skip(1) {
            push(part.split_whitespace().next().unwrap_or(""));
        }
    }
    out
}

// ---- kbuild -----------------------------------------------------------------------------------

/// kbuild's resolver on one root, from `url` (mirrored as mvn's is), into a fresh local
/// repository under `work`.
pub fn kbuild_outcome(url: &str, root: &Root, work: &Path) -> Outcome {
    let local = work.join("kb-local");
    std::fs::create_dir_all(&local).expect("mkdir");
    let mut cfg = support::config(&[url], &local);
    let settings = work.join("kb-settings.xml");
    std::fs::write(&settings, settings_xml(url, &local)).expect("write");
    cfg.settings_xml = Some(settings);
    let result = support::runtime().block_on(resolve(&cfg, &[root.dependency()], &[]));
    match result {
        Ok(res) => {
            let mut list = to_list_lines(&res);
            list.sort();
            Outcome::Resolved(list)
        }
        Err(e) => Outcome::Failed {
            artifacts: vec![],
            message: e.to_string(),
        },
    }
}

/// `None` when kbuild's outcome agrees with the expected one, else what differs (a few
/// lines: the list diff, or the two failures).
pub fn compare(expected: &Outcome, kbuild: &Outcome) -> Option<String> {
    match (expected, kbuild) {
        (Outcome::Resolved(a), Outcome::Resolved(b)) if a == b => None,
        (Outcome::Resolved(a), Outcome::Resolved(b)) => {
            let mut d = String::new();
            for l in a.iter().filter(|l| !b.contains(l)) {
                let _ = writeln!(d, "  - {l}   (mvn only)");
            }
            for l in b.iter().filter(|l| !a.contains(l)) {
                let _ = writeln!(d, "  + {l}   (kbuild only)");
            }
            Some(d)
        }
        (Outcome::Failed { artifacts, .. }, Outcome::Failed { message, .. })
            if artifacts
                .first()
                .is_none_or(|a| message.contains(a.as_str())) =>
        {
            None
        }
        (Outcome::Failed { message: m, .. }, Outcome::Failed { message, .. }) => Some(format!(
            "  both fail, on different artifacts\n  mvn:    {m}\n  kbuild: {message}\n"
        )),
        (Outcome::Failed { message, .. }, Outcome::Resolved(list)) => Some(format!(
            "  mvn fails: {message}\n  kbuild resolves {} artifacts: {}\n",
            list.len(),
            list.join(", ")
        )),
        (Outcome::Resolved(list), Outcome::Failed { message, .. }) => Some(format!(
            "  mvn resolves {} artifacts: {}\n  kbuild fails: {message}\n",
            list.len(),
            list.join(", ")
        )),
    }
}
