//! deps.edn lib names and coordinates: `group/artifact$classifier` symbols, and the maps
//! that say where a lib comes from (`:mvn/version`, `:local/root`, `:git/url` and `:git/sha`).

use super::expected;
use crate::edn::{Form, Value};
use kbuild_resolvers::{Dependency, Exclusion};

use crate::project::clojure::{invalid, Dep, GitCoord, Source, R};
use crate::project::DEPS_EDN;

/// A lib symbol: `group/artifact`, `artifact` (meaning `artifact/artifact`), with an
/// optional `$classifier`. Returns (group, artifact, classifier, canonical name).
pub(super) fn lib_parts(form: &Form) -> R<(String, String, String, String)> {
    let s = form
        .as_symbol()
        .ok_or_else(|| expected(form, "a lib symbol like group/artifact"))?;
    let (group, rest) = match s.split_once('/') {
        Some((g, a)) if !g.is_empty() && !a.is_empty() => (g.to_string(), a.to_string()),
        _ => {
            let base = s.split('$').next().unwrap_or(s);
            (base.to_string(), s.to_string())
        }
    };
    let (artifact, classifier) = match rest.split_once('$') {
        Some((a, c)) => (a.to_string(), c.to_string()),
        None => (rest, String::new()),
    };
    let canonical = if classifier.is_empty() {
        format!("{group}/{artifact}")
    } else {
        format!("{group}/{artifact}${classifier}")
    };
    Ok((group, artifact, classifier, canonical))
}

/// Lib → coordinate, in source order, later entries replacing earlier ones in place
/// (how a small Clojure map merges).
pub(super) type DepsMap = Vec<(String, Form, Form)>;

pub(super) fn deps_map(form: &Form, what: &str) -> R<DepsMap> {
    if matches!(form.value, Value::Nil) {
        return Ok(Vec::new());
    }
    let entries = form
        .as_map()
        .ok_or_else(|| expected(form, &format!("a map of libs to coordinates for {what}")))?;
    let mut out = Vec::new();
    for (k, v) in entries {
        let (.., canonical) = lib_parts(k)?;
        merge_dep(&mut out, (canonical, k.clone(), v.clone()));
    }
    Ok(out)
}

pub(super) fn merge_dep(into: &mut DepsMap, entry: (String, Form, Form)) {
    match into.iter_mut().find(|(lib, ..)| *lib == entry.0) {
        Some(slot) => *slot = entry,
        None => into.push(entry),
    }
}

/// The dependency `lib` with coordinate map `coord`.
pub(super) fn dep(lib: &Form, coord: &Form) -> R<Dep> {
    let (group, artifact, classifier, canonical) = lib_parts(lib)?;
    let entries = coord
        .as_map()
        .ok_or_else(|| expected(coord, &format!("a coordinate map for {canonical}")))?;
    let mut version = None;
    let mut local_root = None;
    let mut exclusions = Vec::new();
    let (mut git_url, mut sha, mut tag, mut deps_root) = (None, None, None, None);
    let string = |v: &Form, what: &str| -> R<String> {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| expected(v, what))
    };
    for (k, v) in entries {
        let Some(key) = k.as_keyword() else {
            return Err(expected(k, "a keyword"));
        };
        match key {
            "mvn/version" => version = Some(string(v, "a version string")?),
            "local/root" => local_root = Some(string(v, "a path string")?),
            "exclusions" => {
                for e in v.as_seq().ok_or_else(|| expected(v, "a vector of libs"))? {
                    let (group, artifact, ..) = lib_parts(e)?;
                    exclusions.push(Exclusion { group, artifact });
                }
            }
            "git/url" => git_url = Some(string(v, "a URL string")?),
            // `:sha` and `:tag` are the older spellings.
            "git/sha" | "sha" => sha = Some(string(v, "a commit SHA string")?),
            "git/tag" | "tag" => tag = Some(string(v, "a tag string")?),
            "deps/root" => deps_root = Some(string(v, "a path string")?),
            _ => {} // :deps/manifest, ...
        }
    }
    let git = if git_url.is_some() || sha.is_some() || tag.is_some() {
        let url = git_url
            .or_else(|| inferred_git_url(&group, &artifact))
            .ok_or_else(|| {
                invalid(
                    DEPS_EDN,
                    coord.pos,
                    format!("{canonical}: a git dependency needs :git/url (it cannot be inferred from this lib name)"),
                )
            })?;
        let sha = sha.ok_or_else(|| {
            invalid(
                DEPS_EDN,
                coord.pos,
                format!("{canonical}: a git dependency needs :git/sha"),
            )
        })?;
        // The lib name and :deps/root become paths in the project: no `..`, not absolute.
        if let Some(problem) = crate::gitlibs::unsafe_lib_name(&group, &artifact) {
            return Err(invalid(
                DEPS_EDN,
                lib.pos,
                format!("{canonical}: {problem}"),
            ));
        }
        if let Some(sub) = &deps_root {
            kbuild_engine::check_contained(sub.trim_matches('/')).map_err(|problem| {
                invalid(
                    DEPS_EDN,
                    coord.pos,
                    format!("{canonical}: :deps/root {sub:?} {problem}"),
                )
            })?;
        }
        let hex = sha.len() >= 7 && sha.chars().all(|c| c.is_ascii_hexdigit());
        if !hex || (tag.is_none() && sha.len() != 40) {
            return Err(invalid(
                DEPS_EDN,
                coord.pos,
                format!("{canonical}: :git/sha {sha:?} must be a full 40-digit commit SHA (a prefix of 7 or more only with :git/tag)"),
            ));
        }
        Some(GitCoord {
            url,
            sha: sha.to_ascii_lowercase(),
            tag,
            deps_root,
        })
    } else {
        None
    };
    if version.is_none() && local_root.is_none() && git.is_none() {
        return Err(invalid(
            DEPS_EDN,
            coord.pos,
            format!("{canonical}: expected :mvn/version, :local/root or :git/sha"),
        ));
    }
    let source = match (git, local_root) {
        (Some(git), _) => Some(Source::Git(git)),
        (None, Some(dir)) => Some(Source::Local(dir)),
        (None, None) => None,
    };
    // A library's version, if given, is not a Maven one.
    let version = if source.is_some() { None } else { version };
    let mut maven = Dependency::new(
        &group,
        &artifact,
        "jar",
        &classifier,
        version.as_deref().unwrap_or_default(),
    );
    maven.exclusions = exclusions;
    Ok(Dep { maven, source })
}

/// tools.deps' `:git/url` for lib names that name their forge: `io.github.user/repo` is
/// `https://github.com/user/repo.git`, and likewise GitLab and Bitbucket.
fn inferred_git_url(group: &str, artifact: &str) -> Option<String> {
    let forges = [
        ("io.github.", "github.com"),
        ("com.github.", "github.com"),
        ("io.gitlab.", "gitlab.com"),
        ("com.gitlab.", "gitlab.com"),
        ("io.bitbucket.", "bitbucket.org"),
        ("org.bitbucket.", "bitbucket.org"),
    ];
    forges.iter().find_map(|(prefix, host)| {
        let user = group.strip_prefix(prefix)?;
        Some(format!("https://{host}/{user}/{artifact}.git"))
    })
}

#[cfg(test)]
mod tests {
    use crate::project::clojure::{GitCoord, Source};
    use crate::project::deps_edn::{deps, deps_err};

    #[test]
    fn deps_edn_git_coordinates() {
        let p = deps(
            r#"{:deps {io.github.someone/lib {:git/tag "v1.2" :git/sha "ABCDEF1" :deps/root "core"}
        my/thing {:git/url "file:///srv/thing.git" :sha "0123456789abcdef0123456789abcdef01234567"}}}"#,
            &[],
        );
        assert_eq!(
            p.dependencies[0].source,
            Some(Source::Git(GitCoord {
                url: "https://github.com/someone/lib.git".into(),
                sha: "abcdef1".into(),
                tag: Some("v1.2".into()),
                deps_root: Some("core".into()),
            }))
        );
        assert_eq!(p.dependencies[0].maven.coord.version, "");
        let Some(Source::Git(thing)) = &p.dependencies[1].source else {
            panic!("a git dependency")
        };
        assert_eq!(thing.url, "file:///srv/thing.git");
        assert_eq!(thing.tag, None);
    }

    #[test]
    fn coordinate_errors() {
        assert_eq!(
            deps_err("{:deps {foo/bar\n        {:git/url \"https://x\" :git/sha \"abc\"}}}", &[]),
            "deps.edn:2:9: foo/bar: :git/sha \"abc\" must be a full 40-digit commit SHA (a prefix of 7 or more only with :git/tag)"
        );
        assert_eq!(
            deps_err("{:deps {foo/bar {:git/sha \"0123456789012345678901234567890123456789\"}}}", &[]),
            "deps.edn:1:17: foo/bar: a git dependency needs :git/url (it cannot be inferred from this lib name)"
        );
        assert_eq!(
            deps_err(
                "{:deps {foo/bar {:git/url \"https://x\" :git/tag \"v1\"}}}",
                &[]
            ),
            "deps.edn:1:17: foo/bar: a git dependency needs :git/sha"
        );
        // Refused when read, before any build step could fetch or write anything.
        let sha = "0123456789012345678901234567890123456789";
        let err = deps_err(
            &format!("{{:deps {{foo/bar {{:git/url \"https://x\" :git/sha \"{sha}\" :deps/root \"../..\"}}}}}}"),
            &[],
        );
        assert!(
            err.starts_with("deps.edn:1:17: foo/bar: :deps/root \"../..\" ")
                && err.contains("`..`"),
            "{err}"
        );
        let err = deps_err(
            &format!("{{:deps {{x/../../y {{:git/url \"https://x\" :git/sha \"{sha}\"}}}}}}"),
            &[],
        );
        assert!(
            err.contains(".kbuild/gitlibs/") && err.contains("`..`"),
            "{err}"
        );
        assert_eq!(
            deps_err("{:deps {foo/bar {:mvn/version 1}}}", &[]),
            "deps.edn:1:31: expected a version string, found integer"
        );
        assert_eq!(
            deps_err("{:deps {foo/bar {}}}", &[]),
            "deps.edn:1:17: foo/bar: expected :mvn/version, :local/root or :git/sha"
        );
        assert_eq!(
            deps_err("{:deps {\"foo/bar\" {:mvn/version \"1\"}}}", &[]),
            "deps.edn:1:9: expected a lib symbol like group/artifact, found string"
        );
    }
}
