//! `kbuild test`: run the `:test` targets (their selected namespaces); each namespace's
//! passing outcome is cached until something it can see changes.

use std::sync::Arc;

use super::{build, Failure};
use crate::env::Options;
use crate::printer::Status;
use crate::project::{Project, Rule};

/// Runs the tests; returns, for each test target that did not run because nothing it depends
/// on changed, the report of its last run. `aliases` are the deps.edn aliases chosen, for the
/// message when there is nothing to run.
pub fn test(
    mut project: Project,
    selectors: &[String],
    aliases: &[String],
    json: bool,
    options: &Options,
) -> Result<Vec<(String, String)>, Failure> {
    let names = project.targets_where(|r| matches!(r, Rule::Test { .. }));
    if names.is_empty() {
        return Err(Failure::Usage(no_tests(&project.file, aliases)));
    }
    for n in &names {
        project
            .targets
            .get_mut(n)
            .expect("listed")
            .select(selectors);
    }
    let session = build(&Arc::new(project), &names, json, options)?;
    let mut cached = Vec::new();
    for n in &names {
        if session.engine.status(n) == Some(Status::Executed) {
            continue;
        }
        let out = session.engine.out_dir(n);
        if let Some(dir) = &options.junit_xml {
            crate::rules::junit_from_product(&out, dir).map_err(Failure::Env)?;
        }
        let report = std::fs::read_to_string(out.join(crate::rules::TEST_REPORT));
        cached.push((n.clone(), report.unwrap_or_default()));
    }
    Ok(cached)
}

/// What to pass when a project has nothing for `kbuild test` to run.
fn no_tests(file: &str, aliases: &[String]) -> String {
    if file.ends_with("deps.edn") {
        let chosen = match aliases {
            [] => "it has no :test alias".to_string(),
            a => format!("the aliases chosen (:{}) add none", a.join(" :")),
        };
        format!(
            "{file}: no test paths: {chosen}. Pass -A with an alias whose :extra-paths hold \
             the tests (kbuild -A:test test), or add one: :aliases {{:test {{:extra-paths [\"test\"]}}}}"
        )
    } else {
        format!("{file}: no target with :rule :test; add one, e.g. {{:rule :test :paths [\"test\"] :deps [...]}}")
    }
}
