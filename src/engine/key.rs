//! Task identities. A key names what to compute, never where: paths are relative to the
//! project root, so traces stay valid when the checkout moves.

use std::fmt;

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Key {
    /// A source file's content as a hasher sees it (`hasher` is `id@version`).
    File { path: String, hasher: String },
    /// The sorted list of files that these globs match.
    Glob(Vec<String>),
    /// A target's definition in the build file, with its rule's version.
    Def(String),
    /// A tool's identity (e.g. the JDK that provides javac).
    Tool(String),
    /// A setting of this machine that a result depends on (the Maven local repository,
    /// where resolved artifacts are).
    Setting(String),
    /// A target's product.
    Target(String),
}

impl Key {
    pub fn parse(s: &str) -> Option<Key> {
        let (kind, rest) = s.split_once(':')?;
        Some(match kind {
            "file" => {
                let (hasher, path) = rest.split_once(':')?;
                Key::File {
                    path: path.to_string(),
                    hasher: hasher.to_string(),
                }
            }
            "glob" => Key::Glob(rest.split('\n').map(str::to_string).collect()),
            "def" => Key::Def(rest.to_string()),
            "tool" => Key::Tool(rest.to_string()),
            "setting" => Key::Setting(rest.to_string()),
            "target" => Key::Target(rest.to_string()),
            _ => return None,
        })
    }

    /// How `kbuild explain` names it.
    pub fn describe(&self) -> String {
        match self {
            Key::File { path, hasher } => format!("source {path} (hasher {hasher})"),
            Key::Glob(p) => format!("the set of files matching {}", p.join(", ")),
            Key::Def(t) => format!("the definition of {t} in the build file"),
            Key::Tool(t) => format!("the tool {t}"),
            Key::Setting(s) => format!("the setting {s}"),
            Key::Target(t) => format!("dependency {t}"),
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::File { path, hasher } => write!(f, "file:{hasher}:{path}"),
            Key::Glob(p) => write!(f, "glob:{}", p.join("\n")),
            Key::Def(t) => write!(f, "def:{t}"),
            Key::Tool(t) => write!(f, "tool:{t}"),
            Key::Setting(s) => write!(f, "setting:{s}"),
            Key::Target(t) => write!(f, "target:{t}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_roundtrip_through_their_text() {
        for k in [
            Key::File {
                path: "src/a:b/C.java".into(),
                hasher: "java@1".into(),
            },
            Key::Glob(vec!["src/**/*.java".into(), "gen/x.txt".into()]),
            Key::Def("app".into()),
            Key::Tool("javac".into()),
            Key::Setting("maven-local-repo".into()),
            Key::Target("app".into()),
        ] {
            assert_eq!(Key::parse(&k.to_string()), Some(k));
        }
    }
}
