//! `kbuild resolve` (coordinates given on the command line) and `kbuild deps` (the project's
//! `:maven` targets): resolve without building, and say what was chosen.

use std::sync::Arc;

use kbuild_resolvers::{Dependency, RemoteRepository, ResolverConfig, Scope};

use super::{known_targets, runtime, Failure};
use crate::env::Options;
use crate::printer::Printer;
use crate::project::{Project, Rule};
use crate::rules::maven;

/// What `kbuild resolve` was asked.
pub struct Request {
    pub repos: Vec<String>,
    pub scope: String,
    pub tree: bool,
    pub allow_http: bool,
    pub managed: Vec<String>,
    pub coords: Vec<String>,
}

/// The coordinates as the direct dependencies of an empty project, printed like
/// `mvn dependency:list` (or `:tree`).
pub fn coordinates(request: &Request, json: bool, options: &Options) -> Result<String, Failure> {
    let repositories: Vec<RemoteRepository> = request
        .repos
        .iter()
        .enumerate()
        .map(|(i, url)| RemoteRepository::new(format!("repo{}", i + 1), url))
        .collect();
    let parse =
        |line: &String| Dependency::parse_line(line).map_err(|e| Failure::Usage(e.to_string()));
    let mut roots = Vec::new();
    for c in &request.coords {
        let dep = parse(c)?;
        // --scope is the default; a coordinate's own scope= wins.
        roots.push(if c.contains("scope=") {
            dep
        } else {
            dep.with_scope(Scope::parse(&request.scope))
        });
    }
    let managed = request
        .managed
        .iter()
        .map(parse)
        .collect::<Result<Vec<_>, _>>()?;
    let mut config = maven::config(&repositories, request.allow_http, options);
    let printer = Arc::new(Printer::new(json));
    config.progress = Some(maven::progress(&printer));
    resolution(
        &config,
        &roots,
        &managed,
        request.tree,
        options.jobs,
        &printer,
    )
}

/// What the `:maven` targets (or the one named) resolve to, each under its name.
pub fn deps(
    project: &Project,
    target: Option<String>,
    tree: bool,
    json: bool,
    options: &Options,
) -> Result<String, Failure> {
    let printer = Printer::new(json);
    let names: Vec<String> = match target {
        Some(t) => {
            known_targets(project, std::slice::from_ref(&t))?;
            vec![t]
        }
        None => project.order.clone(),
    };
    let mut out = String::new();
    for name in names {
        let Rule::Maven {
            coords,
            managed,
            repositories,
            allow_http,
            newest,
            lein_order,
            ..
        } = &project.targets[&name].rule
        else {
            continue;
        };
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!("{name}:\n"));
        let mut config = maven::config(repositories, *allow_http, options);
        if *newest {
            config.mediation = kbuild_resolvers::Mediation::Newest;
        }
        config.settings_profiles = !*lein_order && !*newest;
        out.push_str(&resolution(
            &config,
            coords,
            managed,
            tree,
            options.jobs,
            &printer,
        )?);
    }
    if out.is_empty() {
        return Err(Failure::Usage(format!(
            "{}: no :maven target to resolve",
            project.file
        )));
    }
    Ok(out)
}

fn resolution(
    config: &ResolverConfig,
    roots: &[Dependency],
    managed: &[Dependency],
    tree: bool,
    jobs: usize,
    printer: &Printer,
) -> Result<String, Failure> {
    let resolution = runtime(jobs)?
        .block_on(kbuild_resolvers::resolve(config, roots, managed))
        .map_err(|e| Failure::Resolve(e.to_string()))?;
    for w in &resolution.warnings {
        printer.warn(w);
    }
    if tree {
        return Ok(kbuild_resolvers::to_tree_string(&resolution));
    }
    let mut lines = kbuild_resolvers::to_list_lines(&resolution);
    lines.sort();
    Ok(lines.iter().map(|l| format!("{l}\n")).collect())
}
