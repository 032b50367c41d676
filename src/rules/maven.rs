//! `maven`: Maven coordinates resolved (through the resolvers crate) into artifacts in the
//! local repository. The product names each artifact with its sha256, so a changed artifact
//! propagates and an unchanged resolution cuts off.

use kbuild_resolvers::{Coord, Dependency, Exclusion, RemoteRepository, ResolverConfig, Scope};

use crate::engine::{Artifact, BuildError, Ctx, Hash, Options};
use crate::settings::MavenDep;

pub async fn run(
    ctx: &Ctx,
    coords: &[MavenDep],
    repositories: &[(String, String)],
    allow_http: bool,
) -> Result<(), BuildError> {
    let config = config(repositories, allow_http, &ctx.engine.options);
    ctx.engine.printer.running(&ctx.target);
    let resolution = kbuild_resolvers::resolve(&config, &roots(coords), &[])
        .await
        .map_err(|e| ctx.fail(e.to_string()))?;
    let lines = kbuild_resolvers::to_list_lines(&resolution);
    let mut artifacts = Vec::new();
    for (a, id) in resolution.artifacts.iter().zip(lines) {
        let sha256 =
            Hash::from_hex(&a.sha256).ok_or_else(|| ctx.fail(format!("bad sha256 for {id}")))?;
        artifacts.push(Artifact {
            id,
            file: a.file.to_string_lossy().into_owned(),
            sha256,
        });
    }
    ctx.set_artifacts(artifacts);
    Ok(())
}

/// The resolver's configuration for a target's repositories and the command line's options.
pub fn config(
    repositories: &[(String, String)],
    allow_http: bool,
    options: &Options,
) -> ResolverConfig {
    let mut config = ResolverConfig::default();
    if !repositories.is_empty() {
        config.repositories = repositories
            .iter()
            .map(|(id, url)| RemoteRepository {
                id: id.clone(),
                url: url.clone(),
            })
            .collect();
    }
    config.allow_http = allow_http;
    config.offline = options.offline;
    config.local_repo = options.local_repo.clone();
    config
}

pub fn roots(coords: &[MavenDep]) -> Vec<Dependency> {
    coords
        .iter()
        .map(|d| {
            let spec = if d.classifier.is_empty() {
                format!("{}:{}:{}:{}", d.group, d.artifact, d.type_, d.version)
            } else {
                format!(
                    "{}:{}:{}:{}:{}",
                    d.group, d.artifact, d.type_, d.classifier, d.version
                )
            };
            let mut dep = Dependency::parse(&spec).unwrap_or_else(|_| Dependency {
                coord: Coord {
                    group: d.group.clone(),
                    artifact: d.artifact.clone(),
                    extension: d.type_.clone(),
                    classifier: d.classifier.clone(),
                    version: d.version.clone(),
                },
                type_: d.type_.clone(),
                scope: Scope::Compile,
                optional: false,
                exclusions: Vec::new(),
                system_path: None,
            });
            dep.scope = Scope::parse(&d.scope);
            dep.optional = d.optional;
            dep.exclusions = d
                .exclusions
                .iter()
                .map(|e| {
                    let (g, a) = e.split_once(':').unwrap_or((e, "*"));
                    Exclusion {
                        group: g.to_string(),
                        artifact: a.to_string(),
                    }
                })
                .collect();
            dep
        })
        .collect()
}
