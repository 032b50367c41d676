//! Leiningen's dependency vectors (`[group/name "version" :key value ...]`) as the maps
//! they are merged in, and those maps back to [`Dependency`]s.

use super::merge::seq_items;
use super::value::{expected, Node, V};
use kbuild_resolvers::{Dependency, Exclusion, Scope};

use crate::project::clojure::{invalid, R};
use crate::project::PROJECT_CLJ;

pub(super) fn sym_parts(file: &'static str, node: &Node, what: &str) -> R<(String, String)> {
    let s = match &node.v {
        V::Sym(s) | V::Str(s) => s,
        _ => return Err(expected(file, node, what)),
    };
    Ok(match s.split_once('/') {
        Some((g, a)) if !g.is_empty() && !a.is_empty() => (g.to_string(), a.to_string()),
        _ => (s.clone(), s.clone()),
    })
}

fn ids_map(file: &'static str, id: &Node, what: &str) -> R<Vec<(Node, Node)>> {
    let (g, a) = sym_parts(file, id, what)?;
    Ok(vec![
        (Node::kw("artifact-id", id.pos), Node::string(&a, id.pos)),
        (Node::kw("group-id", id.pos), Node::string(&g, id.pos)),
    ])
}

fn keyword_opts(items: &[Node], what: &str) -> R<Vec<(Node, Node)>> {
    if items.len() % 2 == 1 {
        let last = &items[items.len() - 1];
        return Err(invalid(
            PROJECT_CLJ,
            last.pos,
            format!("{what}: expected keyword/value pairs after the name and version"),
        ));
    }
    items
        .chunks(2)
        .map(|kv| match &kv[0].v {
            V::Kw(_) => Ok((kv[0].clone(), kv[1].clone())),
            _ => Err(expected(PROJECT_CLJ, &kv[0], "an option keyword")),
        })
        .collect()
}

/// Leiningen's `exclusion-map`: `x/y` or `[x/y :classifier ..]` → a map.
pub(super) fn exclusion_map(spec: Node) -> R<Node> {
    let pos = spec.pos;
    let m = spec.m.clone();
    let entries = match &spec.v {
        V::Map(_) if spec.get("artifact-id").is_some() => return Ok(spec),
        V::Sym(_) | V::Str(_) => ids_map(PROJECT_CLJ, &spec, "an exclusion")?,
        V::Seq(items, _) if !items.is_empty() => {
            let mut entries = keyword_opts(&items[1..], "exclusion")?;
            entries.extend(ids_map(PROJECT_CLJ, &items[0], "an exclusion")?);
            entries
        }
        _ => return Err(expected(PROJECT_CLJ, &spec, "an exclusion like group/name")),
    };
    Ok(Node::new(V::Map(entries), pos).with_meta(m))
}

/// Leiningen's `dependency-map` (after `normalize-dep-vector`, which makes an odd-length
/// vector versionless): the form in which dependencies are merged.
pub(super) fn dep_map(dep: Node) -> R<Node> {
    if let V::Map(_) = &dep.v {
        if dep.get("artifact-id").is_some() {
            return Ok(dep);
        }
    }
    let pos = dep.pos;
    let m = dep.m.clone();
    let items = match &dep.v {
        V::Seq(items, _) if !items.is_empty() => items.clone(),
        _ => {
            return Err(expected(
                PROJECT_CLJ,
                &dep,
                "a dependency like [group/name \"version\"]",
            ))
        }
    };
    let id = &items[0];
    if items.len() % 2 == 1 && items.len() > 1 && matches!(items[1].v, V::Str(_)) {
        // `[a/b "1" :scope]`: a version, then an option without its value.
        let name = match &id.v {
            V::Sym(s) | V::Str(s) => s.as_str(),
            _ => "dependency",
        };
        return Err(invalid(
            PROJECT_CLJ,
            items[items.len() - 1].pos,
            format!("{name}: expected keyword/value pairs after the name and version"),
        ));
    }
    let (version, opts) = if items.len() % 2 == 0 {
        (items[1].clone(), &items[2..])
    } else {
        (Node::new(V::Nil, pos), &items[1..])
    };
    let name = match &id.v {
        V::Sym(s) | V::Str(s) => s.clone(),
        _ => String::new(),
    };
    match &version.v {
        V::Str(_) | V::Nil => {}
        _ => {
            return Err(expected(
                PROJECT_CLJ,
                &version,
                &format!("a version string for {name}"),
            ))
        }
    }
    let mut entries = keyword_opts(opts, &name)?;
    for (k, v) in entries.iter_mut() {
        if matches!(&k.v, V::Kw(n) if n == "exclusions") {
            let em = v.m.clone();
            let (specs, p) = seq_items(PROJECT_CLJ, v.clone(), "a vector of exclusions")?;
            let specs = specs
                .into_iter()
                .map(exclusion_map)
                .collect::<R<Vec<_>>>()?;
            *v = Node::new(V::Seq(specs, false), p).with_meta(em);
        }
    }
    entries.extend(ids_map(
        PROJECT_CLJ,
        id,
        "a dependency name like group/name",
    )?);
    entries.push((Node::kw("version", pos), version));
    Ok(Node::new(V::Map(entries), pos).with_meta(m))
}

pub(super) fn str_field(node: &Node, key: &str) -> Option<String> {
    match node.get(key).map(|n| &n.v) {
        Some(V::Str(s)) | Some(V::Sym(s)) => Some(s.clone()),
        Some(V::Kw(s)) => Some(s.clone()),
        _ => None,
    }
}

type DepKey = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Leiningen's `dep-key`: classifier and extension count as written (`nil` ≠ `"jar"`).
pub(super) fn dep_key(dm: &Node) -> DepKey {
    (
        str_field(dm, "group-id"),
        str_field(dm, "artifact-id"),
        str_field(dm, "classifier"),
        str_field(dm, "extension"),
    )
}

/// A dependency map back to a [`Dependency`] (its version possibly still empty), with
/// `extra_exclusions` (the project's global ones).
pub(super) fn dep_from_map(dm: &Node, extra_exclusions: &[Exclusion]) -> R<Dependency> {
    let field = |key: &str, what: &str| -> R<Option<String>> {
        match dm.get(key) {
            None => Ok(None),
            Some(n) => match &n.v {
                V::Nil => Ok(None),
                V::Str(s) => Ok(Some(s.clone())),
                V::Kw(s) | V::Sym(s) if key == "scope" => Ok(Some(s.clone())),
                _ => Err(expected(PROJECT_CLJ, n, what)),
            },
        }
    };
    let mut exclusions = Vec::new();
    if let Some(ex) = dm.get("exclusions") {
        for spec in ex.items().unwrap_or(&[]) {
            let exclusion = exclusion(&exclusion_map(spec.clone())?);
            if !exclusions.contains(&exclusion) {
                exclusions.push(exclusion);
            }
        }
    }
    // Leiningen `into`s the global ones onto the (list of) exclusions: in front, reversed.
    for e in extra_exclusions {
        if !exclusions.contains(e) {
            exclusions.insert(0, e.clone());
        }
    }
    let optional = match dm.get("optional").map(|n| &n.v) {
        None | Some(V::Nil) | Some(V::Bool(false)) => false,
        Some(_) => true,
    };
    let version = field("version", "a version string")?.unwrap_or_default();
    let classifier = field("classifier", "a classifier string")?.unwrap_or_default();
    let extension = field("extension", "an extension string")?.unwrap_or_else(|| "jar".into());
    let scope = field("scope", "a scope string")?;
    let mut dep = Dependency::new(
        &str_field(dm, "group-id").unwrap_or_default(),
        &str_field(dm, "artifact-id").unwrap_or_default(),
        &extension,
        &classifier,
        &version,
    );
    dep.scope = Scope::parse(scope.as_deref().unwrap_or("compile"));
    dep.optional = optional;
    dep.exclusions = exclusions;
    Ok(dep)
}

/// An exclusion map as the resolver takes it.
pub(super) fn exclusion(spec: &Node) -> Exclusion {
    Exclusion {
        group: str_field(spec, "group-id").unwrap_or_default(),
        artifact: str_field(spec, "artifact-id").unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use crate::project::clojure::{coords, excl};
    use crate::project::leiningen::lein;

    #[test]
    fn dependency_options() {
        let p = lein(
            r#"(defproject foo "1" :dependencies
                 [[a/b "1" :classifier "c" :extension "zip" :scope "test" :optional true
                   :exclusions [x/y [z/w :classifier "q"] single]]
                  ["str/id" "2"]
                  [a/b "3"]
                  [a/b "4" :classifier "c"]])"#,
            &[],
        );
        assert_eq!(
            coords(&p.dependencies),
            [
                "a/b 1 :classifier c :extension zip :scope test :optional",
                "str/id 2",
                "a/b 3",
                // The same key (extension differs: nil vs "zip") merges in place.
                "a/b 4 :classifier c",
            ]
        );
        assert_eq!(excl(&p.dependencies[0]), ["x/y", "z/w", "single/single"]);
    }
}
