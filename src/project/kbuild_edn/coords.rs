//! A `:maven` target's `:coords` and the `:repositories` a build file or target names.

use kbuild_resolvers::{Dependency, Exclusion, Scope};

use super::{at, boolean};
use crate::edn::Form;
use crate::project::SettingsError;

/// `{"id" "url"}` in source order.
pub(super) fn repositories(
    form: &Form,
) -> Result<Vec<kbuild_resolvers::RemoteRepository>, SettingsError> {
    let map = form
        .as_map()
        .ok_or_else(|| at(form, ":repositories must be a map of id to URL"))?;
    map.iter()
        .map(
            |(k, v)| match (k.as_str().or_else(|| k.as_symbol()), v.as_str()) {
                (Some(id), Some(url)) if url.contains("://") => {
                    Ok(kbuild_resolvers::RemoteRepository::new(id, url))
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
pub(super) fn maven_dep(target: &str, form: &Form) -> Result<Dependency, SettingsError> {
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
    let (mut type_, mut classifier) = ("jar".to_string(), String::new());
    let (mut scope, mut optional, mut exclusions) = (Scope::Compile, false, Vec::new());
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
            Some("classifier") => classifier = text()?,
            Some("extension") | Some("type") => type_ = text()?,
            Some("scope") => {
                let s = text()?;
                if !["compile", "runtime", "provided", "test", "system"].contains(&s.as_str()) {
                    return Err(bad(v, &format!("unknown scope {s:?}")));
                }
                scope = Scope::parse(&s);
            }
            Some("optional") => optional = boolean(v, ":optional")?,
            Some("exclusions") => {
                let seq = v.as_seq().ok_or_else(|| bad(v, ":exclusions is a vector of group/artifact symbols"))?;
                for e in seq {
                    let e = match &e.value {
                        crate::edn::Value::Vector(inner) => inner.first().unwrap_or(e),
                        _ => e,
                    };
                    let (group, artifact) = split_name(e).ok_or_else(|| bad(e, "an exclusion is a symbol like group/artifact"))?;
                    exclusions.push(Exclusion { group, artifact });
                }
            }
            _ => return Err(bad(k, &format!("unknown coordinate option {k} (expected :classifier, :extension, :scope, :optional or :exclusions)"))),
        }
    }
    let mut dep = Dependency::new(&group, &artifact, &type_, &classifier, &version);
    dep.scope = scope;
    dep.optional = optional;
    dep.exclusions = exclusions;
    Ok(dep)
}

fn split_name(form: &Form) -> Option<(String, String)> {
    let name = form.as_symbol().or_else(|| form.as_str())?;
    Some(match name.split_once('/') {
        Some((g, a)) => (g.to_string(), a.to_string()),
        None => (name.to_string(), name.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use kbuild_resolvers::{Dependency, Exclusion, Scope};

    use crate::project::Rule;

    #[test]
    fn coordinates_are_dependencies_in_the_definition() {
        let text = r#"{:targets {deps {:rule :maven
            :coords [[org.clojure/clojure "1.11.1"]
                     [a/b "1.0" :classifier "natives" :extension "zip" :scope "runtime"
                      :optional true :exclusions [x/y [p/q] z]]
                     [tj "1" :type "test-jar"]]}}}"#;
        let p = super::super::parse(Path::new("/p"), text, None).unwrap();
        let Rule::Maven { coords, .. } = &p.targets["deps"].rule else {
            panic!("a maven target")
        };
        let mut b = Dependency::new("a", "b", "zip", "natives", "1.0");
        b.scope = Scope::Runtime;
        b.optional = true;
        b.exclusions = [("x", "y"), ("p", "q"), ("z", "z")]
            .map(|(group, artifact)| Exclusion {
                group: group.into(),
                artifact: artifact.into(),
            })
            .to_vec();
        assert_eq!(
            coords,
            &[
                Dependency::new("org.clojure", "clojure", "jar", "", "1.11.1"),
                b,
                Dependency::new("tj", "tj", "test-jar", "", "1"),
            ]
        );
        let definition = &p.targets["deps"].definition;
        assert!(
            definition.contains(
                r#"{"coord":{"group":"tj","artifact":"tj","extension":"jar","classifier":"tests","version":"1"},"type":"test-jar","scope":"compile"}"#
            ),
            "{definition}"
        );
        let again = super::super::parse(Path::new("/q"), text, None).unwrap();
        assert_eq!(definition, &again.targets["deps"].definition);
        let other =
            super::super::parse(Path::new("/p"), &text.replace("[p/q] ", ""), None).unwrap();
        assert_ne!(definition, &other.targets["deps"].definition);
    }
}
