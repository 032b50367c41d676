//! What the benchmarks that run kbuild next to Leiningen share: a dereferenced copy of a
//! directory (Debian's Maven repository holds relative symlinks) and both tools started
//! offline against one local repository.

use std::path::Path;
use std::process::Command;

/// `cp -rL from to`.
pub fn copy_dir(from: &Path, to: &Path) {
    assert!(Command::new("cp")
        .arg("-rL")
        .arg(from)
        .arg(to)
        .status()
        .unwrap()
        .success());
}

/// `lein ARGS` in `dir`, offline, with `m2` as its local repository.
pub fn lein(dir: &Path, m2: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("lein");
    c.args([
        "update-in",
        ":",
        "assoc",
        ":local-repo",
        &format!("\"{}\"", m2.display()),
        ":offline?",
        "true",
        "--",
    ]);
    c.args(args).current_dir(dir);
    c
}

/// `kbuild ARGS` in `dir`, offline, with `m2` as its local repository, and without the
/// machine-wide cache (a first run is a first run, not a restore).
pub fn kbuild(dir: &Path, m2: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kbuild"));
    c.args(["--offline", "--local-repo", m2.to_str().unwrap()])
        .args(args)
        .current_dir(dir)
        .env("CI", "1")
        .env("KBUILD_CACHE", "off");
    c
}
