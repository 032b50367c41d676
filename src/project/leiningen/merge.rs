//! Leiningen's `meta-merge` (how a profile's value combines with the project's), and the
//! reductions of dependency and repository vectors it applies on the way.

use super::dependencies::{dep_key, dep_map};
use super::value::{expected, Node, Reduce, V};
use crate::edn::Pos;
use crate::project::clojure::{invalid, R};
use crate::project::PROJECT_CLJ;

/// Leiningen's `different-priority?`.
pub(super) fn different_priority(l: &Node, r: &Node) -> bool {
    l.is_nil()
        || r.is_nil()
        || l.m.displace
        || l.m.replace
        || r.m.displace
        || r.m.replace
        || l.m.top_displace
}

/// Leiningen's `pick-prioritized`: which of two values with different priorities wins.
pub(super) fn pick_prioritized(l: Node, r: Node) -> Node {
    if l.is_nil() {
        return r;
    }
    if r.is_nil() {
        let mut l = l;
        l.m.top_displace = false;
        return l;
    }
    if l.m.top_displace {
        return r;
    }
    if l.m.displace && r.m.top_displace {
        return l;
    }
    if (l.m.displace && r.m.displace) || (l.m.replace && r.m.replace) {
        let m = l.m.merged(&r.m);
        return r.with_meta(m);
    }
    if l.m.displace || r.m.replace {
        let (mut lm, mut rm) = (l.m.clone(), r.m.clone());
        lm.displace = false;
        rm.replace = false;
        return r.with_meta(lm.merged(&rm));
    }
    // l.m.replace || r.m.displace
    let (mut lm, mut rm) = (l.m.clone(), r.m.clone());
    rm.displace = false;
    lm.replace = false;
    l.with_meta(rm.merged(&lm))
}

/// Leiningen's `meta-merge`: how a profile's value combines with the project's.
pub(super) fn meta_merge(l: Node, r: Node) -> R<Node> {
    if different_priority(&l, &r) {
        return Ok(pick_prioritized(l, r));
    }
    if let Some(kind) = l.m.reduce {
        let m = l.m.clone();
        return Ok(reduce(kind, l, r)?.with_meta(m));
    }
    let pos = l.pos;
    match (l.v, r.v) {
        (V::Map(mut left), V::Map(right)) => {
            for (k, v) in right {
                match left.iter().position(|(lk, _)| lk.same(&k)) {
                    Some(i) => {
                        let old = std::mem::replace(&mut left[i].1, Node::new(V::Nil, pos));
                        left[i].1 = meta_merge(old, v)?;
                    }
                    None => left.push((k, v)),
                }
            }
            Ok(Node {
                v: V::Map(left),
                m: l.m,
                pos,
            })
        }
        (V::Set(left), V::Set(right)) => {
            let mut out = right;
            for x in left {
                if !out.iter().any(|y| y.same(&x)) {
                    out.push(x);
                }
            }
            Ok(Node {
                v: V::Set(out),
                m: l.m.merged(&r.m),
                pos,
            })
        }
        (lv @ (V::Seq(..) | V::Set(_)), rv @ (V::Seq(..) | V::Set(_))) => {
            let li = match lv {
                V::Seq(i, _) | V::Set(i) => i,
                _ => unreachable!(),
            };
            let ri = match rv {
                V::Seq(i, _) | V::Set(i) => i,
                _ => unreachable!(),
            };
            let (items, m) = if l.m.prepend || r.m.prepend {
                (ri.into_iter().chain(li).collect(), r.m.merged(&l.m))
            } else {
                (li.into_iter().chain(ri).collect(), l.m.merged(&r.m))
            };
            Ok(Node {
                v: V::Seq(items, false),
                m,
                pos,
            })
        }
        // Same class or a type mismatch (which Leiningen warns about): the right wins.
        (_, rv) => Ok(Node {
            v: rv,
            m: r.m,
            pos: r.pos,
        }),
    }
}

fn reduce(kind: Reduce, l: Node, r: Node) -> R<Node> {
    match kind {
        Reduce::Deps => reduce_deps(l, r),
        Reduce::Repos => reduce_repos(l, r),
    }
}

pub(super) fn seq_items(file: &'static str, node: Node, what: &str) -> R<(Vec<Node>, Pos)> {
    match node.v {
        V::Seq(items, _) => Ok((items, node.pos)),
        V::Nil => Ok((Vec::new(), node.pos)),
        _ => Err(expected(file, &node, what)),
    }
}

/// Leiningen's `reduce-dep-step` over every dependency of `r`: one with the same
/// group/artifact/classifier/extension as an earlier one merges into it, in its place.
fn reduce_deps(l: Node, r: Node) -> R<Node> {
    let (left, pos) = seq_items(PROJECT_CLJ, l, "a vector of dependencies")?;
    let (right, _) = seq_items(PROJECT_CLJ, r, "a vector of dependencies")?;
    let mut acc = left.into_iter().map(dep_map).collect::<R<Vec<Node>>>()?;
    for dep in right {
        let dep = dep_map(dep)?;
        let key = dep_key(&dep);
        match acc.iter().position(|d| dep_key(d) == key) {
            Some(i) => {
                let old = std::mem::replace(&mut acc[i], Node::new(V::Nil, pos));
                acc[i] = meta_merge(old, dep)?;
            }
            None => acc.push(pick_prioritized(Node::new(V::Nil, pos), dep)),
        }
    }
    Ok(Node::vector(acc, pos))
}

/// Leiningen's `reduce-repo-step`: a repository with an id seen before merges into it.
fn reduce_repos(l: Node, r: Node) -> R<Node> {
    let (mut acc, pos) = seq_items(PROJECT_CLJ, l, "a vector of repositories")?;
    let (right, _) = seq_items(PROJECT_CLJ, r, "a vector of repositories")?;
    for repo in right {
        let repo = normalize_repo(repo)?;
        let (id, opts) = repo_parts(&repo)?;
        match acc
            .iter()
            .position(|o| repo_parts(o).map(|(i, _)| i == id).unwrap_or(false))
        {
            Some(i) => {
                let original = acc[i].clone();
                let opts = match &opts.v {
                    // `["id" :other]` reuses the options of repository "other".
                    V::Kw(other) => acc
                        .iter()
                        .find_map(|o| match repo_parts(o) {
                            Ok((oid, oopts)) if oid == *other => Some(oopts),
                            _ => None,
                        })
                        .unwrap_or_else(|| Node::new(V::Nil, opts.pos)),
                    _ => opts,
                };
                let new = Node::vector(vec![Node::string(&id, repo.pos), opts.clone()], repo.pos)
                    .with_meta(repo.m.clone());
                acc[i] = if different_priority(&new, &original) {
                    pick_prioritized(new, original)
                } else {
                    let (_, existing) = repo_parts(&original)?;
                    let m = original.m.merged(&repo.m);
                    Node::vector(
                        vec![Node::string(&id, original.pos), meta_merge(existing, opts)?],
                        original.pos,
                    )
                    .with_meta(m)
                };
            }
            None => acc.push(pick_prioritized(repo, Node::new(V::Nil, pos))),
        }
    }
    Ok(Node::vector(acc, pos))
}

/// `["id" "url"]` → `["id" {:url "url"}]`.
fn normalize_repo(repo: Node) -> R<Node> {
    let pos = repo.pos;
    let m = repo.m.clone();
    let (mut items, _) = seq_items(PROJECT_CLJ, repo, "a repository like [\"id\" \"url\"]")?;
    if items.len() != 2 {
        return Err(invalid(
            PROJECT_CLJ,
            pos,
            "expected a repository like [\"id\" \"url\"] or [\"id\" {:url \"url\"}]",
        ));
    }
    if let V::Str(url) = &items[1].v {
        let p = items[1].pos;
        items[1] = Node::new(V::Map(vec![(Node::kw("url", p), Node::string(url, p))]), p);
    }
    Ok(Node::vector(items, pos).with_meta(m))
}

pub(super) fn repo_parts(repo: &Node) -> R<(String, Node)> {
    match &repo.v {
        V::Seq(items, _) if items.len() == 2 => match &items[0].v {
            V::Str(id) => Ok((id.clone(), items[1].clone())),
            _ => Err(expected(PROJECT_CLJ, &items[0], "a repository id string")),
        },
        _ => Err(expected(
            PROJECT_CLJ,
            repo,
            "a repository like [\"id\" \"url\"]",
        )),
    }
}

/// Leiningen's `normalize-repos`: it maps over the repositories, so a map (`{"id" "url"}`,
/// as real projects often write them) gives its entries as `[id settings]` pairs, in the
/// order the file lists them.
fn normalize_repos(node: Node) -> R<Node> {
    let m = node.m.clone();
    let node = match node.v {
        V::Map(entries) => Node::vector(
            entries
                .into_iter()
                .map(|(k, v)| {
                    let pos = k.pos;
                    Node::vector(vec![k, v], pos)
                })
                .collect(),
            node.pos,
        ),
        _ => node,
    };
    let (items, pos) = seq_items(PROJECT_CLJ, node, "a vector or map of repositories")?;
    let items = items
        .into_iter()
        .map(normalize_repo)
        .collect::<R<Vec<_>>>()?;
    Ok(Node::vector(items, pos).with_meta(m))
}

/// The keys Leiningen gives empty-but-annotated values before merging (its
/// `empty-meta-merge-defaults`), which is what makes paths prepend and deps de-duplicate.
pub(super) fn empty_default(key: &str, pos: Pos) -> Option<Node> {
    let mut n = Node::vector(Vec::new(), pos);
    match key {
        "dependencies" => n.m.reduce = Some(Reduce::Deps),
        "repositories" => n.m.reduce = Some(Reduce::Repos),
        "source-paths" | "resource-paths" | "test-paths" => n.m.prepend = true,
        _ => return None,
    }
    Some(n)
}

/// Leiningen's `setup-map-defaults` for one key.
pub(super) fn setup_key(left: Node, right: Node) -> R<Node> {
    let mut rm = right.m.clone();
    rm.top_displace = false;
    let m = left.m.merged(&rm);
    let merged = if different_priority(&left, &right) {
        pick_prioritized(left, right)
    } else if let Some(kind) = left.m.reduce {
        reduce(kind, left, right)?
    } else {
        // prepend: (concat right left), and left is empty
        let (mut items, pos) = seq_items(PROJECT_CLJ, right, "a vector of paths")?;
        let (rest, _) = seq_items(PROJECT_CLJ, left, "a vector of paths")?;
        items.extend(rest);
        Node::new(V::Seq(items, false), pos)
    };
    Ok(merged.with_meta(m))
}

/// Leiningen's `normalize-values` on a project or profile map.
pub(super) fn normalize_values(map: &mut Node) -> R<()> {
    if let Some(repos) = map.remove("repositories") {
        let repos = normalize_repos(repos)?;
        map.set("repositories", repos);
    }
    if let Some(aot) = map.get("aot") {
        if matches!(&aot.v, V::Kw(k) if k == "all") {
            let pos = aot.pos;
            let mut all = Node::vector(vec![Node::kw("all", pos)], pos);
            all.m.replace = true;
            map.set("aot", all);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::project::clojure::{coords, excl};
    use crate::project::leiningen::{classpath_profiles, lein, lein_err};

    #[test]
    fn project_dependency_displaces_base_nrepl() {
        let p = lein(
            r#"(defproject foo "1" :dependencies [[nrepl "0.9.0"]] :jvm-opts ["-Dproj"]
                 :profiles {:dev {:jvm-opts ["-Ddev"]}})"#,
            &classpath_profiles(),
        );
        assert_eq!(
            coords(&p.dependencies),
            ["nrepl/nrepl 0.9.0", "org.nrepl/incomplete 0.1.0"]
        );
        assert!(p.dependencies[0].maven.exclusions.is_empty());
        // :base's jvm-opts are ^:displace too.
        assert_eq!(p.jvm_opts, ["-Dproj", "-Ddev"]);
    }

    #[test]
    fn displace_and_replace_on_profile_values() {
        let text = r#"(defproject foo "1"
            :source-paths ["src"]
            :javac-options ["-g"]
            :profiles {:a {:source-paths ^:displace ["a"] :javac-options ^:replace ["-O"]}
                       :b {:dependencies ^:replace [[x/y "1"]]}})"#;
        let p = lein(text, &["a"]);
        assert_eq!(p.source_paths, ["src"]);
        assert_eq!(p.javac_options, ["-O"]);
        let p = lein(text, &["base", "b"]);
        assert_eq!(coords(&p.dependencies), ["x/y 1"]);
    }

    #[test]
    fn same_dependency_twice_merges_into_the_first() {
        let p = lein(
            r#"(defproject foo "1" :dependencies [[a/b "1" :exclusions [x/x]] [c/d "1"] [a/b "2" :exclusions [y/y]]])"#,
            &[],
        );
        assert_eq!(coords(&p.dependencies), ["a/b 2", "c/d 1"]);
        assert_eq!(excl(&p.dependencies[0]), ["x/x", "y/y"]);
    }

    #[test]
    fn repositories_forms() {
        let p = lein(
            r#"(defproject foo "1" :repositories [["a" "https://a/"] ["b" {:url "https://b/" :snapshots false}]]
                 :profiles {:x {:repositories [["a" {:url "https://a2/"}] ["c" "https://c/"]]}})"#,
            &["x"],
        );
        let ids: Vec<String> = p
            .repositories
            .iter()
            .map(|r| format!("{}={}", r.id, r.url))
            .collect();
        assert_eq!(
            ids,
            [
                "central=https://repo1.maven.org/maven2/",
                "clojars=https://repo.clojars.org/",
                "a=https://a2/",
                "b=https://b/",
                "c=https://c/"
            ]
        );
        let e = lein_err(
            "(defproject foo \"1\"\n :repositories [[\"a\" {:snapshots false}]])",
            &[],
        );
        assert_eq!(e, "project.clj:2:22: repository \"a\" has no :url");
    }

    #[test]
    fn repositories_as_a_map() {
        let p = lein(
            r#"(defproject foo "1" :repositories {"z" "https://z/" "a" {:url "https://a/"}}
                 :profiles {:x {:repositories {"z" "https://z2/"}}})"#,
            &["x"],
        );
        let ids: Vec<String> = p
            .repositories
            .iter()
            .map(|r| format!("{}={}", r.id, r.url))
            .collect();
        assert_eq!(
            ids,
            [
                "central=https://repo1.maven.org/maven2/",
                "clojars=https://repo.clojars.org/",
                "z=https://z2/",
                "a=https://a/"
            ]
        );
        let p = lein(
            r#"(defproject foo "1" :repositories ^:replace {"only" "https://o/"})"#,
            &[],
        );
        assert_eq!(
            p.repositories
                .iter()
                .map(|r| (r.id.clone(), r.url.clone()))
                .collect::<Vec<_>>(),
            [("only".to_string(), "https://o/".to_string())]
        );
        let e = lein_err("(defproject foo \"1\"\n :repositories \"x\")", &[]);
        assert_eq!(
            e,
            "project.clj:2:16: expected a vector or map of repositories, found string"
        );
    }
}
