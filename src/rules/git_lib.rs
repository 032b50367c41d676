//! `git-lib`: a deps.edn git dependency's tree at its commit, the step of the build that
//! fetches it (a bare mirror in `$GITLIBS`, as tools.deps keeps them) and exports it. The
//! tree is the product, put at the target's place (`.kbuild/gitlibs/<lib>/<sha>`), so it
//! is traced and cached like any other: a no-op build runs no git, and a checkout that lost
//! the export (or never made it) restores it from the content store or the shared caches,
//! offline and without the mirror. Its definition is the URL, SHA, tag and place; a
//! commit's tree never changes, so nothing else is fetched.

use kbuild_engine::{BuildError, Cause, Ctx};

use super::info::{Export, Info, Node};
use crate::env::Env;
use crate::gitlibs;
use crate::project::{GitCoord, Rule, Target};

pub async fn run(env: &Env, ctx: &Ctx) -> Result<serde_json::Value, BuildError> {
    let target = ctx.spec::<Target>();
    let Rule::GitLib { url, sha, tag, dir } = &target.rule else {
        return Err(ctx.fail("not a git-lib target"));
    };
    let coord = GitCoord {
        url: url.clone(),
        sha: sha.clone(),
        tag: tag.clone(),
        deps_root: None,
    };
    let offline = env.options.offline;
    let stage = ctx.stage().to_path_buf();
    let _slot = ctx.job_slot().await;
    ctx.reporter().running(ctx.target());
    let exported = tokio::task::spawn_blocking(move || {
        let (repo, full) = gitlibs::fetch(&coord, offline)?;
        let left_out = gitlibs::export(&repo, &full, &stage)?;
        Ok::<_, gitlibs::GitError>((full, left_out))
    })
    .await
    .map_err(|e| ctx.fail_as(Cause::Environment, format!("git: {e}")))?;
    let (full, left_out) = exported.map_err(|e| {
        let cause = if e.is_environment() {
            Cause::Environment
        } else {
            Cause::Resolution
        };
        ctx.fail_as(cause, e.to_string())
    })?;
    if !left_out.is_empty() {
        ctx.reporter().warn(&format!(
            "target {}: symbolic links to a directory or out of the tree are left out: {}",
            ctx.target(),
            left_out.join(", ")
        ));
    }
    ctx.detail(format!("exported commit {full} of {url}"));
    Ok(Info {
        node: Node {
            kind: target.rule.kind().to_string(),
            ..Node::default()
        },
        export: Some(Export {
            sha: full,
            dir: dir.clone(),
        }),
        ..Info::default()
    }
    .to_value())
}
