//! Every function reads real class files from the jars Debian ships in /usr/share/java (CI
//! installs a few hundred with Maven and Leiningen) and from the JDK's own `java.base`
//! module: every compiler, version and shape found there.

use std::io::Read;
use std::path::{Path, PathBuf};

use kbuild_classfile::{abi_digest, class_name, referenced_classes, source_file};

/// Checks up to `limit` class files of one archive; returns how many it read, and pushes a
/// line per failure.
fn check_archive(path: &Path, limit: usize, failures: &mut Vec<String>) -> usize {
    let Ok(file) = std::fs::File::open(path) else {
        return 0;
    };
    // A jmod is a zip after a 4-byte header, which the zip reader skips.
    let Ok(mut zip) = zip::ZipArchive::new(file) else {
        eprintln!("{}: not a readable zip", path.display());
        return 0;
    };
    let mut read = 0;
    for i in 0..zip.len() {
        if read == limit {
            break;
        }
        let Ok(mut entry) = zip.by_index(i) else {
            continue;
        };
        let name = entry.name().to_owned();
        if !name.ends_with(".class") || !entry.is_file() {
            continue;
        }
        let mut bytes = Vec::new();
        if entry.read_to_end(&mut bytes).is_err() {
            continue;
        }
        read += 1;
        let mut check = |what: &str, r: Result<(), kbuild_classfile::ClassError>| {
            if let Err(e) = r {
                failures.push(format!("{}!{name}: {what}: {e}", path.display()));
            }
        };
        check(
            "class_name",
            class_name(&bytes).map(|n| {
                // Multi-release jars keep versions under META-INF/versions/N/.
                let stem = name.trim_end_matches(".class");
                let stem = stem.strip_prefix("classes/").unwrap_or(stem);
                assert!(stem.ends_with(&n), "{}!{name} holds {n}", path.display());
            }),
        );
        check("abi_digest", abi_digest(&bytes).map(drop));
        check("referenced_classes", referenced_classes(&bytes).map(drop));
        check("source_file", source_file(&bytes).map(drop));
    }
    read
}

#[test]
fn class_files_of_real_jars_parse() {
    let mut jars: Vec<PathBuf> = std::fs::read_dir("/usr/share/java")
        .map(|d| {
            d.filter_map(|e| e.ok()?.path().canonicalize().ok())
                .filter(|p| p.extension().is_some_and(|e| e == "jar"))
                .collect()
        })
        .unwrap_or_default();
    jars.sort();
    jars.dedup();
    let mut failures = Vec::new();
    let mut classes = 0;
    for jar in &jars {
        classes += check_archive(jar, 40, &mut failures);
    }
    eprintln!("{classes} classes from {} jars", jars.len());
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        classes >= 300,
        "only {classes} classes found under /usr/share/java"
    );
}

#[test]
fn class_files_of_the_jdk_parse() {
    // The JDK whose javac is on PATH (.ci/run installs openjdk-17-jdk-headless).
    let javac = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("javac"))
        .find(|p| p.is_file())
        .expect("javac on PATH");
    let home = std::fs::canonicalize(javac).unwrap();
    let home = home.parent().unwrap().parent().unwrap();
    let jmod = &home.join("jmods/java.base.jmod");
    assert!(jmod.exists(), "{} is part of the JDK", jmod.display());
    let mut failures = Vec::new();
    let classes = check_archive(jmod, usize::MAX, &mut failures);
    eprintln!("{classes} classes from {}", jmod.display());
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(classes > 1000);
}
