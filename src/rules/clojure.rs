//! `clojure-library` (source roots on the classpath, optionally compiled ahead of time) and
//! `test` (clojure.test namespaces run in one JVM; a passing outcome is cached like any
//! product, a failing one never is).

use std::fs;
use std::path::Path;

use kbuild_engine::{BuildError, Computed, Ctx, Hash};
use regex_lite::Regex;

use super::info::{closure_classpath, Deps, Info};
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
fn source_globs(paths: &[String]) -> Vec<String> {
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
    files: Vec<String>,
    digest: Hash,
    deps: Deps,
    closure: Vec<(String, Computed)>,
}

/// Fetches the JDK, the sources under `paths`, the direct dependencies and everything below.
async fn inputs(env: &Env, ctx: &Ctx, paths: &[String]) -> Result<Sources, BuildError> {
    let got = ctx
        .fetch_all(vec![tool_key("javac"), glob_key(&source_globs(paths))])
        .await?;
    let deps = Deps::fetch(ctx).await?;
    let closure = deps.fetch_closure(ctx).await?;
    let files = got[1].files().to_vec();
    let values = fetch_files(env, ctx, &files, false).await?;
    // Used from source, the library is its sources: its users must see them change.
    let mut bytes = got[1].hash.0.to_vec();
    for v in &values {
        bytes.extend_from_slice(&v.hash.0);
    }
    Ok(Sources {
        files,
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

fn java_classpath(
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

/// The clojure.test run, as `lein test` does it: selectors first narrow namespaces (a
/// vector selector's first function), then vars (a function of the var's metadata merged
/// over its namespace's); unselected tests lose their `:test` while the suite runs. Each
/// failure or error is followed by the command that reruns just that test.
fn clojure_test_script(prelude: &str, nses: &[String], selectors: &[String]) -> String {
    format!(
        "{prelude} (require 'clojure.test) \
         (let [selectors [{selectors}] \
               var-fn (fn [f] (if (vector? f) (second f) f)) \
               nses (reduce (fn [acc [f args]] (if (vector? f) (filter #(apply (first f) % args) acc) acc)) \
                            {nses} selectors) \
               _ (apply require nses) \
               selected? (fn [v] (some (fn [[f args]] \
                                         (apply (var-fn f) (merge (-> v meta :ns meta) \
                                                                  (assoc (meta v) :leiningen.test/var v)) \
                                                args)) \
                                       selectors)) \
               chosen (if (seq selectors) \
                        (distinct (for [n nses [_ v] (ns-publics n) :when (and (:test (meta v)) (selected? v))] n)) \
                        nses) \
               skipped (when (seq selectors) (remove selected? (mapcat (comp vals ns-interns) chosen)))] \
           (doseq [v skipped] (alter-meta! v #(-> % (assoc :leiningen/skipped-test (:test %)) (dissoc :test)))) \
           (let [report clojure.test/report \
                 s (binding [clojure.test/report \
                             (fn [m] \
                               (when-let [v (and (#{{:fail :error}} (:type m)) (first clojure.test/*testing-vars*))] \
                                 (clojure.test/with-test-out \
                                   (println) \
                                   (println \"kbuild test :only\" (str (ns-name (:ns (meta v))) \"/\" (:name (meta v)))))) \
                               (report m))] \
                     (apply clojure.test/run-tests chosen))] \
             (shutdown-agents) \
             (System/exit (if (zero? (+ (:fail s 0) (:error s 0))) 0 1))))",
        selectors = selectors.join(" "),
        nses = quoted(nses),
    )
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
    let mut nses = namespaces(env, &sources.files)?;
    // `lein test` runs them in name order.
    nses.sort();
    let (select, given) = split_selectors(select);
    let selectors = selector_forms(defined, &given).map_err(|e| ctx.fail(e))?;
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
    if !nses.is_empty() {
        let script = clojure_test_script(&jvm.prelude_form(), &nses, &selectors);
        let out = clojure_main(env, ctx, &jvm.opts, &cp, &script).await?;
        let text = output_text(&out);
        if !out.status.success() {
            failed.push(
                text.lines()
                    .rev()
                    .find(|l| l.contains("failures,"))
                    .unwrap_or("clojure.test failed")
                    .trim()
                    .to_string(),
            );
        }
        report.push_str(&text);
    }
    if !classes.is_empty() {
        let java = env.jdk()?.java.clone();
        let mut args = jvm.opts.clone();
        args.extend(["-cp".to_string(), cp.clone()]);
        if cp.contains("junit-platform-console-standalone") {
            args.extend(
                [
                    "org.junit.platform.console.ConsoleLauncher",
                    "--disable-banner",
                    "--disable-ansi-colors",
                    "--details=tree",
                ]
                .map(String::from),
            );
            args.extend(classes.iter().map(|c| format!("--select-class={c}")));
        } else if cp.split(':').any(|e| {
            e.contains("/junit/junit/")
                || Path::new(e)
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("junit-4"))
        }) {
            args.push("org.junit.runner.JUnitCore".into());
            args.extend(classes.iter().cloned());
        } else {
            return Err(ctx.fail(format!(
                "JUnit test classes ({}) but neither JUnit 4 (junit/junit) nor the JUnit console launcher (org.junit.platform/junit-platform-console-standalone) is on the classpath",
                classes.join(", ")
            )));
        }
        let out = run_tool(ctx, &java, &args, &[]).await?;
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
    if !failed.is_empty() {
        return Err(ctx.fail(format!("tests failed: {}", failed.join("; "))));
    }
    fs::write(stage.join(REPORT), report).map_err(|e| BuildError::io(REPORT, e))?;
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
