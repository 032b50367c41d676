//! `clojure-library` (source roots on the classpath, optionally compiled ahead of time) and
//! `test` (clojure.test namespaces run in one JVM; a passing outcome is cached like any
//! product, a failing one never is).

use std::fs;
use std::path::Path;

use std::collections::BTreeMap;

use kbuild_engine::{BuildError, Cause, Computed, Ctx, Hash};
use regex_lite::Regex;

use super::info::{closure_classpath, Deps, Info};
use super::test_plan;
use super::test_results::{from_junit_platform_xml, totals, write_junit_xml, Problem, Suite};
use super::{exit_text, fetch_files, run_tool};
use crate::env::Env;
use crate::inputs::{glob_key, tool_key};
use crate::project::{self, Target};

/// The namespace a Clojure source file declares: the symbol after its first `(ns`. Read
/// with the EDN reader (so metadata and comments are no trouble), without evaluating
/// anything; a file the reader rejects is scanned for `(ns name` instead.
pub fn namespace_of(text: &str) -> Option<String> {
    match crate::edn::read_all(text) {
        Ok(forms) => forms.iter().find_map(|f| match &f.value {
            crate::edn::Value::List(items) if items.first()?.as_symbol() == Some("ns") => {
                items.get(1)?.as_symbol().map(str::to_string)
            }
            _ => None,
        }),
        Err(_) => scan_namespace(text),
    }
}

fn scan_namespace(text: &str) -> Option<String> {
    let mut rest = text;
    loop {
        let i = rest.find("(ns")?;
        let line_start = rest[..i].rfind('\n').map(|j| j + 1).unwrap_or(0);
        let after = &rest[i + 3..];
        let in_comment = rest[line_start..i].contains(';');
        if !in_comment && after.starts_with(|c: char| c.is_whitespace()) {
            let mut tokens = after.split_whitespace();
            let mut tok = tokens.next()?;
            while tok.starts_with('^') {
                tok = tokens.next()?;
            }
            let name: String = tok
                .chars()
                .take_while(|c| !matches!(c, ')' | '(' | '[' | '"'))
                .collect();
            return (!name.is_empty()).then_some(name);
        }
        rest = &rest[i + 3..];
    }
}

/// Everything under each path; a path that is a file (a jar) is itself an input.
pub(super) fn source_globs(paths: &[String]) -> Vec<String> {
    paths
        .iter()
        .flat_map(|p| [p.clone(), format!("{p}/**")])
        .collect()
}

fn is_clojure(path: &str) -> bool {
    path.ends_with(".clj") || path.ends_with(".cljc")
}

/// What a Clojure rule read: its source files, their digest as one, its direct dependencies,
/// and every target below it with its value.
struct Sources {
    jdk: Hash,
    files: Vec<String>,
    values: Vec<Computed>,
    digest: Hash,
    deps: Deps,
    closure: Vec<(String, Computed)>,
}

/// Fetches the JDK, the sources under `paths`, the direct dependencies and everything below.
async fn inputs(env: &Env, ctx: &Ctx, paths: &[String]) -> Result<Sources, BuildError> {
    // The dependencies first: one may be a prep task that writes into these paths.
    let deps = Deps::fetch(ctx).await?;
    let got = ctx
        .fetch_all(vec![tool_key("javac"), glob_key(&source_globs(paths))])
        .await?;
    let closure = deps.fetch_closure(ctx).await?;
    let files = got[1].files().to_vec();
    let values = fetch_files(env, ctx, &files, false).await?;
    // Used from source, the library is its sources: its users must see them change.
    let mut bytes = got[1].hash.0.to_vec();
    for v in &values {
        bytes.extend_from_slice(&v.hash.0);
    }
    Ok(Sources {
        jdk: got[0].hash,
        files,
        values,
        digest: Hash::of(&bytes),
        deps,
        closure,
    })
}

fn namespaces(env: &Env, files: &[String]) -> Result<Vec<String>, BuildError> {
    let mut out = Vec::new();
    for f in files.iter().filter(|f| is_clojure(f)) {
        let text = fs::read_to_string(env.root().join(f)).map_err(|e| BuildError::io(f, e))?;
        if let Some(ns) = namespace_of(&text) {
            if !out.contains(&ns) {
                out.push(ns);
            }
        }
    }
    Ok(out)
}

pub(super) fn java_classpath(
    env: &Env,
    roots: &[String],
    closure: &[(String, Computed)],
    extra: &[&Path],
) -> String {
    let mut cp: Vec<String> = extra
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    cp.extend(
        roots
            .iter()
            .map(|r| env.root().join(r).to_string_lossy().into_owned()),
    );
    for entry in closure_classpath(env, closure) {
        if !cp.contains(&entry) {
            cp.push(entry);
        }
    }
    cp.join(":")
}

async fn clojure_main(
    env: &Env,
    ctx: &Ctx,
    jvm_opts: &[String],
    cp: &str,
    script: &str,
) -> Result<std::process::Output, BuildError> {
    let java = env.jdk()?.java.clone();
    let mut args = jvm_opts.to_vec();
    args.extend([
        "-cp".to_string(),
        cp.to_string(),
        "clojure.main".to_string(),
        "-e".to_string(),
        script.to_string(),
    ]);
    run_tool(ctx, &java, &args, &[]).await
}

fn quoted(namespaces: &[String]) -> String {
    format!("'[{}]", namespaces.join(" "))
}

pub async fn library(env: &Env, ctx: &Ctx) -> Result<serde_json::Value, BuildError> {
    let target = ctx.spec::<Target>();
    let project::Rule::ClojureLibrary { paths, aot, jvm } = &target.rule else {
        return Err(ctx.fail("not a clojure-library"));
    };
    let stage = ctx.stage();
    let sources = inputs(env, ctx, paths).await?;
    let info = Info {
        sources: Some(sources.digest),
        ..sources.deps.info(ctx.target(), target)
    };
    if aot.is_empty() {
        return Ok(info.to_value());
    }
    let all = namespaces(env, &sources.files)?;
    // `*all*`, namespace names, or Leiningen's `#"regex"` entries (matched unanchored).
    let mut chosen: Vec<String> = Vec::new();
    for entry in aot {
        let picked: Vec<String> = if entry == "*all*" {
            all.clone()
        } else if let Some(pattern) = crate::project::aot_regex(entry) {
            let re =
                Regex::new(pattern).map_err(|e| ctx.fail(format!(":aot pattern {entry}: {e}")))?;
            all.iter().filter(|n| re.is_match(n)).cloned().collect()
        } else {
            vec![entry.clone()]
        };
        for n in picked {
            if !chosen.contains(&n) {
                chosen.push(n);
            }
        }
    }
    let cp = java_classpath(env, paths, &sources.closure, &[stage]);
    let script = format!(
        "{} (binding [*compile-path* {:?}] (doseq [n {}] (compile n)))",
        jvm.prelude_form(),
        stage.to_string_lossy(),
        quoted(&chosen)
    );
    let out = clojure_main(env, ctx, &jvm.opts, &cp, &script).await?;
    if !out.status.success() {
        return Err(ctx.fail(format!(
            "AOT compilation of {} failed ({})",
            chosen.join(", "),
            exit_text(out.status.code())
        )));
    }
    Ok(info.to_value())
}

/// Which namespaces a selector picks: an exact name, else a regex over names.
fn selected(all: &[String], selectors: &[String]) -> Result<Vec<String>, String> {
    if selectors.is_empty() {
        return Ok(all.to_vec());
    }
    let mut out = Vec::new();
    for s in selectors {
        let hits: Vec<&String> = if all.contains(s) {
            all.iter().filter(|n| *n == s).collect()
        } else {
            let re = Regex::new(&format!("^(?:{s})$"))
                .map_err(|e| format!("bad namespace pattern {s:?}: {e}"))?;
            all.iter().filter(|n| re.is_match(n)).collect()
        };
        if hits.is_empty() {
            return Err(format!("no test namespace matches {s:?}"));
        }
        for h in hits {
            if !out.contains(h) {
                out.push(h.clone());
            }
        }
    }
    Ok(out)
}

pub const REPORT: &str = "test-report.txt";

/// Test classes in Maven Surefire's default sense: `Test*`, `*Test`, `*Tests`, `*TestCase`,
/// top-level classes only.
fn is_test_class(path: &str) -> Option<String> {
    let class = path.strip_suffix(".class")?;
    let simple = class.rsplit('/').next()?;
    if simple.contains('$') {
        return None;
    }
    let test = simple.starts_with("Test")
        || simple.ends_with("Test")
        || simple.ends_with("Tests")
        || simple.ends_with("TestCase");
    test.then(|| class.replace('/', "."))
}

/// Narrows namespaces and classes to the selectors; a selector that matches nothing is an error.
fn select_both(
    nses: &[String],
    classes: &[String],
    selectors: &[String],
) -> Result<(Vec<String>, Vec<String>), String> {
    if selectors.is_empty() {
        return Ok((nses.to_vec(), classes.to_vec()));
    }
    let (mut ns_out, mut class_out) = (Vec::new(), Vec::new());
    for sel in selectors {
        let one = std::slice::from_ref(sel);
        let n = selected(nses, one).unwrap_or_default();
        let c = selected(classes, one).unwrap_or_default();
        if n.is_empty() && c.is_empty() {
            return selected(&[], one).map(|_| (Vec::new(), Vec::new()));
        }
        ns_out.extend(
            n.into_iter()
                .filter(|x| !ns_out.contains(x))
                .collect::<Vec<_>>(),
        );
        class_out.extend(
            c.into_iter()
                .filter(|x| !class_out.contains(x))
                .collect::<Vec<_>>(),
        );
    }
    Ok((ns_out, class_out))
}

/// `lein test`'s arguments: namespaces first, then `:selector args...` groups.
fn split_selectors(select: &[String]) -> (&[String], Vec<(&str, Vec<&str>)>) {
    let at = select
        .iter()
        .position(|a| a.starts_with(':'))
        .unwrap_or(select.len());
    let mut given: Vec<(&str, Vec<&str>)> = Vec::new();
    for a in &select[at..] {
        match a.strip_prefix(':') {
            Some(name) => given.push((name, Vec::new())),
            None => given.last_mut().expect("starts with a selector").1.push(a),
        }
    }
    (&select[..at], given)
}

/// Leiningen's built-in selectors, which a project's `:test-selectors` may override.
const BUILTIN_SELECTORS: [(&str, &str); 2] = [
    ("all", "(constantly true)"),
    (
        "only",
        "[(fn [ns & vars] ((set (for [v vars] (-> (str v) (.split \"/\") (first) (symbol)))) ns)) \
          (fn [m & vars] (some #(let [var (str \"#'\" %)] \
                                  (if (some #{\\/} var) \
                                    (= var (-> m :leiningen.test/var str)) \
                                    (= % (ns-name (:ns m))))) \
                               vars))]",
    ),
];

/// The selectors to apply, as Clojure `[selector '(args)]` pairs: the given ones, or else the
/// project's `:default`. An unknown name is an error (lein ignores it unless all are).
fn selector_forms(
    defined: &[(String, String)],
    given: &[(&str, Vec<&str>)],
) -> Result<Vec<String>, String> {
    let lookup = |name: &str| {
        defined
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(BUILTIN_SELECTORS)
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    };
    if given.is_empty() {
        return Ok(lookup("default")
            .filter(|_| defined.iter().any(|(k, _)| k == "default"))
            .map(|f| vec![format!("[{f} '()]")])
            .unwrap_or_default());
    }
    given
        .iter()
        .map(|(name, args)| match lookup(name) {
            Some(f) => Ok(format!("[{f} '({})]", args.join(" "))),
            None => {
                let mut known: Vec<String> = defined.iter().map(|(k, _)| format!(":{k}")).collect();
                known.extend(BUILTIN_SELECTORS.map(|(k, _)| format!(":{k}")));
                Err(format!(
                    "unknown test selector :{name} (known: {}; a project.clj defines more in :test-selectors)",
                    known.join(", ")
                ))
            }
        })
        .collect()
}

/// The namespaces to run in one JVM with kbuild's runner: the `-e` forms.
fn runner_script(prelude: &str, nses: &[String], selectors: &[String], results: &Path) -> String {
    format!(
        "{prelude} (require 'clojure.test) ({runner}\n [{selectors}] {results:?} {nses})",
        runner = include_str!("test_runner.clj"),
        selectors = selectors.join(" "),
        results = results.to_string_lossy(),
        nses = quoted(nses),
    )
}

/// Where the last run's per-namespace outcomes are kept in a test target's product, for the
/// reports written from it later (`--junit-xml` when nothing changed).
pub const RESULTS: &str = "test-results.json";

/// Writes the JUnit XML reports of a test target's last outcome, from its product.
pub fn junit_from_product(out_dir: &Path, dir: &Path) -> Result<(), String> {
    let file = out_dir.join(RESULTS);
    let text = fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let suites: Vec<Suite> =
        serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    write_junit_xml(dir, &suites).map_err(|e| format!("{}: {e}", dir.display()))
}

/// Splits namespaces over `n` JVMs, longest first onto the least loaded, by their last
/// durations (an unknown one counts as the longest known).
fn shards(nses: Vec<(String, u64)>, n: usize) -> Vec<Vec<String>> {
    let longest = nses.iter().map(|(_, d)| *d).max().unwrap_or(0).max(1);
    let mut by_time: Vec<(String, u64)> = nses
        .into_iter()
        .map(|(ns, d)| (ns, if d == 0 { longest } else { d }))
        .collect();
    by_time.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut out: Vec<(u64, Vec<String>)> =
        vec![(0, Vec::new()); n.max(1).min(by_time.len().max(1))];
    for (ns, d) in by_time {
        let least = out
            .iter_mut()
            .min_by_key(|(load, _)| *load)
            .expect("n >= 1");
        least.0 += d;
        least.1.push(ns);
    }
    out.into_iter()
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
        .collect()
}

fn duration_key(target: &str, ns: &str) -> Hash {
    Hash::of(format!("duration\0{target}\0{ns}").as_bytes())
}

/// Runs namespaces in one JVM; a namespace the JVM did not report (it exited, or crashed)
/// is an error with the JVM's output.
async fn run_shard(
    env: &Env,
    ctx: &Ctx,
    jvm: &project::Jvm,
    cp: &str,
    nses: &[String],
    selectors: &[String],
    spare: Option<&Path>,
) -> Result<Vec<Suite>, BuildError> {
    let dir = tempfile::tempdir().map_err(|e| BuildError::io("a temporary directory", e))?;
    let file = dir.path().join("results.edn");
    let script = runner_script(&jvm.prelude_form(), nses, selectors, &file);
    let warm = match spare {
        Some(sock) => {
            let _slot = ctx.job_slot().await;
            ctx.reporter().running(ctx.target());
            let (sock, script) = (sock.to_path_buf(), script.clone());
            tokio::task::spawn_blocking(move || crate::warm::take(&sock, &script))
                .await
                .ok()
                .flatten()
        }
        None => None,
    };
    let (ended, output) = match warm {
        Some(text) => {
            ctx.reporter().tool_output(
                ctx.target(),
                &format!("(a warm JVM ran {})\n{text}", nses.join(" ")),
            );
            ("its spare JVM exited".to_string(), text)
        }
        None => {
            let out = clojure_main(env, ctx, &jvm.opts, cp, &script).await?;
            (exit_text(out.status.code()), output_text(&out))
        }
    };
    let got = fs::read_to_string(&file).unwrap_or_default();
    let mut suites = Suite::parse_all(&got);
    for ns in nses {
        if !suites.iter().any(|s| &s.name == ns) {
            let why = format!("the test JVM ended ({ended}) before it reported {ns}");
            suites.push(Suite {
                name: ns.clone(),
                ran: true,
                error: 1,
                out: format!("\nTesting {ns}\n\nERROR: {why}\n"),
                problems: vec![Problem {
                    error: true,
                    message: why,
                    kind: "kbuild/jvm-exit".into(),
                    text: output.clone(),
                }],
                ..Suite::default()
            });
        }
    }
    Ok(suites)
}

pub async fn test(env: &Env, ctx: &Ctx) -> Result<serde_json::Value, BuildError> {
    let target = ctx.spec::<Target>();
    let project::Rule::Test {
        paths,
        select,
        selectors: defined,
        jvm,
    } = &target.rule
    else {
        return Err(ctx.fail("not a test target"));
    };
    let stage = ctx.stage();
    let sources = inputs(env, ctx, paths).await?;
    let info = sources.deps.info(ctx.target(), target).to_value();
    let libraries = test_plan::library_files(env, ctx, &sources.closure).await?;
    let (select, given) = split_selectors(select);
    let selectors = selector_forms(defined, &given).map_err(|e| ctx.fail(e))?;
    let common = test_plan::common(sources.jdk, jvm, paths, &sources.closure);
    let mut roots: Vec<(String, test_plan::Files)> = paths
        .iter()
        .map(|root| {
            let files = sources
                .files
                .iter()
                .zip(&sources.values)
                .filter(|(f, _)| *f == root || f.starts_with(&format!("{root}/")))
                .map(|(f, v)| (f.clone(), v.clone()))
                .collect();
            (root.clone(), files)
        })
        .collect();
    roots.extend(libraries);
    let plan = test_plan::Plan::new(env, paths.len(), &roots, &common, &jvm.prelude)?;
    // `lein test` runs them in name order.
    let nses: Vec<String> = plan.tests.keys().cloned().collect();
    // JUnit classes come from the java-library targets the test target names directly.
    let mut classes = Vec::new();
    for (c, i) in sources.deps.values.iter().zip(&sources.deps.infos) {
        if i.node.kind == "java-library" {
            if let Some(p) = c.product() {
                classes.extend(p.files.keys().filter_map(|f| is_test_class(f)));
            }
        }
    }
    if nses.is_empty() && classes.is_empty() && select.is_empty() {
        // `lein test` passes with zero counts when there is nothing to run; say why too.
        let report = format!(
            "no clojure.test namespaces under {} and no JUnit test classes in its java-library deps\n\n\
             Ran 0 tests containing 0 assertions.\n0 failures, 0 errors.\n",
            if paths.is_empty() { "(no :paths)".to_string() } else { paths.join(", ") }
        );
        ctx.reporter().tool_output(ctx.target(), &report);
        fs::write(stage.join(REPORT), report).map_err(|e| BuildError::io(REPORT, e))?;
        fs::write(stage.join(RESULTS), "[]").map_err(|e| BuildError::io(RESULTS, e))?;
        return Ok(info);
    }
    let (nses, mut classes) = select_both(&nses, &classes, select).map_err(|e| ctx.fail(e))?;
    if !given.is_empty() {
        // Keyword selectors pick clojure.test vars; JUnit classes have no such metadata.
        classes.clear();
    }
    let cp = java_classpath(env, paths, &sources.closure, &[]);
    let mut report = String::new();
    let mut failed = Vec::new();
    // Each namespace's outcome from the cache when its key matches, else from a JVM.
    let mut outcomes: BTreeMap<String, (Suite, bool)> = BTreeMap::new();
    let keys: BTreeMap<&String, Hash> = nses.iter().map(|n| (n, plan.key(n, &selectors))).collect();
    let mut to_run = Vec::new();
    for ns in &nses {
        let cached = match env.options.force {
            true => None,
            false => ctx
                .recall(keys[ns])?
                .and_then(|b| serde_json::from_slice::<Suite>(&b).ok()),
        };
        match cached {
            Some(s) if s.passed() && s.name == *ns => {
                outcomes.insert(ns.clone(), (s, true));
            }
            _ => {
                let last = ctx
                    .recall(duration_key(ctx.target(), ns))?
                    .and_then(|b| String::from_utf8(b).ok()?.parse().ok())
                    .unwrap_or(0);
                to_run.push((ns.clone(), last));
            }
        }
    }
    let shards = shards(to_run, env.options.test_jvms);
    // A spare JVM on this classpath, JVM options and JDK takes the first shard.
    let java = env.jdk()?.java.clone();
    let mut warm_key = Vec::new();
    for part in [java.to_string_lossy().as_bytes(), cp.as_bytes(), &common] {
        test_plan::put(&mut warm_key, part);
    }
    let sock = crate::warm::socket(env.root(), Hash::of(&warm_key));
    // A spare would have loaded a user.clj, and what it requires, before the sources changed.
    let warm = env.options.warm && !plan.loads_user;
    let spare = warm.then_some(sock.as_path());
    let ran = futures::future::join_all(
        shards
            .iter()
            .enumerate()
            .map(|(i, s)| run_shard(env, ctx, jvm, &cp, s, &selectors, spare.filter(|_| i == 0))),
    )
    .await;
    if warm && !nses.is_empty() {
        crate::warm::spawn(&java, &jvm.opts, &cp, &sock);
    }
    for suites in ran {
        for s in suites? {
            ctx.remember(
                duration_key(ctx.target(), &s.name),
                s.micros.max(1).to_string().into_bytes(),
            );
            if s.passed() {
                if let Some(k) = keys.get(&s.name) {
                    ctx.remember(*k, serde_json::to_vec(&s).expect("results serialize"));
                }
            }
            outcomes.insert(s.name.clone(), (s, false));
        }
    }
    if !nses.is_empty() {
        let mut text = String::new();
        for (s, cached) in outcomes.values().filter(|(s, _)| s.ran) {
            match cached {
                true => text.push_str(&format!("\nTesting {} (cached)\n", s.name)),
                false => text.push_str(&s.out),
            }
        }
        text.push('\n');
        let summary = totals(
            outcomes
                .values()
                .filter(|(s, _)| s.ran)
                .map(|(s, c)| (s, *c)),
        );
        text.push_str(&summary);
        ctx.reporter().tool_output(ctx.target(), &text);
        if outcomes.values().any(|(s, _)| !s.passed()) {
            failed.push(
                summary
                    .lines()
                    .last()
                    .unwrap_or("clojure.test failed")
                    .to_string(),
            );
        }
        report.push_str(&text);
    }
    let mut suites: Vec<Suite> = outcomes.into_values().map(|(s, _)| s).collect();
    if !classes.is_empty() {
        let java = env.jdk()?.java.clone();
        let mut args = jvm.opts.clone();
        args.extend(["-cp".to_string(), cp.clone()]);
        let reports =
            tempfile::tempdir().map_err(|e| BuildError::io("a temporary directory", e))?;
        let platform = cp.contains("junit-platform-console-standalone");
        if platform {
            args.extend(
                [
                    "org.junit.platform.console.ConsoleLauncher",
                    "--disable-banner",
                    "--disable-ansi-colors",
                    "--details=tree",
                ]
                .map(String::from),
            );
            args.push(format!("--reports-dir={}", reports.path().display()));
            args.extend(classes.iter().map(|c| format!("--select-class={c}")));
        } else if cp.split(':').any(|e| {
            e.contains("/junit/junit/")
                || Path::new(e)
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("junit-4"))
        }) {
            // Launched from source (JDK 11+), to report per class what JUnitCore does not.
            let runner = reports.path().join("JUnit4Runner.java");
            fs::write(&runner, include_str!("JUnit4Runner.java"))
                .map_err(|e| BuildError::io(runner.display(), e))?;
            args.push(runner.to_string_lossy().into_owned());
            args.push(
                reports
                    .path()
                    .join("junit4.edn")
                    .to_string_lossy()
                    .into_owned(),
            );
            args.extend(classes.iter().cloned());
        } else {
            return Err(ctx.fail(format!(
                "JUnit test classes ({}) but neither JUnit 4 (junit/junit) nor the JUnit console launcher (org.junit.platform/junit-platform-console-standalone) is on the classpath",
                classes.join(", ")
            )));
        }
        let out = run_tool(ctx, &java, &args, &[]).await?;
        if platform {
            // One report per engine, every class in it.
            for entry in fs::read_dir(reports.path()).into_iter().flatten().flatten() {
                if let Ok(xml) = fs::read_to_string(entry.path()) {
                    suites.extend(from_junit_platform_xml(&xml));
                }
            }
        } else {
            let got = fs::read_to_string(reports.path().join("junit4.edn")).unwrap_or_default();
            suites.extend(Suite::parse_all(&got));
        }
        let text = output_text(&out);
        if !out.status.success() {
            let summary = text
                .lines()
                .rev()
                .find(|l| l.starts_with("Tests run:") || l.contains("tests failed"))
                .unwrap_or("JUnit failed")
                .trim_matches(|c: char| c == '[' || c == ']' || c.is_whitespace())
                .to_string();
            failed.push(summary);
        }
        report.push_str(&text);
    }
    if let Some(dir) = &env.options.junit_xml {
        write_junit_xml(dir, &suites)
            .map_err(|e| ctx.fail_as(Cause::Environment, format!("{}: {e}", dir.display())))?;
    }
    if !failed.is_empty() {
        return Err(ctx.fail(format!("tests failed: {}", failed.join("; "))));
    }
    fs::write(stage.join(REPORT), report).map_err(|e| BuildError::io(REPORT, e))?;
    let json = serde_json::to_vec(&suites).expect("results serialize");
    fs::write(stage.join(RESULTS), json).map_err(|e| BuildError::io(RESULTS, e))?;
    Ok(info)
}

fn output_text(out: &std::process::Output) -> String {
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_declared_namespace() {
        assert_eq!(
            namespace_of("(ns a.b-test\n  (:require [clojure.test :refer :all]))"),
            Some("a.b-test".into())
        );
        assert_eq!(
            namespace_of(";; (ns not.this)\n(ns ^:no-doc ^{:a 1} real.one)"),
            Some("real.one".into())
        );
        assert_eq!(namespace_of("(nsx foo)\n(ns bar)"), Some("bar".into()));
        assert_eq!(namespace_of("(defn f [])"), None);
        // Syntax the reader does not take still finds the name.
        assert_eq!(
            scan_namespace("(ns a.b)\n(def x #=(foo))"),
            Some("a.b".into())
        );
    }

    #[test]
    fn keyword_selectors_follow_the_namespaces_and_take_arguments() {
        let args: Vec<String> = [
            "a.b-test",
            "c.*",
            ":only",
            "a.b-test/x",
            "a.b-test/y",
            ":all",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (nses, given) = split_selectors(&args);
        assert_eq!(nses, ["a.b-test", "c.*"]);
        assert_eq!(
            given,
            vec![("only", vec!["a.b-test/x", "a.b-test/y"]), ("all", vec![])]
        );
        let defined = vec![("default".to_string(), "(complement :slow)".to_string())];
        assert_eq!(
            selector_forms(&defined, &[]).unwrap(),
            vec!["[(complement :slow) '()]"]
        );
        assert!(selector_forms(&[], &[]).unwrap().is_empty());
        assert_eq!(
            selector_forms(&defined, &[("all", vec![])]).unwrap(),
            vec!["[(constantly true) '()]"]
        );
        let err = selector_forms(&defined, &[("integration", vec![])]).unwrap_err();
        assert!(
            err.contains(":integration") && err.contains(":default"),
            "{err}"
        );
    }

    #[test]
    fn selectors_are_names_or_regexes() {
        let all: Vec<String> = ["a.core-test", "a.util-test", "b.thing-test"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(selected(&all, &[]).unwrap(), all);
        assert_eq!(
            selected(&all, &["a.util-test".into()]).unwrap(),
            vec!["a.util-test"]
        );
        assert_eq!(
            selected(&all, &["a\\..*".into()]).unwrap(),
            vec!["a.core-test", "a.util-test"]
        );
        assert!(selected(&all, &["c.nothing".into()])
            .unwrap_err()
            .contains("no test namespace"));
    }
}
