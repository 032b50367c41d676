//! A model of the values Leiningen's `meta-merge` works on: Clojure data with the metadata
//! that steers merging, and forms that would need evaluating kept opaque.

use crate::edn::{self, Form, Pos, Value};
use crate::project::clojure::{invalid, ClojureError};

/// The metadata that steers Leiningen's merging. `true` means "present"; merging two
/// metadata maps is then a union, and `dissoc` sets a flag back to false.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Meta {
    pub(super) displace: bool,
    pub(super) replace: bool,
    pub(super) top_displace: bool,
    /// Profile paths go in front of the project's (Leiningen's `empty-paths`).
    pub(super) prepend: bool,
    /// How a vector absorbs another (Leiningen's `:reduce` metadata).
    pub(super) reduce: Option<Reduce>,
    /// `:pom-scope` of a profile: the scope its dependencies get.
    pub(super) pom_scope: Option<String>,
    /// `:kbuild/outputs` of a `:prep-tasks` entry: the paths its generator writes, or the
    /// position of metadata that is not a vector of strings.
    pub(super) outputs: Option<Result<Vec<String>, Pos>>,
}

impl Meta {
    pub(super) fn merged(&self, right: &Meta) -> Meta {
        Meta {
            displace: self.displace || right.displace,
            replace: self.replace || right.replace,
            top_displace: self.top_displace || right.top_displace,
            prepend: self.prepend || right.prepend,
            reduce: right.reduce.or(self.reduce),
            pom_scope: right.pom_scope.clone().or_else(|| self.pom_scope.clone()),
            outputs: right.outputs.clone().or_else(|| self.outputs.clone()),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Reduce {
    Deps,
    Repos,
}

#[derive(Clone, Debug)]
pub(super) struct Node {
    pub(super) v: V,
    pub(super) m: Meta,
    pub(super) pos: Pos,
}

#[derive(Clone, Debug)]
pub(super) enum V {
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
    pub(super) fn new(v: V, pos: Pos) -> Node {
        Node {
            v,
            m: Meta::default(),
            pos,
        }
    }

    pub(super) fn kw(k: &str, pos: Pos) -> Node {
        Node::new(V::Kw(k.to_string()), pos)
    }

    pub(super) fn string(s: &str, pos: Pos) -> Node {
        Node::new(V::Str(s.to_string()), pos)
    }

    pub(super) fn vector(items: Vec<Node>, pos: Pos) -> Node {
        Node::new(V::Seq(items, true), pos)
    }

    pub(super) fn is_nil(&self) -> bool {
        matches!(self.v, V::Nil)
    }

    /// Only Clojure objects implementing IObj keep metadata.
    pub(super) fn holds_meta(&self) -> bool {
        matches!(self.v, V::Seq(..) | V::Map(_) | V::Set(_) | V::Sym(_))
    }

    pub(super) fn with_meta(mut self, m: Meta) -> Node {
        if self.holds_meta() {
            self.m = m;
        }
        self
    }

    pub(super) fn items(&self) -> Option<&[Node]> {
        match &self.v {
            V::Seq(items, _) | V::Set(items) => Some(items),
            _ => None,
        }
    }

    pub(super) fn get(&self, key: &str) -> Option<&Node> {
        match &self.v {
            V::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(&k.v, V::Kw(n) if n == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub(super) fn set(&mut self, key: &str, value: Node) {
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

    pub(super) fn remove(&mut self, key: &str) -> Option<Node> {
        if let V::Map(entries) = &mut self.v {
            let i = entries
                .iter()
                .position(|(k, _)| matches!(&k.v, V::Kw(n) if n == key))?;
            return Some(entries.remove(i).1);
        }
        None
    }

    pub(super) fn describe(&self) -> &'static str {
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
    pub(super) fn source(&self) -> String {
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
    pub(super) fn same(&self, other: &Node) -> bool {
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
pub(super) fn expected(file: &'static str, node: &Node, what: &str) -> ClojureError {
    match &node.v {
        V::Opaque {
            text, eval: true, ..
        } => ClojureError::Unevaluable {
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

pub(super) fn to_node(form: &Form) -> Node {
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
            outputs: meta.get("kbuild/outputs").map(|f| match &f.value {
                Value::Vector(items) => items
                    .iter()
                    .map(|i| match &i.value {
                        Value::Str(s) => Ok(s.clone()),
                        _ => Err(i.pos),
                    })
                    .collect(),
                _ => Err(f.pos),
            }),
        };
        node = node.with_meta(m);
    }
    node
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
