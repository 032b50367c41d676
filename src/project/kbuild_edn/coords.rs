//! A `:maven` target's `:coords` and the `:repositories` a build file or target names.

use super::{at, boolean};
use crate::edn::Form;
use crate::project::{target::MavenDep, SettingsError};

/// `{"id" "url"}` in source order.
pub(super) fn repositories(form: &Form) -> Result<Vec<(String, String)>, SettingsError> {
    let map = form
        .as_map()
        .ok_or_else(|| at(form, ":repositories must be a map of id to URL"))?;
    map.iter()
        .map(
            |(k, v)| match (k.as_str().or_else(|| k.as_symbol()), v.as_str()) {
                (Some(id), Some(url)) if url.contains("://") => {
                    Ok((id.to_string(), url.to_string()))
                }
                (Some(_), _) => Err(at(
                    v,
                    "a repository URL must be a string like \"https://repo.example.com/maven2/\"",
                )),
                _ => Err(at(k, "repository ids are strings")),
            },
        )
        .collect()
}

/// `[group/artifact "version" :classifier "c" :extension "zip" :scope "test" :optional true
/// :exclusions [g/a ...]]`; a bare `artifact` means `artifact/artifact`, as in Leiningen.
pub(super) fn maven_dep(target: &str, form: &Form) -> Result<MavenDep, SettingsError> {
    let bad = |f: &Form, m: &str| at(f, format!("target {target}: {m}"));
    let items = match &form.value {
        crate::edn::Value::Vector(v) => v,
        _ => {
            return Err(bad(
                form,
                "each coordinate is a vector like [org.clojure/clojure \"1.11.1\"]",
            ))
        }
    };
    let (Some(sym), Some(version)) = (items.first(), items.get(1)) else {
        return Err(bad(form, "a coordinate needs a name and a version"));
    };
    let (group, artifact) = split_name(sym)
        .ok_or_else(|| bad(sym, "a coordinate starts with a symbol like group/artifact"))?;
    let version = version
        .as_str()
        .ok_or_else(|| bad(version, "the version is a string"))?
        .to_string();
    let mut dep = MavenDep {
        group,
        artifact,
        version,
        type_: "jar".into(),
        classifier: String::new(),
        scope: "compile".into(),
        optional: false,
        exclusions: Vec::new(),
    };
    let rest = &items[2..];
    if rest.len() % 2 != 0 {
        return Err(bad(
            form,
            "options after the version come in :key value pairs",
        ));
    }
    for pair in rest.chunks(2) {
        let (k, v) = (&pair[0], &pair[1]);
        let text = || {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| bad(v, "expected a string"))
        };
        match k.as_keyword() {
            Some("classifier") => dep.classifier = text()?,
            Some("extension") | Some("type") => dep.type_ = text()?,
            Some("scope") => {
                let s = text()?;
                if !["compile", "runtime", "provided", "test", "system"].contains(&s.as_str()) {
                    return Err(bad(v, &format!("unknown scope {s:?}")));
                }
                dep.scope = s;
            }
            Some("optional") => dep.optional = boolean(v, ":optional")?,
            Some("exclusions") => {
                let seq = v.as_seq().ok_or_else(|| bad(v, ":exclusions is a vector of group/artifact symbols"))?;
                for e in seq {
                    let e = match &e.value {
                        crate::edn::Value::Vector(inner) => inner.first().unwrap_or(e),
                        _ => e,
                    };
                    let (g, a) = split_name(e).ok_or_else(|| bad(e, "an exclusion is a symbol like group/artifact"))?;
                    dep.exclusions.push(format!("{g}:{a}"));
                }
            }
            _ => return Err(bad(k, &format!("unknown coordinate option {k} (expected :classifier, :extension, :scope, :optional or :exclusions)"))),
        }
    }
    Ok(dep)
}

fn split_name(form: &Form) -> Option<(String, String)> {
    let name = form.as_symbol().or_else(|| form.as_str())?;
    Some(match name.split_once('/') {
        Some((g, a)) => (g.to_string(), a.to_string()),
        None => (name.to_string(), name.to_string()),
    })
}
