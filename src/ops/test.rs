//! `kbuild test`: run the `:test` targets (their selected namespaces); a passing run is cached
//! until something it depends on changes.

use std::sync::Arc;

use super::{build, Failure};
use crate::env::Options;
use crate::printer::Status;
use crate::project::{Project, Rule};

/// Runs the tests; returns, for each test target that did not run because nothing it depends
/// on changed, the report of its last run.
pub fn test(
    mut project: Project,
    selectors: &[String],
    json: bool,
    options: &Options,
) -> Result<Vec<(String, String)>, Failure> {
    let names = project.targets_where(|r| matches!(r, Rule::Test { .. }));
    if names.is_empty() {
        return Err(Failure::Usage(format!("{}: no :test target", project.file)));
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
        let report = session.engine.out_dir(n).join(crate::rules::TEST_REPORT);
        cached.push((
            n.clone(),
            std::fs::read_to_string(&report).unwrap_or_default(),
        ));
    }
    Ok(cached)
}
