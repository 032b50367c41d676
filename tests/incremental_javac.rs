//! Incremental compilation inside a `java-library`: after an edit, javac compiles only the
//! changed sources and those their ABI changes reach, against the previous output, and the
//! product equals a clean full compile byte for byte.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::Project;
use proptest::prelude::*;

const EDN: &str = r#"{:targets {lib {:rule :java-library :srcs ["src/**/*.java"]}}}"#;

/// The project with no sources but its build file.
fn empty_project() -> Project {
    let p = Project::new("mixed");
    for dir in ["src", "resources", "gen"] {
        std::fs::remove_dir_all(p.path(dir)).unwrap();
    }
    p.write("kbuild.edn", EDN);
    p
}

fn explain(p: &Project) -> String {
    let out = p.run(&["explain", "lib"]);
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The product's files, by path.
fn product(p: &Project) -> BTreeMap<String, Vec<u8>> {
    common::outputs(p.dir.path())
        .into_iter()
        .filter_map(|(path, bytes)| Some((path.strip_prefix("lib/")?.to_string(), bytes)))
        .collect()
}

/// Twenty files in a chain of calls; `F0` also holds constants, which `F3` and `F5` use.
fn twenty() -> Project {
    let p = empty_project();
    p.write(
        "src/g/F0.java",
        "package g;\nclass C0 {\n    static final int K = 1;\n    static final int K2 = 1;\n    static int m(int x) { return x + K; }\n    static class In { int f() { return 2; } }\n}\n",
    );
    p.write(
        "src/g/F3.java",
        "package g;\nclass C3 {\n    static int m(int x) { return x + C0.K; }\n}\n",
    );
    p.write(
        "src/g/F5.java",
        "package g;\nclass C5 {\n    static final int K5 = C0.K2 + 5;\n    static int m(int x) { return x + K5; }\n}\n",
    );
    for i in (1..20).filter(|i| *i != 3 && *i != 5) {
        p.write(
            &format!("src/g/F{i}.java"),
            &format!(
                "package g;\nclass C{i} {{\n    static int m(int x) {{ return C{}.m(x) + {i}; }}\n}}\n",
                i - 1
            ),
        );
    }
    p
}

#[test]
fn a_body_edit_in_one_of_twenty_files_compiles_that_file_alone() {
    let p = twenty();
    p.build(&[]);
    assert!(explain(&p).contains("javac compiled all 20 sources: no previous output"));

    // What it keeps of its previous output is linked into the new one, not written again;
    // a file there that no longer holds the product's bytes is written from the store.
    use std::os::unix::fs::MetadataExt;
    let ino = |rel: &str| std::fs::metadata(p.path(rel)).unwrap().ino();
    let kept = ino("target/kbuild/lib/g/C3.class");
    let tampered = "target/kbuild/lib/g/C4.class";
    let c4 = p.bytes(tampered);
    std::fs::write(p.path(tampered), b"not a class").unwrap();
    p.edit("src/g/F7.java", "+ 7;", "+ 70;");
    p.build(&[]);
    let why = explain(&p);
    assert!(
        why.contains("javac compiled 1 of 20 sources, incrementally"),
        "{why}"
    );
    assert_eq!(
        ino("target/kbuild/lib/g/C3.class"),
        kept,
        "linked, not rewritten"
    );
    assert_eq!(p.bytes(tampered), c4);
    let incremental = product(&p);

    // A signature change reaches the one class that calls it.
    p.edit(
        "src/g/F7.java",
        "static int m(int x)",
        "static int m(int x, int... more)",
    );
    p.build(&[]);
    let why = explain(&p);
    assert!(
        why.contains("javac compiled 2 of 20 sources, incrementally"),
        "{why}"
    );
    // A constant's users: C1 calls C0, and C3 and C5 use its constants (javac inlines them,
    // and keeps a reference to C0 in their constant pools; their sources name them too).
    p.edit("src/g/F0.java", "K = 1", "K = 2");
    p.build(&[]);
    let why = explain(&p);
    assert!(
        why.contains("javac compiled 4 of 20 sources, incrementally"),
        "{why}"
    );
    // C5's own constant follows K2, and whatever used C5's may have been compiled first.
    p.edit("src/g/F0.java", "K2 = 1", "K2 = 2");
    p.build(&[]);
    let why = explain(&p);
    assert!(
        why.contains("javac compiled all 20 sources: the ABI of g/C5 changed"),
        "{why}"
    );

    // The incremental product was a clean build's.
    p.edit("src/g/F0.java", "K2 = 2", "K2 = 1");
    p.edit("src/g/F0.java", "K = 2", "K = 1");
    p.edit(
        "src/g/F7.java",
        "static int m(int x, int... more)",
        "static int m(int x)",
    );
    let clean = empty_project();
    common::copy_dir(&p.path("src"), &clean.path("src"));
    clean.build(&[]);
    assert!(explain(&clean).contains("javac compiled all 20 sources: no previous output"));
    assert_eq!(product(&clean), incremental);
}

#[test]
fn a_compile_error_in_an_incremental_pass_is_reported_as_a_full_compile_reports_it() {
    let p = twenty();
    p.build(&[]);
    // C2 calls C1.m, now gone: javac names C2's line, which the changed file does not hold.
    p.edit(
        "src/g/F1.java",
        "static int m(int x)",
        "static int n(int x)",
    );
    let b = p.build_raw(&[]);
    assert_eq!(b.code, Some(1), "{}", b.stderr);
    assert!(b.stderr.contains("src/g/F2.java:3: error"), "{}", b.stderr);
    p.edit(
        "src/g/F1.java",
        "static int n(int x)",
        "static int m(int x)",
    );
    p.edit("src/g/F1.java", "+ 1;", "+ 10;");
    p.build(&[]);
    // The failed build left the last product as the base: this one is incremental again.
    let why = explain(&p);
    assert!(
        why.contains("javac compiled 1 of 20 sources, incrementally"),
        "{why}"
    );
}

// The randomized walk: a model of a package of classes spread over files, edited at random;
// its sources are rendered from the model, so every state compiles.

#[derive(Clone, Debug)]
struct Class {
    name: String,
    file: usize,
    k: i32,
    private_k: i32,
    body: i32,
    /// `static int sig(int)` (false) or `static long sig(int)` (true), or none.
    sig: Option<bool>,
    inner: bool,
    anonymous: bool,
    lambda: bool,
    switch: bool,
    base: Option<String>,
    calls: Vec<String>,
    sig_calls: Vec<String>,
    inner_uses: Vec<String>,
}

#[derive(Clone, Debug)]
struct Model {
    classes: Vec<Class>,
    /// Each file's blank lines at the top (an edit that only moves lines).
    files: BTreeMap<usize, usize>,
    next: usize,
}

/// One random edit, as numbers the model reads modulo what it has.
#[derive(Clone, Debug)]
struct Edit {
    kind: u8,
    a: usize,
    b: usize,
    v: i32,
}

impl Model {
    fn new() -> Model {
        let mut m = Model {
            classes: Vec::new(),
            files: BTreeMap::new(),
            next: 0,
        };
        for i in 0..24 {
            let file = i * 2 / 3;
            m.files.insert(file, 0);
            let mut c = m.fresh(file);
            c.calls = (0..i % 3)
                .map(|j| format!("A{}", (i * 7 + j) % 24))
                .collect();
            c.sig = (i % 4 != 0).then_some(i % 2 == 0);
            c.inner = i % 5 == 0;
            c.base = (i % 6 == 5).then(|| format!("A{}", i - 3));
            c.sig_calls = vec![format!("A{}", (i + 5) % 24)];
            c.inner_uses = vec![format!("A{}", (i / 5) * 5)];
            m.classes.push(c);
        }
        m
    }

    fn fresh(&mut self, file: usize) -> Class {
        let name = format!("A{}", self.next);
        self.next += 1;
        Class {
            name,
            file,
            k: 1,
            private_k: 1,
            body: 0,
            sig: None,
            inner: false,
            anonymous: false,
            lambda: false,
            switch: false,
            base: None,
            calls: Vec::new(),
            sig_calls: Vec::new(),
            inner_uses: Vec::new(),
        }
    }

    fn get(&self, name: &str) -> Option<&Class> {
        self.classes.iter().find(|c| c.name == name)
    }

    /// The class `c` extends, as rendered: none when its base is missing or `c` is on a
    /// cycle of bases.
    fn base_of(&self, c: &Class) -> Option<&Class> {
        let base = self.get(c.base.as_deref()?)?;
        let mut seen = BTreeSet::new();
        let mut cur = base;
        loop {
            if cur.name == c.name {
                return None;
            }
            match cur.base.as_deref().and_then(|b| self.get(b)) {
                Some(next) if seen.insert(next.name.clone()) => cur = next,
                _ => return Some(base),
            }
        }
    }

    /// The classes above `c`, nearest first, as rendered.
    fn ancestors(&self, c: &Class) -> Vec<&Class> {
        let mut out = Vec::new();
        let mut cur = c;
        while let Some(base) = self.base_of(cur) {
            out.push(base);
            cur = base;
        }
        out
    }

    /// Whether `c` declares `sig`: only the topmost class with one does, since a static
    /// method may not hide another of a different return type.
    fn declares_sig(&self, c: &Class) -> bool {
        c.sig.is_some() && self.ancestors(c).iter().all(|a| a.sig.is_none())
    }

    fn has_sig(&self, c: &Class) -> bool {
        c.sig.is_some() || self.ancestors(c).iter().any(|a| a.sig.is_some())
    }

    fn has_inner(&self, c: &Class) -> bool {
        c.inner || self.ancestors(c).iter().any(|a| a.inner)
    }

    fn render_class(&self, c: &Class, out: &mut String) {
        let extends = self
            .base_of(c)
            .map(|b| format!(" extends {}", b.name))
            .unwrap_or_default();
        let _ = writeln!(out, "class {}{extends} {{", c.name);
        // Each class's constant has a name of its own: a source that inlines it names it.
        let _ = writeln!(out, "    static final int K{} = {};", c.name, c.k);
        let _ = writeln!(out, "    private static final int P = {};", c.private_k);
        let _ = writeln!(out, "    static int m(int x) {{");
        let _ = writeln!(out, "        int y = x + {} + P;", c.body);
        let _ = writeln!(out, "        long z = 0;");
        for t in c.calls.iter().filter_map(|t| self.get(t)) {
            let _ = writeln!(out, "        y += {0}.m(x) + {0}.K{0};", t.name);
        }
        for t in c.sig_calls.iter().filter_map(|t| self.get(t)) {
            if self.has_sig(t) {
                let _ = writeln!(out, "        z += {}.sig(y);", t.name);
            }
        }
        for t in c.inner_uses.iter().filter_map(|t| self.get(t)) {
            if self.has_inner(t) {
                let _ = writeln!(out, "        y += new {}.In().f();", t.name);
            }
        }
        if c.anonymous {
            let _ = writeln!(
                out,
                "        Runnable r = new Runnable() {{ public void run() {{ System.out.println(K{}); }} }};\n        r.run();",
                c.name
            );
        }
        if c.lambda {
            let _ = writeln!(
                out,
                "        java.util.function.IntUnaryOperator op = v -> v * P;\n        y += op.applyAsInt(y);"
            );
        }
        if c.switch {
            let _ = writeln!(
                out,
                "        switch (java.util.concurrent.TimeUnit.values()[x & 3]) {{ case SECONDS: y++; break; default: y--; }}"
            );
        }
        let _ = writeln!(out, "        return y + (int) z;");
        let _ = writeln!(out, "    }}");
        if self.declares_sig(c) {
            let ty = if c.sig == Some(true) { "long" } else { "int" };
            let _ = writeln!(out, "    static {ty} sig(int x) {{ return x * 2; }}");
        }
        if c.inner {
            let _ = writeln!(
                out,
                "    static class In {{ int f() {{ return K{} + {}; }} }}",
                c.name, c.body
            );
        }
        let _ = writeln!(out, "}}");
    }

    /// Every source file, by its path in the project.
    fn render(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (file, blank) in &self.files {
            let mut text = "\n".repeat(*blank);
            text.push_str("package g;\n");
            let mut classes: Vec<&Class> =
                self.classes.iter().filter(|c| c.file == *file).collect();
            classes.sort_by(|a, b| a.name.cmp(&b.name));
            for c in classes {
                self.render_class(c, &mut text);
            }
            out.insert(format!("src/g/F{file}.java"), text);
        }
        out
    }

    fn new_file(&mut self) -> usize {
        let file = self.files.keys().last().map_or(0, |f| f + 1);
        self.files.insert(file, 0);
        file
    }

    /// A file for a class to go to: one that exists, or (one time in four) a new one.
    fn some_file(&mut self, b: usize) -> usize {
        if b % 4 == 0 || self.files.is_empty() {
            return self.new_file();
        }
        *self.files.keys().nth(b % self.files.len()).unwrap()
    }

    fn apply(&mut self, e: &Edit) {
        if self.classes.len() < 4 {
            let file = self.some_file(e.b);
            let c = self.fresh(file);
            self.classes.push(c);
            return;
        }
        let n = self.classes.len();
        let i = e.a % n;
        let other = self.classes[e.b % n].name.clone();
        let c = &mut self.classes[i];
        match e.kind {
            0..=5 => c.body = e.v,
            6 => c.k = e.v,
            7 => c.private_k = e.v,
            8 | 9 => {
                c.sig = match (c.sig, e.v % 3) {
                    (None, _) => Some(e.v % 2 == 0),
                    (Some(_), 0) => None,
                    (Some(long), _) => Some(!long),
                }
            }
            10 => c.inner = !c.inner,
            11 => c.anonymous = !c.anonymous,
            12 => c.lambda = !c.lambda,
            13 => c.switch = !c.switch,
            14 => match e.v % 3 {
                0 => c.calls.push(other),
                1 => c.sig_calls.push(other),
                _ => c.inner_uses.push(other),
            },
            15 => {
                let all = [&mut c.calls, &mut c.sig_calls, &mut c.inner_uses];
                let list = all.into_iter().nth((e.v % 3) as usize).unwrap();
                if !list.is_empty() {
                    list.remove(e.b % list.len());
                }
            }
            16 => c.base = (e.v % 3 != 0).then_some(other),
            17 => {
                let file = self.some_file(e.b);
                let c = self.fresh(file);
                self.classes.push(c);
            }
            18 => {
                self.classes.remove(i);
            }
            19 => {
                // A rename, with every use of the class following it.
                let old = c.name.clone();
                let new = format!("A{}", self.next);
                self.next += 1;
                for c in &mut self.classes {
                    if c.name == old {
                        c.name = new.clone();
                    }
                    for r in c
                        .calls
                        .iter_mut()
                        .chain(&mut c.sig_calls)
                        .chain(&mut c.inner_uses)
                        .chain(&mut c.base)
                    {
                        if *r == old {
                            *r = new.clone();
                        }
                    }
                }
            }
            20 => {
                let file = self.some_file(e.b);
                self.classes[i].file = file;
            }
            21 => {
                let file = c.file;
                *self.files.get_mut(&file).unwrap() = (e.v % 3) as usize;
            }
            _ => {
                // Every class of one file moves to another.
                let from = c.file;
                let to = self.some_file(e.b);
                for c in self.classes.iter_mut().filter(|c| c.file == from) {
                    c.file = to;
                }
            }
        }
        // A file left without classes is deleted.
        let used: BTreeSet<usize> = self.classes.iter().map(|c| c.file).collect();
        self.files.retain(|f, _| used.contains(f));
    }
}

fn edit() -> impl Strategy<Value = Edit> {
    (0u8..23, any::<usize>(), any::<usize>(), 0i32..100).prop_map(|(kind, a, b, v)| Edit {
        kind,
        a,
        b,
        v,
    })
}

/// Puts the rendered sources on disk: writes what changed, deletes what went.
fn sync(p: &Project, was: &BTreeMap<String, String>, now: &BTreeMap<String, String>) {
    for (path, text) in now {
        if was.get(path) != Some(text) {
            p.write(path, text);
        }
    }
    for path in was.keys().filter(|k| !now.contains_key(*k)) {
        std::fs::remove_file(p.path(path)).unwrap();
    }
}

/// Compiles each set of sources from scratch, as kbuild's full compile does (`javac -d out
/// -implicit:none -sourcepath "" FILES`), all in one JVM through `javax.tools`: the same
/// compiler as the `javac` command, without a JVM start per state. Each result is the
/// output's files by path.
fn clean_compiles(states: &[BTreeMap<String, String>]) -> Vec<BTreeMap<String, Vec<u8>>> {
    const BATCH: &str = r#"
import java.nio.file.*;
import java.util.*;
import javax.tools.*;

public class Batch {
    public static void main(String[] jobs) throws Exception {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        for (String job : jobs) {
            Path dir = Paths.get(job);
            List<String> args = new ArrayList<>(List.of("-d", dir.resolve("out").toString(),
                "-implicit:none", "-sourcepath", ""));
            args.addAll(Files.readAllLines(dir.resolve("files")));
            if (javac.run(null, null, null, args.toArray(new String[0])) != 0) {
                System.err.println("javac failed for " + job);
                System.exit(1);
            }
        }
    }
}
"#;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Batch.java"), BATCH).unwrap();
    let mut jobs = Vec::new();
    for (i, state) in states.iter().enumerate() {
        let job = dir.path().join(format!("job{i}"));
        let mut files = Vec::new();
        for (path, text) in state {
            let file = job.join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, text).unwrap();
            files.push(file.to_string_lossy().into_owned());
        }
        std::fs::create_dir_all(job.join("out")).unwrap();
        std::fs::write(job.join("files"), files.join("\n") + "\n").unwrap();
        jobs.push(job);
    }
    // The JDK kbuild uses: $JAVA_HOME's, else the one on PATH.
    let java = std::env::var_os("JAVA_HOME")
        .map(|h| PathBuf::from(h).join("bin/java"))
        .unwrap_or_else(|| PathBuf::from("java"));
    let out = Command::new(java)
        .args(["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"])
        .arg(dir.path().join("Batch.java"))
        .args(&jobs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    jobs.iter().map(|j| files_under(&j.join("out"))).collect()
}

fn files_under(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn render_state(state: &BTreeMap<String, String>) -> String {
    state.iter().map(|(p, t)| format!("== {p}\n{t}")).collect()
}

proptest! {
    // One walk is a few minutes of real builds: one case, and no shrinking (each attempt
    // would be another walk); a failure prints the edits and the step.
    #![proptest_config(ProptestConfig { cases: 1, max_shrink_iters: 0, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_incremental_product_equals_a_clean_compile(
        edits in proptest::collection::vec(edit(), 210),
        steps in proptest::collection::vec(2usize..=4, 105),
    ) {
        let p = empty_project();
        let mut model = Model::new();
        let mut sources = BTreeMap::new();
        let mut states = Vec::new();
        let mut products = Vec::new();
        let mut details = Vec::new();
        let mut rest = &edits[..];
        let mut cuts = steps.iter();
        loop {
            let now = model.render();
            sync(&p, &sources, &now);
            sources = now;
            let b = p.build_raw(&[]);
            prop_assert!(b.ok(), "step {}: build failed:\n{}", states.len(), b.stderr);
            let why = explain(&p);
            details.push(why.lines().last().unwrap_or_default().trim().to_string());
            states.push(sources.clone());
            products.push(product(&p));
            if rest.is_empty() {
                break;
            }
            let n = (*cuts.next().unwrap()).min(rest.len());
            for e in &rest[..n] {
                model.apply(e);
            }
            rest = &rest[n..];
        }
        let clean = clean_compiles(&states);
        for (i, (got, want)) in products.iter().zip(&clean).enumerate() {
            let differ: Vec<&String> = got
                .keys()
                .chain(want.keys())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .filter(|k| got.get(*k) != want.get(*k))
                .collect();
            prop_assert!(
                differ.is_empty(),
                "step {i} ({}): the product differs from a clean compile in {differ:?}; the sources before:\n{}\nand after:\n{}",
                details[i],
                render_state(&states[i.saturating_sub(1)]),
                render_state(&states[i])
            );
        }
        // The walk proves something only if many builds were incremental (a step that
        // changes most of a small project's sources compiles them all, rightly).
        let incremental = details.iter().filter(|d| d.contains("incrementally")).count();
        prop_assert!(
            incremental * 3 > states.len(),
            "only {incremental} of {} builds were incremental:\n{}",
            states.len(),
            details.join("\n")
        );
    }
}
