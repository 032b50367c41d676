//! Reads an existing Leiningen `project.clj` or Clojure CLI `deps.edn` into a neutral
//! [`ClojureProject`], so that a project without a `kbuild.edn` builds unchanged.
//!
//! Neither file is evaluated. `project.clj` is code, but almost every real one is a literal
//! `defproject`; we reproduce what Leiningen 2.10 does with it (its `meta-merge` of
//! profiles, `^:replace`/`^:displace`, dependency de-duplication, the implicit `:base`
//! profile, target-path naming) and refuse, with the form's position, the parts that
//! would need evaluation (`~x`, `#=(...)`). `deps.edn` follows tools.deps: root defaults,
//! alias argument merging, `:replace-*`, path aliases.
//!
//! Paths are returned as written (relative to the project root), never absolutized: task
//! keys must not hold absolute paths.

use crate::edn::{self, Form, Pos, Value};

/// Which tool's file the project came from; it decides version mediation (Maven's
/// nearest-wins for Leiningen, tools.deps' newest-wins for the CLI).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    Lein,
    Cli,
}

/// One Maven (or local) dependency, with Leiningen's defaults filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dep {
    pub group: String,
    pub artifact: String,
    /// `None` for a deps.edn `:local/root`, and for a `:managed-dependencies` entry
    /// without a version. A versionless project.clj dependency gets its managed version.
    pub version: Option<String>,
    /// Empty when there is none.
    pub classifier: String,
    /// `"jar"` unless given.
    pub extension: String,
    /// `"compile"` unless given; Leiningen gives the deps of `:dev`/`:test` profiles
    /// `"test"` and those of `:provided` `"provided"` (its `:pom-scope`).
    pub scope: String,
    pub optional: bool,
    /// `(group, artifact)`; `"*"` wildcards pass through. Leiningen's per-exclusion
    /// `:classifier`/`:extension` are dropped (Maven exclusions ignore them too).
    pub exclusions: Vec<(String, String)>,
    /// deps.edn `:local/root`, relative to the project as written.
    pub local_root: Option<String>,
    /// A deps.edn git dependency.
    pub git: Option<GitCoord>,
}

/// A deps.edn git coordinate: `:git/url` (inferred from an `io.github.*`-style lib name when
/// absent), `:git/sha` (a prefix is enough with `:git/tag`), `:git/tag`, `:deps/root`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitCoord {
    pub url: String,
    pub sha: String,
    pub tag: Option<String>,
    /// The library's directory inside the repository.
    pub deps_root: Option<String>,
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

/// What to AOT-compile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Aot {
    None,
    /// `:aot :all`: every namespace in the source paths.
    All,
    /// Namespace names, and regexes written as `#"pattern"` (see [`aot_regex`]). Leiningen
    /// keeps every namespace of the source paths that a regex matches with `re-find`
    /// (unanchored). Leiningen also AOTs `:main` implicitly when building jars; that is
    /// left to the caller.
    Namespaces(Vec<String>),
}

/// The pattern of an [`Aot::Namespaces`] entry that is a regex (`#"foo\..*"` → `foo\..*`).
/// Namespace names cannot start with `#`, so the spelling is unambiguous.
pub fn aot_regex(entry: &str) -> Option<&str> {
    entry.strip_prefix("#\"")?.strip_suffix('"')
}

/// The neutral description of a project; see the module comment.
///
/// The classpath the tools print is `test_paths ++ source_paths ++ resource_paths ++
/// [compile_path] (Leiningen only) ++ resolved dependencies`, in that order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClojureProject {
    pub tool: Tool,
    /// deps.edn has no coordinates: group, name and version are empty for [`Tool::Cli`];
    /// the caller names the project (after its directory, say).
    pub group: String,
    pub name: String,
    pub version: String,
    /// In declaration order (profiles' additions after the project's own), de-duplicated
    /// the way Leiningen does: same group/artifact/classifier/extension merge into the first.
    pub dependencies: Vec<Dep>,
    /// `:managed-dependencies` (Maven dependencyManagement), or deps.edn `:override-deps`
    /// (which tools.deps forces everywhere in the graph; already applied to direct deps).
    pub managed: Vec<Dep>,
    /// `(id, url)`, the tool's defaults first (central, clojars).
    pub repositories: Vec<(String, String)>,
    /// For deps.edn: the (flattened) `:paths`.
    pub source_paths: Vec<String>,
    pub java_source_paths: Vec<String>,
    pub resource_paths: Vec<String>,
    /// For deps.edn: the aliases' `:extra-paths`, which the CLI puts before `:paths`
    /// (so the classpath formula above holds); they are not necessarily tests.
    pub test_paths: Vec<String>,
    pub javac_options: Vec<String>,
    /// Leiningen `:main`; for deps.edn, the namespace after `-m`/`--main` in `main_opts`.
    pub main: Option<String>,
    pub aot: Aot,
    /// Leiningen's, with the profile-named `%s` filled in (`"target/classes"` by default).
    /// For deps.edn, kbuild's convention `"target/classes"`: `clojure -Spath` has no
    /// such entry.
    pub compile_path: String,
    pub target_path: String,
    /// deps.edn alias `:main-opts` (the last alias that has them wins).
    pub main_opts: Vec<String>,
    /// Leiningen: with the `:base` profile's `-XX:-OmitStackTraceInFastThrow` unless the
    /// project sets its own. deps.edn: the aliases' `:jvm-opts`, concatenated.
    pub jvm_opts: Vec<String>,
    /// Leiningen's `:test-selectors`: each keyword's name (without `:`) and the selector as
    /// Clojure source, evaluated in the test JVM as `lein test` does.
    pub test_selectors: Vec<(String, String)>,
    /// Clojure forms Leiningen evaluates in the project's JVM before anything else:
    /// `(set! var value)` for each `:global-vars` entry, then the `:injections`.
    pub prelude: Vec<String>,
}

const PROJECT_CLJ: &str = "project.clj";
const DEPS_EDN: &str = "deps.edn";

#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// The file is not even readable as Clojure/EDN.
    #[error("{file}:{line}:{column}: {message}")]
    Read {
        file: &'static str,
        line: u32,
        column: u32,
        message: String,
        #[source]
        source: edn::ReadError,
    },
    /// `~x`, `~@x`, `#=(...)`, syntax-quote: Leiningen would run them, kbuild cannot.
    #[error(
        "{file}:{line}:{column}: cannot evaluate {form}: kbuild reads {file} without running it"
    )]
    Unevaluable {
        file: &'static str,
        line: u32,
        column: u32,
        form: String,
    },
    /// A value of the wrong shape, a missing or duplicate key, and the like.
    #[error("{file}:{line}:{column}: {message}")]
    Invalid {
        file: &'static str,
        line: u32,
        column: u32,
        message: String,
    },
    /// A requested profile that exists nowhere (and is not one of those Leiningen expects
    /// to be optional, like `:user` or `:test`). Leiningen only warns; for kbuild a
    /// mistyped `--profile` is better stopped. Profiles named inside composite profiles
    /// may be missing, as in Leiningen. The position is the `:profiles` map's (or the
    /// `defproject` form's).
    #[error("{file}:{line}:{column}: profile :{name} is not defined (defined: {defined})")]
    UnknownProfile {
        file: &'static str,
        line: u32,
        column: u32,
        name: String,
        defined: String,
    },
    /// A requested alias that neither deps.edn nor the CLI's root deps.edn defines; the
    /// position is the `:aliases` map's (or the top-level map's).
    #[error("{file}:{line}:{column}: alias :{name} is not defined (defined: {defined})")]
    UnknownAlias {
        file: &'static str,
        line: u32,
        column: u32,
        name: String,
        defined: String,
    },
}

fn invalid(file: &'static str, pos: Pos, message: impl Into<String>) -> ProjectError {
    ProjectError::Invalid {
        file,
        line: pos.line,
        column: pos.column,
        message: message.into(),
    }
}

fn read_error(file: &'static str, e: edn::ReadError) -> ProjectError {
    let pos = e.pos();
    let text = e.to_string();
    let message = text
        .strip_prefix(&format!("{pos}: "))
        .unwrap_or(&text)
        .to_string();
    ProjectError::Read {
        file,
        line: pos.line,
        column: pos.column,
        message,
        source: e,
    }
}

/// A short rendering of a form for messages: `(str ...)` rather than the whole call.
fn summarize(form: &Form) -> String {
    let prefix = match &form.value {
        Value::Unquote(_) => "~",
        Value::UnquoteSplicing(_) => "~@",
        Value::ReaderEval(_) => "#=",
        Value::SyntaxQuote(_) => "`",
        Value::Quote(_) => "'",
        Value::Deref(_) => "@",
        _ => "",
    };
    match &form.value {
        Value::Unquote(inner)
        | Value::UnquoteSplicing(inner)
        | Value::ReaderEval(inner)
        | Value::SyntaxQuote(inner)
        | Value::Quote(inner)
        | Value::Deref(inner) => format!("{prefix}{}", summarize(inner)),
        Value::List(items) if items.len() > 1 => format!("({} ...)", summarize(&items[0])),
        Value::AnonFn(_) => "#(...)".to_string(),
        _ => {
            let text = form.to_string();
            if text.chars().count() > 40 {
                let cut: String = text.chars().take(37).collect();
                format!("{cut}...")
            } else {
                text
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Leiningen: a model of the values `meta-merge` works on
// ---------------------------------------------------------------------------------------

/// The metadata that steers Leiningen's merging. `true` means "present"; merging two
/// metadata maps is then a union, and `dissoc` sets a flag back to false.
#[derive(Clone, Debug, Default, PartialEq)]
struct Meta {
    displace: bool,
    replace: bool,
    top_displace: bool,
    /// Profile paths go in front of the project's (Leiningen's `empty-paths`).
    prepend: bool,
    /// How a vector absorbs another (Leiningen's `:reduce` metadata).
    reduce: Option<Reduce>,
    /// `:pom-scope` of a profile: the scope its dependencies get.
    pom_scope: Option<String>,
}

impl Meta {
    fn merged(&self, right: &Meta) -> Meta {
        Meta {
            displace: self.displace || right.displace,
            replace: self.replace || right.replace,
            top_displace: self.top_displace || right.top_displace,
            prepend: self.prepend || right.prepend,
            reduce: right.reduce.or(self.reduce),
            pom_scope: right.pom_scope.clone().or_else(|| self.pom_scope.clone()),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Reduce {
    Deps,
    Repos,
}

#[derive(Clone, Debug)]
struct Node {
    v: V,
    m: Meta,
    pos: Pos,
}

#[derive(Clone, Debug)]
enum V {
    Nil,
    Bool(bool),
    Str(String),
    Kw(String),
    Sym(String),
    Regex(String),
    /// Numbers and characters: compared and printed by their text.
    Lit(String),
    /// A vector (`true`) or a list/seq (`false`): Leiningen's concatenations make seqs.
    Seq(Vec<Node>, bool),
    Map(Vec<(Node, Node)>),
    Set(Vec<Node>),
    /// A form Leiningen would evaluate or keep as code. `eval`: it needs running
    /// (unquote, read-eval, syntax-quote); otherwise it is code used as data (`'x`, `#()`).
    Opaque {
        text: String,
        what: &'static str,
        eval: bool,
        /// The whole form, as Clojure source.
        source: String,
    },
}

impl Node {
    fn new(v: V, pos: Pos) -> Node {
        Node {
            v,
            m: Meta::default(),
            pos,
        }
    }

    fn kw(k: &str, pos: Pos) -> Node {
        Node::new(V::Kw(k.to_string()), pos)
    }

    fn string(s: &str, pos: Pos) -> Node {
        Node::new(V::Str(s.to_string()), pos)
    }

    fn vector(items: Vec<Node>, pos: Pos) -> Node {
        Node::new(V::Seq(items, true), pos)
    }

    fn is_nil(&self) -> bool {
        matches!(self.v, V::Nil)
    }

    /// Only Clojure objects implementing IObj keep metadata.
    fn holds_meta(&self) -> bool {
        matches!(self.v, V::Seq(..) | V::Map(_) | V::Set(_) | V::Sym(_))
    }

    fn with_meta(mut self, m: Meta) -> Node {
        if self.holds_meta() {
            self.m = m;
        }
        self
    }

    fn items(&self) -> Option<&[Node]> {
        match &self.v {
            V::Seq(items, _) | V::Set(items) => Some(items),
            _ => None,
        }
    }

    fn get(&self, key: &str) -> Option<&Node> {
        match &self.v {
            V::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(&k.v, V::Kw(n) if n == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    fn set(&mut self, key: &str, value: Node) {
        if let V::Map(entries) = &mut self.v {
            match entries
                .iter_mut()
                .find(|(k, _)| matches!(&k.v, V::Kw(n) if n == key))
            {
                Some(entry) => entry.1 = value,
                None => entries.push((Node::kw(key, value.pos), value)),
            }
        }
    }

    fn remove(&mut self, key: &str) -> Option<Node> {
        if let V::Map(entries) = &mut self.v {
            let i = entries
                .iter()
                .position(|(k, _)| matches!(&k.v, V::Kw(n) if n == key))?;
            return Some(entries.remove(i).1);
        }
        None
    }

    fn describe(&self) -> &'static str {
        match &self.v {
            V::Nil => "nil",
            V::Bool(_) => "boolean",
            V::Str(_) => "string",
            V::Kw(_) => "keyword",
            V::Sym(_) => "symbol",
            V::Regex(_) => "regex",
            V::Lit(_) => "number",
            V::Seq(_, true) => "vector",
            V::Seq(_, false) => "list",
            V::Map(_) => "map",
            V::Set(_) => "set",
            V::Opaque { what, .. } => what,
        }
    }

    /// The value as Clojure source, for code Leiningen hands to the project's JVM
    /// (`:test-selectors`, `:injections`, ...). Metadata is left out.
    fn source(&self) -> String {
        let join = |items: &[Node]| items.iter().map(Node::source).collect::<Vec<_>>().join(" ");
        match &self.v {
            V::Nil => "nil".into(),
            V::Bool(b) => b.to_string(),
            V::Str(s) => edn::StringLiteral(s).to_string(),
            V::Kw(k) => format!(":{k}"),
            V::Sym(s) | V::Lit(s) => s.clone(),
            V::Regex(r) => format!("#\"{r}\""),
            V::Seq(items, true) => format!("[{}]", join(items)),
            V::Seq(items, false) => format!("({})", join(items)),
            V::Set(items) => format!("#{{{}}}", join(items)),
            V::Map(entries) => {
                let kv: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("{} {}", k.source(), v.source()))
                    .collect();
                format!("{{{}}}", kv.join(" "))
            }
            V::Opaque { source, .. } => source.clone(),
        }
    }

    /// Structural equality without metadata, as Clojure's `=` (vectors equal lists).
    fn same(&self, other: &Node) -> bool {
        match (&self.v, &other.v) {
            (V::Nil, V::Nil) => true,
            (V::Bool(a), V::Bool(b)) => a == b,
            (V::Str(a), V::Str(b))
            | (V::Kw(a), V::Kw(b))
            | (V::Sym(a), V::Sym(b))
            | (V::Lit(a), V::Lit(b)) => a == b,
            (V::Seq(a, _), V::Seq(b, _)) | (V::Set(a), V::Set(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same(y))
            }
            (V::Map(a), V::Map(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, v)| b.iter().any(|(k2, v2)| k.same(k2) && v.same(v2)))
            }
            _ => false,
        }
    }
}

/// An error for a node of the wrong kind; an [`V::Opaque`] that needs evaluating gets the
/// "cannot evaluate" error instead, since that is the real reason.
fn expected(file: &'static str, node: &Node, what: &str) -> ProjectError {
    match &node.v {
        V::Opaque {
            text, eval: true, ..
        } => ProjectError::Unevaluable {
            file,
            line: node.pos.line,
            column: node.pos.column,
            form: text.clone(),
        },
        V::Opaque {
            text, what: kind, ..
        } => invalid(
            file,
            node.pos,
            format!(
                "expected {what}, found {kind} {text} (kbuild reads {file} without running it)"
            ),
        ),
        _ => invalid(
            file,
            node.pos,
            format!("expected {what}, found {}", node.describe()),
        ),
    }
}

fn to_node(form: &Form) -> Node {
    let v = match &form.value {
        Value::Nil => V::Nil,
        Value::Bool(b) => V::Bool(*b),
        Value::Str(s) => V::Str(s.clone()),
        Value::Regex(r) => V::Regex(r.clone()),
        Value::Keyword(k) => V::Kw(k.clone()),
        Value::Symbol(s) => V::Sym(s.clone()),
        Value::Int(_)
        | Value::BigInt(_)
        | Value::Float(_)
        | Value::BigDec(_)
        | Value::Ratio(_)
        | Value::Char(_) => V::Lit(form.to_string()),
        Value::Vector(items) => V::Seq(items.iter().map(to_node).collect(), true),
        Value::List(items) => V::Seq(items.iter().map(to_node).collect(), false),
        Value::Set(items) => V::Set(items.iter().map(to_node).collect()),
        Value::Map(entries) => V::Map(
            entries
                .iter()
                .map(|(k, v)| (to_node(k), to_node(v)))
                .collect(),
        ),
        Value::Unquote(_)
        | Value::UnquoteSplicing(_)
        | Value::ReaderEval(_)
        | Value::SyntaxQuote(_) => V::Opaque {
            text: summarize(form),
            what: form.describe(),
            eval: true,
            source: form.to_string(),
        },
        _ => V::Opaque {
            text: summarize(form),
            what: form.describe(),
            eval: false,
            source: form.to_string(),
        },
    };
    let mut node = Node::new(v, form.pos);
    if let Some(meta) = &form.meta {
        let flag = |k: &str| matches!(meta.get(k).map(|f| &f.value), Some(Value::Bool(true)));
        let m = Meta {
            displace: flag("displace"),
            replace: flag("replace"),
            top_displace: flag("top-displace"),
            prepend: false,
            reduce: None,
            pom_scope: meta.get("pom-scope").and_then(|f| match &f.value {
                Value::Keyword(k) | Value::Symbol(k) | Value::Str(k) => Some(k.clone()),
                _ => None,
            }),
        };
        node = node.with_meta(m);
    }
    node
}

type R<T> = Result<T, ProjectError>;

/// Leiningen's `different-priority?`.
fn different_priority(l: &Node, r: &Node) -> bool {
    l.is_nil()
        || r.is_nil()
        || l.m.displace
        || l.m.replace
        || r.m.displace
        || r.m.replace
        || l.m.top_displace
}

/// Leiningen's `pick-prioritized`: which of two values with different priorities wins.
fn pick_prioritized(l: Node, r: Node) -> Node {
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
fn meta_merge(l: Node, r: Node) -> R<Node> {
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

fn seq_items(file: &'static str, node: Node, what: &str) -> R<(Vec<Node>, Pos)> {
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

fn repo_parts(repo: &Node) -> R<(String, Node)> {
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

fn normalize_repos(node: Node) -> R<Node> {
    let m = node.m.clone();
    let (items, pos) = seq_items(PROJECT_CLJ, node, "a vector of repositories")?;
    let items = items
        .into_iter()
        .map(normalize_repo)
        .collect::<R<Vec<_>>>()?;
    Ok(Node::vector(items, pos).with_meta(m))
}

fn sym_parts(file: &'static str, node: &Node, what: &str) -> R<(String, String)> {
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
fn exclusion_map(spec: Node) -> R<Node> {
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
fn dep_map(dep: Node) -> R<Node> {
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

fn str_field(node: &Node, key: &str) -> Option<String> {
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
fn dep_key(dm: &Node) -> DepKey {
    (
        str_field(dm, "group-id"),
        str_field(dm, "artifact-id"),
        str_field(dm, "classifier"),
        str_field(dm, "extension"),
    )
}

/// A dependency map back to a [`Dep`] (version possibly still `None`).
fn dep_from_map(dm: &Node, extra_exclusions: &[(String, String)]) -> R<Dep> {
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
            let spec = exclusion_map(spec.clone())?;
            let pair = (
                str_field(&spec, "group-id").unwrap_or_default(),
                str_field(&spec, "artifact-id").unwrap_or_default(),
            );
            if !exclusions.contains(&pair) {
                exclusions.push(pair);
            }
        }
    }
    // Leiningen `into`s the global ones onto the (list of) exclusions: in front, reversed.
    for pair in extra_exclusions {
        if !exclusions.contains(pair) {
            exclusions.insert(0, pair.clone());
        }
    }
    let optional = match dm.get("optional").map(|n| &n.v) {
        None | Some(V::Nil) | Some(V::Bool(false)) => false,
        Some(_) => true,
    };
    Ok(Dep {
        group: str_field(dm, "group-id").unwrap_or_default(),
        artifact: str_field(dm, "artifact-id").unwrap_or_default(),
        version: field("version", "a version string")?,
        classifier: field("classifier", "a classifier string")?.unwrap_or_default(),
        extension: field("extension", "an extension string")?.unwrap_or_else(|| "jar".into()),
        scope: field("scope", "a scope string")?.unwrap_or_else(|| "compile".into()),
        optional,
        exclusions,
        local_root: None,
        git: None,
    })
}

// ---------------------------------------------------------------------------------------
// Leiningen: the project map and its profiles
// ---------------------------------------------------------------------------------------

/// The keys Leiningen gives empty-but-annotated values before merging (its
/// `empty-meta-merge-defaults`), which is what makes paths prepend and deps de-duplicate.
fn empty_default(key: &str, pos: Pos) -> Option<Node> {
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
fn setup_key(left: Node, right: Node) -> R<Node> {
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
fn normalize_values(map: &mut Node) -> R<()> {
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

struct Profiles {
    /// Name (without `:`) → profile (a map, or a composite vector), Leiningen's built-in
    /// ones first, then the project's, which replace them by name.
    map: Vec<(String, Node)>,
    /// Where the project's `:profiles` map (or the `defproject`) is, for errors.
    pos: Pos,
}

impl Profiles {
    fn get(&self, name: &str) -> Option<&Node> {
        self.map.iter().find(|(n, _)| n == name).map(|(_, p)| p)
    }

    fn defined(&self) -> String {
        let names: Vec<String> = self.map.iter().map(|(n, _)| format!(":{n}")).collect();
        names.join(", ")
    }

    fn unknown(&self, name: &str, pos: Pos) -> ProjectError {
        ProjectError::UnknownProfile {
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
/// [`read_project_clj`] understands the mark.
/// - `test`: the defaults, then `:leiningen/test` and `:test`;
/// - `repl`: the defaults, then `:repl?`;
/// - `jar`: `:provided?` alone (the defaults are unmerged, a defined `:provided` stays);
/// - `uberjar`: `:uberjar` and `:provided?` for compiling (the jar and classes go to
///   `target/uberjar+provided` with `"target/%s"`); the standalone jar's dependencies are
///   those of `["uberjar"]` alone;
/// - anything else (`classpath`, `run`, `compile`, `javac`, ...): the defaults.
pub fn default_lein_profiles(task: &str) -> Vec<&'static str> {
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

fn find_defproject(forms: &[Form]) -> Option<&Form> {
    forms.iter().find(|f| match &f.value {
        Value::List(items) => matches!(
            items.first().map(|i| &i.value),
            Some(Value::Symbol(s)) if s == "defproject" || s == "leiningen.core.project/defproject"
        ),
        _ => false,
    })
}

/// Reads `project.clj` as Leiningen 2.10 sees it with `profiles` merged (see
/// [`default_lein_profiles`]; names with or without `:`, `default` allowed, `name?` for
/// "if defined"). User and system profiles (`~/.lein/profiles.clj`, `/etc/leiningen`)
/// and a `profiles.clj` next to the project are not read.
#[cfg(test)]
pub fn read_project_clj(text: &str, profiles: &[&str]) -> Result<ClojureProject, ProjectError> {
    read_project_clj_with(text, profiles, &[])
}

/// [`read_project_clj`] with the profiles of other files too: `(file name, text)` pairs, each
/// a map of profile keyword to profile, as `~/.lein/profiles.clj` and a `profiles.clj` beside
/// the project hold them. Later files win by name, and the project's `:profiles` over all,
/// as in Leiningen's `read-profiles`.
pub fn read_project_clj_with(
    text: &str,
    profiles: &[&str],
    profile_files: &[(&'static str, &str)],
) -> Result<ClojureProject, ProjectError> {
    let mut extra: Vec<(String, Node)> = Vec::new();
    for (file, text) in profile_files {
        let form = edn::read_one(text).map_err(|e| read_error(file, e))?;
        let node = to_node(&form);
        let V::Map(entries) = node.v else {
            return Err(expected(file, &node, "a map of profiles"));
        };
        for (k, v) in entries {
            let V::Kw(name) = &k.v else {
                return Err(expected(file, &k, "a profile keyword"));
            };
            extra.retain(|(n, _)| n != name);
            extra.push((name.clone(), v));
        }
    }
    read_project(text, profiles, extra)
}

fn read_project(
    text: &str,
    profiles: &[&str],
    extra: Vec<(String, Node)>,
) -> Result<ClojureProject, ProjectError> {
    let forms = edn::read_all(text).map_err(|e| read_error(PROJECT_CLJ, e))?;
    let Some(def) = find_defproject(&forms) else {
        return Err(invalid(
            PROJECT_CLJ,
            forms
                .first()
                .map(|f| f.pos)
                .unwrap_or(Pos { line: 1, column: 1 }),
            "no (defproject name \"version\" ...) form",
        ));
    };
    let def_pos = def.pos;
    let items = def.as_seq().expect("a list");
    if items.len() < 3 {
        return Err(invalid(
            PROJECT_CLJ,
            def_pos,
            "defproject needs a name and a version: (defproject group/name \"version\" ...)",
        ));
    }
    let name_node = to_node(&items[1]);
    let (group, name) = match &name_node.v {
        V::Sym(_) => sym_parts(PROJECT_CLJ, &name_node, "a project name")?,
        _ => {
            return Err(expected(
                PROJECT_CLJ,
                &name_node,
                "a project name symbol like group/name",
            ))
        }
    };
    let version_node = to_node(&items[2]);
    let version = match &version_node.v {
        V::Str(s) => s.clone(),
        _ => return Err(expected(PROJECT_CLJ, &version_node, "a version string")),
    };
    let args = &items[3..];
    if args.len() % 2 == 1 {
        return Err(invalid(
            PROJECT_CLJ,
            args[args.len() - 1].pos,
            "defproject: a key without a value",
        ));
    }
    let mut raw: Vec<(Node, Node)> = Vec::new();
    for kv in args.chunks(2) {
        let key = to_node(&kv[0]);
        if !matches!(key.v, V::Kw(_)) {
            return Err(expected(PROJECT_CLJ, &key, "a keyword"));
        }
        if let Some((first, _)) = raw.iter().find(|(k, _)| k.same(&key)) {
            return Err(invalid(
                PROJECT_CLJ,
                key.pos,
                format!(
                    "duplicate key {} in defproject (first at {}:{})",
                    kv[0], first.pos.line, first.pos.column
                ),
            ));
        }
        raw.push((key, to_node(&kv[1])));
    }
    let mut project = Node::new(V::Map(raw), def_pos);

    // `make`: old key names, normalization, the defaults, the annotated empty values.
    if project.get("jvm-opts").is_none() {
        if let Some(j) = project.remove("java-opts") {
            project.set("jvm-opts", j);
        }
    }
    let raw_profiles = project.remove("profiles");
    normalize_values(&mut project)?;
    let mut defaults = Node::new(V::Map(Vec::new()), def_pos);
    for (key, dir) in [
        ("source-paths", "src"),
        ("resource-paths", "resources"),
        ("test-paths", "test"),
    ] {
        let mut paths = Node::vector(vec![Node::string(dir, def_pos)], def_pos);
        paths.m.top_displace = true;
        defaults.set(key, paths);
    }
    defaults.set("compile-path", Node::string("%s/classes", def_pos));
    defaults.set("target-path", Node::string("target", def_pos));
    let mut project = meta_merge(defaults, project)?;
    for key in [
        "dependencies",
        "repositories",
        "source-paths",
        "resource-paths",
        "test-paths",
    ] {
        let mut empty = empty_default(key, def_pos).expect("a key with a default");
        if key == "repositories" {
            let repo = |id: &str, url: &str| {
                Node::vector(
                    vec![
                        Node::string(id, def_pos),
                        Node::new(
                            V::Map(vec![(Node::kw("url", def_pos), Node::string(url, def_pos))]),
                            def_pos,
                        ),
                    ],
                    def_pos,
                )
            };
            empty = Node::vector(
                vec![
                    repo("central", "https://repo1.maven.org/maven2/"),
                    repo("clojars", "https://repo.clojars.org/"),
                ],
                def_pos,
            )
            .with_meta(empty.m.clone());
        }
        let merged = match project.remove(key) {
            Some(value) => setup_key(empty, value)?,
            None => empty,
        };
        project.set(key, merged);
    }

    // The profiles: built-in ones, replaced by the project's of the same name.
    let mut all = Profiles {
        map: builtin_profiles(def_pos),
        pos: raw_profiles.as_ref().map(|p| p.pos).unwrap_or(def_pos),
    };
    for (name, node) in extra {
        all.map.retain(|(n, _)| *n != name);
        all.map.push((name, node));
    }
    if let Some(raw_profiles) = raw_profiles {
        let V::Map(entries) = raw_profiles.v else {
            return Err(expected(PROJECT_CLJ, &raw_profiles, "a map of profiles"));
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

    // `init-profiles`.
    let mut expanded = Vec::new();
    for p in profiles {
        let name = profile_name(p);
        match name.strip_suffix('?') {
            Some(name) if all.get(name).is_none() => {}
            Some(name) => all.expand(name, &Meta::default(), def_pos, &mut expanded, 0)?,
            None if all.get(name).is_none() && !SILENT_PROFILES.contains(&name) => {
                return Err(all.unknown(name, all.pos));
            }
            None => all.expand(name, &Meta::default(), def_pos, &mut expanded, 0)?,
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
        let mut profile = all.lookup(name, *at)?;
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

    // `profile-scope-target-path` and `target-path-subdirs`.
    let names: Vec<String> = all
        .normalize_names(
            &effective
                .iter()
                .map(|(n, ..)| n.clone())
                .collect::<Vec<_>>(),
        )
        .iter()
        .map(|n| n.rsplit('/').next().unwrap_or(n).to_string())
        .filter(|n| n != "default")
        .collect();
    let target_raw = opt_string(&project, "target-path")?.unwrap_or_default();
    let target_path = clean_path(&target_raw.replacen("%s", &names.join("+"), 1));
    let compile_raw = opt_string(&project, "compile-path")?.unwrap_or_default();
    let compile_path = clean_path(&compile_raw.replacen("%s", &target_path, 1));

    // Global :exclusions apply to every dependency.
    let mut global_exclusions = Vec::new();
    if let Some(ex) = project.get("exclusions") {
        for spec in ex
            .items()
            .ok_or_else(|| expected(PROJECT_CLJ, ex, "a vector of exclusions"))?
        {
            let spec = exclusion_map(spec.clone())?;
            global_exclusions.push((
                str_field(&spec, "group-id").unwrap_or_default(),
                str_field(&spec, "artifact-id").unwrap_or_default(),
            ));
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
        if dep.version.is_none() {
            // pomegranate's `merge-versions-from-managed-coords`
            dep.version = managed
                .iter()
                .find(|m| {
                    m.group == dep.group
                        && m.artifact == dep.artifact
                        && m.extension == dep.extension
                        && m.classifier == dep.classifier
                })
                .and_then(|m| m.version.clone());
            if dep.version.is_none() {
                return Err(invalid(
                    PROJECT_CLJ,
                    dm.pos,
                    format!(
                        "{}/{} has no version and no :managed-dependencies entry gives one",
                        dep.group, dep.artifact
                    ),
                ));
            }
        }
        dependencies.push(dep);
    }
    let mut repositories = Vec::new();
    let repos_node = project.get("repositories").cloned().expect("set above");
    let (repo_items, _) = seq_items(PROJECT_CLJ, repos_node, "a vector of repositories")?;
    for r in repo_items {
        let (id, opts) = repo_parts(&r)?;
        let url = match &opts.v {
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
                    &opts,
                    "a repository URL or {:url ...}",
                ))
            }
        };
        repositories.push((id, url));
    }
    let aot = match project.get("aot") {
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
    };
    let main = match project.get("main") {
        None => None,
        Some(m) => match &m.v {
            V::Nil => None,
            V::Sym(s) | V::Str(s) => Some(s.clone()),
            _ => return Err(expected(PROJECT_CLJ, m, "a namespace symbol")),
        },
    };
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
        group,
        name,
        version,
        dependencies,
        managed,
        repositories,
        source_paths: strings(&project, "source-paths")?,
        java_source_paths: strings(&project, "java-source-paths")?,
        resource_paths: strings(&project, "resource-paths")?,
        test_paths: strings(&project, "test-paths")?,
        javac_options: strings(&project, "javac-options")?,
        main,
        aot,
        compile_path,
        target_path,
        main_opts: Vec::new(),
        jvm_opts: strings(&project, "jvm-opts")?,
        test_selectors: test_selectors(&project)?,
        prelude: prelude(&project)?,
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

fn opt_string(map: &Node, key: &str) -> R<Option<String>> {
    match map.get(key) {
        None => Ok(None),
        Some(n) => match &n.v {
            V::Nil => Ok(None),
            V::Str(s) => Ok(Some(s.clone())),
            _ => Err(expected(PROJECT_CLJ, n, "a string")),
        },
    }
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
fn clean_path(path: &str) -> String {
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

// ---------------------------------------------------------------------------------------
// deps.edn
// ---------------------------------------------------------------------------------------

fn d_expected(form: &Form, what: &str) -> ProjectError {
    invalid(
        DEPS_EDN,
        form.pos,
        format!("expected {what}, found {}", form.describe()),
    )
}

fn d_strings(form: &Form, what: &str) -> R<Vec<String>> {
    let items = form
        .as_seq()
        .ok_or_else(|| d_expected(form, &format!("a vector of strings for {what}")))?;
    items
        .iter()
        .map(|i| {
            i.as_str()
                .map(str::to_string)
                .ok_or_else(|| d_expected(i, "a string"))
        })
        .collect()
}

/// A path entry: a directory, or a keyword naming an alias that holds more entries.
#[derive(Clone, Debug)]
enum PathEntry {
    Dir(String),
    Alias(String, Pos),
}

fn d_path_entries(form: &Form, what: &str) -> R<Vec<PathEntry>> {
    let items = form
        .as_seq()
        .ok_or_else(|| d_expected(form, &format!("a vector of paths for {what}")))?;
    items
        .iter()
        .map(|i| match &i.value {
            Value::Str(s) => Ok(PathEntry::Dir(s.clone())),
            Value::Keyword(k) => Ok(PathEntry::Alias(k.clone(), i.pos)),
            _ => Err(d_expected(i, "a path string or an alias keyword")),
        })
        .collect()
}

/// A lib symbol: `group/artifact`, `artifact` (meaning `artifact/artifact`), with an
/// optional `$classifier`. Returns (group, artifact, classifier, canonical name).
fn lib_parts(form: &Form) -> R<(String, String, String, String)> {
    let s = form
        .as_symbol()
        .ok_or_else(|| d_expected(form, "a lib symbol like group/artifact"))?;
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
type DepsMap = Vec<(String, Form, Form)>;

fn d_deps_map(form: &Form, what: &str) -> R<DepsMap> {
    if matches!(form.value, Value::Nil) {
        return Ok(Vec::new());
    }
    let entries = form
        .as_map()
        .ok_or_else(|| d_expected(form, &format!("a map of libs to coordinates for {what}")))?;
    let mut out = Vec::new();
    for (k, v) in entries {
        let (.., canonical) = lib_parts(k)?;
        merge_dep(&mut out, (canonical, k.clone(), v.clone()));
    }
    Ok(out)
}

fn merge_dep(into: &mut DepsMap, entry: (String, Form, Form)) {
    match into.iter_mut().find(|(lib, ..)| *lib == entry.0) {
        Some(slot) => *slot = entry,
        None => into.push(entry),
    }
}

fn d_dep(lib: &Form, coord: &Form) -> R<Dep> {
    let (group, artifact, classifier, canonical) = lib_parts(lib)?;
    let entries = coord
        .as_map()
        .ok_or_else(|| d_expected(coord, &format!("a coordinate map for {canonical}")))?;
    let mut version = None;
    let mut local_root = None;
    let mut exclusions = Vec::new();
    let (mut git_url, mut sha, mut tag, mut deps_root) = (None, None, None, None);
    let string = |v: &Form, what: &str| -> R<String> {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| d_expected(v, what))
    };
    for (k, v) in entries {
        let Some(key) = k.as_keyword() else {
            return Err(d_expected(k, "a keyword"));
        };
        match key {
            "mvn/version" => version = Some(string(v, "a version string")?),
            "local/root" => local_root = Some(string(v, "a path string")?),
            "exclusions" => {
                for e in v
                    .as_seq()
                    .ok_or_else(|| d_expected(v, "a vector of libs"))?
                {
                    let (g, a, ..) = lib_parts(e)?;
                    exclusions.push((g, a));
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
    Ok(Dep {
        group,
        artifact,
        version: if local_root.is_some() || git.is_some() {
            None
        } else {
            version
        },
        classifier,
        extension: "jar".into(),
        scope: "compile".into(),
        optional: false,
        exclusions,
        local_root,
        git,
    })
}

/// Alias arguments merged the tools.deps way (`merge-alias-maps`).
#[derive(Default)]
struct AliasArgs {
    extra_paths: Option<Vec<PathEntry>>,
    replace_paths: Option<Vec<PathEntry>>,
    extra_deps: Option<DepsMap>,
    replace_deps: Option<DepsMap>,
    override_deps: DepsMap,
    default_deps: DepsMap,
    jvm_opts: Vec<String>,
    main_opts: Option<Vec<String>>,
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

/// Reads `deps.edn` as the Clojure CLI sees it with `aliases` selected in order (what
/// `-A:dev:test` / `-M:dev:test` pass: `["dev", "test"]`, with or without `:`). The root
/// deps.edn's `:paths`, `:mvn/repos` and `:test` alias are applied; its
/// `org.clojure/clojure` dependency is not (the caller adds it). A user-level
/// `~/.clojure/deps.edn` is not read.
pub fn read_deps_edn(text: &str, aliases: &[&str]) -> Result<ClojureProject, ProjectError> {
    let forms = edn::read_all(text).map_err(|e| read_error(DEPS_EDN, e))?;
    let top = match forms.as_slice() {
        [] => None,
        [one] => Some(one),
        [_, second, ..] => {
            return Err(invalid(
                DEPS_EDN,
                second.pos,
                "expected a single map, found another form",
            ))
        }
    };
    let origin = Pos { line: 1, column: 1 };
    let empty = Form {
        value: Value::Map(Vec::new()),
        pos: origin,
        meta: None,
    };
    let top = top.unwrap_or(&empty);
    if top.as_map().is_none() && !matches!(top.value, Value::Nil) {
        return Err(d_expected(top, "a map"));
    }
    let get = |k: &str| top.get(k).filter(|f| !matches!(f.value, Value::Nil));

    let mut paths = match get("paths") {
        Some(p) => d_path_entries(p, ":paths")?,
        None => vec![PathEntry::Dir("src".into())],
    };
    let mut deps = match get("deps") {
        Some(d) => d_deps_map(d, ":deps")?,
        None => Vec::new(),
    };

    // The root deps.edn's :test alias, under the project's aliases of the same name.
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
    let aliases_form = get("aliases");
    if let Some(a) = aliases_form {
        let entries = a
            .as_map()
            .ok_or_else(|| d_expected(a, "a map of aliases"))?;
        for (k, v) in entries {
            let name = k
                .as_keyword()
                .ok_or_else(|| d_expected(k, "an alias keyword"))?
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
    let alias_pos = aliases_form.map(|a| a.pos).unwrap_or(top.pos);
    let defined = || {
        alias_data
            .iter()
            .map(|(n, _)| format!(":{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };

    let mut args = AliasArgs::default();
    for alias in aliases {
        let name = alias.strip_prefix(':').unwrap_or(alias);
        let Some((_, form)) = alias_data.iter().find(|(n, _)| n == name) else {
            return Err(ProjectError::UnknownAlias {
                file: DEPS_EDN,
                line: alias_pos.line,
                column: alias_pos.column,
                name: name.to_string(),
                defined: defined(),
            });
        };
        let entries = form
            .as_map()
            .ok_or_else(|| d_expected(form, &format!("a map of arguments for alias :{name}")))?;
        for (k, v) in entries {
            let Some(key) = k.as_keyword() else { continue };
            if matches!(v.value, Value::Nil) {
                continue;
            }
            match key {
                "extra-paths" => {
                    append_unique(&mut args.extra_paths, d_path_entries(v, ":extra-paths")?)
                }
                "replace-paths" | "paths" => append_unique(
                    &mut args.replace_paths,
                    d_path_entries(v, ":replace-paths")?,
                ),
                "extra-deps" => {
                    merge_deps_into(&mut args.extra_deps, d_deps_map(v, ":extra-deps")?)
                }
                "replace-deps" | "deps" => {
                    merge_deps_into(&mut args.replace_deps, d_deps_map(v, ":replace-deps")?)
                }
                "override-deps" => {
                    for e in d_deps_map(v, ":override-deps")? {
                        merge_dep(&mut args.override_deps, e);
                    }
                }
                "default-deps" => {
                    for e in d_deps_map(v, ":default-deps")? {
                        merge_dep(&mut args.default_deps, e);
                    }
                }
                "jvm-opts" => args.jvm_opts.extend(d_strings(v, ":jvm-opts")?),
                "main-opts" => args.main_opts = Some(d_strings(v, ":main-opts")?),
                _ => {}
            }
        }
    }

    // tools.deps' `tool`: :replace-deps / :replace-paths take the project's place.
    if let Some(replace) = args.replace_deps.take() {
        deps = replace;
    }
    if let Some(replace) = args.replace_paths.take() {
        paths = replace;
    }
    for e in args.extra_deps.take().unwrap_or_default() {
        merge_dep(&mut deps, e);
    }

    // `flatten-paths`: alias keywords in path vectors name more path vectors.
    let chase = |entries: &[PathEntry]| -> R<Vec<String>> {
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
                        let more = d_path_entries(form, &format!("path alias :{name}"))?;
                        go(&more, alias_data, out, depth + 1)?;
                    }
                }
            }
            Ok(())
        }
        let mut out = Vec::new();
        go(entries, &alias_data, &mut out, 0)?;
        Ok(out)
    };
    let test_paths = chase(&args.extra_paths.take().unwrap_or_default())?;
    let source_paths = chase(&paths)?;

    let mut dependencies = Vec::new();
    for (lib, lib_form, coord) in &deps {
        let coord = if matches!(coord.value, Value::Nil) {
            match args.default_deps.iter().find(|(l, ..)| l == lib) {
                Some((_, _, c)) => c,
                None => return Err(d_expected(coord, &format!("a coordinate map for {lib}"))),
            }
        } else {
            coord
        };
        let coord = match args.override_deps.iter().find(|(l, ..)| l == lib) {
            Some((_, _, c)) => c,
            None => coord,
        };
        dependencies.push(d_dep(lib_form, coord)?);
    }
    let managed = args
        .override_deps
        .iter()
        .map(|(_, l, c)| d_dep(l, c))
        .collect::<R<Vec<_>>>()?;

    let mut repositories = vec![
        (
            "central".to_string(),
            "https://repo1.maven.org/maven2/".to_string(),
        ),
        (
            "clojars".to_string(),
            "https://repo.clojars.org/".to_string(),
        ),
    ];
    if let Some(repos) = get("mvn/repos") {
        let entries = repos
            .as_map()
            .ok_or_else(|| d_expected(repos, "a map of repositories"))?;
        for (k, v) in entries {
            let id = k
                .as_str()
                .ok_or_else(|| d_expected(k, "a repository id string"))?
                .to_string();
            if matches!(v.value, Value::Nil) {
                // tools.deps lets a nil entry remove a repository
                repositories.retain(|(i, _)| *i != id);
                continue;
            }
            let url = v
                .get("url")
                .and_then(Form::as_str)
                .ok_or_else(|| {
                    invalid(
                        DEPS_EDN,
                        v.pos,
                        format!("repository {id:?} needs {{:url \"...\"}}"),
                    )
                })?
                .to_string();
            match repositories.iter_mut().find(|(i, _)| *i == id) {
                Some(slot) => slot.1 = url,
                None => repositories.push((id, url)),
            }
        }
    }

    let main_opts = args.main_opts.unwrap_or_default();
    let main = main_opts
        .iter()
        .position(|o| o == "-m" || o == "--main")
        .and_then(|i| main_opts.get(i + 1).cloned());
    Ok(ClojureProject {
        tool: Tool::Cli,
        group: String::new(),
        name: String::new(),
        version: String::new(),
        dependencies,
        managed,
        repositories,
        source_paths,
        java_source_paths: Vec::new(),
        resource_paths: Vec::new(),
        test_paths,
        javac_options: Vec::new(),
        main,
        aot: Aot::None,
        compile_path: "target/classes".into(),
        target_path: "target".into(),
        main_opts,
        jvm_opts: args.jvm_opts,
        test_selectors: Vec::new(),
        prelude: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lein(text: &str, profiles: &[&str]) -> ClojureProject {
        read_project_clj(text, profiles).unwrap_or_else(|e| panic!("{e}"))
    }

    fn lein_err(text: &str, profiles: &[&str]) -> String {
        match read_project_clj(text, profiles) {
            Ok(p) => panic!("expected an error, got {p:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn deps(text: &str, aliases: &[&str]) -> ClojureProject {
        read_deps_edn(text, aliases).unwrap_or_else(|e| panic!("{e}"))
    }

    fn deps_err(text: &str, aliases: &[&str]) -> String {
        match read_deps_edn(text, aliases) {
            Ok(p) => panic!("expected an error, got {p:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn coords(deps: &[Dep]) -> Vec<String> {
        deps.iter()
            .map(|d| {
                let mut s = format!("{}/{}", d.group, d.artifact);
                if let Some(v) = &d.version {
                    s += &format!(" {v}");
                }
                if !d.classifier.is_empty() {
                    s += &format!(" :classifier {}", d.classifier);
                }
                if d.extension != "jar" {
                    s += &format!(" :extension {}", d.extension);
                }
                if d.scope != "compile" {
                    s += &format!(" :scope {}", d.scope);
                }
                if d.optional {
                    s += " :optional";
                }
                s
            })
            .collect()
    }

    fn excl(d: &Dep) -> Vec<String> {
        d.exclusions
            .iter()
            .map(|(g, a)| format!("{g}/{a}"))
            .collect()
    }

    fn default_profiles() -> Vec<&'static str> {
        default_lein_profiles("classpath")
    }

    // -- Leiningen: basics -------------------------------------------------------------

    #[test]
    fn minimal_project_gets_leiningen_defaults() {
        let p = lein(
            r#"(defproject foo "0.1.0" :dependencies [[org.clojure/clojure "1.11.1"]])"#,
            &default_profiles(),
        );
        assert_eq!(p.tool, Tool::Lein);
        assert_eq!(
            (p.group.as_str(), p.name.as_str(), p.version.as_str()),
            ("foo", "foo", "0.1.0")
        );
        // Checked against `lein classpath` 2.10: test:src:dev-resources:resources:target/classes
        assert_eq!(p.test_paths, ["test"]);
        assert_eq!(p.source_paths, ["src"]);
        assert_eq!(p.resource_paths, ["dev-resources", "resources"]);
        assert_eq!(p.compile_path, "target/classes");
        assert_eq!(p.target_path, "target");
        assert!(p.java_source_paths.is_empty());
        assert_eq!(
            coords(&p.dependencies),
            [
                "org.clojure/clojure 1.11.1",
                "nrepl/nrepl 1.0.0",
                "org.nrepl/incomplete 0.1.0"
            ]
        );
        assert_eq!(excl(&p.dependencies[1]), ["org.clojure/clojure"]);
        assert_eq!(
            p.repositories,
            [
                (
                    "central".to_string(),
                    "https://repo1.maven.org/maven2/".to_string()
                ),
                (
                    "clojars".to_string(),
                    "https://repo.clojars.org/".to_string()
                ),
            ]
        );
        assert_eq!(p.jvm_opts, ["-XX:-OmitStackTraceInFastThrow"]);
        assert_eq!(p.aot, Aot::None);
        assert_eq!(p.main, None);
        assert!(p.main_opts.is_empty());
    }

    #[test]
    fn group_and_name() {
        let p = lein(r#"(defproject com.example/app "1.0")"#, &[]);
        assert_eq!((p.group.as_str(), p.name.as_str()), ("com.example", "app"));
        // No profiles at all: no :base, so no dev-resources and no nREPL.
        assert_eq!(p.resource_paths, ["resources"]);
        assert!(p.dependencies.is_empty());
        assert!(p.jvm_opts.is_empty());
    }

    #[test]
    fn other_top_level_forms_are_ignored() {
        let p = lein(
            "(ns foo)\n(def x 1)\n(defproject foo \"1\" :main foo.core)\n(println :after)",
            &[],
        );
        assert_eq!(p.main.as_deref(), Some("foo.core"));
    }

    #[test]
    fn default_profiles_per_task() {
        let d = ["base", "system", "user", "provided", "dev"];
        assert_eq!(default_lein_profiles("classpath"), d);
        assert_eq!(default_lein_profiles("run"), d);
        let mut t = d.to_vec();
        t.extend(["leiningen/test", "test"]);
        assert_eq!(default_lein_profiles("test"), t);
        let mut r = d.to_vec();
        r.push("repl?");
        assert_eq!(default_lein_profiles("repl"), r);
        assert_eq!(default_lein_profiles("jar"), ["provided?"]);
        assert_eq!(default_lein_profiles("uberjar"), ["uberjar", "provided?"]);
    }

    // -- Leiningen: profiles -----------------------------------------------------------

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
        let p = lein(PROFILES, &default_profiles());
        assert_eq!(p.test_paths, ["dtest", "test"]);
        assert_eq!(p.source_paths, ["dev", "src", "src2"]);
        assert_eq!(p.resource_paths, ["dres", "dev-resources", "resources"]);
        // "target/%s" with only the default profiles: the name is empty.
        assert_eq!(p.target_path, "target");
        assert_eq!(p.compile_path, "target/classes");
    }

    #[test]
    fn replace_metadata_and_target_path_naming() {
        let mut profiles = default_profiles();
        profiles.push("test");
        let p = lein(PROFILES, &profiles);
        assert_eq!(p.test_paths, ["only-test"]);
        assert_eq!(p.source_paths, ["tsrc", "dev", "src", "src2"]);
        assert_eq!(p.compile_path, "target/test/classes");

        // What `lein test` merges: :leiningen/test is named "test" too.
        let p = lein(PROFILES, &default_lein_profiles("test"));
        assert_eq!(p.compile_path, "target/test+test/classes");
        assert_eq!(p.target_path, "target/test+test");
    }

    #[test]
    fn composite_profiles() {
        let mut profiles = default_profiles();
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
            &default_profiles(),
        );
        assert_eq!(p.source_paths, ["dev", "src"]);
    }

    #[test]
    fn repl_profile_only_counts_when_defined() {
        let text = r#"(defproject foo "1" :target-path "target/%s")"#;
        assert_eq!(
            lein(text, &default_lein_profiles("repl")).compile_path,
            "target/classes"
        );
        let text = r#"(defproject foo "1" :target-path "target/%s" :profiles {:repl {:source-paths ["r"]}})"#;
        let p = lein(text, &default_lein_profiles("repl"));
        assert_eq!(p.compile_path, "target/repl/classes");
        assert_eq!(p.source_paths, ["r", "src"]);
    }

    /// A realistic project; every expectation checked against lein 2.10.
    const REALISTIC: &str = r#"
(defproject com.example/app "1.2.3"
  :description "realistic"
  :dependencies [[org.clojure/clojure "1.11.1"]
                 [org.clojure/spec.alpha]
                 [com.example/lib "2.0" :exclusions [org.slf4j/slf4j-api [log4j :classifier "x"]]]
                 [com.example/native "1.0" :classifier "linux" :extension "zip"]
                 [com.example/opt "1.0" :optional true :scope "provided"]]
  :managed-dependencies [[org.clojure/spec.alpha "0.3.218"]]
  :exclusions [commons-logging]
  :repositories [["internal" "https://repo.example.com/maven/"]
                 ["clojars" {:url "https://mirror.example.com/clojars/"}]]
  :source-paths ["src/clj"]
  :java-source-paths ["src/java"]
  :javac-options ["--release" "11" "-Xlint:unchecked"]
  :resource-paths ["resources"]
  :main com.example.app
  :aot [com.example.app #"com\.example\.gen\..*"]
  :jvm-opts ["-Xmx1g"]
  :target-path "target/%s/"
  :profiles {:dev {:source-paths ["dev"]
                   :dependencies [[nrepl/nrepl "1.0.0"] [com.example/lib "2.1"]]
                   :jvm-opts ["-Ddev=true"]}
             :test {:resource-paths ^:replace ["test-resources"]
                    :dependencies [[com.example/test-helpers "0.1"]]
                    :java-source-paths ["test/java"]}
             :ci [:test :fast]
             :fast {:jvm-opts ^:replace ["-XX:TieredStopAtLevel=1"]}
             :uberjar {:aot :all}
             :provided {:dependencies [[javax.servlet/servlet-api "2.5"]]}})
"#;

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
    fn realistic_project_default_profiles() {
        let p = lein(REALISTIC, &default_profiles());
        assert_eq!(
            (p.group.as_str(), p.name.as_str(), p.version.as_str()),
            ("com.example", "app", "1.2.3")
        );
        assert_eq!(
            coords(&p.dependencies),
            [
                "org.clojure/clojure 1.11.1",
                // versionless: from :managed-dependencies
                "org.clojure/spec.alpha 0.3.218",
                // the :dev profile's version merges into the first declaration
                "com.example/lib 2.1 :scope test",
                "com.example/native 1.0 :classifier linux :extension zip",
                "com.example/opt 1.0 :scope provided :optional",
                // :dev's nrepl displaces :base's, in :base's place
                "nrepl/nrepl 1.0.0 :scope test",
                "org.nrepl/incomplete 0.1.0",
                "javax.servlet/servlet-api 2.5 :scope provided",
            ]
        );
        // Global :exclusions first (Leiningen `into`s them onto a list).
        assert_eq!(
            excl(&p.dependencies[2]),
            [
                "commons-logging/commons-logging",
                "org.slf4j/slf4j-api",
                "log4j/log4j"
            ]
        );
        assert_eq!(
            excl(&p.dependencies[5]),
            ["commons-logging/commons-logging"]
        );
        assert_eq!(
            excl(&p.dependencies[6]),
            ["commons-logging/commons-logging", "org.clojure/clojure"]
        );
        assert_eq!(coords(&p.managed), ["org.clojure/spec.alpha 0.3.218"]);
        assert_eq!(
            p.repositories,
            [
                (
                    "central".to_string(),
                    "https://repo1.maven.org/maven2/".to_string()
                ),
                (
                    "clojars".to_string(),
                    "https://mirror.example.com/clojars/".to_string()
                ),
                (
                    "internal".to_string(),
                    "https://repo.example.com/maven/".to_string()
                ),
            ]
        );
        assert_eq!(p.source_paths, ["dev", "src/clj"]);
        assert_eq!(p.java_source_paths, ["src/java"]);
        assert_eq!(p.resource_paths, ["dev-resources", "resources"]);
        assert_eq!(p.test_paths, ["test"]);
        assert_eq!(p.javac_options, ["--release", "11", "-Xlint:unchecked"]);
        assert_eq!(p.jvm_opts, ["-Xmx1g", "-Ddev=true"]);
        assert_eq!(
            p.aot,
            Aot::Namespaces(vec![
                "com.example.app".into(),
                r#"#"com\.example\.gen\..*""#.into()
            ])
        );
        if let Aot::Namespaces(n) = &p.aot {
            assert_eq!(aot_regex(&n[1]), Some(r"com\.example\.gen\..*"));
            assert_eq!(aot_regex(&n[0]), None);
        }
        assert_eq!(p.main.as_deref(), Some("com.example.app"));
        // "target/%s/" → "target/" → "target//classes", which java.io.File cleans up.
        assert_eq!(p.target_path, "target");
        assert_eq!(p.compile_path, "target/classes");
    }

    #[test]
    fn realistic_project_composite_ci_profile() {
        let mut profiles = default_profiles();
        profiles.push("ci");
        let p = lein(REALISTIC, &profiles);
        assert_eq!(
            coords(&p.dependencies).last().map(String::as_str),
            Some("com.example/test-helpers 0.1 :scope test")
        );
        assert_eq!(p.source_paths, ["dev", "src/clj"]);
        // java-source-paths are not prepended: plain concatenation.
        assert_eq!(p.java_source_paths, ["src/java", "test/java"]);
        assert_eq!(p.resource_paths, ["test-resources"]);
        assert_eq!(p.jvm_opts, ["-XX:TieredStopAtLevel=1"]);
        assert_eq!(p.compile_path, "target/ci/classes");
    }

    #[test]
    fn aot_all_replaces_and_is_sticky() {
        let p = lein(REALISTIC, &default_lein_profiles("uberjar"));
        assert_eq!(p.aot, Aot::All);
        // The project's `:aot :all` is ^:replace, so a profile cannot add to it.
        let p = lein(
            r#"(defproject foo "1" :aot :all :profiles {:foo {:aot [foo.core]}})"#,
            &["foo"],
        );
        assert_eq!(p.aot, Aot::All);
        let p = lein(
            r#"(defproject foo "1" :aot [a.b] :profiles {:foo {:aot [c.d]}})"#,
            &["foo"],
        );
        assert_eq!(p.aot, Aot::Namespaces(vec!["a.b".into(), "c.d".into()]));
    }

    #[test]
    fn project_dependency_displaces_base_nrepl() {
        let p = lein(
            r#"(defproject foo "1" :dependencies [[nrepl "0.9.0"]] :jvm-opts ["-Dproj"]
                 :profiles {:dev {:jvm-opts ["-Ddev"]}})"#,
            &default_profiles(),
        );
        assert_eq!(
            coords(&p.dependencies),
            ["nrepl/nrepl 0.9.0", "org.nrepl/incomplete 0.1.0"]
        );
        assert!(p.dependencies[0].exclusions.is_empty());
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
    fn project_level_replace_and_top_level_defaults() {
        // An explicit :source-paths replaces the default "src" entirely.
        let p = lein(
            r#"(defproject foo "1" :source-paths ["a" "b"] :test-paths [])"#,
            &[],
        );
        assert_eq!(p.source_paths, ["a", "b"]);
        assert!(p.test_paths.is_empty());
        // ^:replace on :repositories drops central and clojars.
        let p = lein(
            r#"(defproject foo "1" :repositories ^:replace [["mine" "file:///repo"]])"#,
            &[],
        );
        assert_eq!(
            p.repositories,
            [("mine".to_string(), "file:///repo".to_string())]
        );
        // :java-opts is the old name of :jvm-opts.
        let p = lein(r#"(defproject foo "1" :java-opts ["-Dold"])"#, &[]);
        assert_eq!(p.jvm_opts, ["-Dold"]);
    }

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
        assert_eq!(coords(&p.managed), ["a/b 1", "a/b 2 :classifier x"]);
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
            .map(|(i, u)| format!("{i}={u}"))
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
    fn target_and_compile_paths() {
        let p = lein(
            r#"(defproject foo "1" :target-path "out" :compile-path "classes")"#,
            &default_profiles(),
        );
        assert_eq!(
            (p.target_path.as_str(), p.compile_path.as_str()),
            ("out", "classes")
        );
        // Checked with `lein jar` / `lein uberjar`: :provided only counts when defined.
        let text = r#"(defproject foo "1" :target-path "out/%s")"#;
        assert_eq!(lein(text, &default_lein_profiles("jar")).target_path, "out");
        assert_eq!(
            lein(text, &default_lein_profiles("uberjar")).target_path,
            "out/uberjar"
        );
        let text = r#"(defproject foo "1" :target-path "out/%s" :profiles {:provided {}})"#;
        let p = lein(text, &default_lein_profiles("jar"));
        assert_eq!(
            (p.target_path.as_str(), p.compile_path.as_str()),
            ("out/provided", "out/provided/classes")
        );
        let p = lein(text, &default_lein_profiles("uberjar"));
        assert_eq!(p.target_path, "out/uberjar+provided");
    }

    /// Shaped like ring-core's project.clj; checked against lein 2.10.
    const UPSTREAM_STYLE: &str = r#"
(defproject ring/ring-core "1.9.6"
  :description "Ring core libraries."
  :url "https://github.com/ring-clojure/ring"
  :scm {:dir ".."}
  :license {:name "The MIT License"
            :url "http://opensource.org/licenses/MIT"}
  :min-lein-version "2.0.0"
  :global-vars {*warn-on-reflection* true}
  :dependencies [[org.clojure/clojure "1.7.0"]
                 [ring/ring-codec "1.2.0"]
                 [commons-io "2.11.0"]
                 [crypto-random "1.2.1"]]
  :plugins [[lein-codox "0.10.8"]]
  :codox {:output-path "codox" :source-uri "https://github.com/ring-clojure/ring/blob/{version}/{filepath}#L{line}"}
  :deploy-repositories [["releases" :clojars]]
  :aliases {"test-all" ["with-profile" "default:+1.8:+1.9" "test"]}
  :profiles
  {:provided {:dependencies [[javax.servlet/servlet-api "2.5"]]}
   :dev [:project/dev :profiles/dev]
   :project/dev {:dependencies [[clj-time "0.15.2"]
                                [javax.servlet/servlet-api "2.5"]]
                 :resource-paths ["test/resources"]}
   :1.8 {:dependencies [[org.clojure/clojure "1.8.0"]]}
   :1.9 {:dependencies [[org.clojure/clojure "1.9.0"]]}})
"#;

    #[test]
    fn upstream_style_project() {
        let p = lein(UPSTREAM_STYLE, &default_profiles());
        assert_eq!(
            coords(&p.dependencies),
            [
                "org.clojure/clojure 1.7.0",
                "ring/ring-codec 1.2.0",
                "commons-io/commons-io 2.11.0",
                "crypto-random/crypto-random 1.2.1",
                "nrepl/nrepl 1.0.0",
                "org.nrepl/incomplete 0.1.0",
                // :provided's, then re-scoped by :dev's members, which inherit its scope
                "javax.servlet/servlet-api 2.5 :scope test",
                "clj-time/clj-time 0.15.2 :scope test",
            ]
        );
        assert_eq!(
            p.resource_paths,
            ["test/resources", "dev-resources", "resources"]
        );
        let mut profiles = default_profiles();
        profiles.push("1.8");
        let p = lein(UPSTREAM_STYLE, &profiles);
        assert_eq!(coords(&p.dependencies)[0], "org.clojure/clojure 1.8.0");
        assert_eq!(p.compile_path, "target/classes");
    }

    // -- Leiningen: errors ---------------------------------------------------------------

    #[test]
    fn unquote_is_an_error_naming_form_and_position() {
        let e = lein_err(
            "(def v \"1\")\n(defproject foo\n  ~(str \"1.\" \"2\"))",
            &[],
        );
        assert_eq!(
            e,
            "project.clj:3:3: cannot evaluate ~(str ...): kbuild reads project.clj without running it"
        );
        let e = lein_err("(defproject foo ~v)", &[]);
        assert!(
            e.starts_with("project.clj:1:17: cannot evaluate ~v:"),
            "{e}"
        );
        let e = lein_err(
            "(defproject foo \"1\"\n  :dependencies [[a/b ~version]])",
            &[],
        );
        assert!(
            e.starts_with("project.clj:2:23: cannot evaluate ~version"),
            "{e}"
        );
        let e = lein_err(
            "(defproject foo \"1\"\n  :source-paths [\"src\" #=(eval (str \"x\"))])",
            &[],
        );
        assert!(
            e.starts_with("project.clj:2:24: cannot evaluate #=(eval ...)"),
            "{e}"
        );
        let e = lein_err("(defproject foo \"1\"\n  :dependencies [~@deps])", &[]);
        assert!(
            e.starts_with("project.clj:2:18: cannot evaluate ~@deps"),
            "{e}"
        );
    }

    #[test]
    fn unevaluable_forms_in_unused_keys_or_inactive_profiles_are_fine() {
        let p = lein(
            r#"(defproject foo "1" :description ~(slurp "README") :plugins [[lein-x ~v]]
                 :profiles {:other {:dependencies [[a ~v]]}})"#,
            &default_profiles(),
        );
        assert_eq!(p.name, "foo");
        let e = lein_err(
            r#"(defproject foo "1" :profiles {:other ~(profile)})"#,
            &["other"],
        );
        assert!(e.contains("cannot evaluate ~(profile)"), "{e}");
    }

    #[test]
    fn shape_errors_have_positions() {
        assert_eq!(
            lein_err("(ns x)", &[]),
            "project.clj:1:1: no (defproject name \"version\" ...) form"
        );
        assert_eq!(
            lein_err("(defproject foo 1.0)", &[]),
            "project.clj:1:17: expected a version string, found number"
        );
        assert_eq!(
            lein_err("(defproject foo \"1\"\n  :main)", &[]),
            "project.clj:2:3: defproject: a key without a value"
        );
        assert_eq!(
            lein_err("(defproject foo \"1\"\n  :main a\n  :main b)", &[]),
            "project.clj:3:3: duplicate key :main in defproject (first at 2:3)"
        );
        assert_eq!(
            lein_err("(defproject foo \"1\"\n  :source-paths \"src\")", &[]),
            "project.clj:2:17: expected a vector of paths, found string"
        );
        assert_eq!(
            lein_err("(defproject foo \"1\"\n  :dependencies [a/b])", &[]),
            "project.clj:2:18: expected a dependency like [group/name \"version\"], found symbol"
        );
        assert_eq!(
            lein_err(
                "(defproject foo \"1\"\n  :dependencies [[a/b \"1\" :scope]])",
                &[]
            ),
            "project.clj:2:27: a/b: expected keyword/value pairs after the name and version"
        );
        assert_eq!(
            lein_err("(defproject foo \"1\"\n  :main 'foo.core)", &[]),
            "project.clj:2:9: expected a namespace symbol, found quoted form 'foo.core (kbuild reads project.clj without running it)"
        );
        assert_eq!(
            lein_err("(defproject foo \"1\"\n  :dependencies [[a/b \"1\"]]", &[]),
            "project.clj:1:1: `(` is never closed"
        );
    }

    // -- deps.edn -------------------------------------------------------------------

    const DEPS: &str = r#"
{:paths ["src" "resources"]
 :deps {org.clojure/clojure {:mvn/version "1.11.1"}
        cheshire {:mvn/version "5.11.0" :exclusions [com.fasterxml.jackson.core/jackson-core tigris]}
        org.lwjgl/lwjgl$natives-linux {:mvn/version "3.3.1"}
        my/local {:local/root "../local"}}
 :mvn/repos {"internal" {:url "https://repo.example.com/"}}
 :aliases {:dev {:extra-paths ["dev"]
                 :extra-deps {nrepl/nrepl {:mvn/version "1.0.0"}
                              cheshire/cheshire {:mvn/version "5.12.0"}}
                 :jvm-opts ["-Ddev"]
                 :main-opts ["-m" "nrepl.cmdline"]}
           :test {:extra-deps {io.github.cognitect-labs/test-runner {:mvn/version "0.5.1"}}
                  :jvm-opts ["-Dtest"]
                  :main-opts ["-m" "cognitect.test-runner"]}
           :build {:replace-deps {io.github.clojure/tools.build {:mvn/version "0.9.4"}}
                   :replace-paths ["build"]}
           :tool {:deps {a/tool {:mvn/version "1"}}}
           :pin {:override-deps {org.clojure/clojure {:mvn/version "1.10.3"}}}
           :clj-paths ["src/clj" :more-paths]
           :more-paths ["src/cljc"]
           :layout {:extra-paths [:clj-paths]}}}
"#;

    #[test]
    fn deps_edn_without_aliases() {
        let p = deps(DEPS, &[]);
        assert_eq!(p.tool, Tool::Cli);
        assert_eq!(p.source_paths, ["src", "resources"]);
        assert!(p.test_paths.is_empty());
        assert_eq!(
            coords(&p.dependencies),
            [
                "org.clojure/clojure 1.11.1",
                "cheshire/cheshire 5.11.0",
                "org.lwjgl/lwjgl 3.3.1 :classifier natives-linux",
                "my/local",
            ]
        );
        assert_eq!(
            excl(&p.dependencies[1]),
            ["com.fasterxml.jackson.core/jackson-core", "tigris/tigris"]
        );
        assert_eq!(p.dependencies[3].local_root.as_deref(), Some("../local"));
        assert_eq!(p.dependencies[3].version, None);
        assert_eq!(
            p.repositories,
            [
                (
                    "central".to_string(),
                    "https://repo1.maven.org/maven2/".to_string()
                ),
                (
                    "clojars".to_string(),
                    "https://repo.clojars.org/".to_string()
                ),
                (
                    "internal".to_string(),
                    "https://repo.example.com/".to_string()
                ),
            ]
        );
        assert!(p.main_opts.is_empty() && p.jvm_opts.is_empty() && p.main.is_none());
        assert_eq!(p.aot, Aot::None);
        assert_eq!(p.compile_path, "target/classes");
    }

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
        assert!(p.dependencies[1].exclusions.is_empty());
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
        assert_eq!(coords(&p.managed), ["org.clojure/clojure 1.10.3"]);
        let p = deps(DEPS, &["layout"]);
        assert_eq!(p.test_paths, ["src/clj", "src/cljc"]);
        let p = deps(
            r#"{:paths [:clj-paths "resources"] :aliases {:clj-paths ["src/clj"]}}"#,
            &[],
        );
        assert_eq!(p.source_paths, ["src/clj", "resources"]);
    }

    #[test]
    fn deps_edn_defaults() {
        let p = deps("", &[]);
        assert_eq!(p.source_paths, ["src"]);
        assert!(p.dependencies.is_empty());
        assert_eq!(p.repositories.len(), 2);
        let p = deps("{}", &["test"]);
        assert_eq!(p.test_paths, ["test"]);
        let p = deps(
            r#"{:mvn/repos {"clojars" nil "central" {:url "https://mirror/"}}}"#,
            &[],
        );
        assert_eq!(
            p.repositories,
            [("central".to_string(), "https://mirror/".to_string())]
        );
    }

    #[test]
    fn deps_edn_git_coordinates() {
        let p = deps(
            r#"{:deps {io.github.someone/lib {:git/tag "v1.2" :git/sha "ABCDEF1" :deps/root "core"}
        my/thing {:git/url "file:///srv/thing.git" :sha "0123456789abcdef0123456789abcdef01234567"}}}"#,
            &[],
        );
        assert_eq!(
            p.dependencies[0].git,
            Some(GitCoord {
                url: "https://github.com/someone/lib.git".into(),
                sha: "abcdef1".into(),
                tag: Some("v1.2".into()),
                deps_root: Some("core".into()),
            })
        );
        assert_eq!(p.dependencies[0].version, None);
        let thing = p.dependencies[1].git.as_ref().unwrap();
        assert_eq!(thing.url, "file:///srv/thing.git");
        assert_eq!(thing.tag, None);
    }

    #[test]
    fn deps_edn_errors() {
        assert_eq!(
            deps_err("{:aliases {:dev {}}}", &["dev", "nope"]),
            "deps.edn:1:11: alias :nope is not defined (defined: :test, :dev)"
        );
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
        assert_eq!(
            deps_err("{:paths \"src\"}", &[]),
            "deps.edn:1:9: expected a vector of paths for :paths, found string"
        );
        assert_eq!(
            deps_err("{:paths [\"src\"]", &[]),
            "deps.edn:1:1: `{` is never closed"
        );
        assert_eq!(
            deps_err("{} {}", &[]),
            "deps.edn:1:4: expected a single map, found another form"
        );
        assert_eq!(
            deps_err("{:paths [:nope]}", &[]),
            "deps.edn:1:10: path alias :nope is not defined"
        );
    }

    // -- fixtures -------------------------------------------------------------------

    #[test]
    fn fixture_lein_mixed() {
        let text = include_str!("../fixtures/lein-mixed/project.clj");
        let p = lein(text, &default_profiles());
        // `lein classpath` (2.10, offline): test:src:dev-resources:resources:target/classes:
        // clojure 1.11.1, spec.alpha, core.specs.alpha, nrepl 1.0.0, incomplete 0.1.0
        assert_eq!(p.test_paths, ["test"]);
        assert_eq!(p.source_paths, ["src"]);
        assert_eq!(p.resource_paths, ["dev-resources", "resources"]);
        assert_eq!(p.compile_path, "target/classes");
        assert_eq!(p.java_source_paths, ["java"]);
        assert_eq!(
            coords(&p.dependencies),
            [
                "org.clojure/clojure 1.11.1",
                "nrepl/nrepl 1.0.0",
                "org.nrepl/incomplete 0.1.0"
            ]
        );
        assert_eq!(p.main.as_deref(), Some("mixed.core"));
        assert_eq!(p.aot, Aot::Namespaces(vec!["mixed.core".into()]));
        let p = lein(text, &default_lein_profiles("test"));
        assert_eq!(
            p.resource_paths,
            ["test-resources", "dev-resources", "resources"]
        );
        assert_eq!(p.compile_path, "target/classes");
        let p = lein(text, &default_lein_profiles("uberjar"));
        assert_eq!(p.aot, Aot::All);
    }

    #[test]
    fn fixture_deps_alias() {
        let text = include_str!("../fixtures/deps-alias/deps.edn");
        let p = deps(text, &[]);
        assert_eq!(p.source_paths, ["src", "resources"]);
        assert!(p.test_paths.is_empty());
        let p = deps(text, &["test"]);
        assert_eq!(p.test_paths, ["test"]);
        assert_eq!(p.main.as_deref(), Some("greet.test-runner"));
        assert_eq!(coords(&p.dependencies), ["org.clojure/clojure 1.11.1"]);
        let p = deps(text, &["dev"]);
        assert_eq!(
            coords(&p.dependencies),
            ["org.clojure/clojure 1.11.1", "nrepl/nrepl 1.0.0"]
        );
        assert_eq!(p.test_paths, ["dev"]);
    }
}
