//! What a Clojure source file can see of the project's other sources, read from its `ns`
//! form without evaluating anything: the namespaces it requires, uses or imports from, and
//! the ones it names in fully qualified symbols. A file that loads code any other way
//! (`load`, `require` outside its `ns` form, ...) or that cannot be read is *open*: it may
//! see every source.

use crate::edn::{self, Form, Value};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NsDeps {
    /// The namespace its `ns` form declares; None for a file without one.
    pub name: Option<String>,
    /// Namespaces (and, for imports, class names) it may load, each once.
    pub uses: Vec<String>,
    /// It loads code in a way the `ns` form does not show, or could not be read.
    pub open: bool,
}

/// Calls outside the `ns` form that load code or reach namespaces by name at run time.
const LOADERS: [&str; 11] = [
    "require",
    "use",
    "load",
    "load-file",
    "load-string",
    "load-reader",
    "requiring-resolve",
    "import",
    "resolve",
    "ns-resolve",
    "find-var",
];

pub fn read(text: &str) -> NsDeps {
    let Ok(forms) = edn::read_all(text) else {
        return NsDeps {
            open: true,
            ..NsDeps::default()
        };
    };
    let mut out = NsDeps::default();
    for form in &forms {
        match ns_form(form) {
            Some(items) if out.name.is_none() => {
                out.name = items.get(1).and_then(Form::as_symbol).map(str::to_string);
                for clause in &items[2..] {
                    out.clause(clause);
                }
            }
            _ => out.body(form),
        }
    }
    if out.name.is_none() {
        // Loaded by path (`load`), or not code at all: nothing says what it reads.
        out.open = true;
    }
    out
}

fn ns_form(form: &Form) -> Option<&[Form]> {
    match &form.value {
        Value::List(items) if items.first()?.as_symbol() == Some("ns") => Some(items),
        _ => None,
    }
}

impl NsDeps {
    fn add(&mut self, name: String) {
        if !name.is_empty() && !self.uses.contains(&name) {
            self.uses.push(name);
        }
    }

    /// One reference of the `ns` form: `(:require ...)`, `(:use ...)`, `(:import ...)`,
    /// `(:load ...)`; other clauses (`:refer-clojure`, `:gen-class`) load nothing.
    fn clause(&mut self, clause: &Form) {
        let Value::List(items) = &clause.value else {
            if let Value::ReaderConditional { forms, .. } = &clause.value {
                for f in forms.iter().skip(1).step_by(2) {
                    self.clause(f);
                }
            }
            return;
        };
        let args = branches(&items[1..]);
        match items.first().and_then(Form::as_keyword) {
            Some("require" | "use") => {
                for a in args {
                    self.libspec(a, None);
                }
            }
            Some("import") => {
                for a in args {
                    self.import(a);
                }
            }
            Some("load") => self.open = true,
            _ => {}
        }
    }

    /// A libspec (`a.b`, `[a.b :as x]`) or a prefix list (`(a b c)`, `[a [b :as x] c]`), as
    /// `clojure.core/load-libs` tells them apart: a vector whose second element is absent or
    /// a keyword is a libspec.
    fn libspec(&mut self, form: &Form, prefix: Option<&str>) {
        let join = |name: &str| match prefix {
            Some(p) => format!("{p}.{name}"),
            None => name.to_string(),
        };
        match &form.value {
            Value::Symbol(s) => self.add(join(s)),
            Value::Vector(items) | Value::List(items) => {
                let items = branches(items);
                let Some(head) = items.first().and_then(|f| f.as_symbol()) else {
                    return;
                };
                let is_spec = matches!(form.value, Value::Vector(_))
                    && items.get(1).is_none_or(|f| f.as_keyword().is_some());
                if is_spec {
                    self.add(join(head));
                } else {
                    let p = join(head);
                    for rest in &items[1..] {
                        self.libspec(rest, Some(&p));
                    }
                }
            }
            _ => {}
        }
    }

    /// `a.b.C` or `(a.b C D)`: a class of a Java product, or one a Clojure namespace defines
    /// (`a.b`'s record `C`, `a.b.C`'s `gen-class`); both namespaces count.
    fn import(&mut self, form: &Form) {
        match &form.value {
            Value::Symbol(s) => {
                if let Some((package, _)) = s.rsplit_once('.') {
                    self.add(package.to_string());
                }
                self.add(s.clone());
            }
            Value::Vector(items) | Value::List(items) => {
                let items = branches(items);
                let Some(package) = items.first().and_then(|f| f.as_symbol()) else {
                    return;
                };
                self.add(package.to_string());
                for class in items[1..].iter().filter_map(|f| f.as_symbol()) {
                    self.add(format!("{package}.{class}"));
                }
            }
            _ => {}
        }
    }

    /// A form outside the `ns` form: a loader call makes the file open; a qualified symbol
    /// `a.b/f` may reach a namespace something else loaded, so it counts as a use.
    fn body(&mut self, form: &Form) {
        let mut stack = vec![form];
        while let Some(f) = stack.pop() {
            if let Some(m) = &f.meta {
                stack.push(m);
            }
            match &f.value {
                Value::Symbol(s) | Value::Var(s) => {
                    let (ns, name) = s.rsplit_once('/').unwrap_or(("", s));
                    if LOADERS.contains(&name) && (ns.is_empty() || ns == "clojure.core") {
                        self.open = true;
                    } else if !ns.is_empty() && ns.contains('.') {
                        self.add(ns.to_string());
                    }
                }
                Value::List(v)
                | Value::Vector(v)
                | Value::Set(v)
                | Value::AnonFn(v)
                | Value::ReaderConditional { forms: v, .. } => stack.extend(v),
                Value::Map(entries) => {
                    for (k, v) in entries {
                        stack.push(k);
                        stack.push(v);
                    }
                }
                Value::Tagged(_, x)
                | Value::Quote(x)
                | Value::Deref(x)
                | Value::SyntaxQuote(x)
                | Value::Unquote(x)
                | Value::UnquoteSplicing(x) => stack.push(x),
                // `#=` evaluates at read time: anything goes.
                Value::ReaderEval(_) => self.open = true,
                _ => {}
            }
        }
    }
}

/// The forms with every reader conditional replaced by all its branches (the Clojure one is
/// among them; taking more only adds uses).
fn branches(items: &[Form]) -> Vec<&Form> {
    let mut out = Vec::new();
    for f in items {
        match &f.value {
            Value::ReaderConditional { forms, splicing } => {
                for branch in forms.iter().skip(1).step_by(2) {
                    match (&branch.value, splicing) {
                        (Value::Vector(v) | Value::List(v), true) => out.extend(branches(v)),
                        _ => out.push(branch),
                    }
                }
            }
            _ => out.push(f),
        }
    }
    out
}

/// Where a namespace's source is, relative to a classpath root, as `clojure.core/load`
/// looks for it (`a.b-c` is `a/b_c.clj` or `.cljc`).
pub fn source_paths(ns: &str) -> [String; 2] {
    let base = ns.replace('.', "/").replace('-', "_");
    [format!("{base}.clj"), format!("{base}.cljc")]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uses(text: &str) -> Vec<String> {
        let mut d = read(text);
        assert!(!d.open, "{text}");
        d.uses.sort();
        d.uses
    }

    #[test]
    fn requires_uses_and_imports_of_the_ns_form() {
        let d = read(
            "(ns ^:no-doc a.b-test\n  \"doc\"\n  (:require [clojure.test :refer :all] a.util\n            (a [x :as x] y)\n            [a.z]\n            #?(:clj [a.jvm] :cljs [a.js]))\n  (:use [a.old :only [f]])\n  (:import (a.rec Point) java.io.File))\n(deftest t (is (= 1 (x/f))))",
        );
        assert_eq!(d.name.as_deref(), Some("a.b-test"));
        assert!(!d.open);
        assert_eq!(
            d.uses,
            [
                "clojure.test",
                "a.util",
                "a.x",
                "a.y",
                "a.z",
                "a.jvm",
                "a.js",
                "a.old",
                "a.rec",
                "a.rec.Point",
                "java.io",
                "java.io.File"
            ]
        );
    }

    #[test]
    fn qualified_symbols_in_the_body_count_as_uses() {
        assert_eq!(
            uses("(ns t)\n(defn f [] (my.lib/g) (str/join [1]) #'other.ns/v)"),
            ["my.lib", "other.ns"]
        );
    }

    #[test]
    fn loading_outside_the_ns_form_or_unreadable_text_opens_the_file() {
        for text in [
            "(ns t)\n(require 'a.b)",
            "(ns t)\n(defn f [] (clojure.core/load \"x\"))",
            "(ns t (:load \"x\"))",
            "(ns t)\n(def x (requiring-resolve 'a/b))",
            "(ns t)\n(def x #=(eval 1))",
            "(in-ns 'a.b)\n(def x 1)",
            "(ns t (:require [a.b)",
        ] {
            assert!(read(text).open, "{text}");
        }
    }

    #[test]
    fn source_paths_munge_dashes() {
        assert_eq!(source_paths("a.b-c"), ["a/b_c.clj", "a/b_c.cljc"]);
    }
}
