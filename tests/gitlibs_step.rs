//! A deps.edn git dependency's tree is exported by a step of the build (a `git-lib` target),
//! not when the project is read: commands that only read run no git and write nothing, a
//! build exports through the step (and reads the library's own deps.edn from its tree), a
//! no-op build runs no git, a lost export comes back from the store, and a `:git/sha` edit
//! exports the new commit and the classpath follows its deps.edn. git runs through a wrapper
//! on `PATH` that logs each call and then runs the real one.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{git, Build, Project};

/// A repository with `deps.edn` and one namespace file; commits it and returns its SHA.
fn commit(repo: &Path, deps: &str, ns: &str) -> String {
    std::fs::write(repo.join("deps.edn"), deps).unwrap();
    let file = repo.join("src").join(format!("{ns}.clj"));
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, format!("(ns {})\n", ns.replace('/', "."))).unwrap();
    git(repo, &["add", "."]);
    git(repo, &["commit", "--quiet", "-m", ns]);
    git(repo, &["rev-parse", "HEAD"])
}

/// A `git` that appends its arguments to `log` and runs the real git.
fn logging_git(bin: &Path, log: &Path) {
    let real = Command::new("sh")
        .args(["-c", "command -v git"])
        .output()
        .unwrap();
    let real = String::from_utf8(real.stdout).unwrap().trim().to_string();
    assert!(!real.is_empty(), "git is installed");
    let script = bin.join("git");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{real}' \"$@\"\n",
            log.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn calls(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .map(|e| e.path().to_path_buf())
        .collect();
    out.sort();
    out
}

#[test]
fn git_libraries_are_exported_by_a_build_step_not_by_reading() {
    // my/b, and my/a, whose first commit depends on my/b by git and whose second does not.
    let upstream = tempfile::tempdir().unwrap();
    let (a_repo, b_repo) = (upstream.path().join("a"), upstream.path().join("b"));
    for r in [&a_repo, &b_repo] {
        std::fs::create_dir_all(r).unwrap();
        git(r, &["init", "--quiet"]);
    }
    let b_url = format!("file://{}", b_repo.display());
    let a_url = format!("file://{}", a_repo.display());
    let b_sha = commit(&b_repo, "{:paths [\"src\"]}\n", "lib/b");
    // A link in the tree, which the export makes a file.
    std::fs::create_dir_all(a_repo.join("src/lib")).unwrap();
    std::os::unix::fs::symlink("a.clj", a_repo.join("src/lib/alias.clj")).unwrap();
    let a1 = commit(
        &a_repo,
        &format!(
            "{{:paths [\"src\"] :deps {{my/b {{:git/url \"{b_url}\" :git/sha \"{b_sha}\"}}}}}}\n"
        ),
        "lib/a",
    );
    let a2 = commit(&a_repo, "{:paths [\"src\"]}\n", "lib/a2");

    let tools = tempfile::tempdir().unwrap();
    let log = tools.path().join("git.log");
    logging_git(tools.path(), &log);
    let path = format!(
        "{}:{}",
        tools.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let gitlibs = tempfile::tempdir().unwrap();
    let p = Project::empty();
    let project = |sha: &str| {
        p.write(
            "deps.edn",
            &format!(
                "{{:paths [\"src\"]\n :deps {{my/a {{:git/url \"{a_url}\" :git/sha \"{sha}\"}}}}}}\n"
            ),
        )
    };
    project(&a1);
    p.write("src/app/core.clj", "(ns app.core (:require [lib.a]))\n");
    let run = |args: &[&str]| {
        Build::from(
            p.command(args)
                .env("PATH", &path)
                .env("GITLIBS", gitlibs.path())
                .output()
                .unwrap(),
        )
    };
    let root = p.dir.path().display().to_string();
    let export = |lib: &str, sha: &str| format!("{root}/.kbuild/gitlibs/my/{lib}/{sha}/src");

    // Commands that read the project and build nothing: no git, nothing fetched or written
    // (`kbuild hash` reads it for its hashers; `kbuild clean` for its root).
    let before = tree(p.dir.path());
    let b = run(&["hash", "deps.edn"]);
    assert!(b.ok(), "{}", b.stderr);
    assert_eq!(tree(p.dir.path()), before, "reading wrote into the project");
    let b = run(&["clean"]);
    assert!(b.ok(), "{}", b.stderr);
    assert_eq!(calls(&log), Vec::<String>::new(), "reading ran git");
    assert_eq!(
        tree(gitlibs.path()),
        vec![gitlibs.path().to_path_buf()],
        "reading fetched into $GITLIBS"
    );

    // A build exports both trees through their steps, my/b found in my/a's deps.edn.
    let b = run(&["--json", "classpath"]);
    assert!(b.ok(), "{}", b.stderr);
    let (git_a1, git_b) = (format!("git:my/a@{a1}"), format!("git:my/b@{b_sha}"));
    assert!(
        b.executed().contains(&git_a1) && b.executed().contains(&git_b),
        "{:?}",
        b.executed()
    );
    let cp = b.stdout.lines().last().unwrap_or_default().to_string();
    assert!(cp.contains(&export("a", &a1)), "{cp}");
    assert!(cp.contains(&export("b", &b_sha)), "{cp}");
    assert!(p
        .path(&format!(".kbuild/gitlibs/my/a/{a1}/src/lib/a.clj"))
        .is_file());
    let exported = calls(&log);
    assert!(exported.iter().any(|c| c.contains("clone")), "{exported:?}");

    // Commands that build nothing read the project with its exported trees, running no git.
    let b = run(&["graph"]);
    assert!(
        b.ok() && b.stdout.contains(&format!("\"{git_b}\"")) && b.stdout.contains("\"local-b\""),
        "{}{}",
        b.stdout,
        b.stderr
    );
    assert_eq!(calls(&log), exported, "kbuild graph ran git");

    let alias = p.path(&format!(".kbuild/gitlibs/my/a/{a1}/src/lib/alias.clj"));
    assert!(std::fs::symlink_metadata(&alias).unwrap().is_file());
    assert_eq!(std::fs::read_to_string(&alias).unwrap(), "(ns lib.a)\n");

    // A no-op build runs no git at all, and finds the export as it left it.
    let b = run(&["--json", "classpath"]);
    assert!(b.ok(), "{}", b.stderr);
    assert!(b.executed().is_empty(), "{:?}", b.executed());
    assert_eq!(b.stdout.lines().last().unwrap_or_default(), cp);
    assert_eq!(calls(&log), exported, "a no-op build ran git");
    let b = run(&["explain", &git_a1]);
    assert!(
        b.stdout.contains("git-lib): up to date"),
        "{}{}",
        b.stdout,
        b.stderr
    );

    // Another checkout sharing the machine-wide cache restores the trees from it: offline,
    // with no mirror, no git.
    let other = p.second_checkout();
    let empty = tempfile::tempdir().unwrap();
    let b = Build::from(
        other
            .command(&["--offline", "--json", "classpath"])
            .env("PATH", &path)
            .env("GITLIBS", empty.path())
            .output()
            .unwrap(),
    );
    assert!(b.ok(), "{}", b.stderr);
    assert!(b.executed().is_empty(), "{:?}", b.executed());
    assert!(other
        .path(&format!(".kbuild/gitlibs/my/b/{b_sha}/src/lib/b.clj"))
        .is_file());
    assert_eq!(calls(&log), exported, "the second checkout ran git");

    // A lost export is the step's product, restored from the store: offline, no git.
    std::fs::remove_dir_all(p.path(".kbuild/gitlibs")).unwrap();
    let b = run(&["--offline", "--json", "classpath"]);
    assert!(b.ok(), "{}", b.stderr);
    assert_eq!(b.stdout.lines().last().unwrap_or_default(), cp);
    assert!(p
        .path(&format!(".kbuild/gitlibs/my/a/{a1}/src/lib/a.clj"))
        .is_file());
    assert_eq!(calls(&log), exported, "restoring an export ran git");

    // A :git/sha edit exports the new commit; its deps.edn no longer names my/b.
    project(&a2);
    let b = run(&["--json", "classpath"]);
    assert!(b.ok(), "{}", b.stderr);
    assert!(
        b.executed().contains(&format!("git:my/a@{a2}")),
        "{:?}",
        b.executed()
    );
    let cp2 = b.stdout.lines().last().unwrap_or_default().to_string();
    assert!(cp2.contains(&export("a", &a2)), "{cp2}");
    assert!(!cp2.contains("/my/b/") && !cp2.contains(&a1), "{cp2}");
    assert!(p
        .path(&format!(".kbuild/gitlibs/my/a/{a2}/src/lib/a2.clj"))
        .is_file());
    let moved = calls(&log);
    assert!(moved.len() > exported.len(), "{moved:?}");

    // And back: both commits' steps are up to date, so no git runs.
    project(&a1);
    let b = run(&["--json", "classpath"]);
    assert!(b.ok(), "{}", b.stderr);
    assert_eq!(b.stdout.lines().last().unwrap_or_default(), cp);
    assert_eq!(calls(&log), moved, "returning to a built commit ran git");
}
