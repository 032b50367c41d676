//! Debian's real `lein`, offline, against a local repository made from /usr/share/maven-repo,
//! and kbuild run the same way for comparison.

use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::{Build, Project};

const DEBIAN_REPO: &str = "/usr/share/maven-repo";

/// One Debian artifact installed under another version: `("org.clojure:clojure", "1.11.1",
/// "1.10.1")` serves Debian's 1.11.1 jar and POM wherever 1.10.1 is asked for. Debian ships
/// one version of each library; upstream projects pin the version they were released with.
pub type Alias = (&'static str, &'static str, &'static str);

/// A dereferenced copy of Debian's Maven repository (its jars are relative symlinks) with
/// `aliases` added, made once per build tree and shared: lein and kbuild only read it
/// offline. The directory is named for what went into it, so a machine that installs more
/// Debian packages gets a fresh copy rather than a stale one.
pub fn local_repo(aliases: &[Alias]) -> PathBuf {
    let mut h = DefaultHasher::new();
    listing(Path::new(DEBIAN_REPO), &mut h);
    aliases.hash(&mut h);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("debian-m2-{:016x}", h.finish()));
    if dir.join(".complete").exists() {
        return dir;
    }
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let copy = tmp.path().join("m2");
    let ok = Command::new("cp")
        .arg("-rL")
        .arg(DEBIAN_REPO)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(ok.success());
    // A relocation stub that is not a usable artifact (see the notes).
    let _ = fs::remove_dir_all(copy.join("org/apache/apache/18"));
    for alias in aliases {
        install_alias(&copy, alias);
    }
    fs::write(copy.join(".complete"), "").unwrap();
    // Another test may have won the race; either copy is complete.
    let _ = fs::rename(&copy, &dir);
    dir
}

/// Debian's repository as it stands, for the plain comparisons.
pub fn debian_m2() -> PathBuf {
    local_repo(&[])
}

/// Every path under `dir`, in order, into `h`: which artifacts and versions are installed.
fn listing(dir: &Path, h: &mut DefaultHasher) {
    let mut entries: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap()).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        e.file_name().hash(h);
        if e.file_type().unwrap().is_dir() {
            listing(&e.path(), h);
        }
    }
}

fn install_alias(m2: &Path, &(coordinate, have, want): &Alias) {
    let (group, artifact) = coordinate.split_once(':').unwrap();
    let base = m2.join(group.replace('.', "/")).join(artifact);
    let (from, to) = (base.join(have), base.join(want));
    assert!(from.is_dir(), "Debian has no {coordinate} {have}");
    fs::create_dir_all(&to).unwrap();
    let (old, new) = (format!("{artifact}-{have}"), format!("{artifact}-{want}"));
    for e in fs::read_dir(&from).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&old) else {
            continue;
        };
        let target = to.join(format!("{new}{rest}"));
        if rest == ".pom" {
            let pom = fs::read_to_string(from.join(&name)).unwrap();
            fs::write(target, pom_with_version(&pom, have, want)).unwrap();
        } else if rest.ends_with(".jar") {
            fs::copy(from.join(&name), target).unwrap();
        }
    }
}

/// The POM with its own `<version>` (not its parent's) changed from `have` to `want`.
fn pom_with_version(pom: &str, have: &str, want: &str) -> String {
    let parent_end = pom.find("</parent>").map_or(0, |i| i + "</parent>".len());
    let tag = format!("<version>{have}</version>");
    let at = parent_end + pom[parent_end..].find(&tag).expect("the POM's own version");
    format!(
        "{}<version>{want}</version>{}",
        &pom[..at],
        &pom[at + tag.len()..]
    )
}

/// `lein ARGS` in the project, offline against `m2`, with the project's own LEIN_HOME.
pub fn lein(p: &Project, m2: &Path, args: &[&str]) -> Output {
    let m2 = format!("\"{}\"", m2.display());
    Command::new("lein")
        .args([
            "update-in",
            ":",
            "assoc",
            ":local-repo",
            &m2,
            ":offline?",
            "true",
            "--",
        ])
        .args(args)
        .current_dir(p.dir.path())
        .env("LEIN_HOME", p.path(".lein-home"))
        .output()
        .unwrap()
}

/// kbuild, offline, with the same LEIN_HOME as `lein` above (so the same user profiles).
pub fn kbuild(p: &Project, m2: &Path, args: &[&str]) -> Build {
    let mut all = vec!["--offline", "--local-repo", m2.to_str().unwrap()];
    all.extend_from_slice(args);
    Build::from(
        p.command(&all)
            .env("LEIN_HOME", p.path(".lein-home"))
            .output()
            .unwrap(),
    )
}

/// `lein test`'s totals: "Ran N tests containing M assertions." and "F failures, E errors.".
pub fn totals(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let ran = lines.iter().rposition(|l| l.starts_with("Ran "))?;
    // kbuild says how many of the tests' outcomes came from its cache; the counts are lein's.
    let ran_line = match lines[ran].split_once(" (") {
        Some((counts, rest)) if rest.ends_with(" from cache).") => format!("{counts}."),
        _ => lines[ran].to_string(),
    };
    let rest = lines.get(ran + 1).copied().unwrap_or_default();
    Some(format!("{ran_line}\n{rest}"))
}
