//! Syntax-aware digests: the sha512 of a tree-sitter token stream.
//!
//! The stream is a header (hasher id and version) followed by one frame per token:
//! `[line]? len bytes [column]?`, integers as LEB128. Length prefixes keep `a b` apart
//! from `ab`; dropped nodes (comments, `#_` forms) and whitespace never reach the stream.
//!
//! Whatever the grammar hides from us is hashed anyway: any non-whitespace text between
//! two visited tokens (a hidden grammar token, a BOM, a character javac does not accept as
//! whitespace) becomes a token of its own. So an edit can only be ignored if it is
//! whitespace, or inside a node we drop on purpose.

use std::cell::RefCell;
use std::sync::OnceLock;

use sha2::{Digest as _, Sha512};
use tree_sitter::{Language, Node, Parser, Tree};

use crate::{Digest, HashError, Hasher};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Lang {
    Java = 0,
    Clojure = 1,
}

impl Lang {
    fn name(self) -> &'static str {
        match self {
            Lang::Java => "java",
            Lang::Clojure => "clojure",
        }
    }

    /// Whitespace as the compiler sees it: the length of the whitespace character at the
    /// start of `b`, or 0. javac's set is narrower than tree-sitter's `\s`; Clojure's is
    /// `Character.isWhitespace` plus the comma, which is what the grammar uses.
    fn whitespace_len(self, b: &[u8]) -> usize {
        let Some(&first) = b.first() else { return 0 };
        match self {
            Lang::Java => usize::from(matches!(first, b' ' | b'\t' | b'\x0c' | b'\n' | b'\r')),
            Lang::Clojure if first < 0x80 => usize::from(matches!(
                first,
                b' ' | b',' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c' | b'\x1c'..=b'\x1f'
            )),
            Lang::Clojure => {
                let len = match first {
                    0xc0..=0xdf => 2,
                    0xe0..=0xef => 3,
                    _ => return 0, // no whitespace needs 4 bytes; continuation bytes aren't any
                };
                let Some(c) = b.get(..len).and_then(|s| std::str::from_utf8(s).ok()) else {
                    return 0;
                };
                let c = c.chars().next().unwrap_or('\0');
                let ws = matches!(c, '\u{1680}' | '\u{2000}'..='\u{2006}' | '\u{2008}'..='\u{200a}')
                    || matches!(c, '\u{2028}' | '\u{2029}' | '\u{205f}' | '\u{3000}');
                if ws {
                    len
                } else {
                    0
                }
            }
        }
    }

    /// Can this comment be dropped? Not when the compiler would read part of it as code:
    /// a lone CR ends a line comment for javac and the Clojure reader but not for the
    /// grammars, and javac decodes `\uXXXX` escapes (e.g. `\u000a`) before lexing.
    fn comment_is_inert(self, src: &[u8], start: usize, end: usize) -> bool {
        let text = &src[start..end];
        let lone_cr = text
            .iter()
            .enumerate()
            .any(|(i, &b)| b == b'\r' && src.get(start + i + 1) != Some(&b'\n'));
        let unicode_escape = self == Lang::Java && text.windows(2).any(|w| w == b"\\u");
        !lone_cr && !unicode_escape
    }
}

/// What the walk does with a node of a given kind.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Class {
    /// A leaf is a token; any other node is descended into.
    Plain,
    /// The whole node's source text is one token: literals whose inner whitespace is
    /// content, and whose children don't cover all of it.
    Atomic,
    /// Dropped, unless `Lang::comment_is_inert` says the compiler might read it.
    Comment,
    /// Clojure `#_ form`: dropped with the form, unless the form does something at read time.
    Discard,
}

struct Grammar {
    language: Language,
    /// Indexed by kind id.
    classes: Vec<Class>,
    /// Indexed by kind id: Clojure kinds whose reading runs code or can fail on content
    /// tree-sitter accepts (data readers, `#=`, regex compilation, `::` alias lookup,
    /// reader conditionals, which a .clj file rejects). A `#_` form containing one is
    /// hashed, because the reader reads the discarded form before throwing it away.
    read_time: Vec<bool>,
}

impl Grammar {
    fn load(lang: Lang) -> Result<Grammar, String> {
        let (language, classes, read_time): (Language, &[(&str, Class)], &[&str]) = match lang {
            Lang::Java => (
                tree_sitter_java::LANGUAGE.into(),
                &[
                    ("line_comment", Class::Comment),
                    ("block_comment", Class::Comment),
                    // Text blocks are string_literal too. Its children don't include the
                    // whitespace inside the literal (the grammar's extras).
                    ("string_literal", Class::Atomic),
                    ("character_literal", Class::Atomic),
                ],
                &[],
            ),
            Lang::Clojure => (
                tree_sitter_clojure_orchard::LANGUAGE.into(),
                &[
                    ("comment", Class::Comment),
                    ("dis_expr", Class::Discard),
                    ("str_lit", Class::Atomic),
                    ("char_lit", Class::Atomic),
                    // Its string is a hidden token: only the `#` child is visible.
                    ("regex_lit", Class::Atomic),
                ],
                &[
                    "tagged_or_ctor_lit",
                    "evaling_lit",
                    "regex_lit",
                    "read_cond_lit",
                    "splicing_read_cond_lit",
                    "sym_val_lit",
                    "ns_map_lit",
                    "auto_res_mark",
                    "::",
                ],
            ),
        };
        // Validate the ABI once, with a useful message, rather than in every thread.
        Parser::new()
            .set_language(&language)
            .map_err(|e| e.to_string())?;
        let count = language.node_kind_count();
        let mut class_of = vec![Class::Plain; count];
        let mut read_time_of = vec![false; count];
        // By name rather than `id_for_node_kind`, so every alias of a kind is covered.
        for id in 0..count {
            let Ok(id16) = u16::try_from(id) else { break };
            let Some(kind) = language.node_kind_for_id(id16) else {
                continue;
            };
            let named = language.node_kind_is_named(id16);
            if named {
                if let Some(&(_, class)) = classes.iter().find(|(k, _)| *k == kind) {
                    class_of[id] = class;
                }
            }
            // "::" is anonymous; every other read-time kind is named.
            read_time_of[id] = read_time.contains(&kind) && (named || kind == "::");
        }
        Ok(Grammar {
            language,
            classes: class_of,
            read_time: read_time_of,
        })
    }

    fn class(&self, node: Node) -> Class {
        self.classes
            .get(usize::from(node.kind_id()))
            .copied()
            .unwrap_or(Class::Plain)
    }

    fn is_read_time(&self, node: Node) -> bool {
        self.read_time
            .get(usize::from(node.kind_id()))
            .copied()
            .unwrap_or(false)
    }
}

fn grammar(lang: Lang) -> Result<&'static Grammar, HashError> {
    static GRAMMARS: [OnceLock<Result<Grammar, String>>; 2] = [OnceLock::new(), OnceLock::new()];
    GRAMMARS[lang as usize]
        .get_or_init(|| Grammar::load(lang))
        .as_ref()
        .map_err(|message| HashError::Grammar {
            grammar: lang.name(),
            message: message.clone(),
        })
}

thread_local! {
    // A tree-sitter Parser is not Sync; one per thread and language, reused across files.
    static PARSERS: RefCell<[Option<Parser>; 2]> = const { RefCell::new([None, None]) };
}

fn parse(lang: Lang, g: &Grammar, src: &[u8]) -> Result<Tree, HashError> {
    PARSERS.with(|parsers| {
        let mut parsers = parsers.borrow_mut();
        let slot = &mut parsers[lang as usize];
        if slot.is_none() {
            let mut parser = Parser::new();
            parser
                .set_language(&g.language)
                .map_err(|e| HashError::Grammar {
                    grammar: lang.name(),
                    message: e.to_string(),
                })?;
            *slot = Some(parser);
        }
        let Some(parser) = slot.as_mut() else {
            unreachable!("parser was just set")
        };
        parser.parse(src, None).ok_or_else(|| {
            parser.reset();
            HashError::ParseAborted {
                grammar: lang.name(),
            }
        })
    })
}

pub(crate) struct SyntaxHasher {
    id: &'static str,
    version: u32,
    lang: Lang,
    lines: bool,
}

impl SyntaxHasher {
    pub(crate) const fn new(id: &'static str, version: u32, lang: Lang, lines: bool) -> Self {
        SyntaxHasher {
            id,
            version,
            lang,
            lines,
        }
    }
}

impl Hasher for SyntaxHasher {
    fn id(&self) -> &'static str {
        self.id
    }

    fn version(&self) -> u32 {
        self.version
    }

    fn digest(&self, bytes: &[u8]) -> Result<Digest, HashError> {
        let g = grammar(self.lang)?;
        let tree = parse(self.lang, g, bytes)?;
        let root = tree.root_node();
        if root.has_error() {
            return Err(first_error(root));
        }
        let mut h = Sha512::new();
        h.update(b"kbuild-hashers\0");
        h.update(self.id.as_bytes());
        h.update(b"\0");
        h.update(self.version.to_le_bytes());
        let mut walk = Walk {
            src: bytes,
            lang: self.lang,
            h,
            lines: self.lines.then(LineCounter::default),
            pos: 0,
        };
        walk.walk(root, g);
        walk.gap(bytes.len());
        Ok(mask(walk.h.finalize().into()))
    }
}

/// Makes syntax digests a different function from sha512. A prefix alone is not enough:
/// the raw sha512 of a file that *is* the token stream would equal the syntax digest. With
/// the mask, a collision needs sha512(x) ^ sha512(y) == M, a 2^256 birthday search.
fn mask(inner: [u8; 64]) -> Digest {
    static MASK: OnceLock<[u8; 64]> = OnceLock::new();
    let m = MASK.get_or_init(|| Sha512::digest(b"kbuild-hashers: syntax digest mask").into());
    let mut out = inner;
    for (o, m) in out.iter_mut().zip(m) {
        *o ^= m;
    }
    Digest(out)
}

/// Position of the first ERROR or MISSING node in document order, 1-based.
fn first_error(root: Node) -> HashError {
    let mut cursor = root.walk();
    'down: loop {
        let node = cursor.node();
        if node.is_error() || node.is_missing() || !cursor.goto_first_child() {
            let p = node.start_position();
            return HashError::Syntax {
                line: p.row + 1,
                column: p.column + 1,
            };
        }
        // has_error() covers the node and its descendants: follow the first child with one.
        loop {
            if cursor.node().has_error() {
                continue 'down;
            }
            if !cursor.goto_next_sibling() {
                cursor.goto_parent();
                let p = cursor.node().start_position();
                return HashError::Syntax {
                    line: p.row + 1,
                    column: p.column + 1,
                };
            }
        }
    }
}

/// Line and column of increasing byte offsets, counted the way the compilers count:
/// CR, LF and CRLF each end a line (tree-sitter rows only count LF), columns in characters.
#[derive(Default)]
struct LineCounter {
    off: usize,
    line: u64,
    col: u64,
    prev_cr: bool,
}

impl LineCounter {
    fn at(&mut self, src: &[u8], target: usize) -> (u64, u64) {
        for &b in &src[self.off.min(target)..target] {
            match b {
                b'\n' if self.prev_cr => self.prev_cr = false,
                b'\n' => {
                    self.line += 1;
                    self.col = 0;
                }
                b'\r' => {
                    self.line += 1;
                    self.col = 0;
                    self.prev_cr = true;
                }
                _ => {
                    self.prev_cr = false;
                    // Count characters, not UTF-8 continuation bytes.
                    if b & 0xc0 != 0x80 {
                        self.col += 1;
                    }
                }
            }
        }
        self.off = self.off.max(target);
        (self.line, self.col)
    }
}

struct Walk<'a> {
    src: &'a [u8],
    lang: Lang,
    h: Sha512,
    /// Set for the `-lines` hashers.
    lines: Option<LineCounter>,
    /// End of the last byte accounted for (hashed, dropped, or checked to be whitespace).
    pos: usize,
}

impl Walk<'_> {
    /// Pre-order walk with a cursor: no recursion, no allocation per node.
    fn walk(&mut self, root: Node, g: &Grammar) {
        let mut cursor = root.walk();
        // The root itself is never a token (an empty or all-whitespace file has a childless
        // root spanning the whitespace).
        if !cursor.goto_first_child() {
            return;
        }
        'nodes: loop {
            if self.visit(cursor.node(), g) && cursor.goto_first_child() {
                continue;
            }
            loop {
                if cursor.goto_next_sibling() {
                    continue 'nodes;
                }
                if !cursor.goto_parent() {
                    return;
                }
            }
        }
    }

    /// Hashes or drops `node`; true when its children are to be visited.
    fn visit(&mut self, node: Node, g: &Grammar) -> bool {
        let (start, end) = (node.start_byte(), node.end_byte());
        match g.class(node) {
            Class::Atomic => self.token(start, end),
            Class::Comment if self.lang.comment_is_inert(self.src, start, end) => {
                self.drop_span(start, end)
            }
            Class::Comment => self.token(start, end),
            Class::Discard if !has_read_time_kind(node, g) => self.drop_span(start, end),
            Class::Discard => return true,
            Class::Plain if node.child_count() == 0 => self.token(start, end),
            Class::Plain => return true,
        }
        false
    }

    fn token(&mut self, start: usize, end: usize) {
        self.gap(start);
        self.emit(start, end);
        self.pos = self.pos.max(end);
    }

    fn drop_span(&mut self, start: usize, end: usize) {
        self.gap(start);
        self.pos = self.pos.max(end);
    }

    /// Accounts for `pos..until`: whitespace is skipped, anything else hashed as a token.
    fn gap(&mut self, until: usize) {
        if until <= self.pos {
            return;
        }
        let gap = &self.src[self.pos..until];
        let (mut i, mut first, mut last) = (0, None, 0);
        while i < gap.len() {
            match self.lang.whitespace_len(&gap[i..]) {
                0 => {
                    first.get_or_insert(i);
                    i += 1;
                    last = i;
                }
                n => i += n,
            }
        }
        if let Some(first) = first {
            self.emit(self.pos + first, self.pos + last);
        }
        self.pos = until;
    }

    fn emit(&mut self, start: usize, end: usize) {
        let text = &self.src[start..end];
        let mut column = None;
        if let Some(lines) = &mut self.lines {
            let (line, col) = lines.at(self.src, start);
            put_varint(&mut self.h, line);
            // The Clojure reader records the column of every list's `(` as metadata, and
            // the compiler copies it into AOT classes (e.g. a var's :column).
            if self.lang == Lang::Clojure && text == b"(" {
                column = Some(col);
            }
        }
        put_varint(&mut self.h, text.len() as u64);
        self.h.update(text);
        if let Some(col) = column {
            put_varint(&mut self.h, col);
        }
    }
}

/// Whether the subtree under a `#_` contains a kind the reader acts on (see `Grammar::read_time`).
fn has_read_time_kind(node: Node, g: &Grammar) -> bool {
    let mut cursor = node.walk();
    loop {
        if g.is_read_time(cursor.node()) {
            return true;
        }
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return false;
            }
        }
    }
}

fn put_varint(h: &mut Sha512, mut v: u64) {
    let mut buf = [0u8; 10];
    let mut n = 0;
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            buf[n] = byte;
            n += 1;
            break;
        }
        buf[n] = byte | 0x80;
        n += 1;
    }
    h.update(&buf[..n]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_counter_counts_cr_lf_and_crlf_once_each() {
        let src = "a\nb\r\nc\rd é(".as_bytes();
        let mut lc = LineCounter::default();
        assert_eq!(lc.at(src, 0), (0, 0));
        assert_eq!(lc.at(src, 2), (1, 0)); // b
        assert_eq!(lc.at(src, 5), (2, 0)); // c, after CRLF
        assert_eq!(lc.at(src, 7), (3, 0)); // d, after lone CR
        assert_eq!(lc.at(src, src.len() - 1), (3, 3)); // `(` after "d é": 3 chars, 4 bytes
    }

    #[test]
    fn every_classified_kind_exists_in_its_grammar() {
        // Guards against a grammar upgrade renaming a kind we drop or keep atomic.
        for (lang, kinds) in [
            (
                Lang::Java,
                &[
                    "line_comment",
                    "block_comment",
                    "string_literal",
                    "character_literal",
                ][..],
            ),
            (
                Lang::Clojure,
                &["comment", "dis_expr", "str_lit", "char_lit", "regex_lit"][..],
            ),
        ] {
            let g = grammar(lang).unwrap();
            for kind in kinds {
                let id = g.language.id_for_node_kind(kind, true);
                assert_ne!(id, 0, "{kind} missing from the {} grammar", lang.name());
                assert_ne!(g.classes[usize::from(id)], Class::Plain, "{kind}");
            }
        }
        let g = grammar(Lang::Clojure).unwrap();
        let marker = g.language.id_for_node_kind("::", false);
        assert!(g.read_time[usize::from(marker)]);
    }
}
