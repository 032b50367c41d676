//! Leiningen cross-check: for each fixture case, `lein classpath` (which uses Maven's resolver
//! through pomegranate) must list the same files, in the same order, as this crate resolves.

mod support;

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

use kbuild_resolvers::{resolve, Dependency, Scope};
use support::{config, runtime, Case, Server};

fn have_lein() -> bool {
    Command::new("lein")
        .arg("version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn lein_dep(d: &Dependency) -> String {
    let c = &d.coord;
    let mut s = format!("[{}/{} \"{}\"", c.group, c.artifact, c.version);
    if !c.classifier.is_empty() {
        s += &format!(" :classifier \"{}\"", c.classifier);
    }
    if c.extension != "jar" {
        s += &format!(" :extension \"{}\"", c.extension);
    }
    if d.scope != Scope::Compile {
        s += &format!(" :scope \"{}\"", d.scope);
    }
    if d.optional {
        s += " :optional true";
    }
    if !d.exclusions.is_empty() {
        let ex: Vec<String> = d
            .exclusions
            .iter()
            .map(|e| format!("[{}/{}]", e.group, e.artifact))
            .collect();
        s += &format!(" :exclusions [{}]", ex.join(" "));
    }
    s + "]"
}

fn lein_classpath(url: &str, case: &Case, work: &Path) -> Result<Vec<String>, String> {
    let m2 = work.join("lein-m2");
    let deps: Vec<String> = case.roots.iter().map(lein_dep).collect();
    let managed: Vec<String> = case.managed.iter().map(lein_dep).collect();
    // Leiningen refuses plain http; re-registering the wagon is the documented escape hatch.
    let project = format!(
        "(require 'cemerick.pomegranate.aether)\n\
         (cemerick.pomegranate.aether/register-wagon-factory! \"http\" #(org.apache.maven.wagon.providers.http.HttpWagon.))\n\
         (defproject kbt/root \"1\"\n  :dependencies [{}]\n  :managed-dependencies [{}]\n  \
         :repositories ^:replace [[\"kbt\" {{:url \"{url}\" :snapshots true}}]]\n  :local-repo \"{}\")\n",
        deps.join(" "),
        managed.join(" "),
        m2.display()
    );
    std::fs::write(work.join("project.clj"), project).map_err(|e| e.to_string())?;
    let out = Command::new("lein")
        .current_dir(work)
        .args(["with-profile", "-base,-dev,-user", "classpath"])
        .env("LEIN_JVM_OPTS", "-XX:TieredStopAtLevel=1")
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!(
            "lein failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .take(3)
                .collect::<Vec<_>>()
                .join(" | ")
        ));
    }
    let line = stdout.lines().last().unwrap_or("");
    let prefix = format!("{}/", m2.display());
    Ok(line
        .split(':')
        .filter_map(|p| p.strip_prefix(&prefix))
        .map(str::to_string)
        .collect())
}

#[test]
fn lein_classpath_matches() {
    if !have_lein() {
        eprintln!("SKIPPED: lein is not installed");
        return;
    }
    let started = Instant::now();
    // Root BOM imports have no Leiningen spelling.
    let queue = Mutex::new(
        Case::all()
            .into_iter()
            .map(|n| Case::load(&n))
            .filter(|c| c.managed.iter().all(|m| m.scope != Scope::Import))
            // Pomegranate does not give profile activation the environment as `env.*`
            // properties, as mvn does; this crate follows mvn.
            .filter(|c| c.name != "profile-environment-activation")
            .collect::<Vec<_>>(),
    );
    let failures = Mutex::new(Vec::new());
    let count = Mutex::new(0usize);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let Some(case) = queue.lock().unwrap().pop() else {
                    break;
                };
                *count.lock().unwrap() += 1;
                let work = tempfile::tempdir().unwrap();
                let server = Server::start(&case.repo);
                let local = work.path().join("kb-local");
                let ours = runtime()
                    .block_on(resolve(
                        &config(&[&server.url], &local),
                        &case.roots,
                        &case.managed,
                    ))
                    .map(|r| {
                        kbuild_resolvers::leiningen_order(&r.artifacts)
                            .into_iter()
                            .map(|i| &r.artifacts[i])
                            // Leiningen leaves `pom`-type artifacts off the classpath.
                            .filter(|a| a.coord.extension != "pom")
                            .filter_map(|a| {
                                a.file
                                    .strip_prefix(&local)
                                    .ok()
                                    .map(|p| p.display().to_string())
                            })
                            .collect::<Vec<_>>()
                    });
                let theirs = lein_classpath(&server.url, &case, work.path());
                match (ours, theirs) {
                    (Ok(a), Ok(b)) if a == b => {
                        eprintln!("ok   {:45} {} files", case.name, a.len())
                    }
                    (a, b) => {
                        eprintln!("FAIL {}:\n  kbuild: {a:?}\n  lein:   {b:?}", case.name);
                        failures.lock().unwrap().push(case.name.clone());
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    let count = count.into_inner().unwrap();
    eprintln!(
        "{} of {count} cases identical to lein in {:.1}s",
        count - failures.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "differ from lein: {failures:?}");
}
