//! Which sources of a `java-library` to recompile, and which classes of its previous output to
//! drop, when only some of its sources changed; the rule then runs javac on those against
//! the rest of the previous output.
//!
//! The analysis works on class files (the constant pools, supertypes, ABI digests and
//! `SourceFile` attributes of the previous output), in two steps:
//!
//! 1. [`first_pass`]: the changed and added sources are compiled, after dropping the classes
//!    of the changed and deleted ones (inner, local and anonymous classes included).
//! 2. [`dependents`]: the classes whose ABI changed (added and removed ones included) reach
//!    the kept classes that use them: those that name one in their constant pool, directly or
//!    through a supertype in this target. Two uses leave no trace in a constant pool, so the
//!    kept sources are searched for their words: a compile-time constant, which javac
//!    inlines (a source that uses it names its field), and the simple name of an added class,
//!    which may now hide a class of that name elsewhere. Those sources are compiled next;
//!    when their own ABI changes in turn (a constant computed from a changed one), the
//!    classes compiled first may have seen the old one, so the rule compiles everything.
//!
//! Whatever this cannot vouch for is [`Unsure`], and the rule compiles everything: a class
//! it cannot tie to one source, a class defined by two sources, a source with Unicode
//! escapes (a word may hide in them), or more than half of the sources to compile.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use kbuild_classfile::ClassError;

/// Why the rule compiles everything instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsure(pub String);

type Sure<T> = Result<T, Unsure>;

/// A class file of an output, as the analysis reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Class {
    /// Its path in the product (`p/A$1.class`).
    pub path: String,
    /// Its internal name (`p/A$1`).
    pub name: String,
    /// The source it was compiled from, as the target names it.
    pub source: String,
    pub refs: BTreeSet<String>,
    pub supers: Vec<String>,
    pub abi: [u8; 32],
    pub constants: Vec<(String, String)>,
}

impl Class {
    /// Reads a class file at `path` of an output whose sources were `sources`. None when it
    /// names no source, or none or several of `sources` fit.
    pub fn read(path: &str, bytes: &[u8], sources: &[&str]) -> Result<Option<Class>, ClassError> {
        let name = kbuild_classfile::class_name(bytes)?;
        let Some(file) = kbuild_classfile::source_file(bytes)? else {
            return Ok(None);
        };
        let Some(source) = source_of(&name, &file, sources) else {
            return Ok(None);
        };
        Ok(Some(Class {
            path: path.to_string(),
            source: source.to_string(),
            refs: kbuild_classfile::referenced_classes(bytes)?
                .into_iter()
                .collect(),
            supers: kbuild_classfile::supertypes(bytes)?,
            abi: kbuild_classfile::abi_digest(bytes)?,
            constants: kbuild_classfile::constant_fields(bytes)?,
            name,
        }))
    }
}

/// The one source among `sources` that class `name` with `SourceFile` `file` came from: the
/// one so named, or, of several, the one whose directories end with the class's package.
fn source_of<'a>(name: &str, file: &str, sources: &[&'a str]) -> Option<&'a str> {
    let named: Vec<&str> = sources
        .iter()
        .copied()
        .filter(|s| Path::new(s).file_name().is_some_and(|f| f == file))
        .collect();
    if let [one] = named[..] {
        return Some(one);
    }
    let package = name.rsplit_once('/').map_or("", |(p, _)| p);
    let fits: Vec<&str> = named
        .into_iter()
        .filter(|s| Path::new(s).parent().is_some_and(|d| d.ends_with(package)))
        .collect();
    match fits[..] {
        [one] => Some(one),
        _ => None,
    }
}

/// The first compilation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The sources to compile: changed and added ones, in the target's order.
    pub compile: Vec<String>,
    /// The paths of the previous output to leave out: the classes of changed and deleted
    /// sources.
    pub drop: BTreeSet<String>,
}

/// The first compilation, given the previous output's classes, the target's sources now,
/// which of them changed or are new, and which sources the previous output had that are
/// gone.
pub fn first_pass(
    previous: &[Class],
    sources: &[String],
    changed: &BTreeSet<String>,
    deleted: &BTreeSet<String>,
) -> Sure<Plan> {
    if changed.len() + deleted.len() > sources.len() / 2 {
        return Err(Unsure(format!(
            "{} of {} sources changed",
            changed.len() + deleted.len(),
            sources.len()
        )));
    }
    let compile = sources
        .iter()
        .filter(|s| changed.contains(*s))
        .cloned()
        .collect();
    let drop = previous
        .iter()
        .filter(|c| changed.contains(&c.source) || deleted.contains(&c.source))
        .map(|c| c.path.clone())
        .collect();
    Ok(Plan { compile, drop })
}

/// The kept sources to compile next, given the previous output's classes, the sources
/// compiled or deleted so far, the classes those now have, and whether a source's text
/// mentions any of some words.
pub fn dependents(
    previous: &[Class],
    replaced: &BTreeSet<String>,
    now: &[Class],
    mentions: impl Fn(&str, &[&str]) -> bool,
) -> Sure<BTreeSet<String>> {
    let (old, kept): (Vec<&Class>, Vec<&Class>) =
        previous.iter().partition(|c| replaced.contains(&c.source));
    if let Some(c) = now.iter().find(|c| kept.iter().any(|k| k.name == c.name)) {
        return Err(Unsure(format!(
            "class {} is defined by two sources",
            c.name
        )));
    }
    let changes = abi_changes(&old, &now.iter().collect::<Vec<_>>());
    let mut changed = changes.changed;
    // A class whose supertype changed offers other members, though its own file did not
    // change: its users need compiling as much as the supertype's. The chain of supertypes
    // may pass through a class compiled again with the same ABI (a body edit in its file).
    let supers: BTreeMap<&str, &[String]> = kept
        .iter()
        .copied()
        .chain(now.iter())
        .map(|c| (c.name.as_str(), &c.supers[..]))
        .collect();
    loop {
        let more: Vec<String> = supers
            .iter()
            .filter(|(name, s)| !changed.contains(**name) && s.iter().any(|s| changed.contains(s)))
            .map(|(name, _)| name.to_string())
            .collect();
        if more.is_empty() {
            break;
        }
        changed.extend(more);
    }
    let words: Vec<&str> = changes
        .added
        .iter()
        .filter_map(|n| simple_name(n))
        .chain(changes.constants.iter().map(String::as_str))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let kept_sources: BTreeSet<&str> = kept.iter().map(|c| c.source.as_str()).collect();
    let mut out: BTreeSet<String> = kept
        .iter()
        .filter(|c| c.refs.iter().any(|r| changed.contains(r)))
        .map(|c| c.source.clone())
        .collect();
    if !words.is_empty() {
        for source in kept_sources {
            if !out.contains(source) && mentions(source, &words) {
                out.insert(source.to_string());
            }
        }
    }
    Ok(out)
}

/// Checks that classes compiled again kept their ABI: what the classes compiled before them
/// saw of them.
pub fn same_abi(previous: &[Class], sources: &BTreeSet<String>, now: &[Class]) -> Sure<()> {
    let old: Vec<&Class> = previous
        .iter()
        .filter(|c| sources.contains(&c.source))
        .collect();
    let changes = abi_changes(&old, &now.iter().collect::<Vec<_>>());
    match changes.changed.first() {
        None => Ok(()),
        Some(name) => Err(Unsure(format!(
            "the ABI of {name} changed as a dependent was compiled"
        ))),
    }
}

struct Changes {
    /// Classes whose ABI differs, with those removed or added.
    changed: BTreeSet<String>,
    added: BTreeSet<String>,
    /// The field names of constants that changed or went: an added class's constants
    /// cannot have been inlined anywhere, except as a class it hides, which its name finds.
    constants: BTreeSet<String>,
}

/// What differs between the old and the new classes of some sources.
fn abi_changes(old: &[&Class], new: &[&Class]) -> Changes {
    let old: BTreeMap<&str, &Class> = old.iter().map(|c| (c.name.as_str(), *c)).collect();
    let new: BTreeMap<&str, &Class> = new.iter().map(|c| (c.name.as_str(), *c)).collect();
    let mut changes = Changes {
        changed: BTreeSet::new(),
        added: BTreeSet::new(),
        constants: BTreeSet::new(),
    };
    for name in old.keys().chain(new.keys()) {
        let (o, n) = (old.get(name).copied(), new.get(name).copied());
        if o.map(|c| c.abi) == n.map(|c| c.abi) {
            continue;
        }
        changes.changed.insert(name.to_string());
        let (Some(o), n) = (o, n) else {
            changes.added.insert(name.to_string());
            continue;
        };
        let now = n.map_or(&[][..], |n| &n.constants[..]);
        let gone = o.constants.iter().filter(|c| !now.contains(c));
        // `name:descriptor`: a source names the field.
        changes
            .constants
            .extend(gone.map(|(f, _)| f.split(':').next().unwrap_or(f).to_string()));
    }
    changes
}

/// The name a source may use for a class: after its package and outer classes. None for
/// local and anonymous classes (`A$1`, `A$1Local`), which no other source can name.
fn simple_name(name: &str) -> Option<&str> {
    let last = name.rsplit(['/', '$']).next()?;
    (!last.is_empty() && !last.starts_with(|c: char| c.is_ascii_digit())).then_some(last)
}

/// Whether `text` has any of `words` as a whole Java identifier; true for any text with a
/// Unicode escape (`\u0041` is `A` to javac).
pub fn mentions(text: &str, words: &[&str]) -> bool {
    text.contains("\\u") || words.iter().any(|w| mentions_word(text, w))
}

fn mentions_word(text: &str, word: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(name: &str, source: &str, refs: &[&str], abi: u8) -> Class {
        Class {
            path: format!("{name}.class"),
            name: name.into(),
            source: source.into(),
            refs: refs.iter().map(|r| r.to_string()).collect(),
            supers: vec!["java/lang/Object".into()],
            abi: [abi; 32],
            constants: Vec::new(),
        }
    }

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn none(_: &str, _: &[&str]) -> bool {
        false
    }

    #[test]
    fn a_source_is_found_by_its_name_then_by_its_package() {
        let sources = ["src/p/A.java", "src/q/A.java", "src/p/B.java"];
        assert_eq!(source_of("p/B$1", "B.java", &sources), Some("src/p/B.java"));
        assert_eq!(source_of("q/A", "A.java", &sources), Some("src/q/A.java"));
        assert_eq!(source_of("r/A", "A.java", &sources), None);
        assert_eq!(source_of("p/C", "C.java", &sources), None);
        // A class whose file does not follow its package is found by its name alone.
        assert_eq!(source_of("x/y/B", "B.java", &sources), Some("src/p/B.java"));
    }

    #[test]
    fn the_first_pass_drops_every_class_of_changed_and_deleted_sources() {
        let previous = [
            class("p/A", "A.java", &[], 1),
            class("p/A$Inner", "A.java", &[], 1),
            class("p/A$1", "A.java", &[], 1),
            class("p/B", "B.java", &[], 1),
            class("p/C", "C.java", &[], 1),
            class("p/D", "D.java", &[], 1),
        ];
        let sources: Vec<String> = ["A.java", "B.java", "C.java", "E.java"]
            .map(String::from)
            .to_vec();
        let plan = first_pass(&previous, &sources, &set(&["A.java"]), &set(&["D.java"])).unwrap();
        assert_eq!(plan.compile, ["A.java"]);
        assert_eq!(
            plan.drop,
            set(&["p/A.class", "p/A$Inner.class", "p/A$1.class", "p/D.class"])
        );
        let many = set(&["A.java", "B.java", "E.java"]);
        assert!(first_pass(&previous, &sources, &many, &set(&[])).is_err());
    }

    #[test]
    fn a_body_edit_recompiles_nothing_else() {
        let previous = [
            class("p/A", "A.java", &[], 1),
            class("p/B", "B.java", &["p/A"], 1),
        ];
        let now = [class("p/A", "A.java", &[], 1)];
        let got = dependents(&previous, &set(&["A.java"]), &now, none).unwrap();
        assert!(got.is_empty());
    }

    #[test]
    fn an_abi_change_reaches_users_and_the_users_of_subclasses() {
        let mut sub = class("p/Sub", "Sub.java", &["p/A"], 1);
        sub.supers = vec!["p/A".into()];
        let previous = [
            class("p/A", "A.java", &[], 1),
            sub,
            class("p/UsesSub", "UsesSub.java", &["p/Sub"], 1),
            class("p/Other", "Other.java", &["java/lang/String"], 1),
        ];
        let now = [class("p/A", "A.java", &[], 2)];
        let got = dependents(&previous, &set(&["A.java"]), &now, none).unwrap();
        assert_eq!(got, set(&["Sub.java", "UsesSub.java"]));
    }

    #[test]
    fn an_abi_change_reaches_subclasses_through_a_class_compiled_again_unchanged() {
        // A changed its ABI; Mid (extends A) was compiled again for a body edit, its own ABI
        // the same; Leaf (extends Mid) was kept, and so was its user, who must compile again:
        // what Leaf offers through Mid changed.
        let mid = |abi| {
            let mut c = class("p/Mid", "Mid.java", &["p/A"], abi);
            c.supers = vec!["p/A".into()];
            c
        };
        let mut leaf = class("p/Leaf", "Leaf.java", &["p/Mid"], 1);
        leaf.supers = vec!["p/Mid".into()];
        let previous = [
            class("p/A", "A.java", &[], 1),
            mid(1),
            leaf,
            class("p/UsesLeaf", "UsesLeaf.java", &["p/Leaf"], 1),
        ];
        let now = [class("p/A", "A.java", &[], 2), mid(1)];
        let got = dependents(&previous, &set(&["A.java", "Mid.java"]), &now, none).unwrap();
        assert_eq!(got, set(&["Leaf.java", "UsesLeaf.java"]));
    }

    #[test]
    fn removed_classes_reach_their_users_and_added_ones_the_sources_naming_them() {
        let previous = [
            class("p/A", "A.java", &[], 1),
            class("p/A$Gone", "A.java", &[], 1),
            class("p/B", "B.java", &["p/A$Gone"], 1),
            class("p/C", "C.java", &["q/List"], 1),
            class("p/D", "D.java", &[], 1),
        ];
        let now = [
            class("p/A", "A.java", &[], 1),
            class("p/List", "A.java", &[], 1),
            class("p/A$1", "A.java", &[], 1),
        ];
        let mentions = |source: &str, words: &[&str]| {
            let text = match source {
                "C.java" => "import q.*; class C { List l; }",
                _ => "class D { int x1; }",
            };
            super::mentions(text, words)
        };
        let got = dependents(&previous, &set(&["A.java"]), &now, mentions).unwrap();
        assert_eq!(got, set(&["B.java", "C.java"]));
    }

    #[test]
    fn a_changed_constant_reaches_the_sources_that_name_it() {
        let mut with = class("p/A", "A.java", &[], 1);
        with.constants = vec![("X:I".into(), "I1".into()), ("Y:I".into(), "I1".into())];
        let mut changed = with.clone();
        changed.abi = [2; 32];
        changed.constants = vec![("Y:I".into(), "I1".into()), ("Z:I".into(), "I1".into())];
        let previous = [
            with,
            class("p/B", "B.java", &[], 1),
            class("p/C", "C.java", &[], 1),
        ];
        // B inlined X, which went; C uses Y, which did not change.
        let mentions = |source: &str, words: &[&str]| {
            let text = if source == "B.java" {
                "int b = A.X;"
            } else {
                "int c = Y;"
            };
            super::mentions(text, words)
        };
        let got = dependents(&previous, &set(&["A.java"]), &[changed], mentions).unwrap();
        assert_eq!(got, set(&["B.java"]));
    }

    #[test]
    fn a_class_defined_twice_or_a_dependent_whose_abi_changed_is_unsure() {
        let previous = [
            class("p/A", "A.java", &[], 1),
            class("p/B", "B.java", &[], 1),
        ];
        let twice = [previous[0].clone(), class("p/B", "A.java", &[], 1)];
        assert!(dependents(&previous, &set(&["A.java"]), &twice, none).is_err());
        let b = set(&["B.java"]);
        assert!(same_abi(&previous, &b, &[class("p/B", "B.java", &[], 1)]).is_ok());
        assert!(same_abi(&previous, &b, &[class("p/B", "B.java", &[], 2)]).is_err());
    }

    #[test]
    fn words_are_whole_identifiers() {
        assert!(mentions_word("new List<>()", "List"));
        assert!(!mentions_word("ArrayList<X> MyList_ $List", "List"));
        assert!(mentions_word("x.List", "List"));
        assert!(mentions("int \\u0041 = 1;", &["B"]));
        assert!(mentions("a b c", &["x", "c"]));
        assert_eq!(simple_name("p/A$Inner"), Some("Inner"));
        assert_eq!(simple_name("p/A$1Local"), None);
        assert_eq!(simple_name("Top"), Some("Top"));
    }
}
