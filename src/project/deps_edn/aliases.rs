//! deps.edn aliases: the project's over the root deps.edn's `:test`, the arguments of the
//! selected ones merged the tools.deps way, and path aliases flattened.

use super::coord::{deps_map, merge_dep, DepsMap};
use super::{expected, path_entries, strings, PathEntry};
use crate::edn::{Form, Pos, Value};
use crate::project::clojure::{invalid, ClojureError, R};
use crate::project::DEPS_EDN;

/// Alias arguments merged the tools.deps way (`merge-alias-maps`).
#[derive(Default)]
pub(super) struct AliasArgs {
    pub(super) extra_paths: Option<Vec<PathEntry>>,
    pub(super) replace_paths: Option<Vec<PathEntry>>,
    pub(super) extra_deps: Option<DepsMap>,
    pub(super) replace_deps: Option<DepsMap>,
    pub(super) override_deps: DepsMap,
    pub(super) default_deps: DepsMap,
    pub(super) jvm_opts: Vec<String>,
    pub(super) main_opts: Option<Vec<String>>,
}

/// tools.deps' `append-unique` of path entries.
fn append_unique(into: &mut Option<Vec<PathEntry>>, more: Vec<PathEntry>) {
    let v = into.get_or_insert_with(Vec::new);
    for e in more {
        let dup = v.iter().any(|x| match (x, &e) {
            (PathEntry::Dir(a), PathEntry::Dir(b)) => a == b,
            (PathEntry::Alias(a, _), PathEntry::Alias(b, _)) => a == b,
            _ => false,
        });
        if !dup {
            v.push(e);
        }
    }
}

fn merge_deps_into(into: &mut Option<DepsMap>, more: DepsMap) {
    let v = into.get_or_insert_with(Vec::new);
    for e in more {
        merge_dep(v, e);
    }
}

/// The aliases a deps.edn can select.
pub(super) struct Aliases {
    /// Name (without `:`) → the alias's data, in declaration order.
    data: Vec<(String, Form)>,
    /// Where the `:aliases` map (or the top-level map) is, for errors.
    pos: Pos,
}

impl Aliases {
    /// The root deps.edn's `:test` alias, under the project's `:aliases` (`form`) of the
    /// same name; `top` is where the top-level map is.
    pub(super) fn new(aliases_form: Option<&Form>, top: Pos) -> R<Aliases> {
        let origin = Pos { line: 1, column: 1 };
        let test_alias = Form {
            value: Value::Map(vec![(
                Form {
                    value: Value::Keyword("extra-paths".into()),
                    pos: origin,
                    meta: None,
                },
                Form {
                    value: Value::Vector(vec![Form {
                        value: Value::Str("test".into()),
                        pos: origin,
                        meta: None,
                    }]),
                    pos: origin,
                    meta: None,
                },
            )]),
            pos: origin,
            meta: None,
        };
        let mut alias_data: Vec<(String, Form)> = vec![("test".into(), test_alias)];
        if let Some(a) = aliases_form {
            let entries = a.as_map().ok_or_else(|| expected(a, "a map of aliases"))?;
            for (k, v) in entries {
                let name = k
                    .as_keyword()
                    .ok_or_else(|| expected(k, "an alias keyword"))?
                    .to_string();
                match alias_data.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, old)) => {
                        // (merge-with merge root-aliases project-aliases)
                        *old = match (&old.value, &v.value) {
                            (Value::Map(o), Value::Map(n)) => {
                                let mut merged: Vec<(Form, Form)> = o
                                    .iter()
                                    .filter(|(ok, _)| {
                                        !n.iter().any(|(nk, _)| nk.as_keyword() == ok.as_keyword())
                                    })
                                    .cloned()
                                    .collect();
                                merged.extend(n.iter().cloned());
                                Form {
                                    value: Value::Map(merged),
                                    pos: v.pos,
                                    meta: None,
                                }
                            }
                            _ => v.clone(),
                        }
                    }
                    None => alias_data.push((name, v.clone())),
                }
            }
        }
        Ok(Aliases {
            data: alias_data,
            pos: aliases_form.map(|a| a.pos).unwrap_or(top),
        })
    }

    fn defined(&self) -> String {
        self.data
            .iter()
            .map(|(n, _)| format!(":{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The arguments of the `selected` aliases (`-A:dev:test` is `["dev", "test"]`, with
    /// or without `:`), merged in order.
    pub(super) fn args(&self, selected: &[&str]) -> R<AliasArgs> {
        let mut args = AliasArgs::default();
        for alias in selected {
            let name = alias.strip_prefix(':').unwrap_or(alias);
            let Some((_, form)) = self.data.iter().find(|(n, _)| n == name) else {
                return Err(ClojureError::UnknownAlias {
                    file: DEPS_EDN,
                    line: self.pos.line,
                    column: self.pos.column,
                    name: name.to_string(),
                    defined: self.defined(),
                });
            };
            let entries = form
                .as_map()
                .ok_or_else(|| expected(form, &format!("a map of arguments for alias :{name}")))?;
            for (k, v) in entries {
                let Some(key) = k.as_keyword() else { continue };
                if matches!(v.value, Value::Nil) {
                    continue;
                }
                match key {
                    "extra-paths" => {
                        append_unique(&mut args.extra_paths, path_entries(v, ":extra-paths")?)
                    }
                    "replace-paths" | "paths" => {
                        append_unique(&mut args.replace_paths, path_entries(v, ":replace-paths")?)
                    }
                    "extra-deps" => {
                        merge_deps_into(&mut args.extra_deps, deps_map(v, ":extra-deps")?)
                    }
                    "replace-deps" | "deps" => {
                        merge_deps_into(&mut args.replace_deps, deps_map(v, ":replace-deps")?)
                    }
                    "override-deps" => {
                        for e in deps_map(v, ":override-deps")? {
                            merge_dep(&mut args.override_deps, e);
                        }
                    }
                    "default-deps" => {
                        for e in deps_map(v, ":default-deps")? {
                            merge_dep(&mut args.default_deps, e);
                        }
                    }
                    "jvm-opts" => args.jvm_opts.extend(strings(v, ":jvm-opts")?),
                    "main-opts" => args.main_opts = Some(strings(v, ":main-opts")?),
                    _ => {}
                }
            }
        }
        Ok(args)
    }

    /// tools.deps' `flatten-paths`: alias keywords in path vectors name more path vectors.
    pub(super) fn flatten(&self, entries: &[PathEntry]) -> R<Vec<String>> {
        fn go(
            entries: &[PathEntry],
            alias_data: &[(String, Form)],
            out: &mut Vec<String>,
            depth: usize,
        ) -> R<()> {
            for e in entries {
                match e {
                    PathEntry::Dir(d) => out.push(d.clone()),
                    PathEntry::Alias(name, pos) => {
                        let Some((_, form)) = alias_data.iter().find(|(n, _)| n == name) else {
                            return Err(invalid(
                                DEPS_EDN,
                                *pos,
                                format!("path alias :{name} is not defined"),
                            ));
                        };
                        if depth > 32 {
                            return Err(invalid(
                                DEPS_EDN,
                                *pos,
                                format!("path alias :{name} refers to itself"),
                            ));
                        }
                        let more = path_entries(form, &format!("path alias :{name}"))?;
                        go(&more, alias_data, out, depth + 1)?;
                    }
                }
            }
            Ok(())
        }
        let mut out = Vec::new();
        go(entries, &self.data, &mut out, 0)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::project::clojure::{coords, maven_coords};
    use crate::project::deps_edn::{deps, DEPS};

    #[test]
    fn deps_edn_aliases_in_order() {
        let p = deps(DEPS, &["dev", ":test"]);
        // The root deps.edn's :test alias contributes "test", merged under the project's.
        assert_eq!(p.test_paths, ["dev", "test"]);
        assert_eq!(p.source_paths, ["src", "resources"]);
        assert_eq!(
            coords(&p.dependencies),
            [
                "org.clojure/clojure 1.11.1",
                "cheshire/cheshire 5.12.0",
                "org.lwjgl/lwjgl 3.3.1 :classifier natives-linux",
                "my/local",
                "nrepl/nrepl 1.0.0",
                "io.github.cognitect-labs/test-runner 0.5.1",
            ]
        );
        // An alias's extra coordinate replaces the whole coordinate (exclusions too).
        assert!(p.dependencies[1].maven.exclusions.is_empty());
        assert_eq!(p.jvm_opts, ["-Ddev", "-Dtest"]);
        assert_eq!(p.main_opts, ["-m", "cognitect.test-runner"]);
        assert_eq!(p.main.as_deref(), Some("cognitect.test-runner"));
        let p = deps(DEPS, &["test", "dev"]);
        assert_eq!(p.test_paths, ["test", "dev"]);
        assert_eq!(p.main_opts, ["-m", "nrepl.cmdline"]);
    }

    #[test]
    fn deps_edn_replace_deps_and_paths() {
        let p = deps(DEPS, &["build"]);
        assert_eq!(p.source_paths, ["build"]);
        assert_eq!(
            coords(&p.dependencies),
            ["io.github.clojure/tools.build 0.9.4"]
        );
        let p = deps(DEPS, &["tool"]);
        assert_eq!(p.source_paths, ["src", "resources"]);
        assert_eq!(coords(&p.dependencies), ["a/tool 1"]);
    }

    #[test]
    fn deps_edn_override_deps_and_path_aliases() {
        let p = deps(DEPS, &["pin"]);
        assert_eq!(coords(&p.dependencies)[0], "org.clojure/clojure 1.10.3");
        assert_eq!(maven_coords(&p.managed), ["org.clojure/clojure 1.10.3"]);
        let p = deps(DEPS, &["layout"]);
        assert_eq!(p.test_paths, ["src/clj", "src/cljc"]);
        let p = deps(
            r#"{:paths [:clj-paths "resources"] :aliases {:clj-paths ["src/clj"]}}"#,
            &[],
        );
        assert_eq!(p.source_paths, ["src/clj", "resources"]);
    }
}
