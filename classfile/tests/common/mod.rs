//! Compiling Java sources with the real javac for the tests. One JVM compiles a whole batch
//! through `javax.tools` (the same compiler as the `javac` command): starting javac once
//! per source variant would dominate the tests' time.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Class files by internal name (`p/Api$Nested`).
pub type Classes = BTreeMap<String, Vec<u8>>;

/// One compilation: `javac --release release options.. sources..`.
pub struct Job<'a> {
    pub release: &'a str,
    pub options: &'a [&'a str],
    /// (path under the source root, text)
    pub sources: Vec<(&'a str, String)>,
}

impl<'a> Job<'a> {
    pub fn new(release: &'a str, sources: &[(&'a str, &str)]) -> Self {
        Job {
            release,
            options: &[],
            sources: sources.iter().map(|(p, t)| (*p, t.to_string())).collect(),
        }
    }
}

const BATCH: &str = r#"
import java.nio.file.*;
import java.util.*;
import java.util.stream.*;
import javax.tools.*;

public class Batch {
    public static void main(String[] args) throws Exception {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        int failed = 0;
        for (String job : args) {
            Path dir = Paths.get(job);
            List<String> all = new ArrayList<>(Files.readAllLines(dir.resolve("options")));
            all.add("-d");
            all.add(dir.resolve("out").toString());
            try (Stream<Path> files = Files.walk(dir.resolve("src"))) {
                files.filter(p -> p.toString().endsWith(".java")).forEach(p -> all.add(p.toString()));
            }
            if (javac.run(null, null, null, all.toArray(new String[0])) != 0) {
                System.err.println("javac failed for " + job);
                failed++;
            }
        }
        System.exit(failed == 0 ? 0 : 1);
    }
}
"#;

/// Compiles every job with the JDK whose `bin/` holds `java` (`None`: the `java` on PATH);
/// panics with javac's messages if any fails.
pub fn compile_jobs(jdk_bin: Option<&Path>, jobs: &[Job<'_>]) -> Vec<Classes> {
    let dir = tempfile::tempdir().unwrap();
    let batch = dir.path().join("Batch.java");
    std::fs::write(&batch, BATCH).unwrap();
    let mut dirs = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        let jd = dir.path().join(format!("job{i}"));
        for (path, text) in &job.sources {
            let file = jd.join("src").join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, text).unwrap();
        }
        let mut options = vec!["--release", job.release, "-nowarn"];
        options.extend(job.options);
        std::fs::write(jd.join("options"), options.join("\n") + "\n").unwrap();
        dirs.push(jd);
    }
    let java = jdk_bin.map_or_else(|| PathBuf::from("java"), |b| b.join("java"));
    let output = Command::new(&java)
        .args(["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"])
        .arg(&batch)
        .args(&dirs)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e} (the tests need a JDK)", java.display()));
    assert!(
        output.status.success(),
        "javac failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    dirs.iter()
        .map(|d| {
            let mut classes = Classes::new();
            let out = d.join("out");
            collect(&out, &out, &mut classes);
            classes
        })
        .collect()
}

pub fn compile(release: &str, sources: &[(&str, &str)]) -> Classes {
    compile_jobs(None, &[Job::new(release, sources)])
        .pop()
        .unwrap()
}

fn collect(root: &Path, dir: &Path, into: &mut Classes) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(root, &path, into);
        } else if path.extension().is_some_and(|e| e == "class") {
            let rel = path.strip_prefix(root).unwrap().with_extension("");
            let name = rel
                .to_str()
                .unwrap()
                .replace(std::path::MAIN_SEPARATOR, "/");
            into.insert(name, std::fs::read(&path).unwrap());
        }
    }
}

/// Every public function succeeds on `bytes`, and `class_name` is `name`.
pub fn check_all(name: &str, bytes: &[u8]) {
    assert_eq!(kbuild_classfile::class_name(bytes).unwrap(), name);
    kbuild_classfile::abi_digest(bytes).unwrap_or_else(|e| panic!("{name}: abi_digest: {e}"));
    kbuild_classfile::referenced_classes(bytes)
        .unwrap_or_else(|e| panic!("{name}: referenced_classes: {e}"));
    kbuild_classfile::source_file(bytes).unwrap_or_else(|e| panic!("{name}: source_file: {e}"));
    kbuild_classfile::supertypes(bytes).unwrap_or_else(|e| panic!("{name}: supertypes: {e}"));
    kbuild_classfile::constant_fields(bytes)
        .unwrap_or_else(|e| panic!("{name}: constant_fields: {e}"));
}
