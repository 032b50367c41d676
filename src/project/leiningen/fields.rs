//! The merged project map's keys read into a [`ClojureProject`]: dependencies (with their
//! managed versions and the global exclusions), repositories, paths, `:aot`, `:main`, and
//! the code Leiningen hands to the project's JVM.

use kbuild_resolvers::{
    Auth, ChecksumPolicy, Dependency, Policy, RemoteRepository, Secret, UpdatePolicy,
};

use super::dependencies::{dep_from_map, dep_map, exclusion, exclusion_map};
use super::merge::{repo_parts, seq_items};
use super::value::{expected, Node, V};
use crate::project::clojure::{
    invalid, Aot, ClojureError, ClojureProject, Dep, DeployRepository, PomInfo, PomRepository,
    PrepTask, Tool, R,
};
use crate::project::PROJECT_CLJ;

/// The merged project map as a [`ClojureProject`], but for what the caller knows: group,
/// name and version (from `defproject`), target and compile paths (named after profiles).
pub(super) fn read(project: &Node) -> R<ClojureProject> {
    let (dependencies, managed) = dependencies(project)?;
    let repositories = repositories(project)?;
    let aot = aot(project)?;
    let main = main(project)?;
    if let Some(j) = project.get("javac-options") {
        if let V::Map(_) = j.v {
            return Err(invalid(
                PROJECT_CLJ,
                j.pos,
                "Leiningen 1's map form of :javac-options is not supported; use a vector of strings",
            ));
        }
    }
    Ok(ClojureProject {
        tool: Tool::Lein,
        group: String::new(),
        name: String::new(),
        version: String::new(),
        dependencies,
        managed,
        repositories,
        source_paths: strings(project, "source-paths")?,
        java_source_paths: strings(project, "java-source-paths")?,
        resource_paths: strings(project, "resource-paths")?,
        test_paths: strings(project, "test-paths")?,
        javac_options: strings(project, "javac-options")?,
        main,
        aot,
        compile_path: String::new(),
        target_path: String::new(),
        main_opts: Vec::new(),
        jvm_opts: strings(project, "jvm-opts")?,
        test_selectors: test_selectors(project)?,
        prelude: prelude(project)?,
        prep_tasks: prep_tasks(project)?,
        checkout_shares: checkout_shares(project).map_err(|e| e.to_string()),
        notes: notes(project),
        pom: pom_info(project).unwrap_or_else(|e| PomInfo {
            error: Some(e.to_string()),
            ..PomInfo::default()
        }),
    })
}

/// The keys of a checkout that `:checkout-deps-shares` can name.
const CHECKOUT_SHARES: [&str; 5] = [
    "source-paths",
    "test-paths",
    "resource-paths",
    "java-source-paths",
    "compile-path",
];

/// `:checkout-deps-shares` as keywords, each once (a later repeat adds nothing to a
/// classpath). `:base` ends it with lein's function for the checkouts' own checkouts, which
/// kbuild does not read; any other function is an error, as kbuild evaluates nothing.
fn checkout_shares(project: &Node) -> R<Vec<String>> {
    let Some(node) = project.get("checkout-deps-shares").filter(|n| !n.is_nil()) else {
        return Ok(Vec::new());
    };
    let (items, _) = seq_items(PROJECT_CLJ, node.clone(), "a vector of keywords")?;
    let mut out: Vec<String> = Vec::new();
    for item in &items {
        match &item.v {
            V::Kw(k) if CHECKOUT_SHARES.contains(&k.as_str()) => {
                if !out.contains(k) {
                    out.push(k.clone());
                }
            }
            V::Sym(s) if s == super::profiles::CHECKOUT_DEPS_PATHS => {}
            V::Kw(k) => {
                return Err(invalid(
                    PROJECT_CLJ,
                    item.pos,
                    format!(
                        ":checkout-deps-shares: kbuild shares a checkout's :{} only, not :{k}",
                        CHECKOUT_SHARES.join(", :")
                    ),
                ))
            }
            _ => {
                return Err(invalid(
                    PROJECT_CLJ,
                    item.pos,
                    ":checkout-deps-shares: a function here would have to run, which kbuild does not do; name the paths with keywords (:source-paths, :compile-path...)",
                ))
            }
        }
    }
    Ok(out)
}

/// Keys read and left aside: plugins' repositories serve plugins, which kbuild does not run.
fn notes(project: &Node) -> Vec<String> {
    project
        .get("plugin-repositories")
        .map(|n| {
            format!(
                "{PROJECT_CLJ}:{}: :plugin-repositories is ignored (kbuild runs no Leiningen plugins)",
                n.pos.line
            )
        })
        .into_iter()
        .collect()
}

/// The keys only `lein pom` reads.
fn pom_info(project: &Node) -> R<PomInfo> {
    // Leiningen writes a keyword value by its name.
    let text = |n: &Node| match &n.v {
        V::Str(s) | V::Kw(s) | V::Sym(s) | V::Lit(s) => Some(s.clone()),
        V::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let string = |key: &str| -> R<Option<String>> {
        match project.get(key) {
            None => Ok(None),
            Some(n) if n.is_nil() => Ok(None),
            Some(n) => text(n)
                .map(Some)
                .ok_or_else(|| expected(PROJECT_CLJ, n, "a string")),
        }
    };
    let mut info = PomInfo {
        description: string("description")?,
        url: string("url")?,
        pom_location: string("pom-location")?,
        packaging: string("packaging")?,
        classifier: string("classifier")?,
        ..PomInfo::default()
    };
    let license = |n: &Node| -> R<Option<Vec<(String, String)>>> {
        match &n.v {
            V::Nil => Ok(None),
            V::Str(s) => Ok(Some(vec![("name".into(), s.clone())])),
            V::Map(_) => Ok(Some(
                ["name", "url", "distribution", "comments"]
                    .iter()
                    .filter_map(|k| Some((k.to_string(), n.get(k).and_then(text)?)))
                    .collect(),
            )),
            _ => Err(expected(PROJECT_CLJ, n, "a license map or name")),
        }
    };
    for key in ["license", "licence"] {
        if let Some(l) = project.get(key).map(license).transpose()?.flatten() {
            info.licenses.push(l);
        }
    }
    for key in ["licenses", "licences"] {
        for l in project.get(key).and_then(Node::items).unwrap_or_default() {
            if let Some(l) = license(l)? {
                info.licenses.push(l);
            }
        }
    }
    info.licenses.retain(|l| !l.is_empty());
    if let Some(scm) = project.get("scm") {
        info.scm_name = scm.get("name").and_then(text);
        info.scm_dir = scm.get("dir").and_then(text);
        for k in ["url", "connection", "tag", "developerConnection"] {
            if let Some(v) = scm.get(k).and_then(text) {
                info.scm.push((k.to_string(), v));
            }
        }
    }
    let repos_node = project.get("repositories").cloned().expect("set above");
    let (repo_items, _) = seq_items(PROJECT_CLJ, repos_node, "a vector of repositories")?;
    for r in repo_items {
        let (id, opts) = repo_parts(&r)?;
        let get = |k: &str| opts.get(k).filter(|n| !n.is_nil());
        let policy = |kind: &str| {
            let own = get(kind);
            let enabled = match own.map(|n| &n.v) {
                None => true,
                Some(V::Bool(b)) => *b,
                Some(_) => true,
            };
            let pick = |k: &str| own.and_then(|o| o.get(k)).or_else(|| get(k)).and_then(text);
            (enabled, pick("update"), pick("checksum"))
        };
        info.repositories.push(PomRepository {
            url: match &opts.v {
                V::Str(s) => s.clone(),
                _ => get("url").and_then(text).unwrap_or_default(),
            },
            snapshots: policy("snapshots"),
            releases: policy("releases"),
            id,
        });
    }
    if let Some(deps) = project.get("dependencies") {
        let (items, _) = seq_items(PROJECT_CLJ, deps.clone(), "a vector of dependencies")?;
        for d in items {
            let dm = dep_map(d)?;
            let c = dep_from_map(&dm, &[])?.coord;
            let name = format!("{}/{}", c.group, c.artifact);
            for spec in dm
                .get("exclusions")
                .and_then(Node::items)
                .unwrap_or_default()
            {
                let em = exclusion_map(spec.clone())?;
                let (classifier, extension) = (em.get("classifier"), em.get("extension"));
                if classifier.is_some() || extension.is_some() {
                    let e = exclusion(&em);
                    info.exclusion_extras.push((
                        name.clone(),
                        format!("{}/{}", e.group, e.artifact),
                        classifier.and_then(text),
                        extension.and_then(text),
                    ));
                }
            }
            if c.version.is_empty() {
                info.versionless.push(name);
            }
        }
    }
    for key in ["deploy-repositories", "repositories"] {
        let Some(node) = project.get(key).filter(|n| !n.is_nil()) else {
            continue;
        };
        // Leiningen's normalize-repos: a map's entries are [id settings] pairs.
        let pairs: Vec<(String, Node)> = match &node.v {
            V::Map(entries) => entries
                .iter()
                .map(|(k, v)| match &k.v {
                    V::Str(id) => Ok((id.clone(), v.clone())),
                    _ => Err(expected(PROJECT_CLJ, k, "a repository id string")),
                })
                .collect::<R<_>>()?,
            _ => {
                let (items, _) = seq_items(PROJECT_CLJ, node.clone(), "a vector of repositories")?;
                items.iter().map(repo_parts).collect::<R<_>>()?
            }
        };
        for (id, opts) in pairs {
            let secret = |k: &str, env: &str| match opts.get(k).map(|n| &n.v) {
                Some(V::Str(s)) => Some(Secret::Literal(s.clone())),
                Some(V::Kw(kw)) if kw == "env" => Some(Secret::Env(env.to_string())),
                Some(V::Kw(kw)) => kw
                    .strip_prefix("env/")
                    .map(|v| Secret::Env(v.to_uppercase())),
                _ => None,
            };
            let repo = DeployRepository {
                url: match &opts.v {
                    V::Str(s) => s.clone(),
                    _ => opts.get("url").and_then(text).unwrap_or_default(),
                },
                username: secret("username", "LEIN_USERNAME"),
                password: secret("password", "LEIN_PASSWORD"),
                id,
            };
            // As Leiningen's repo-for: :deploy-repositories' settings over :repositories'.
            match info.deploy.iter_mut().find(|d| d.id == repo.id) {
                Some(d) => {
                    if d.url.is_empty() {
                        d.url = repo.url;
                    }
                    d.username = d.username.take().or(repo.username);
                    d.password = d.password.take().or(repo.password);
                }
                None => info.deploy.push(repo),
            }
        }
    }
    for key in [
        "parent",
        "mailing-list",
        "pom-plugins",
        "pom-addition",
        "extensions",
    ] {
        if project.get(key).is_some_and(|n| !n.is_nil()) {
            info.unsupported.push(format!(":{key}"));
        }
    }
    Ok(info)
}

/// `:dependencies`, each with the global `:exclusions` and, when it has no version, its
/// `:managed-dependencies` one; and the `:managed-dependencies`.
fn dependencies(project: &Node) -> R<(Vec<Dep>, Vec<Dependency>)> {
    // Global :exclusions apply to every dependency.
    let mut global_exclusions = Vec::new();
    if let Some(ex) = project.get("exclusions") {
        for spec in ex
            .items()
            .ok_or_else(|| expected(PROJECT_CLJ, ex, "a vector of exclusions"))?
        {
            global_exclusions.push(exclusion(&exclusion_map(spec.clone())?));
        }
    }
    let mut managed = Vec::new();
    if let Some(md) = project.get("managed-dependencies") {
        let (items, _) = seq_items(PROJECT_CLJ, md.clone(), "a vector of dependencies")?;
        for d in items {
            managed.push(dep_from_map(&dep_map(d)?, &[])?);
        }
    }
    let mut dependencies = Vec::new();
    let deps_node = project.get("dependencies").cloned().expect("set above");
    let (deps_items, _) = seq_items(PROJECT_CLJ, deps_node, "a vector of dependencies")?;
    for d in deps_items {
        let dm = dep_map(d)?;
        let mut dep = dep_from_map(&dm, &global_exclusions)?;
        if dep.coord.version.is_empty() {
            // pomegranate's `merge-versions-from-managed-coords`
            if let Some(m) = managed.iter().find(|m| {
                m.coord.group == dep.coord.group
                    && m.coord.artifact == dep.coord.artifact
                    && m.type_ == dep.type_
                    && m.coord.classifier == dep.coord.classifier
            }) {
                dep.coord.version = m.coord.version.clone();
            }
            if dep.coord.version.is_empty() {
                return Err(invalid(
                    PROJECT_CLJ,
                    dm.pos,
                    format!(
                        "{}/{} has no version and no :managed-dependencies entry gives one",
                        dep.coord.group, dep.coord.artifact
                    ),
                ));
            }
        }
        dependencies.push(Dep::from(dep));
    }
    Ok((dependencies, managed))
}

/// `:repositories`, each with the versions it is asked for: `:snapshots false` or
/// `:releases false` (or `nil`) turns one kind off. Pomegranate reads the key as
/// `(:releases settings true)`, so a map there (`{:update :always}`, even `{:enabled false}`)
/// leaves it on, as real `lein` shows.
fn repositories(project: &Node) -> R<Vec<RemoteRepository>> {
    let mut repositories = Vec::new();
    let repos_node = project.get("repositories").cloned().expect("set above");
    let (repo_items, _) = seq_items(PROJECT_CLJ, repos_node, "a vector of repositories")?;
    let mirrors = mirrors(project)?;
    for r in repo_items {
        let (id, opts) = repo_parts(&r)?;
        match mirrors.iter().find(|(matches, _)| matches(&id)) {
            // Several repositories behind one mirror ask it once.
            Some((_, mirror)) if repositories.contains(mirror) => {}
            Some((_, mirror)) => repositories.push(mirror.clone()),
            None => repositories.push(repository(id, &opts)?),
        }
    }
    Ok(repositories)
}

type Matcher = Box<dyn Fn(&str) -> bool>;

/// `:mirrors`: a repository id (string key) or a regex matching the whole id (as
/// pomegranate's `re-matches`, which real lein shows) to the repository that replaces it,
/// with its own URL, policies and credentials; `:name` is its id.
fn mirrors(project: &Node) -> R<Vec<(Matcher, RemoteRepository)>> {
    let Some(node) = project.get("mirrors") else {
        return Ok(Vec::new());
    };
    let entries = match &node.v {
        V::Map(entries) => entries,
        V::Nil => return Ok(Vec::new()),
        _ => {
            return Err(expected(
                PROJECT_CLJ,
                node,
                "a map of repository id or regex to mirror",
            ))
        }
    };
    let mut out: Vec<(Matcher, RemoteRepository)> = Vec::new();
    for (k, v) in entries {
        let (matcher, key): (Matcher, String) = match &k.v {
            V::Str(id) => {
                let id = id.clone();
                (Box::new(move |r: &str| r == id), k_text(k))
            }
            V::Regex(re) => {
                let whole = regex_lite::Regex::new(&format!("^(?:{re})$")).map_err(|e| {
                    invalid(PROJECT_CLJ, k.pos, format!(":mirrors key #\"{re}\": {e}"))
                })?;
                (Box::new(move |r: &str| whole.is_match(r)), k_text(k))
            }
            _ => {
                return Err(expected(
                    PROJECT_CLJ,
                    k,
                    "a repository id string or a regex",
                ))
            }
        };
        let name = match v.get("name").map(|n| &n.v) {
            Some(V::Str(n)) => n.clone(),
            _ => key,
        };
        out.push((matcher, repository(name, v)?));
    }
    Ok(out)
}

fn k_text(k: &Node) -> String {
    match &k.v {
        V::Str(s) | V::Regex(s) => s.clone(),
        _ => String::new(),
    }
}

/// One repository's settings: `{:url ...}` with its policies and credentials.
fn repository(id: String, opts: &Node) -> R<RemoteRepository> {
    let enabled =
        |which: &str| !matches!(opts.get(which).map(|n| &n.v), Some(V::Bool(false) | V::Nil));
    let url = match &opts.v {
        V::Str(s) => s.clone(),
        V::Map(_) => match opts.get("url") {
            Some(u) => match &u.v {
                V::Str(s) => s.clone(),
                _ => return Err(expected(PROJECT_CLJ, u, "a repository URL string")),
            },
            None => {
                return Err(invalid(
                    PROJECT_CLJ,
                    opts.pos,
                    format!("repository {id:?} has no :url"),
                ))
            }
        },
        _ => {
            return Err(expected(
                PROJECT_CLJ,
                opts,
                "a repository URL or {:url ...}",
            ))
        }
    };
    // `:checksum` in the kind's map, else at the top (pomegranate merges the two).
    let checksums = |which: &str| -> R<ChecksumPolicy> {
        let node = opts
            .get(which)
            .and_then(|m| m.get("checksum"))
            .or_else(|| opts.get("checksum"));
        match node.map(|n| (n, &n.v)) {
            None => Ok(ChecksumPolicy::Fail),
            Some((n, V::Kw(k))) => ChecksumPolicy::parse(k)
                .ok_or_else(|| expected(PROJECT_CLJ, n, ":fail, :warn or :ignore")),
            Some((n, _)) => Err(expected(PROJECT_CLJ, n, ":fail, :warn or :ignore")),
        }
    };
    // `:update` likewise: pomegranate's `:always`, `:daily` (its default) or `:never`.
    let updates = |which: &str| -> R<UpdatePolicy> {
        let node = opts
            .get(which)
            .and_then(|m| m.get("update"))
            .or_else(|| opts.get("update"));
        let bad = |n: &Node| expected(PROJECT_CLJ, n, ":always, :daily or :never");
        match node.map(|n| (n, &n.v)) {
            None => Ok(UpdatePolicy::Daily),
            Some((n, V::Kw(k))) => UpdatePolicy::parse(k)
                .filter(|u| !matches!(u, UpdatePolicy::Interval(_)))
                .ok_or_else(|| bad(n)),
            Some((n, _)) => Err(bad(n)),
        }
    };
    let policy = Policy {
        releases: enabled("releases"),
        snapshots: enabled("snapshots"),
        release_checksums: checksums("releases")?,
        snapshot_checksums: checksums("snapshots")?,
        release_updates: updates("releases")?,
        snapshot_updates: updates("snapshots")?,
    };
    if let Some(c) = opts
        .get("creds")
        .filter(|c| matches!(&c.v, V::Kw(k) if k == "gpg"))
    {
        return Err(gpg_unsupported(&id, c));
    }
    let (username, password) = (
        credential(&id, opts, "username")?,
        credential(&id, opts, "password")?,
    );
    let auth =
        (!username.is_empty() || !password.is_empty()).then_some(Auth { username, password });
    Ok(RemoteRepository {
        id,
        url,
        policy,
        auth,
    })
}

/// A repository's `:username` or `:password` as Leiningen's `resolve-credential` reads it:
/// a string; `:env` (then `LEIN_USERNAME` / `LEIN_PASSWORD`); `:env/name` (the variable
/// `NAME`, upper-cased); or a vector of those, the first that has a value winning. The
/// variables are read when resolving. `:gpg` (~/.lein/credentials.clj.gpg) is not read:
/// skipped in a vector, an error alone, since the repository would then refuse kbuild.
fn credential(id: &str, opts: &Node, key: &str) -> R<Vec<Secret>> {
    let Some(node) = opts.get(key) else {
        return Ok(Vec::new());
    };
    let one = |n: &Node| -> R<Option<Secret>> {
        Ok(match &n.v {
            V::Str(s) => Some(Secret::Literal(s.clone())),
            V::Nil => None,
            V::Kw(k) if k == "env" => Some(Secret::Env(format!("LEIN_{}", key.to_uppercase()))),
            V::Kw(k) if k.starts_with("env/") => Some(Secret::Env(k[4..].to_uppercase())),
            V::Kw(k) if k == "gpg" => None,
            _ => {
                return Err(expected(
                    PROJECT_CLJ,
                    n,
                    "a string, :env, :env/VAR or a vector of them",
                ))
            }
        })
    };
    match &node.v {
        V::Seq(items, _) => {
            let mut out = Vec::new();
            for i in items {
                out.extend(one(i)?);
            }
            Ok(out)
        }
        V::Kw(k) if k == "gpg" => Err(gpg_unsupported(id, node)),
        _ => Ok(one(node)?.into_iter().collect()),
    }
}

fn gpg_unsupported(id: &str, at: &Node) -> ClojureError {
    invalid(
        PROJECT_CLJ,
        at.pos,
        format!(
            "repository {id:?}: :gpg credentials (~/.lein/credentials.clj.gpg) are not read by kbuild; \
             give :username and :password as :env/VAR (or [:gpg :env/VAR])"
        ),
    )
}

fn aot(project: &Node) -> R<Aot> {
    Ok(match project.get("aot") {
        None => Aot::None,
        Some(a) => match &a.v {
            V::Nil => Aot::None,
            V::Kw(k) if k == "all" => Aot::All,
            V::Seq(items, _) => {
                if items.iter().any(|i| matches!(&i.v, V::Kw(k) if k == "all")) {
                    Aot::All
                } else {
                    let mut names = Vec::new();
                    for i in items {
                        names.push(match &i.v {
                            V::Sym(s) | V::Str(s) => s.clone(),
                            V::Regex(r) => format!("#\"{r}\""),
                            _ => {
                                return Err(expected(
                                    PROJECT_CLJ,
                                    i,
                                    "a namespace symbol or a regex",
                                ))
                            }
                        });
                    }
                    if names.is_empty() {
                        Aot::None
                    } else {
                        Aot::Namespaces(names)
                    }
                }
            }
            _ => return Err(expected(PROJECT_CLJ, a, ":all or a vector of namespaces")),
        },
    })
}

fn main(project: &Node) -> R<Option<String>> {
    Ok(match project.get("main") {
        None => None,
        Some(m) => match &m.v {
            V::Nil => None,
            V::Sym(s) | V::Str(s) => Some(s.clone()),
            _ => return Err(expected(PROJECT_CLJ, m, "a namespace symbol")),
        },
    })
}

fn test_selectors(project: &Node) -> R<Vec<(String, String)>> {
    let Some(n) = project.get("test-selectors").filter(|n| !n.is_nil()) else {
        return Ok(Vec::new());
    };
    let V::Map(entries) = &n.v else {
        return Err(expected(PROJECT_CLJ, n, "a map of keyword to selector"));
    };
    entries
        .iter()
        .map(|(k, v)| match &k.v {
            V::Kw(name) => Ok((name.clone(), code(v)?)),
            _ => Err(expected(PROJECT_CLJ, k, "a keyword")),
        })
        .collect()
}

fn prelude(project: &Node) -> R<Vec<String>> {
    let mut forms = Vec::new();
    if let Some(n) = project.get("global-vars").filter(|n| !n.is_nil()) {
        let V::Map(entries) = &n.v else {
            return Err(expected(PROJECT_CLJ, n, "a map of var to value"));
        };
        for (k, v) in entries {
            let V::Sym(var) = &k.v else {
                return Err(expected(PROJECT_CLJ, k, "a symbol"));
            };
            forms.push(format!("(set! {var} {})", code(v)?));
        }
    }
    if let Some(n) = project.get("injections").filter(|n| !n.is_nil()) {
        let items = n
            .items()
            .ok_or_else(|| expected(PROJECT_CLJ, n, "a vector of forms"))?;
        for item in items {
            forms.push(code(item)?);
        }
    }
    Ok(forms)
}

/// A form handed to the project's JVM as source; what lein would have evaluated while
/// reading project.clj (`~x`, `#=`) cannot be.
fn code(n: &Node) -> R<String> {
    fn check(n: &Node) -> R<()> {
        match &n.v {
            V::Opaque { eval: true, .. } => Err(expected(PROJECT_CLJ, n, "code")),
            V::Seq(items, _) | V::Set(items) => items.iter().try_for_each(check),
            V::Map(entries) => entries.iter().try_for_each(|(k, v)| {
                check(k)?;
                check(v)
            }),
            _ => Ok(()),
        }
    }
    check(n)?;
    Ok(n.source())
}

pub(super) fn opt_string(map: &Node, key: &str) -> R<Option<String>> {
    match map.get(key) {
        None => Ok(None),
        Some(n) => match &n.v {
            V::Nil => Ok(None),
            V::Str(s) => Ok(Some(s.clone())),
            _ => Err(expected(PROJECT_CLJ, n, "a string")),
        },
    }
}

/// `:prep-tasks` as Leiningen's `run-prep-tasks` takes it: a task name, or a vector of the
/// name and its arguments.
fn prep_tasks(project: &Node) -> R<Vec<PrepTask>> {
    let Some(n) = project.get("prep-tasks").filter(|n| !n.is_nil()) else {
        return Ok(Vec::new());
    };
    let items = n
        .items()
        .ok_or_else(|| expected(PROJECT_CLJ, n, "a vector of tasks for :prep-tasks"))?;
    let mut out = Vec::new();
    for item in items {
        let words: Vec<String> = match &item.v {
            V::Str(s) => vec![s.clone()],
            V::Seq(parts, _) if !parts.is_empty() => parts
                .iter()
                .map(|p| match &p.v {
                    // Leiningen hands the task its arguments as written; strings are the rule.
                    V::Str(s) | V::Lit(s) => Ok(s.clone()),
                    V::Kw(k) => Ok(format!(":{k}")),
                    _ => Err(expected(PROJECT_CLJ, p, "a task argument string")),
                })
                .collect::<R<_>>()?,
            _ => {
                return Err(expected(
                    PROJECT_CLJ,
                    item,
                    "a task name or a vector [task args...] in :prep-tasks",
                ))
            }
        };
        let line = item.pos.line;
        let outputs = match &item.m.outputs {
            None => None,
            Some(Err(pos)) => {
                return Err(invalid(
                    PROJECT_CLJ,
                    *pos,
                    ":kbuild/outputs must be a vector of path strings",
                ))
            }
            Some(Ok(paths)) => Some(paths.clone()),
        };
        let task = match words.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["javac"] => PrepTask::Javac,
            ["compile"] => PrepTask::Compile,
            ["run", "-m", _, ..] => {
                let outputs = outputs.clone().unwrap_or_default();
                for o in &outputs {
                    check_output(item.pos, o)?;
                }
                PrepTask::Run {
                    args: words[2..].to_vec(),
                    outputs,
                    line,
                }
            }
            _ => PrepTask::Lein { args: words, line },
        };
        if outputs.is_some() && !matches!(task, PrepTask::Run { .. }) {
            return Err(invalid(
                PROJECT_CLJ,
                item.pos,
                ":kbuild/outputs is read on [\"run\" \"-m\" NS ...] entries only",
            ));
        }
        out.push(task);
    }
    Ok(out)
}

/// A generator's declared output: a plain relative path in the project, outside kbuild's and
/// git's own directories (kbuild removes it before the generator runs).
fn check_output(pos: crate::edn::Pos, path: &str) -> R<()> {
    let first = path.split('/').next().unwrap_or_default();
    let reserved = matches!(first, ".kbuild" | ".git")
        || path == "target/kbuild"
        || path.starts_with("target/kbuild/")
        || path == PROJECT_CLJ;
    if reserved || !kbuild_engine::is_contained(path) {
        return Err(invalid(
            PROJECT_CLJ,
            pos,
            format!(
                ":kbuild/outputs names {path:?}, which is not a plain relative path in the \
                 project (no empty, `.` or `..` part, not absolute, not project.clj, .git, \
                 .kbuild or target/kbuild)"
            ),
        ));
    }
    Ok(())
}

fn strings(map: &Node, key: &str) -> R<Vec<String>> {
    let Some(n) = map.get(key) else {
        return Ok(Vec::new());
    };
    if n.is_nil() {
        return Ok(Vec::new());
    }
    let items = n
        .items()
        .ok_or_else(|| expected(PROJECT_CLJ, n, &format!("a vector of strings for :{key}")))?;
    items
        .iter()
        .map(|i| match &i.v {
            V::Str(s) => Ok(s.clone()),
            _ => Err(expected(PROJECT_CLJ, i, "a string")),
        })
        .collect()
}

/// What `java.io.File` does to the paths Leiningen prints: no repeated or trailing `/`.
pub(super) fn clean_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    if out.len() > 1 && out.ends_with('/') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::project::clojure::{coords, maven_coords};
    use crate::project::leiningen::{lein, lein_err};

    /// As Leiningen's `repo-for`: one id's :deploy-repositories settings over its
    /// :repositories ones; credentials as text, `:env` or `:env/VAR`.
    #[test]
    fn deploy_repositories_merge_over_repositories() {
        use crate::project::clojure::{DeployRepository, Secret};
        let p = lein(
            r#"(defproject a "1"
  :repositories [["releases" {:url "https://r.example/releases" :username "u"}]]
  :deploy-repositories {"releases" {:password :env} "snapshots" {:url "https://r.example/s" :username :env/SU :password "p"}})"#,
            &[],
        );
        assert_eq!(
            p.pom.deploy[..2],
            [
                DeployRepository {
                    id: "releases".into(),
                    url: "https://r.example/releases".into(),
                    username: Some(Secret::Literal("u".into())),
                    password: Some(Secret::Env("LEIN_PASSWORD".into())),
                },
                DeployRepository {
                    id: "snapshots".into(),
                    url: "https://r.example/s".into(),
                    username: Some(Secret::Env("SU".into())),
                    password: Some(Secret::Literal("p".into())),
                },
            ]
        );
        // Leiningen's default repositories too: `lein deploy clojars` works by name.
        let rest: Vec<&str> = p.pom.deploy[2..].iter().map(|d| d.id.as_str()).collect();
        assert_eq!(rest, ["central", "clojars"]);
    }

    #[test]
    fn selectors_global_vars_and_injections_are_kept_as_code() {
        let p = lein(
            r#"(defproject a "1"
  :test-selectors {:default #(not (:slow %)) :slow :slow}
  :global-vars {*warn-on-reflection* true}
  :injections [(require 'clojure.pprint) (println "hi \"there\"")]
  :profiles {:dev {:test-selectors {:ns [(fn [ns] true) (constantly true)]}}})"#,
            &["dev"],
        );
        assert_eq!(
            p.test_selectors,
            [
                ("default".to_string(), "#(not (:slow %))".to_string()),
                ("slow".to_string(), ":slow".to_string()),
                (
                    "ns".to_string(),
                    "[(fn [ns] true) (constantly true)]".to_string()
                ),
            ]
        );
        assert_eq!(
            p.prelude,
            [
                "(set! *warn-on-reflection* true)",
                "(require 'clojure.pprint)",
                "(println \"hi \\\"there\\\"\")",
            ]
        );
        let e = lein_err(
            "(defproject a \"1\"\n  :test-selectors {:x ~(keyword \"y\")})",
            &[],
        );
        assert!(e.contains("project.clj:2:"), "{e}");
    }

    #[test]
    fn versionless_dependency_without_managed_version_is_an_error() {
        let e = lein_err("(defproject foo \"1\"\n  :dependencies [[a/b]\n                 [c/d]]\n  :managed-dependencies [[a/b \"1\"]])", &[]);
        assert_eq!(
            e,
            "project.clj:3:18: c/d has no version and no :managed-dependencies entry gives one"
        );
        // A classifier must match too.
        let e = lein_err(
            r#"(defproject foo "1" :dependencies [[a/b :classifier "x"]] :managed-dependencies [[a/b "1"]])"#,
            &[],
        );
        assert!(e.contains("a/b has no version"), "{e}");
        let p = lein(
            r#"(defproject foo "1" :dependencies [[a/b :classifier "x"]] :managed-dependencies [[a/b "1"] [a/b "2" :classifier "x"]])"#,
            &[],
        );
        assert_eq!(coords(&p.dependencies), ["a/b 2 :classifier x"]);
        assert_eq!(maven_coords(&p.managed), ["a/b 1", "a/b 2 :classifier x"]);
    }

    /// `:username`/`:password` as Leiningen's `resolve-credential` reads them.
    #[test]
    fn repository_credentials_literal_env_and_vectors() {
        use kbuild_resolvers::{Auth, Secret};
        let p = lein(
            r#"(defproject a "1"
  :repositories [["private" {:url "https://p/" :username :env/ci_user :password [:gpg :env]}]
                 ["lit" {:url "https://l/" :username "u" :password "hunter2-literal"}]
                 ["open" "https://o/"]])"#,
            &[],
        );
        let auth: Vec<Option<Auth>> = p.repositories.iter().map(|r| r.auth.clone()).collect();
        assert_eq!(
            auth[auth.len() - 3..],
            [
                Some(Auth {
                    username: vec![Secret::Env("CI_USER".into())],
                    password: vec![Secret::Env("LEIN_PASSWORD".into())],
                }),
                Some(Auth {
                    username: vec![Secret::Literal("u".into())],
                    password: vec![Secret::Literal("hunter2-literal".into())],
                }),
                None,
            ]
        );
        // The key of the deps target names the variable, never a value read from it.
        // ... and a written password only as its digest.
        let json = serde_json::to_string(&p.repositories).unwrap();
        assert!(json.contains("CI_USER"), "{json}");
        assert!(
            !json.contains("hunter2") && json.contains("sha256:"),
            "{json}"
        );

        let e = lein_err(
            "(defproject a \"1\"\n  :repositories [[\"p\" {:url \"https://p/\" :password :gpg}]])",
            &[],
        );
        assert!(
            e.contains("project.clj:2:") && e.contains(":gpg credentials"),
            "{e}"
        );
        let e = lein_err(
            "(defproject a \"1\"\n  :repositories [[\"p\" {:url \"https://p/\" :creds :gpg}]])",
            &[],
        );
        assert!(
            e.contains("project.clj:2:") && e.contains(":env/VAR"),
            "{e}"
        );
        let e = lein_err(
            "(defproject a \"1\"\n  :repositories [[\"p\" {:url \"https://p/\" :username 7}]])",
            &[],
        );
        assert!(
            e.contains("project.clj:2:") && e.contains(":env/VAR"),
            "{e}"
        );
    }

    #[test]
    fn mirrors_replace_matching_repositories_and_bad_keys_name_their_line() {
        let p = lein(
            r#"(defproject a "1"
  :repositories ^:replace [["snap" "https://s/"] ["rel" "https://r/"] ["other" "https://o/"]]
  :mirrors {#"sn.*|rel" {:name "inside" :url "https://m/" :username :env/m_user}})"#,
            &[],
        );
        let repos: Vec<String> = p
            .repositories
            .iter()
            .map(|r| format!("{}={}", r.id, r.url))
            .collect();
        // Both mirrored repositories ask the mirror once, where the first stood.
        assert_eq!(repos, ["inside=https://m/", "other=https://o/"]);
        assert!(p.repositories[0].auth.is_some());
        let e = lein_err(
            "(defproject a \"1\"\n  :mirrors {#\"(\" {:url \"https://m/\"}})",
            &[],
        );
        assert!(
            e.contains("project.clj:2:") && e.contains(":mirrors key"),
            "{e}"
        );
    }

    #[test]
    fn repository_checksum_policies() {
        use kbuild_resolvers::ChecksumPolicy::{Fail, Ignore, Warn};
        let p = lein(
            r#"(defproject a "1"
  :repositories ^:replace [["w" {:url "https://w/" :checksum :warn}]
                           ["k" {:url "https://k/" :checksum :warn :snapshots {:checksum :ignore}}]
                           ["d" "https://d/"]])"#,
            &[],
        );
        let got: Vec<_> = p
            .repositories
            .iter()
            .map(|r| (r.policy.release_checksums, r.policy.snapshot_checksums))
            .collect();
        assert_eq!(got, [(Warn, Warn), (Warn, Ignore), (Fail, Fail)]);
        let e = lein_err(
            "(defproject a \"1\"\n  :repositories [[\"p\" {:url \"https://p/\" :checksum :maybe}]])",
            &[],
        );
        assert!(e.contains("project.clj:2:") && e.contains(":warn"), "{e}");
    }

    #[test]
    fn repository_update_policies() {
        use kbuild_resolvers::UpdatePolicy::{Always, Daily, Never};
        let p = lein(
            r#"(defproject a "1"
  :repositories ^:replace [["a" {:url "https://a/" :update :always}]
                           ["n" {:url "https://n/" :update :daily :snapshots {:update :never}}]
                           ["d" "https://d/"]])"#,
            &[],
        );
        let got: Vec<_> = p
            .repositories
            .iter()
            .map(|r| (r.policy.release_updates, r.policy.snapshot_updates))
            .collect();
        assert_eq!(got, [(Always, Always), (Daily, Never), (Daily, Daily)]);
        let e = lein_err(
            "(defproject a \"1\"\n  :repositories [[\"p\" {:url \"https://p/\" :update :hourly}]])",
            &[],
        );
        assert!(e.contains("project.clj:2:") && e.contains(":never"), "{e}");
    }
}
