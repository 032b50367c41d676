//! Killed builds and parallelism, with the real binary and real javac.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{outputs, set, Project};

#[test]
fn builds_killed_at_random_moments_are_followed_by_a_correct_build() {
    let reference = Project::new("mixed");
    reference.build(&[]);
    let want = outputs(reference.dir.path());
    assert_eq!(want.len(), 7);

    let p = Project::new("mixed");
    let original = p.read("src/util/u/Util.java");
    let mut seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("seed {seed}");
    for round in 0..8 {
        // Alternate sources so kills land in compiles, restores and no-ops alike.
        if round % 2 == 0 {
            p.write(
                "src/util/u/Util.java",
                &original.replace("Hello", &format!("Round {round}")),
            );
        } else {
            p.write("src/util/u/Util.java", &original);
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_millis(seed % 1800);
        let mut child = p
            .command(&["build"])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    p.write("src/util/u/Util.java", &original);
    let b = p.build(&[]);
    assert_eq!(b.failed(), set(&[]));
    assert_eq!(
        outputs(p.dir.path()),
        want,
        "products equal a clean build's"
    );
    let out = Command::new("java")
        .arg("-jar")
        .arg(p.path("target/kbuild/dist/dist.jar"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Hello, kbuild!"));
    // And the build after that has nothing left to do.
    assert!(p.build(&[]).executed().is_empty());
}

/// A JDK whose javac logs when it starts and ends, sleeping in between, then runs the real one.
fn logging_jdk(dir: &Path, log: &Path) -> std::path::PathBuf {
    let javac = fs::canonicalize(
        std::env::split_paths(&std::env::var_os("PATH").unwrap())
            .map(|d| d.join("javac"))
            .find(|p| p.is_file())
            .expect("javac on PATH"),
    )
    .unwrap();
    let real_home = javac.parent().unwrap().parent().unwrap();
    let home = dir.join("jdk");
    fs::create_dir_all(home.join("bin")).unwrap();
    let _ = fs::copy(real_home.join("release"), home.join("release"));
    let script = format!(
        "#!/bin/sh\necho start >> '{log}'\nsleep 1\n'{javac}' \"$@\"\nrc=$?\necho end >> '{log}'\nexit $rc\n",
        log = log.display(),
        javac = javac.display()
    );
    fs::write(home.join("bin/javac"), script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(home.join("bin/javac"), fs::Permissions::from_mode(0o755)).unwrap();
    home
}

#[test]
fn independent_java_libraries_compile_concurrently_with_j2_and_one_at_a_time_with_j1() {
    for (jobs, want) in [("2", "start start end end"), ("1", "start end start end")] {
        let p = Project::new("mixed");
        p.write(
            "kbuild.edn",
            r#"{:targets {one {:rule :java-library :srcs ["src/util/**/*.java"]}
                         two {:rule :java-library :srcs ["src/two/**/*.java"]}}}"#,
        );
        p.write("src/two/t/Two.java", "package t; public class Two {}\n");
        let log = p.path("javac.log");
        let home = logging_jdk(p.dir.path(), &log);
        let out = p
            // javac processes, whose starts and ends the log shows (a worker compiles inside
            // its JVM, within the same -j slots).
            .command(&["--json", "--no-worker", "-j", jobs, "build"])
            .env("JAVA_HOME", &home)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got = fs::read_to_string(&log)
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(got, want, "with -j {jobs}");
    }
}
