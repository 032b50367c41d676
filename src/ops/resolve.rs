//! `kbuild resolve` (coordinates given on the command line) and `kbuild deps` (the project's
//! `:maven` targets): resolve without building, and say what was chosen.

use std::sync::Arc;

use kbuild_resolvers::{Dependency, RemoteRepository, ResolverConfig, Scope};

use super::{conflicts, known_targets, runtime, Failure};
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

/// What `kbuild deps` prints for each `:maven` target.
pub enum DepsView {
    /// `mvn dependency:list`-style lines.
    List,
    /// The tree, with the versions that lost and Leiningen's conflict report.
    Tree,
    /// Every path to `group/artifact`.
    Why(String),
}

/// What the `:maven` targets (or the one named) resolve to, each under its name.
pub fn deps(
    project: &Project,
    target: Option<String>,
    view: &DepsView,
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
    let mut resolved = 0;
    let mut found = false;
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
        resolved += 1;
        let mut config = maven::config(repositories, *allow_http, options);
        if *newest {
            config.mediation = kbuild_resolvers::Mediation::Newest;
        }
        config.settings_profiles = !*lein_order && !*newest;
        let rule = config.mediation;
        let r = runtime(options.jobs)?
            .block_on(kbuild_resolvers::resolve(&config, coords, managed))
            .map_err(|e| Failure::Resolve(format!("{}: target {name}: {e}", project.file)))?;
        for w in &r.warnings {
            printer.warn(w);
        }
        if json {
            let mut v = conflicts::to_json(&name, &r, rule);
            if let DepsView::Why(ga) = view {
                v["why"] = conflicts::why(&r, ga, rule).into();
                found |= !v["why"].is_null();
            }
            out.push_str(&format!("{v}\n"));
            continue;
        }
        let body = match view {
            DepsView::List => {
                let mut lines = kbuild_resolvers::to_list_lines(&r);
                lines.sort();
                lines.iter().map(|l| format!("{l}\n")).collect()
            }
            DepsView::Tree => {
                let report = conflicts::lein_report(&r, &conflicts::conflicts(&r));
                let mut t = conflicts::tree(&r, rule);
                if !report.is_empty() {
                    t.push('\n');
                    t.push_str(&report);
                }
                if r.requests.truncated {
                    t.push_str(&format!(
                        "(the graph has more than {} paths: conflicts past them are not shown)\n",
                        r.requests.requests.len()
                    ));
                }
                t
            }
            DepsView::Why(ga) => match conflicts::why(&r, ga, rule) {
                Some(w) => {
                    found = true;
                    w
                }
                None => continue,
            },
        };
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!("{name}:\n{body}"));
    }
    if resolved == 0 {
        return Err(Failure::Usage(format!(
            "{}: no :maven target to resolve",
            project.file
        )));
    }
    if let DepsView::Why(ga) = view {
        if !found {
            return Err(Failure::Usage(format!(
                "{}: nothing depends on {ga}",
                project.file
            )));
        }
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
