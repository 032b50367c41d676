//! `maven`: Maven coordinates resolved (through the resolvers crate) into artifacts in the
//! local repository. The product names each artifact with its sha256, so a changed artifact
//! propagates and an unchanged resolution cuts off.

use kbuild_resolvers::{Mediation, RemoteRepository, ResolverConfig};

use kbuild_engine::{output_digest, BuildError, Cause, Ctx, Db, Hash, Product};

use super::info::{artifact_entries, Artifact, Info, Node};
use crate::env::{Env, Options};
use crate::inputs::{file_key, maven_local_repo_key, maven_settings_key};
use crate::project::{self, Target};

pub const LOCK_FILE: &str = "kbuild.lock";

/// The order a product lists its artifacts in, which is classpath order.
pub enum Order {
    /// Pre-order of the resolved tree, as Maven's classpath.
    Resolution,
    /// As `lein classpath` lists them (see `kbuild_resolvers::leiningen_order`).
    Leiningen,
}

pub async fn run(env: &Env, ctx: &Ctx) -> Result<serde_json::Value, BuildError> {
    let target = ctx.spec::<Target>();
    let project::Rule::Maven {
        coords,
        managed,
        repositories,
        allow_http,
        newest,
        lein_order,
    } = &target.rule
    else {
        return Err(ctx.fail("not a maven target"));
    };
    let order = if *lein_order {
        Order::Leiningen
    } else {
        Order::Resolution
    };
    let mut config = config(repositories, *allow_http, &env.options);
    config.mediation = if *newest {
        Mediation::Newest
    } else {
        Mediation::Nearest
    };
    // Leiningen and the Clojure CLI take no repositories from settings.xml profiles.
    config.settings_profiles = !*lein_order && !*newest;
    config.progress = Some(progress(&env.printer));
    // Mirrors, credentials, proxies and profiles decide what resolves: an edit resolves again.
    ctx.fetch(maven_settings_key()).await?;
    ctx.reporter().running(ctx.target());
    let resolution = kbuild_resolvers::resolve(&config, coords, managed)
        .await
        .map_err(|e| ctx.fail_as(Cause::Resolution, e.to_string()))?;
    for w in &resolution.warnings {
        ctx.reporter()
            .warn(&format!("target {}: {w}", ctx.target()));
    }
    let lines = kbuild_resolvers::to_list_lines(&resolution);
    let listed: Vec<usize> = match order {
        Order::Resolution => (0..resolution.artifacts.len()).collect(),
        Order::Leiningen => kbuild_resolvers::leiningen_order(&resolution.artifacts),
    };
    // Named relative to the local repository, so the product is the same on every machine
    // (a system-scoped file outside it keeps its path).
    let repo = env.local_repo()?.to_path_buf();
    let mut artifacts = Vec::new();
    for i in listed {
        let (a, id) = (&resolution.artifacts[i], lines[i].clone());
        let sha256 =
            Hash::from_hex(&a.sha256).ok_or_else(|| ctx.fail(format!("bad sha256 for {id}")))?;
        artifacts.push(Artifact {
            id,
            file: a
                .file
                .strip_prefix(&repo)
                .unwrap_or(&a.file)
                .to_string_lossy()
                .into_owned(),
            sha256,
        });
    }
    // The artifacts are in this local repository: with another one, resolve again (into it).
    ctx.fetch(maven_local_repo_key()).await?;
    // The lock is an input: editing it re-checks every resolution against it.
    let sha512 = kbuild_hashers::by_name("sha512").expect("sha512 is built in");
    ctx.fetch(file_key(LOCK_FILE, sha512)).await?;
    if !env.options.relock {
        check_lock(env, ctx, &artifacts)?;
    }
    let info = Info {
        node: Node {
            kind: target.rule.kind().to_string(),
            entries: artifact_entries(&artifacts),
            ..Node::default()
        },
        artifacts,
        ..Info::default()
    };
    Ok(info.to_value())
}

/// The artifacts are not in the product but in the local repository: a missing or changed
/// one means resolving again.
pub fn check_restore(env: &Env, product: &Product, db: &Db) -> Result<(), String> {
    let info: Info = serde_json::from_value(product.info.clone()).unwrap_or_default();
    let repo = env.local_repo().map_err(|e| e.to_string())?;
    for a in &info.artifacts {
        let path = repo.join(&a.file);
        let shown = path.to_string_lossy();
        let found = output_digest(db, &path, &shown).map_err(|e| e.to_string())?;
        if !matches!(found, Some((h, _)) if h == a.sha256) {
            return Err(format!(
                "{} ({}) is missing or changed",
                a.id,
                path.display()
            ));
        }
    }
    Ok(())
}

/// Fails when the lock pins this target to other artifacts than it resolved.
fn check_lock(env: &Env, ctx: &Ctx, artifacts: &[Artifact]) -> Result<(), BuildError> {
    let path = env.root().join(LOCK_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(());
    };
    let pins = read_lock(&text).map_err(|e| ctx.fail(format!("{LOCK_FILE}: {e}")))?;
    let Some(pinned) = pins.get(ctx.target()) else {
        return Ok(());
    };
    for a in artifacts {
        match pinned.get(&a.id) {
            None => {
                return Err(ctx.fail(format!(
                    "resolved {}, which {LOCK_FILE} does not pin; run `kbuild lock` if the change is intended",
                    a.id
                )))
            }
            Some(want) if *want != a.sha256.to_hex() => {
                return Err(ctx.fail(format!(
                    "{} has sha256 {} but {LOCK_FILE} pins {want}",
                    a.id,
                    a.sha256.to_hex()
                )))
            }
            Some(_) => {}
        }
    }
    if let Some(missing) = pinned
        .keys()
        .find(|id| !artifacts.iter().any(|a| &a.id == *id))
    {
        return Err(ctx.fail(format!(
            "{LOCK_FILE} pins {missing}, which no longer resolves; run `kbuild lock` if the change is intended"
        )));
    }
    Ok(())
}

type Pins = std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>;

/// `{target {"group:artifact:type:version:scope" "sha256" ...} ...}`
pub fn read_lock(text: &str) -> Result<Pins, String> {
    let form = crate::edn::read_one(text).map_err(|e| e.to_string())?;
    let map = form
        .as_map()
        .ok_or("expected a map of target to pinned artifacts")?;
    let mut pins = Pins::new();
    for (k, v) in map {
        let target = k
            .as_symbol()
            .or_else(|| k.as_str())
            .ok_or(format!("{}: expected a target name", k.pos))?;
        let inner = v
            .as_map()
            .ok_or(format!("{}: expected a map of artifact to sha256", v.pos))?;
        let mut entries = std::collections::BTreeMap::new();
        for (a, h) in inner {
            let (Some(a), Some(h)) = (a.as_str(), h.as_str()) else {
                return Err(format!("{}: expected \"artifact\" \"sha256\"", a.pos));
            };
            entries.insert(a.to_string(), h.to_string());
        }
        pins.insert(target.to_string(), entries);
    }
    Ok(pins)
}

pub fn write_lock(pins: &[(String, Vec<Artifact>)]) -> String {
    let mut out = String::from(
        ";; Written by `kbuild lock`: what each :maven target resolved to, with sha256s.\n\
         ;; Builds fail when a resolution no longer matches. Commit this file.\n{",
    );
    for (i, (target, artifacts)) in pins.iter().enumerate() {
        if i > 0 {
            out.push_str("\n ");
        }
        out.push_str(target);
        out.push_str(" {");
        for (j, a) in artifacts.iter().enumerate() {
            if j > 0 {
                out.push_str(&format!("\n  {}", " ".repeat(target.len())));
            }
            out.push_str(&format!("\"{}\" \"{}\"", a.id, a.sha256.to_hex()));
        }
        out.push('}');
    }
    out.push_str("}\n");
    out
}

/// Shows each download through the printer (a counter on a terminal, a line in CI).
pub fn progress(
    printer: &std::sync::Arc<crate::printer::Printer>,
) -> kbuild_resolvers::ProgressSink {
    let printer = printer.clone();
    kbuild_resolvers::ProgressSink(std::sync::Arc::new(
        move |d: &kbuild_resolvers::Download| printer.download(&d.repository, &d.path, d.bytes),
    ))
}

/// The resolver's configuration for a target's repositories and the command line's options.
pub fn config(
    repositories: &[RemoteRepository],
    allow_http: bool,
    options: &Options,
) -> ResolverConfig {
    let mut config = ResolverConfig::default();
    if !repositories.is_empty() {
        config.repositories = repositories.to_vec();
    }
    config.allow_http = allow_http;
    config.offline = options.offline;
    config.update_snapshots = options.update_snapshots;
    config.local_repo = options.local_repo.clone();
    // POM profiles activate on the JDK's version, as Maven's would on the one it runs on.
    if let Some(v) = crate::inputs::java_version() {
        config.system_properties.insert("java.version".into(), v);
    }
    config
}
