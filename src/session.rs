//! One invocation's build: the project's targets handed to the engine with their rule kinds,
//! the input kinds and the printer, and what the commands ask of the result (classpaths,
//! products).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use kbuild_engine::{BuildError, Computed, Config, Engine, Failure, Product, RemoteConfig};

use crate::env::{Env, Options};
use crate::inputs::ProjectInputs;
use crate::printer::Printer;
use crate::project::{Project, Rule};
use crate::rules::info::{self, CpEntry, Info};

pub struct Session {
    pub engine: Arc<Engine>,
    pub env: Arc<Env>,
    project: Arc<Project>,
}

impl Session {
    /// Opens the checkout's database and stores, with the caches the environment names.
    pub fn open(
        project: Arc<Project>,
        printer: Arc<Printer>,
        options: Options,
    ) -> Result<Session, BuildError> {
        let env = Arc::new(Env::new(project.clone(), options.clone(), printer.clone()));
        let rules = crate::rules::registry(&env);
        let mut targets = BTreeMap::new();
        for (name, t) in &project.targets {
            let always_runs = if options.force && matches!(t.rule, Rule::Test { .. }) {
                Some("--force was given".to_string())
            } else {
                t.rule.always_runs().map(String::from)
            };
            let rule = rules
                .get(t.rule.kind())
                .ok_or_else(|| BuildError::Input(format!("no rule kind {}", t.rule.kind())))?;
            targets.insert(
                name.clone(),
                kbuild_engine::Target {
                    rule: rule.clone(),
                    definition: t.definition.clone(),
                    always_runs,
                    spec: Arc::new(t.clone()),
                    place: t.place(),
                },
            );
        }
        let config = Config {
            root: project.root.clone(),
            state: project.root.join(".kbuild"),
            out_root: project.out_root(),
            jobs: options.jobs,
            shared: shared_cache_dir(),
            remote: remote_cache()?,
            lock: options.lock.clone(),
            watched: options.watched.clone(),
        };
        let engine = Engine::open(
            config,
            targets,
            Arc::new(ProjectInputs::new(env.clone())),
            printer,
        )?;
        Ok(Session {
            engine,
            env,
            project,
        })
    }

    pub async fn build(&self, targets: &[String]) -> Vec<(String, Result<Computed, Failure>)> {
        self.engine.build(targets).await
    }

    /// Ends the session of a process about to exit (see [`Engine::close_at_exit`]): the
    /// database is closed, the rest left to the exit.
    pub fn close_at_exit(self) {
        let Session {
            engine,
            env,
            project,
        } = self;
        engine.close_at_exit();
        std::mem::forget((env, project));
    }

    /// Ends the session of a process that goes on (`kbuild watch`): the database is closed
    /// now, and the rest is freed on a thread of its own, so the command is done sooner.
    pub fn close_in_background(self) {
        let Session {
            engine,
            env,
            project,
        } = self;
        let rest = engine.close();
        std::thread::spawn(move || drop((rest, env, project)));
    }

    /// A target's product from this invocation.
    pub fn product(&self, name: &str) -> Option<Product> {
        self.engine.value(name)?.product().cloned()
    }

    pub fn info(&self, name: &str) -> Option<Info> {
        self.engine.value(name).map(|c| Info::of(&c))
    }

    /// The classpath the named targets make, after a build of them: each target that no
    /// other named target depends on, in order, followed by its dependencies nearest first,
    /// so roots (tests, sources) come before what they use (classes, jars). A target that was
    /// not built (a test target, whose dependencies were) is placed by its definition.
    pub fn classpath(&self, names: &[String]) -> Vec<String> {
        let below: Vec<Vec<String>> = names
            .iter()
            .map(|n| self.project.transitive_deps(n))
            .collect();
        let mut all: Vec<String> = Vec::new();
        for (i, n) in names.iter().enumerate() {
            let is_root = !below
                .iter()
                .enumerate()
                .any(|(j, b)| j != i && b.contains(n));
            if !is_root {
                continue;
            }
            for d in std::iter::once(n).chain(&below[i]) {
                if !all.contains(d) {
                    all.push(d.clone());
                }
            }
        }
        let entries: Vec<CpEntry> = all
            .iter()
            .flat_map(|n| match self.info(n) {
                Some(i) => i.node.entries,
                None => info::entries_of(n, &self.project.targets[n]),
            })
            .collect();
        info::classpath(&self.env, &entries)
    }
}

/// The machine-wide cache: `KBUILD_CACHE` (a directory; `off` for none), else
/// `$XDG_CACHE_HOME/kbuild`, else `~/.cache/kbuild`.
pub(crate) fn shared_cache_dir() -> Option<PathBuf> {
    match std::env::var_os("KBUILD_CACHE") {
        Some(v) if v == "off" => None,
        Some(v) if !v.is_empty() => Some(PathBuf::from(v)),
        _ => std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .map(|c| c.join("kbuild")),
    }
}

/// `KBUILD_REMOTE_CACHE`: the server's base URL; `KBUILD_REMOTE_CACHE_UPLOAD=false` makes
/// this machine a reader only. Credentials come from the environment or a netrc file
/// ([`remote_credentials`]), never from the command line.
fn remote_cache() -> Result<Option<RemoteConfig>, BuildError> {
    let Some(url) = std::env::var("KBUILD_REMOTE_CACHE")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        return Ok(None);
    };
    let upload = !matches!(
        std::env::var("KBUILD_REMOTE_CACHE_UPLOAD").as_deref(),
        Ok("false" | "0" | "no" | "off")
    );
    let credentials = remote_credentials(&url)?;
    Ok(Some(RemoteConfig {
        url,
        upload,
        redact: kbuild_resolvers::redact_url,
        credentials,
    }))
}

/// Credentials written in the URL (sent as they are, never shown); else
/// `KBUILD_REMOTE_CACHE_USER` with `KBUILD_REMOTE_CACHE_PASSWORD`; else the entry of the
/// netrc file (`$NETRC`, else `~/.netrc`) for the URL's host, or its `default` entry.
fn remote_credentials(url: &str) -> Result<Option<(String, String)>, BuildError> {
    let parsed = reqwest::Url::parse(url).ok();
    if parsed.as_ref().is_some_and(|u| !u.username().is_empty()) {
        return Ok(None);
    }
    if let Ok(user) = std::env::var("KBUILD_REMOTE_CACHE_USER") {
        let password = std::env::var("KBUILD_REMOTE_CACHE_PASSWORD").unwrap_or_default();
        return Ok(Some((user, password)));
    }
    let Some(file) = netrc::Netrc::get_file() else {
        return Ok(None);
    };
    let netrc = netrc::Netrc::from_file(&file).map_err(|e| {
        BuildError::Input(format!(
            "{} (for KBUILD_REMOTE_CACHE's credentials): {}",
            file.display(),
            kbuild_resolvers::redact_url(&e.to_string())
        ))
    })?;
    let host = parsed
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    Ok(netrc
        .hosts
        .get(&host)
        .or_else(|| netrc.hosts.get("default"))
        .map(|a| (a.login.clone(), a.password.clone())))
}
