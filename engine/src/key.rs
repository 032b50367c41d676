//! Task identities. A key names what to compute, never where: paths are relative to the
//! project root, so traces stay valid when the checkout moves.

use std::fmt;
use std::sync::Arc;

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Key {
    /// An input of a kind the application registered (a source file under a hasher, a glob,
    /// a tool, a setting), computed by its [`crate::Inputs`]; `arg` is canonical text.
    /// Shared, not copied, when cloned: a no-op build clones a key per source file.
    Input { kind: Arc<str>, arg: Arc<str> },
    /// A target's definition: its rule's name and version and its arguments.
    Def(String),
    /// A target's product.
    Target(String),
    /// One field of a target's providers (`Product::info[name]`): a dependent that needs only
    /// that view of the target (its ABI, say) records this instead of the whole product, and
    /// is cut off when the view did not change although the product did.
    Facet { target: String, name: String },
}

impl Key {
    pub fn input(kind: &str, arg: impl Into<Arc<str>>) -> Key {
        Key::Input {
            kind: shared_kind(kind),
            arg: arg.into(),
        }
    }

    pub fn parse(s: &str) -> Option<Key> {
        let (kind, rest) = s.split_once(':')?;
        Some(match kind {
            "def" => Key::Def(rest.to_string()),
            "target" => Key::Target(rest.to_string()),
            "facet" => {
                let (name, target) = rest.split_once(':')?;
                Key::Facet {
                    target: target.to_string(),
                    name: name.to_string(),
                }
            }
            _ => Key::input(kind, rest),
        })
    }
}

/// One copy of each input kind: a trace's keys repeat a handful of kinds thousands of times.
/// Only the first few are kept, so that text from a damaged trace cannot grow the list. A
/// list per thread: a shared one behind a lock was a cache line both cores took from each
/// other at every key read.
fn shared_kind(kind: &str) -> Arc<str> {
    thread_local! {
        static KINDS: std::cell::RefCell<Vec<Arc<str>>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    KINDS.with_borrow_mut(|kinds| {
        if let Some(k) = kinds.iter().find(|k| ***k == *kind) {
            return k.clone();
        }
        let k: Arc<str> = kind.into();
        if kinds.len() < 16 {
            kinds.push(k.clone());
        }
        k
    })
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Input { kind, arg } => write!(f, "{kind}:{arg}"),
            Key::Def(t) => write!(f, "def:{t}"),
            Key::Target(t) => write!(f, "target:{t}"),
            Key::Facet { target, name } => write!(f, "facet:{name}:{target}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_roundtrip_through_their_text() {
        for k in [
            Key::input("file", "java@1:src/a:b/C.java"),
            Key::input("glob", "src/**/*.java\ngen/x.txt"),
            Key::Def("app".into()),
            Key::input("tool", "javac"),
            Key::Target("app".into()),
            Key::Facet {
                target: "lib:x".into(),
                name: "abi".into(),
            },
        ] {
            assert_eq!(Key::parse(&k.to_string()), Some(k));
        }
        assert_eq!(Key::parse("no-colon"), None);
    }
}
