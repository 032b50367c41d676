//! Leiningen's profiles: the built-in ones, those of the user's and the project's files,
//! composite profiles, the defaults of each task, and their merging into the project map.

use super::dependencies::dep_map;
use super::merge::{empty_default, meta_merge, normalize_values, seq_items, setup_key};
use super::value::{expected, Meta, Node, V};
use crate::edn::Pos;
use crate::project::clojure::{invalid, ClojureError, R};
use crate::project::PROJECT_CLJ;

/// Leiningen's `setup-profile-with-empty` for a plain (map) profile.
fn setup_profile(mut profile: Node) -> R<Node> {
    let V::Map(_) = &profile.v else {
        return Ok(profile);
    };
    // :java-opts is the old name of :jvm-opts
    if profile.get("jvm-opts").is_none() {
        if let Some(j) = profile.remove("java-opts") {
            profile.set("jvm-opts", j);
        }
    }
    normalize_values(&mut profile)?;
    for key in [
        "dependencies",
        "repositories",
        "source-paths",
        "resource-paths",
        "test-paths",
    ] {
        if let Some(value) = profile.remove(key) {
            let empty = empty_default(key, value.pos).expect("a key with a default");
            let merged = setup_key(empty, value)?;
            profile.set(key, merged);
        }
    }
    Ok(profile)
}

/// Profile names can be given as `dev` or `:dev`.
fn profile_name(name: &str) -> &str {
    name.strip_prefix(':').unwrap_or(name)
}

/// Profiles Leiningen does not warn about when they are absent.
const SILENT_PROFILES: &[&str] = &[
    "provided",
    "dev",
    "user",
    "test",
    "base",
    "default",
    "production",
    "system",
    "repl",
];

pub(super) struct Profiles {
    /// Name (without `:`) → profile (a map, or a composite vector), Leiningen's built-in
    /// ones first, then the project's, which replace them by name.
    map: Vec<(String, Node)>,
    /// Where the project's `:profiles` map (or the `defproject`) is, for errors.
    pos: Pos,
}

impl Profiles {
    /// Leiningen's built-in profiles, replaced by name by those of other files (`extra`),
    /// and those by the project's `:profiles` (`raw`); `def_pos` is the `defproject`'s.
    pub(super) fn new(def_pos: Pos, raw: Option<Node>, extra: Vec<(String, Node)>) -> R<Profiles> {
        let mut all = Profiles {
            map: builtin_profiles(def_pos),
            pos: raw.as_ref().map(|p| p.pos).unwrap_or(def_pos),
        };
        for (name, node) in extra {
            all.map.retain(|(n, _)| *n != name);
            all.map.push((name, node));
        }
        if let Some(raw) = raw {
            let V::Map(entries) = raw.v else {
                return Err(expected(PROJECT_CLJ, &raw, "a map of profiles"));
            };
            for (k, v) in entries {
                let V::Kw(name) = &k.v else {
                    return Err(expected(PROJECT_CLJ, &k, "a profile keyword"));
                };
                all.map.retain(|(n, _)| n != name);
                all.map.push((name.clone(), v));
            }
        }
        // Leiningen's `default-profile-metadata`, under the profile's own.
        for (name, node) in all.map.iter_mut() {
            let scope = match name.as_str() {
                "dev" | "test" => "test",
                "provided" => "provided",
                _ => continue,
            };
            if node.holds_meta() && node.m.pom_scope.is_none() {
                node.m.pom_scope = Some(scope.to_string());
            }
        }
        Ok(all)
    }

    /// Leiningen's `init-profiles`: the `requested` profiles (see [`default_profiles`])
    /// merged into `project`, and the names of the atomic profiles merged, in order.
    pub(super) fn merge_into(
        &self,
        mut project: Node,
        requested: &[&str],
        def_pos: Pos,
    ) -> R<(Node, Vec<String>)> {
        let mut expanded = Vec::new();
        for p in requested {
            let name = profile_name(p);
            match name.strip_suffix('?') {
                Some(name) if self.get(name).is_none() => {}
                Some(name) => self.expand(name, &Meta::default(), def_pos, &mut expanded, 0)?,
                None if self.get(name).is_none() && !SILENT_PROFILES.contains(&name) => {
                    return Err(self.unknown(name, self.pos));
                }
                None => self.expand(name, &Meta::default(), def_pos, &mut expanded, 0)?,
            }
        }
        // Leiningen's `last-distinct-by`: a repeated profile counts where it last appears.
        let mut effective: Vec<(String, Meta, Pos)> = Vec::new();
        for (name, meta, at) in expanded.into_iter().rev() {
            if !effective.iter().any(|(n, ..)| *n == name) {
                effective.push((name, meta, at));
            }
        }
        effective.reverse();
        for (name, inherited, at) in &effective {
            let mut profile = self.lookup(name, *at)?;
            if let Some(scope) = inherited.pom_scope.clone().or(profile.m.pom_scope.clone()) {
                if let Some(deps) = profile.remove("dependencies") {
                    let m = deps.m.clone();
                    let (items, pos) = seq_items(PROJECT_CLJ, deps, "a vector of dependencies")?;
                    let mut scoped = Vec::new();
                    for d in items {
                        let mut d = dep_map(d)?;
                        if d.get("scope").is_none() {
                            d.set("scope", Node::string(&scope, d.pos));
                        }
                        scoped.push(d);
                    }
                    profile.set("dependencies", Node::vector(scoped, pos).with_meta(m));
                }
            }
            normalize_values(&mut profile)?;
            project = meta_merge(project, profile)?;
        }
        let merged = effective.into_iter().map(|(n, ..)| n).collect();
        Ok((project, merged))
    }

    /// What the `%s` of `:target-path` becomes when the `merged` profiles are: Leiningen's
    /// `profile-scope-target-path`, which names composites by their runs of members.
    pub(super) fn target_path_name(&self, merged: &[String]) -> String {
        let names: Vec<String> = self
            .normalize_names(merged)
            .iter()
            .map(|n| n.rsplit('/').next().unwrap_or(n).to_string())
            .filter(|n| n != "default")
            .collect();
        names.join("+")
    }

    fn get(&self, name: &str) -> Option<&Node> {
        self.map.iter().find(|(n, _)| n == name).map(|(_, p)| p)
    }

    fn defined(&self) -> String {
        let names: Vec<String> = self.map.iter().map(|(n, _)| format!(":{n}")).collect();
        names.join(", ")
    }

    fn unknown(&self, name: &str, pos: Pos) -> ClojureError {
        ClojureError::UnknownProfile {
            file: PROJECT_CLJ,
            line: pos.line,
            column: pos.column,
            name: name.to_string(),
            defined: self.defined(),
        }
    }

    /// Leiningen's `expand-profile*`: composite profiles (vectors of keywords) become their
    /// atomic members, each with the metadata it inherits (e.g. `:pom-scope`).
    /// `at`: where the name was written (a composite profile), for errors.
    fn expand(
        &self,
        name: &str,
        inherited: &Meta,
        at: Pos,
        out: &mut Vec<(String, Meta, Pos)>,
        depth: usize,
    ) -> R<()> {
        if depth > 64 {
            return Err(invalid(
                PROJECT_CLJ,
                self.pos,
                format!("profile :{name} includes itself"),
            ));
        }
        match self.get(name) {
            Some(node) => match &node.v {
                V::Seq(items, _) if !items.iter().any(|i| matches!(i.v, V::Map(_))) => {
                    let meta = inherited.merged(&node.m);
                    for item in items {
                        match &item.v {
                            V::Kw(k) => self.expand(k, &meta, item.pos, out, depth + 1)?,
                            _ => return Err(expected(PROJECT_CLJ, item, "a profile keyword")),
                        }
                    }
                }
                _ => out.push((name.to_string(), inherited.clone(), at)),
            },
            None => out.push((name.to_string(), inherited.clone(), at)),
        }
        Ok(())
    }

    /// Leiningen's `lookup-profile*`.
    /// An undefined profile is empty, as in Leiningen: composites such as
    /// `:dev [:project/dev :profiles/dev]` name profiles that only a user's
    /// `profiles.clj` defines. (Names the caller asks for are checked before.)
    fn lookup(&self, name: &str, at: Pos) -> R<Node> {
        match self.get(name) {
            None => Ok(Node::new(V::Map(Vec::new()), at)),
            Some(node) => self.lookup_node(node),
        }
    }

    fn lookup_node(&self, node: &Node) -> R<Node> {
        match &node.v {
            // Set up only when used, so that an inactive profile cannot fail the read.
            V::Map(_) => setup_profile(node.clone()),
            V::Seq(items, _) => {
                let mut acc = Node::new(V::Map(Vec::new()), node.pos);
                for item in items {
                    let p = match &item.v {
                        V::Kw(k) => self.lookup(k, node.pos)?,
                        _ => self.lookup_node(item)?,
                    };
                    acc = meta_merge(acc, p)?;
                }
                Ok(acc.with_meta(node.m.clone()))
            }
            _ => Err(expected(
                PROJECT_CLJ,
                node,
                "a profile map or a vector of profiles",
            )),
        }
    }

    /// Leiningen's `normalize-profile-names`: runs of profiles that make up a composite
    /// profile are named after it (so `[:base :system :user :provided :dev]` is `default`).
    fn normalize_names(&self, profiles: &[String]) -> Vec<String> {
        let mut composites: Vec<(&str, Vec<&str>)> = self
            .map
            .iter()
            .filter_map(|(name, node)| match &node.v {
                V::Seq(items, true) if !items.is_empty() => items
                    .iter()
                    .map(|i| match &i.v {
                        V::Kw(k) => Some(k.as_str()),
                        _ => None,
                    })
                    .collect::<Option<Vec<&str>>>()
                    .map(|members| (name.as_str(), members)),
                _ => None,
            })
            .collect();
        composites.sort_by_key(|c| std::cmp::Reverse(c.1.len()));
        let mut current: Vec<String> = profiles.to_vec();
        loop {
            let mut out = Vec::new();
            let mut i = 0;
            while i < current.len() {
                let found = composites.iter().find(|(_, members)| {
                    current.len() - i >= members.len()
                        && members.iter().zip(&current[i..]).all(|(m, c)| *m == c)
                });
                match found {
                    Some((name, members)) => {
                        out.push(name.to_string());
                        i += members.len();
                    }
                    None => {
                        out.push(current[i].clone());
                        i += 1;
                    }
                }
            }
            if out.len() == current.len() {
                return current;
            }
            current = out;
        }
    }
}

/// The function `:base`'s `:checkout-deps-shares` ends with (`#'classpath/checkout-deps-paths`).
pub(super) const CHECKOUT_DEPS_PATHS: &str = "leiningen.core.classpath/checkout-deps-paths";

/// Leiningen's built-in profiles (`leiningen.core.project/default-profiles`), as far as
/// they concern a build: `:base` adds `dev-resources`, nREPL and a JVM option, all of
/// which the project can displace.
fn builtin_profiles(pos: Pos) -> Vec<(String, Node)> {
    let kws = |names: &[&str]| Node::vector(names.iter().map(|n| Node::kw(n, pos)).collect(), pos);
    let sym = |s: &str| Node::new(V::Sym(s.to_string()), pos);
    let displaced_dep = |name: &str, version: &str| {
        let mut d = Node::vector(
            vec![
                sym(name),
                Node::string(version, pos),
                Node::kw("exclusions", pos),
                Node::vector(vec![sym("org.clojure/clojure")], pos),
            ],
            pos,
        );
        d.m.displace = true;
        d
    };
    let mut jvm_opts = Node::vector(
        vec![Node::string("-XX:-OmitStackTraceInFastThrow", pos)],
        pos,
    );
    jvm_opts.m.displace = true;
    let base = Node::new(
        V::Map(vec![
            (
                Node::kw("resource-paths", pos),
                Node::vector(vec![Node::string("dev-resources", pos)], pos),
            ),
            (Node::kw("jvm-opts", pos), jvm_opts),
            // The last entry is a function of lein's that adds the checkouts' own checkouts.
            (
                Node::kw("checkout-deps-shares", pos),
                Node::vector(
                    [
                        "source-paths",
                        "test-paths",
                        "resource-paths",
                        "compile-path",
                    ]
                    .iter()
                    .map(|k| Node::kw(k, pos))
                    .chain([sym(CHECKOUT_DEPS_PATHS)])
                    .collect(),
                    pos,
                ),
            ),
            (
                Node::kw("dependencies", pos),
                Node::vector(
                    vec![
                        displaced_dep("nrepl/nrepl", "1.0.0"),
                        displaced_dep("org.nrepl/incomplete", "0.1.0"),
                    ],
                    pos,
                ),
            ),
        ]),
        pos,
    );
    let empty = || Node::new(V::Map(Vec::new()), pos);
    vec![
        ("default".into(), kws(&["leiningen/default"])),
        (
            "leiningen/default".into(),
            kws(&["base", "system", "user", "provided", "dev"]),
        ),
        ("base".into(), base),
        ("leiningen/test".into(), empty()),
        ("uberjar".into(), empty()),
        ("update".into(), empty()),
        ("offline".into(), empty()),
        ("debug".into(), empty()),
    ]
}

/// The profiles Leiningen 2.10 merges for a task, expanded (`:default` is
/// `[:base :system :user :provided :dev]`). A trailing `?` marks a profile Leiningen only
/// merges when the project defines it (it matters for the `%s` of `:target-path`);
/// [`super::read_project_clj`] understands the mark.
/// - `test`: the defaults, then `:leiningen/test` and `:test`;
/// - `repl`: the defaults, then `:repl?`;
/// - `jar`: `:provided?` alone (the defaults are unmerged, a defined `:provided` stays);
/// - `uberjar`: `:uberjar` and `:provided?` for compiling (the jar and classes go to
///   `target/uberjar+provided` with `"target/%s"`); the standalone jar's dependencies are
///   those of `["uberjar"]` alone;
/// - anything else (`classpath`, `run`, `compile`, `javac`, ...): the defaults.
pub(in crate::project) fn default_profiles(task: &str) -> Vec<&'static str> {
    const DEFAULT: [&str; 5] = ["base", "system", "user", "provided", "dev"];
    let mut profiles = DEFAULT.to_vec();
    match task {
        "test" => profiles.extend(["leiningen/test", "test"]),
        "repl" => profiles.push("repl?"),
        "jar" => profiles = vec!["provided?"],
        "uberjar" => profiles = vec!["uberjar", "provided?"],
        _ => {}
    }
    profiles
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::clojure::coords;
    use crate::project::leiningen::{classpath_profiles, lein, lein_err};

    #[test]
    fn default_profiles_per_task() {
        let d = ["base", "system", "user", "provided", "dev"];
        assert_eq!(default_profiles("classpath"), d);
        assert_eq!(default_profiles("run"), d);
        let mut t = d.to_vec();
        t.extend(["leiningen/test", "test"]);
        assert_eq!(default_profiles("test"), t);
        let mut r = d.to_vec();
        r.push("repl?");
        assert_eq!(default_profiles("repl"), r);
        assert_eq!(default_profiles("jar"), ["provided?"]);
        assert_eq!(default_profiles("uberjar"), ["uberjar", "provided?"]);
    }

    /// The project and expectations below were checked against Debian's lein 2.10
    /// (`lein [with-profile P] classpath` and `update-in KEY prn`).
    const PROFILES: &str = r#"
(defproject foo "0.1.0"
  :dependencies [[org.clojure/clojure "1.11.1"]]
  :target-path "target/%s"
  :source-paths ["src" "src2"]
  :java-source-paths ["java"]
  :profiles {:dev {:source-paths ["dev"] :resource-paths ["dres"] :test-paths ["dtest"]}
             :test {:source-paths ["tsrc"] :test-paths ^:replace ["only-test"]}
             :foo [:bar :baz]
             :bar {:source-paths ["bar"]}
             :baz {:source-paths ["baz"]}})
"#;

    #[test]
    fn profile_paths_go_first_later_profiles_before_earlier() {
        let p = lein(PROFILES, &classpath_profiles());
        assert_eq!(p.test_paths, ["dtest", "test"]);
        assert_eq!(p.source_paths, ["dev", "src", "src2"]);
        assert_eq!(p.resource_paths, ["dres", "dev-resources", "resources"]);
        // "target/%s" with only the default profiles: the name is empty.
        assert_eq!(p.target_path, "target");
        assert_eq!(p.compile_path, "target/classes");
    }

    #[test]
    fn replace_metadata_and_target_path_naming() {
        let mut profiles = classpath_profiles();
        profiles.push("test");
        let p = lein(PROFILES, &profiles);
        assert_eq!(p.test_paths, ["only-test"]);
        assert_eq!(p.source_paths, ["tsrc", "dev", "src", "src2"]);
        assert_eq!(p.compile_path, "target/test/classes");

        // What `lein test` merges: :leiningen/test is named "test" too.
        let p = lein(PROFILES, &default_profiles("test"));
        assert_eq!(p.compile_path, "target/test+test/classes");
        assert_eq!(p.target_path, "target/test+test");
    }

    #[test]
    fn composite_profiles() {
        let mut profiles = classpath_profiles();
        profiles.push(":foo");
        let p = lein(PROFILES, &profiles);
        assert_eq!(p.source_paths, ["baz", "bar", "dev", "src", "src2"]);
        assert_eq!(p.compile_path, "target/foo/classes");

        // `lein with-profile foo,dev`: no :base, so no dev-resources.
        let p = lein(PROFILES, &["foo", "dev"]);
        assert_eq!(p.source_paths, ["dev", "baz", "bar", "src", "src2"]);
        assert_eq!(p.resource_paths, ["dres", "resources"]);
        assert_eq!(p.compile_path, "target/foo+dev/classes");

        // `default` is itself a composite.
        let p = lein(PROFILES, &["default"]);
        assert_eq!(p.source_paths, ["dev", "src", "src2"]);
        assert_eq!(p.compile_path, "target/classes");
    }

    #[test]
    fn unknown_profile_is_an_error_but_leiningens_optional_ones_are_not() {
        let e = lein_err(
            "(defproject foo \"1\"\n  :profiles {:dev {}})",
            &["base", "nope"],
        );
        assert!(
            e.starts_with("project.clj:2:13: profile :nope is not defined"),
            "{e}"
        );
        assert!(e.contains(":dev"), "{e}");
        let e = lein_err("(defproject foo \"1\")", &["nope"]);
        assert!(
            e.starts_with("project.clj:1:1: profile :nope is not defined"),
            "{e}"
        );
        lein(
            "(defproject foo \"1\")",
            &["user", "system", "provided", "production", "repl"],
        );
        // Inside a composite a missing profile is empty, as in Leiningen (user profiles
        // are not read).
        let p = lein(
            "(defproject foo \"1\"\n  :profiles {:dev [:project/dev :profiles/dev]\n :project/dev {:source-paths [\"dev\"]}})",
            &classpath_profiles(),
        );
        assert_eq!(p.source_paths, ["dev", "src"]);
    }

    #[test]
    fn repl_profile_only_counts_when_defined() {
        let text = r#"(defproject foo "1" :target-path "target/%s")"#;
        assert_eq!(
            lein(text, &default_profiles("repl")).compile_path,
            "target/classes"
        );
        let text = r#"(defproject foo "1" :target-path "target/%s" :profiles {:repl {:source-paths ["r"]}})"#;
        let p = lein(text, &default_profiles("repl"));
        assert_eq!(p.compile_path, "target/repl/classes");
        assert_eq!(p.source_paths, ["r", "src"]);
    }

    #[test]
    fn pom_scope_of_profiles() {
        let p = lein(
            r#"(defproject foo "1"
                 :profiles {:dev {:dependencies [[d/d "1"] [r/r "1" :scope "runtime"]]}
                            :provided {:dependencies [[p/p "1"]]}
                            :test {:dependencies [[t/t "1"]]}
                            :other ^{:pom-scope :test} {:dependencies [[o/o "1"]]}
                            :plain {:dependencies [[n/n "1"]]}
                            :dev2 [:plain]})"#,
            &["provided", "dev", "test", "other", "plain"],
        );
        assert_eq!(
            coords(&p.dependencies),
            [
                "p/p 1 :scope provided",
                "d/d 1 :scope test",
                "r/r 1 :scope runtime",
                "t/t 1 :scope test",
                "o/o 1 :scope test",
                "n/n 1"
            ]
        );
    }
}
