//! EDN / Clojure reader that keeps source positions.
//!
//! Reads `kbuild.edn`, and the `project.clj` / `deps.edn` of existing projects, into a tree
//! of [`Form`]s that each know the line and column where they start, so that configuration
//! errors can point into the file. `project.clj` is code we inspect but never evaluate, so
//! the reader accepts Clojure's full reader syntax (quote, syntax-quote, `#()`, reader
//! conditionals, `#=`, ...) and returns those as dedicated [`Value`] variants instead of
//! expanding them.
//!
//! Nothing here resolves namespaces: `::x` stays auto-resolved (see [`Value::Keyword`]).

use std::collections::HashSet;
use std::fmt::{self, Write as _};

/// Nesting limit: far beyond any real build file, and low enough that printing, cloning and
/// dropping a form (all recursive; reading is not) stay well within a 2 MiB thread stack,
/// even in debug builds.
const MAX_DEPTH: usize = 512;

/// A 1-based source position. Columns count Unicode scalar values; a tab is one column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// One form read from the source.
#[derive(Clone, Debug)]
pub struct Form {
    pub value: Value,
    /// Where the form itself starts (its prefix character for `'x`, `#{`, ...); metadata
    /// in front of it is not part of it.
    pub pos: Pos,
    /// Metadata (`^:kw`, `^Tag`, `^{...}`), always a [`Value::Map`] form positioned at the
    /// first `^`; several `^` in a row are merged into one map in source order.
    pub meta: Option<Box<Form>>,
}

#[derive(Clone, Debug)]
pub enum Value {
    Nil,
    Bool(bool),
    Int(i64),
    /// Decimal digits with optional `-`, without the `N`: `123N`, or an integer that does
    /// not fit in an `i64`.
    BigInt(String),
    Float(f64),
    /// The literal without the `M` (and without a leading `+`).
    BigDec(String),
    /// `n/d` in lowest terms (as Clojure reads it) when it fits in 128 bits, else as written.
    Ratio(String),
    Char(char),
    Str(String),
    /// The pattern's source text, exactly as between the quotes (escapes are the regex's).
    Regex(String),
    /// Without the leading `:`, e.g. `"mvn/version"`; auto-resolved `::x` keeps one `:`,
    /// e.g. `":x"`, and `::alias/x` is `":alias/x"`.
    Keyword(String),
    Symbol(String),
    List(Vec<Form>),
    Vector(Vec<Form>),
    /// Entries in source order (keys are unique).
    Map(Vec<(Form, Form)>),
    /// Elements in source order (they are unique).
    Set(Vec<Form>),
    /// `#inst "..."`, `#uuid "..."`, `#foo/bar x`: the tag without `#`, and the form.
    Tagged(String, Box<Form>),
    /// `'x`
    Quote(Box<Form>),
    /// `#'x`: the symbol's name.
    Var(String),
    /// `@x`
    Deref(Box<Form>),
    /// `` `x ``
    SyntaxQuote(Box<Form>),
    /// `~x`
    Unquote(Box<Form>),
    /// `~@x`
    UnquoteSplicing(Box<Form>),
    /// `#=x`
    ReaderEval(Box<Form>),
    /// `#(...)`: the forms inside the parentheses.
    AnonFn(Vec<Form>),
    /// `#?(...)` / `#?@(...)`: alternating feature keywords and forms.
    ReaderConditional {
        splicing: bool,
        forms: Vec<Form>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{pos}: `{open}` is never closed")]
    Unclosed { pos: Pos, open: &'static str },
    #[error("{pos}: unmatched delimiter `{found}`")]
    Unmatched { pos: Pos, found: char },
    #[error(
        "{pos}: mismatched delimiter `{found}`, expected `{expected}` to close `{open}` at {open_pos}"
    )]
    Mismatched {
        pos: Pos,
        found: char,
        expected: char,
        open: &'static str,
        open_pos: Pos,
    },
    /// A string or regex without its closing quote; `pos` is the opening one.
    #[error("{pos}: {what} is never closed")]
    Unterminated { pos: Pos, what: &'static str },
    /// A prefix (`'`, `^`, `#_`, a tag, ...) with nothing after it.
    #[error("{pos}: expected a form after `{after}`, found {found}")]
    MissingForm {
        pos: Pos,
        after: String,
        found: String,
    },
    #[error("{pos}: invalid string escape `{escape}`")]
    InvalidEscape { pos: Pos, escape: String },
    #[error("{pos}: invalid number `{text}`")]
    InvalidNumber { pos: Pos, text: String },
    #[error("{pos}: invalid character literal `{text}`")]
    InvalidChar { pos: Pos, text: String },
    #[error("{pos}: invalid token `{text}`")]
    InvalidToken { pos: Pos, text: String },
    #[error("{pos}: map literal must contain an even number of forms")]
    OddMap { pos: Pos },
    /// `pos` is the collection's, `at` the repeated key's or element's.
    #[error("{pos}: duplicate {what} `{form}` in {kind} literal, at {at}")]
    Duplicate {
        pos: Pos,
        kind: &'static str,
        what: &'static str,
        form: String,
        at: Pos,
    },
    #[error("{pos}: forms are nested deeper than {limit} levels")]
    TooDeep { pos: Pos, limit: usize },
    /// [`read_one`] found nothing; `pos` is the end of the input.
    #[error("{pos}: expected a form, found end of input")]
    NoForm { pos: Pos },
    /// [`read_one`] found a second form, here.
    #[error("{pos}: expected a single form, found another one")]
    ExtraForm { pos: Pos },
    /// Everything else (bad metadata, bad dispatch, malformed reader conditional, ...).
    #[error("{pos}: {message}")]
    Syntax { pos: Pos, message: String },
}

impl ReadError {
    /// Where the problem is, for callers that show the offending line.
    pub fn pos(&self) -> Pos {
        match self {
            Self::Unclosed { pos, .. }
            | Self::Unmatched { pos, .. }
            | Self::Mismatched { pos, .. }
            | Self::Unterminated { pos, .. }
            | Self::MissingForm { pos, .. }
            | Self::InvalidEscape { pos, .. }
            | Self::InvalidNumber { pos, .. }
            | Self::InvalidChar { pos, .. }
            | Self::InvalidToken { pos, .. }
            | Self::OddMap { pos }
            | Self::Duplicate { pos, .. }
            | Self::TooDeep { pos, .. }
            | Self::NoForm { pos }
            | Self::ExtraForm { pos }
            | Self::Syntax { pos, .. } => *pos,
        }
    }
}

/// Reads every top-level form of `src`.
pub fn read_all(src: &str) -> Result<Vec<Form>, ReadError> {
    Reader::new(src).read_top_level()
}

/// Reads a source that must hold exactly one form (comments and `#_` aside).
pub fn read_one(src: &str) -> Result<Form, ReadError> {
    let mut reader = Reader::new(src);
    let mut forms = reader.read_top_level()?.into_iter();
    match (forms.next(), forms.next()) {
        (Some(form), None) => Ok(form),
        (None, _) => Err(ReadError::NoForm { pos: reader.pos() }),
        (Some(_), Some(extra)) => Err(ReadError::ExtraForm { pos: extra.pos }),
    }
}

impl Form {
    fn new(value: Value, pos: Pos) -> Self {
        Form {
            value,
            pos,
            meta: None,
        }
    }

    pub fn as_keyword(&self) -> Option<&str> {
        match &self.value {
            Value::Keyword(k) => Some(k),
            _ => None,
        }
    }

    pub fn as_symbol(&self) -> Option<&str> {
        match &self.value {
            Value::Symbol(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Form, Form)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The elements of a vector or a list.
    pub fn as_seq(&self) -> Option<&[Form]> {
        match &self.value {
            Value::Vector(items) | Value::List(items) => Some(items),
            _ => None,
        }
    }

    /// The value under keyword `keyword` (its name without `:`) if this is a map.
    pub fn get(&self, keyword: &str) -> Option<&Form> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_keyword() == Some(keyword))
            .map(|(_, v)| v)
    }

    /// What kind of form this is, for messages like "expected a map, found a vector".
    pub fn describe(&self) -> &'static str {
        match &self.value {
            Value::Nil => "nil",
            Value::Bool(_) => "boolean",
            Value::Int(_) | Value::BigInt(_) => "integer",
            Value::Float(_) => "float",
            Value::BigDec(_) => "decimal",
            Value::Ratio(_) => "ratio",
            Value::Char(_) => "character",
            Value::Str(_) => "string",
            Value::Regex(_) => "regex",
            Value::Keyword(_) => "keyword",
            Value::Symbol(_) => "symbol",
            Value::List(_) => "list",
            Value::Vector(_) => "vector",
            Value::Map(_) => "map",
            Value::Set(_) => "set",
            Value::Tagged(..) => "tagged literal",
            Value::Quote(_) => "quoted form",
            Value::Var(_) => "var",
            Value::Deref(_) => "deref",
            Value::SyntaxQuote(_) => "syntax-quoted form",
            Value::Unquote(_) => "unquote",
            Value::UnquoteSplicing(_) => "unquote-splicing",
            Value::ReaderEval(_) => "read-eval form",
            Value::AnonFn(_) => "anonymous function",
            Value::ReaderConditional { .. } => "reader conditional",
        }
    }
}

/// Canonical EDN: single spaces, no commas, maps and sets in source order, metadata as a
/// `^{...}` map. Deterministic, because it is hashed to identify target definitions.
impl fmt::Display for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_form(f, self, true)
    }
}

/// A form printed without any metadata: metadata takes no part in equality, so this text
/// is what duplicate keys and set elements are compared on.
struct NoMeta<'a>(&'a Form);

impl fmt::Display for NoMeta<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_form(f, self.0, false)
    }
}

fn write_form(f: &mut fmt::Formatter<'_>, form: &Form, meta: bool) -> fmt::Result {
    if let (true, Some(m)) = (meta, &form.meta) {
        f.write_char('^')?;
        write_form(f, m, meta)?;
        f.write_char(' ')?;
    }
    match &form.value {
        Value::Nil => f.write_str("nil"),
        Value::Bool(b) => write!(f, "{b}"),
        Value::Int(i) => write!(f, "{i}"),
        Value::BigInt(s) => write!(f, "{s}N"),
        Value::Float(x) if x.is_nan() => f.write_str("##NaN"),
        Value::Float(x) if x.is_infinite() => {
            f.write_str(if *x > 0.0 { "##Inf" } else { "##-Inf" })
        }
        // Debug keeps a `.0` or an exponent, so the text reads back as a float.
        Value::Float(x) => write!(f, "{x:?}"),
        Value::BigDec(s) => write!(f, "{s}M"),
        Value::Ratio(s) | Value::Symbol(s) => f.write_str(s),
        Value::Char(c) => write_char(f, *c),
        Value::Str(s) => write_string(f, s),
        Value::Regex(s) => write!(f, "#\"{s}\""),
        Value::Keyword(k) => write!(f, ":{k}"),
        Value::List(items) => write_seq(f, "(", items, meta),
        Value::Vector(items) => write_seq(f, "[", items, meta),
        Value::Set(items) => write_seq(f, "#{", items, meta),
        Value::AnonFn(items) => write_seq(f, "#(", items, meta),
        Value::ReaderConditional { splicing, forms } => {
            write_seq(f, if *splicing { "#?@(" } else { "#?(" }, forms, meta)
        }
        Value::Map(entries) => {
            f.write_char('{')?;
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    f.write_char(' ')?;
                }
                write_form(f, k, meta)?;
                f.write_char(' ')?;
                write_form(f, v, meta)?;
            }
            f.write_char('}')
        }
        Value::Tagged(tag, inner) => {
            write!(f, "#{tag} ")?;
            write_form(f, inner, meta)
        }
        Value::Var(name) => write!(f, "#'{name}"),
        Value::Quote(inner) => write_prefixed(f, "'", inner, meta),
        Value::Deref(inner) => write_prefixed(f, "@", inner, meta),
        Value::SyntaxQuote(inner) => write_prefixed(f, "`", inner, meta),
        Value::Unquote(inner) => {
            // `~ @x` needs its space, or it would read back as `~@x`.
            let deref = matches!(inner.value, Value::Deref(_)) && !(meta && inner.meta.is_some());
            write_prefixed(f, if deref { "~ " } else { "~" }, inner, meta)
        }
        Value::UnquoteSplicing(inner) => write_prefixed(f, "~@", inner, meta),
        Value::ReaderEval(inner) => write_prefixed(f, "#=", inner, meta),
    }
}

fn write_prefixed(
    f: &mut fmt::Formatter<'_>,
    prefix: &str,
    inner: &Form,
    meta: bool,
) -> fmt::Result {
    f.write_str(prefix)?;
    write_form(f, inner, meta)
}

/// `open` is the opening delimiter (possibly with its dispatch prefix); it always closes
/// with its last character's counterpart.
fn write_seq(f: &mut fmt::Formatter<'_>, open: &str, items: &[Form], meta: bool) -> fmt::Result {
    f.write_str(open)?;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_char(' ')?;
        }
        write_form(f, item, meta)?;
    }
    f.write_char(if open.ends_with('(') {
        ')'
    } else if open.ends_with('[') {
        ']'
    } else {
        '}'
    })
}

fn write_char(f: &mut fmt::Formatter<'_>, c: char) -> fmt::Result {
    match c {
        '\n' => f.write_str("\\newline"),
        ' ' => f.write_str("\\space"),
        '\t' => f.write_str("\\tab"),
        '\r' => f.write_str("\\return"),
        '\u{8}' => f.write_str("\\backspace"),
        '\u{c}' => f.write_str("\\formfeed"),
        // Invisible characters by code point (all of them are in the BMP).
        c if c.is_control() || c.is_whitespace() => write!(f, "\\u{:04X}", c as u32),
        c => write!(f, "\\{c}"),
    }
}

/// A string as a Clojure/EDN literal, quoted and escaped.
pub struct StringLiteral<'a>(pub &'a str);

impl fmt::Display for StringLiteral<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_string(f, self.0)
    }
}

fn write_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            '\r' => f.write_str("\\r")?,
            '\u{8}' => f.write_str("\\b")?,
            '\u{c}' => f.write_str("\\f")?,
            c if c.is_control() => write!(f, "\\u{:04X}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// Java's `Character.isWhitespace` (what Clojure uses: no non-breaking spaces, but the
/// information separators), plus the comma.
fn is_whitespace(c: char) -> bool {
    c == ','
        || ('\u{1c}'..='\u{1f}').contains(&c)
        || (c.is_whitespace() && !matches!(c, '\u{a0}' | '\u{2007}' | '\u{202f}'))
}

/// Characters that end a symbol or number token even without whitespace (Clojure's
/// terminating macro characters; `#`, `'` and `%` may appear inside symbols).
fn is_terminating(c: char) -> bool {
    matches!(
        c,
        '"' | ';' | '@' | '^' | '`' | '~' | '(' | ')' | '[' | ']' | '{' | '}' | '\\'
    )
}

fn starts_with_digit(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_digit())
}

/// Clojure's rules for a symbol, or a keyword after its leading colon(s): a namespace and
/// a name, both non-empty, split at the last `/` (`ns//` names `/`), no trailing `:` and
/// no `::`. Keywords may start with a digit (`:1` reads in Clojure); names after a `/` may not.
fn valid_name(s: &str, keyword: bool) -> bool {
    if s.is_empty() || s.ends_with(':') || s.contains("::") {
        return false;
    }
    if s == "/" {
        return true;
    }
    let (ns, name) = match s.strip_suffix("//") {
        Some(ns) => (ns, "/"),
        None => match s.rsplit_once('/') {
            Some(split) => split,
            None => return keyword || !starts_with_digit(s),
        },
    };
    !ns.is_empty()
        && !name.is_empty()
        && !starts_with_digit(name)
        && (keyword || !starts_with_digit(ns))
}

fn can_have_meta(value: &Value) -> bool {
    !matches!(
        value,
        Value::Nil
            | Value::Bool(_)
            | Value::Int(_)
            | Value::BigInt(_)
            | Value::Float(_)
            | Value::BigDec(_)
            | Value::Ratio(_)
            | Value::Char(_)
            | Value::Str(_)
            | Value::Regex(_)
            | Value::Keyword(_)
    )
}

struct Reader<'a> {
    src: &'a str,
    /// Byte offset of the next character.
    at: usize,
    line: u32,
    column: u32,
}

/// A form being read, waiting for what follows. The reader keeps these on a heap stack
/// rather than recursing, so that deep input cannot overflow the thread's stack.
enum Frame {
    Coll(OpenColl),
    /// A prefix waiting for the one form it applies to.
    Wrap(Wrap, Pos),
    /// `^` (or `#^`) at `pos`: waiting for the metadata, then for the form it applies to.
    Meta {
        pos: Pos,
        after: &'static str,
        entries: Option<Vec<(Form, Form)>>,
    },
}

struct OpenColl {
    kind: Coll,
    /// Where the form starts (`#` of `#{`).
    pos: Pos,
    /// Where its opening delimiter is (the `{` of `#:ns{`), for unclosed-delimiter errors.
    open_pos: Pos,
    items: Vec<Form>,
}

enum Coll {
    List,
    Vector,
    Map,
    Set,
    AnonFn,
    Conditional {
        splicing: bool,
    },
    /// `#:ns{...}` with its key prefix (see [`qualify_key`]).
    NamespacedMap(String),
}

enum Wrap {
    Quote,
    Deref,
    SyntaxQuote,
    Unquote,
    UnquoteSplicing,
    ReaderEval,
    Var,
    Tagged(String),
    Discard,
}

/// What reading from one character gave: a whole form, or the start of a longer one.
enum Step {
    Done(Form),
    Open(Frame),
}

impl Coll {
    fn open(&self) -> &'static str {
        match self {
            Coll::List => "(",
            Coll::Vector => "[",
            Coll::Map | Coll::NamespacedMap(_) => "{",
            Coll::Set => "#{",
            Coll::AnonFn => "#(",
            Coll::Conditional { splicing: false } => "#?(",
            Coll::Conditional { splicing: true } => "#?@(",
        }
    }

    fn close(&self) -> char {
        match self {
            Coll::Vector => ']',
            Coll::Map | Coll::NamespacedMap(_) | Coll::Set => '}',
            _ => ')',
        }
    }
}

impl OpenColl {
    fn finish(self) -> Result<Form, ReadError> {
        let OpenColl {
            kind, pos, items, ..
        } = self;
        let value = match kind {
            Coll::List => Value::List(items),
            Coll::Vector => Value::Vector(items),
            Coll::AnonFn => Value::AnonFn(items),
            Coll::Map => make_map(pos, items)?,
            Coll::Set => {
                check_unique(pos, "set", "element", items.iter())?;
                Value::Set(items)
            }
            Coll::NamespacedMap(prefix) => {
                let items = items
                    .into_iter()
                    .enumerate()
                    .map(|(i, form)| {
                        if i % 2 == 0 {
                            qualify_key(form, &prefix)
                        } else {
                            form
                        }
                    })
                    .collect();
                make_map(pos, items)?
            }
            Coll::Conditional { splicing } => {
                if items.len() % 2 != 0 {
                    return Err(syntax(
                        pos,
                        "a reader conditional needs an even number of forms",
                    ));
                }
                if let Some(bad) = items.iter().step_by(2).find(|f| f.as_keyword().is_none()) {
                    let message = format!(
                        "a reader conditional feature must be a keyword, not {}",
                        with_article(bad.describe())
                    );
                    return Err(syntax(bad.pos, message));
                }
                Value::ReaderConditional {
                    splicing,
                    forms: items,
                }
            }
        };
        Ok(Form::new(value, pos))
    }
}

impl Wrap {
    fn after(&self) -> String {
        match self {
            Wrap::Quote => "'",
            Wrap::Deref => "@",
            Wrap::SyntaxQuote => "`",
            Wrap::Unquote => "~",
            Wrap::UnquoteSplicing => "~@",
            Wrap::ReaderEval => "#=",
            Wrap::Var => "#'",
            Wrap::Discard => "#_",
            Wrap::Tagged(tag) => return format!("#{tag}"),
        }
        .to_string()
    }

    /// The prefix at `pos` applied to `form`; `None` for a discard.
    fn apply(self, pos: Pos, form: Form) -> Result<Option<Form>, ReadError> {
        let value = match self {
            // `#_ #_ a b`: each discard takes one form, as in Clojure.
            Wrap::Discard => return Ok(None),
            Wrap::Quote => Value::Quote(Box::new(form)),
            Wrap::Deref => Value::Deref(Box::new(form)),
            Wrap::SyntaxQuote => Value::SyntaxQuote(Box::new(form)),
            Wrap::Unquote => Value::Unquote(Box::new(form)),
            Wrap::UnquoteSplicing => Value::UnquoteSplicing(Box::new(form)),
            Wrap::ReaderEval => Value::ReaderEval(Box::new(form)),
            Wrap::Tagged(tag) => Value::Tagged(tag, Box::new(form)),
            Wrap::Var => match form.value {
                Value::Symbol(name) => Value::Var(name),
                _ => {
                    let message =
                        format!("`#'` needs a symbol, not {}", with_article(form.describe()));
                    return Err(syntax(form.pos, message));
                }
            },
        };
        Ok(Some(Form::new(value, pos)))
    }
}

impl Frame {
    /// The error for input that ends (`found` is `None`) or closes a collection while this
    /// frame still waits for a form or its closing delimiter.
    fn unfinished(self, found: Option<(Pos, char)>) -> ReadError {
        let missing = |pos, after| ReadError::MissingForm {
            pos,
            after,
            found: match found {
                Some((_, c)) => format!("`{c}`"),
                None => "end of input".to_string(),
            },
        };
        match (self, found) {
            (Frame::Coll(coll), None) => ReadError::Unclosed {
                pos: coll.open_pos,
                open: coll.kind.open(),
            },
            (Frame::Coll(coll), Some((pos, found))) => ReadError::Mismatched {
                pos,
                found,
                expected: coll.kind.close(),
                open: coll.kind.open(),
                open_pos: coll.open_pos,
            },
            (Frame::Wrap(wrap, pos), _) => missing(pos, wrap.after()),
            (Frame::Meta { pos, after, .. }, _) => missing(pos, after.to_string()),
        }
    }
}

impl<'a> Reader<'a> {
    fn new(src: &'a str) -> Self {
        Reader {
            // A byte-order mark is an encoding artifact, not a character of line 1.
            at: if src.starts_with('\u{feff}') { 3 } else { 0 },
            src,
            line: 1,
            column: 1,
        }
    }

    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            column: self.column,
        }
    }

    fn peek(&self) -> Option<char> {
        self.src[self.at..].chars().next()
    }

    fn peek2(&self) -> Option<char> {
        self.src[self.at..].chars().nth(1)
    }

    /// Consumes one character. `\n`, `\r\n` and a lone `\r` each end a line.
    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += c.len_utf8();
        if c == '\n' || (c == '\r' && self.peek() != Some('\n')) {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn bump_if(&mut self, c: char) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.bump();
        }
        hit
    }

    /// Skips whitespace, commas, `;` comments and `#!` comments.
    fn skip_whitespace(&mut self) {
        while let Some(c) = self.peek() {
            if is_whitespace(c) {
                self.bump();
            } else if c == ';' || (c == '#' && self.peek2() == Some('!')) {
                while self.peek().is_some_and(|c| c != '\n' && c != '\r') {
                    self.bump();
                }
            } else {
                break;
            }
        }
    }

    /// Consumes characters up to whitespace or a terminating character.
    fn read_token(&mut self) -> &'a str {
        let start = self.at;
        while self
            .peek()
            .is_some_and(|c| !is_whitespace(c) && !is_terminating(c))
        {
            self.bump();
        }
        &self.src[start..self.at]
    }

    /// Reads every top-level form. Unfinished forms wait on `stack`; each finished form
    /// goes to [`deliver`], which hands it to the innermost one (or to the result).
    fn read_top_level(&mut self) -> Result<Vec<Form>, ReadError> {
        let mut forms = Vec::new();
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            self.skip_whitespace();
            let pos = self.pos();
            let form = match self.peek() {
                None => {
                    return match stack.pop() {
                        None => Ok(forms),
                        Some(frame) => Err(frame.unfinished(None)),
                    }
                }
                Some(c @ (')' | ']' | '}')) => match stack.pop() {
                    None => return Err(ReadError::Unmatched { pos, found: c }),
                    Some(Frame::Coll(coll)) if coll.kind.close() == c => {
                        self.bump();
                        coll.finish()?
                    }
                    Some(frame) => return Err(frame.unfinished(Some((pos, c)))),
                },
                Some(c) => match self.start_form(pos, c, &stack)? {
                    Step::Done(form) => form,
                    Step::Open(frame) => {
                        // Bounds the recursion of printing, cloning and dropping forms.
                        if stack.len() >= MAX_DEPTH {
                            return Err(ReadError::TooDeep {
                                pos,
                                limit: MAX_DEPTH,
                            });
                        }
                        stack.push(frame);
                        continue;
                    }
                },
            };
            deliver(&mut stack, &mut forms, form)?;
        }
    }

    /// Reads from `c` (not whitespace, not a closing delimiter) at `pos`.
    fn start_form(&mut self, pos: Pos, c: char, stack: &[Frame]) -> Result<Step, ReadError> {
        let value = match c {
            '(' | '[' | '{' | '\'' | '@' | '`' | '~' | '^' => {
                self.bump();
                return Ok(Step::Open(match c {
                    '(' => open(Coll::List, pos),
                    '[' => open(Coll::Vector, pos),
                    '{' => open(Coll::Map, pos),
                    '\'' => Frame::Wrap(Wrap::Quote, pos),
                    '@' => Frame::Wrap(Wrap::Deref, pos),
                    '`' => Frame::Wrap(Wrap::SyntaxQuote, pos),
                    '~' if self.bump_if('@') => Frame::Wrap(Wrap::UnquoteSplicing, pos),
                    '~' => Frame::Wrap(Wrap::Unquote, pos),
                    _ => Frame::Meta {
                        pos,
                        after: "^",
                        entries: None,
                    },
                }));
            }
            '"' => {
                self.bump();
                Value::Str(self.read_string(pos)?)
            }
            '\\' => Value::Char(self.read_char(pos)?),
            '#' => {
                self.bump();
                return self.start_dispatch(pos, stack);
            }
            _ => self.read_atom(pos)?,
        };
        Ok(Step::Done(Form::new(value, pos)))
    }

    /// Reads what follows a `#` at `pos`.
    fn start_dispatch(&mut self, pos: Pos, stack: &[Frame]) -> Result<Step, ReadError> {
        let frame = match self.peek() {
            Some('{') => open(Coll::Set, pos),
            Some('(') => {
                let in_anon_fn = stack.iter().any(|frame| {
                    matches!(
                        frame,
                        Frame::Coll(OpenColl {
                            kind: Coll::AnonFn,
                            ..
                        })
                    )
                });
                if in_anon_fn {
                    // Their `%` arguments would be ambiguous.
                    return Err(syntax(pos, "`#()` cannot be nested in another `#()`"));
                }
                open(Coll::AnonFn, pos)
            }
            Some('_') => Frame::Wrap(Wrap::Discard, pos),
            Some('\'') => Frame::Wrap(Wrap::Var, pos),
            Some('=') => Frame::Wrap(Wrap::ReaderEval, pos),
            // `#^` is the old spelling of `^`.
            Some('^') => Frame::Meta {
                pos,
                after: "#^",
                entries: None,
            },
            Some('?') => {
                self.bump();
                let splicing = self.bump_if('@');
                if self.peek() != Some('(') {
                    return Err(syntax(pos, "a reader conditional must be a list"));
                }
                open(Coll::Conditional { splicing }, pos)
            }
            Some(':') => {
                self.bump();
                return self.start_namespaced_map(pos).map(Step::Open);
            }
            Some('"') => {
                self.bump();
                let regex = self.read_regex(pos)?;
                return Ok(Step::Done(Form::new(Value::Regex(regex), pos)));
            }
            Some('#') => {
                self.bump();
                let token = self.read_token();
                let value = match token {
                    "Inf" => f64::INFINITY,
                    "-Inf" => f64::NEG_INFINITY,
                    "NaN" => f64::NAN,
                    _ => return Err(syntax(pos, format!("unknown symbolic value `##{token}`"))),
                };
                return Ok(Step::Done(Form::new(Value::Float(value), pos)));
            }
            Some('<') => return Err(syntax(pos, "unreadable form `#<...>`")),
            Some(c) if !is_whitespace(c) && !is_terminating(c) && !c.is_ascii_digit() => {
                let tag = self.read_token();
                if !valid_name(tag, false) || matches!(tag, "nil" | "true" | "false") {
                    return Err(syntax(pos, format!("invalid reader tag `#{tag}`")));
                }
                return Ok(Step::Open(Frame::Wrap(Wrap::Tagged(tag.to_string()), pos)));
            }
            Some(c) => return Err(syntax(pos, format!("unknown dispatch macro `#{c}`"))),
            None => {
                return Err(ReadError::MissingForm {
                    pos,
                    after: "#".to_string(),
                    found: "end of input".to_string(),
                })
            }
        };
        // The one character after `#` (or `?`) that was only peeked at.
        self.bump();
        Ok(Step::Open(frame))
    }

    /// `#:ns{`, `#::{` or `#::alias{` after its `#:`; the `#` was at `pos`.
    fn start_namespaced_map(&mut self, pos: Pos) -> Result<Frame, ReadError> {
        let auto = self.bump_if(':');
        let ns_pos = self.pos();
        let ns = self.read_token();
        if ns.is_empty() && !auto {
            return Err(syntax(pos, "a namespaced map needs a namespace after `#:`"));
        }
        if !ns.is_empty() && (ns.contains('/') || !valid_name(ns, false)) {
            return Err(ReadError::InvalidToken {
                pos: ns_pos,
                text: ns.to_string(),
            });
        }
        self.skip_whitespace();
        let open_pos = self.pos();
        if !self.bump_if('{') {
            return Err(syntax(
                open_pos,
                "a namespaced map needs a map after its namespace",
            ));
        }
        Ok(Frame::Coll(OpenColl {
            kind: Coll::NamespacedMap(if auto {
                format!(":{ns}")
            } else {
                ns.to_string()
            }),
            pos,
            open_pos,
            items: Vec::new(),
        }))
    }

    /// A number, keyword, symbol, `nil`, `true` or `false`.
    fn read_atom(&mut self, pos: Pos) -> Result<Value, ReadError> {
        let token = self.read_token();
        let invalid = || ReadError::InvalidToken {
            pos,
            text: token.to_string(),
        };
        let mut chars = token.chars();
        let (Some(first), second) = (chars.next(), chars.next()) else {
            // Unreachable: start_form handles every terminating character itself.
            return Err(invalid());
        };
        if first.is_ascii_digit()
            || (matches!(first, '+' | '-') && second.is_some_and(|c| c.is_ascii_digit()))
        {
            return parse_number(token).ok_or_else(|| ReadError::InvalidNumber {
                pos,
                text: token.to_string(),
            });
        }
        if let Some(rest) = token.strip_prefix(':') {
            return match rest.strip_prefix(':') {
                Some(name) if !name.starts_with(':') && valid_name(name, true) => {
                    Ok(Value::Keyword(format!(":{name}")))
                }
                None if valid_name(rest, true) => Ok(Value::Keyword(rest.to_string())),
                _ => Err(invalid()),
            };
        }
        match token {
            "nil" => Ok(Value::Nil),
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ if valid_name(token, false) => Ok(Value::Symbol(token.to_string())),
            _ => Err(invalid()),
        }
    }

    /// The rest of a string whose opening quote was at `start`.
    fn read_string(&mut self, start: Pos) -> Result<String, ReadError> {
        let mut out = String::new();
        loop {
            let pos = self.pos();
            match self.bump() {
                None => return Err(unterminated(start, "string")),
                Some('"') => return Ok(out),
                Some('\\') => out.push(self.read_escape(start, pos)?),
                Some(c) => out.push(c),
            }
        }
    }

    /// The escape sequence after a `\` at `pos`, in a string that started at `start`.
    fn read_escape(&mut self, start: Pos, pos: Pos) -> Result<char, ReadError> {
        let invalid = |escape: String| ReadError::InvalidEscape { pos, escape };
        let c = self.bump().ok_or_else(|| unterminated(start, "string"))?;
        Ok(match c {
            't' => '\t',
            'r' => '\r',
            'n' => '\n',
            'b' => '\u{8}',
            'f' => '\u{c}',
            '\\' | '"' => c,
            'u' => {
                let high = self.read_hex4(pos)?;
                if !(0xD800..0xDC00).contains(&high) {
                    return char::from_u32(high).ok_or_else(|| invalid(format!("\\u{high:04X}")));
                }
                // A UTF-16 surrogate pair, as Java writes characters outside the BMP.
                if !self.src[self.at..].starts_with("\\u") {
                    return Err(invalid(format!("\\u{high:04X}")));
                }
                self.bump();
                self.bump();
                let low = self.read_hex4(pos)?;
                if !(0xDC00..0xE000).contains(&low) {
                    return Err(invalid(format!("\\u{high:04X}\\u{low:04X}")));
                }
                char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
                    .ok_or_else(|| invalid(format!("\\u{high:04X}\\u{low:04X}")))?
            }
            '0'..='7' => {
                let mut text = c.to_string();
                while text.len() < 3 && matches!(self.peek(), Some('0'..='7')) {
                    text.extend(self.bump());
                }
                match u32::from_str_radix(&text, 8) {
                    Ok(code) if code <= 0o377 => char::from_u32(code).unwrap_or('\0'),
                    _ => return Err(invalid(format!("\\{text}"))),
                }
            }
            _ => return Err(invalid(format!("\\{c}"))),
        })
    }

    /// The four hex digits of a `\u` escape whose backslash is at `pos`.
    fn read_hex4(&mut self, pos: Pos) -> Result<u32, ReadError> {
        let mut text = String::new();
        while text.len() < 4 {
            match self.peek() {
                Some(c) if c.is_ascii_hexdigit() => text.extend(self.bump()),
                _ => {
                    return Err(ReadError::InvalidEscape {
                        pos,
                        escape: format!("\\u{text}"),
                    })
                }
            }
        }
        Ok(u32::from_str_radix(&text, 16).unwrap_or_default())
    }

    /// A character literal whose `\` is at `pos`.
    fn read_char(&mut self, pos: Pos) -> Result<char, ReadError> {
        self.bump();
        let start = self.at;
        // The first character is taken whatever it is, so `\(`, `\;` and `\\` work.
        if self.bump().is_none() {
            return Err(ReadError::MissingForm {
                pos,
                after: "\\".to_string(),
                found: "end of input".to_string(),
            });
        }
        self.read_token();
        let token = &self.src[start..self.at];
        let mut chars = token.chars();
        let parsed = match (chars.next(), chars.next()) {
            (Some(c), None) => Some(c),
            _ => match token {
                "newline" => Some('\n'),
                "space" => Some(' '),
                "tab" => Some('\t'),
                "return" => Some('\r'),
                "backspace" => Some('\u{8}'),
                "formfeed" => Some('\u{c}'),
                _ => {
                    let hex = token.strip_prefix('u').filter(|h| h.len() == 4);
                    let octal = token.strip_prefix('o').filter(|o| o.len() <= 3);
                    let (digits, radix, max) = match (hex, octal) {
                        (Some(hex), _) => (hex, 16, 0xFFFF),
                        (_, Some(octal)) => (octal, 8, 0o377),
                        _ => ("", 10, 0),
                    };
                    // from_str_radix accepts a sign; a literal may not have one.
                    u32::from_str_radix(digits, radix)
                        .ok()
                        .filter(|&code| code <= max && !digits.starts_with('+'))
                        .and_then(char::from_u32)
                }
            },
        };
        parsed.ok_or_else(|| ReadError::InvalidChar {
            pos,
            text: format!("\\{token}"),
        })
    }

    /// The rest of a regex whose `#` was at `start`: kept verbatim, since its backslashes
    /// belong to the regex syntax (only `\"` needs care, not to end the literal).
    fn read_regex(&mut self, start: Pos) -> Result<String, ReadError> {
        let from = self.at;
        loop {
            match self.bump() {
                None => return Err(unterminated(start, "regex")),
                Some('"') => return Ok(self.src[from..self.at - 1].to_string()),
                Some('\\') => {
                    self.bump().ok_or_else(|| unterminated(start, "regex"))?;
                }
                Some(_) => {}
            }
        }
    }
}

fn open(kind: Coll, pos: Pos) -> Frame {
    Frame::Coll(OpenColl {
        kind,
        pos,
        open_pos: pos,
        items: Vec::new(),
    })
}

/// Hands a finished `form` to the innermost waiting frame; prefixes it completes are
/// finished in turn, up to a collection, metadata waiting for its target, or the top level.
fn deliver(stack: &mut Vec<Frame>, top: &mut Vec<Form>, mut form: Form) -> Result<(), ReadError> {
    loop {
        match stack.pop() {
            None => {
                top.push(form);
                return Ok(());
            }
            Some(Frame::Coll(mut coll)) => {
                coll.items.push(form);
                stack.push(Frame::Coll(coll));
                return Ok(());
            }
            Some(Frame::Meta {
                pos,
                after,
                entries: None,
            }) => {
                stack.push(Frame::Meta {
                    pos,
                    after,
                    entries: Some(meta_entries(form)?),
                });
                return Ok(());
            }
            Some(Frame::Meta {
                pos,
                entries: Some(entries),
                ..
            }) => form = apply_meta(pos, entries, form)?,
            Some(Frame::Wrap(wrap, pos)) => match wrap.apply(pos, form)? {
                Some(wrapped) => form = wrapped,
                None => return Ok(()),
            },
        }
    }
}

/// The entries that the form after `^` stands for.
fn meta_entries(meta: Form) -> Result<Vec<(Form, Form)>, ReadError> {
    let pos = meta.pos;
    let key = |name: &str| Form::new(Value::Keyword(name.to_string()), pos);
    Ok(match meta.value {
        Value::Map(entries) => entries,
        Value::Keyword(_) => vec![(meta, Form::new(Value::Bool(true), pos))],
        Value::Symbol(_) | Value::Str(_) => vec![(key("tag"), meta)],
        Value::Vector(_) => vec![(key("param-tags"), meta)],
        _ => {
            let message = format!(
                "metadata must be a keyword, symbol, string, map or vector, not {}",
                with_article(meta.describe())
            );
            return Err(syntax(pos, message));
        }
    })
}

/// Attaches metadata from a `^` at `pos` to `target`, in front of any it already has.
fn apply_meta(
    pos: Pos,
    mut entries: Vec<(Form, Form)>,
    mut target: Form,
) -> Result<Form, ReadError> {
    if !can_have_meta(&target.value) {
        let message = format!(
            "metadata cannot be applied to {}",
            with_article(target.describe())
        );
        return Err(syntax(target.pos, message));
    }
    // `^:a ^:b x`: the outer `^` wins on equal keys (as in Clojure), and comes first.
    if let Some(Value::Map(inner)) = target.meta.take().map(|m| m.value) {
        let outer: HashSet<String> = entries.iter().map(|(k, _)| NoMeta(k).to_string()).collect();
        entries.extend(
            inner
                .into_iter()
                .filter(|(k, _)| !outer.contains(&NoMeta(k).to_string())),
        );
    }
    target.meta = Some(Box::new(Form::new(Value::Map(entries), pos)));
    Ok(target)
}

/// "a map", "an integer": for messages naming a form's kind.
fn with_article(kind: &str) -> String {
    let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {kind}")
}

fn syntax(pos: Pos, message: impl Into<String>) -> ReadError {
    ReadError::Syntax {
        pos,
        message: message.into(),
    }
}

fn unterminated(pos: Pos, what: &'static str) -> ReadError {
    ReadError::Unterminated { pos, what }
}

/// Pairs up the forms of a map literal at `pos`, rejecting an odd count and duplicate keys.
fn make_map(pos: Pos, items: Vec<Form>) -> Result<Value, ReadError> {
    if items.len() % 2 != 0 {
        return Err(ReadError::OddMap { pos });
    }
    check_unique(pos, "map", "key", items.iter().step_by(2))?;
    let mut entries = Vec::with_capacity(items.len() / 2);
    let mut items = items.into_iter();
    while let (Some(k), Some(v)) = (items.next(), items.next()) {
        entries.push((k, v));
    }
    Ok(Value::Map(entries))
}

fn check_unique<'f>(
    pos: Pos,
    kind: &'static str,
    what: &'static str,
    forms: impl Iterator<Item = &'f Form>,
) -> Result<(), ReadError> {
    let mut seen = HashSet::new();
    for form in forms {
        let text = NoMeta(form).to_string();
        if seen.contains(&text) {
            return Err(ReadError::Duplicate {
                pos,
                kind,
                what,
                form: text,
                at: form.pos,
            });
        }
        seen.insert(text);
    }
    Ok(())
}

/// A key of `#:prefix{...}`: `prefix` is `ns`, `:alias` for `#::alias`, or `:` for `#::`.
fn qualify_key(mut form: Form, prefix: &str) -> Form {
    let auto = prefix.starts_with(':');
    let name = match &mut form.value {
        Value::Keyword(k) if !k.starts_with(':') => k,
        // A symbol cannot carry the auto-resolve marker, so `#::{a 1}` leaves `a` alone.
        Value::Symbol(s) if !auto => s,
        _ => return form,
    };
    if let Some(bare) = name.strip_prefix("_/") {
        *name = bare.to_string();
    } else if !name.contains('/') {
        *name = if prefix == ":" {
            format!(":{name}")
        } else {
            format!("{prefix}/{name}")
        };
    }
    form
}

/// Clojure's number syntax: integers (decimal, `0x` hex, `0` octal, `NNr` radix, `N`
/// suffix), floats (`.`, exponent, `M` suffix) and ratios. `None` if the token is invalid.
fn parse_number(token: &str) -> Option<Value> {
    let (neg, body) = match token.strip_prefix('-') {
        Some(body) => (true, body),
        None => (false, token.strip_prefix('+').unwrap_or(token)),
    };
    let all_digits = |s: &str, radix: u32| !s.is_empty() && s.chars().all(|c| c.is_digit(radix));
    if let Some((n, d)) = body.split_once('/') {
        return if all_digits(n, 10) && all_digits(d, 10) {
            make_ratio(neg, n, d)
        } else {
            None
        };
    }
    let (core, mut big) = match body.strip_suffix('N') {
        Some(core) => (core, true),
        None => (body, false),
    };
    let hex = core.strip_prefix("0x").or_else(|| core.strip_prefix("0X"));
    let (digits, radix) = if all_digits(core, 10) {
        match core.strip_prefix('0') {
            // Like Java, a leading 0 means octal, and `08` is an error rather than 8.
            Some(octal) if !octal.is_empty() => (octal, 8),
            _ => (core, 10),
        }
    } else if let Some(hex) = hex {
        (hex, 16)
    } else if let Some((radix, digits)) = body.split_once(['r', 'R']) {
        // As in Clojure, an `N` after radix digits is a digit (`36rZN`), not a suffix.
        big = false;
        let radix = match radix.parse::<u32>() {
            Ok(r) if all_digits(radix, 10) && !radix.starts_with('0') && (2..=36).contains(&r) => r,
            _ => return None,
        };
        (digits, radix)
    } else {
        return if big { None } else { parse_float(neg, body) };
    };
    if !all_digits(digits, radix) {
        return None;
    }
    Some(make_integer(neg, to_decimal(digits, radix), big))
}

/// `digits` (valid in `radix`) as a decimal string, however long.
fn to_decimal(digits: &str, radix: u32) -> String {
    const BASE: u64 = 1_000_000_000;
    let mut limbs: Vec<u64> = vec![0]; // little-endian, base 10^9
    for d in digits.chars().filter_map(|c| c.to_digit(radix)) {
        let mut carry = u64::from(d);
        for limb in &mut limbs {
            let v = *limb * u64::from(radix) + carry;
            *limb = v % BASE;
            carry = v / BASE;
        }
        if carry > 0 {
            limbs.push(carry);
        }
    }
    let mut out = limbs.last().map(u64::to_string).unwrap_or_default();
    for limb in limbs.iter().rev().skip(1) {
        write!(out, "{limb:09}").unwrap_or_default();
    }
    out
}

/// An integer from its decimal magnitude: an `Int` when it fits and has no `N` suffix.
fn make_integer(neg: bool, magnitude: String, big: bool) -> Value {
    let signed = if neg && magnitude != "0" {
        format!("-{magnitude}")
    } else {
        magnitude
    };
    match signed.parse::<i64>() {
        Ok(i) if !big => Value::Int(i),
        _ => Value::BigInt(signed),
    }
}

/// Clojure reads ratios in lowest terms, and a whole one as an integer (`4/2` is `2`).
fn make_ratio(neg: bool, n: &str, d: &str) -> Option<Value> {
    let sign = if neg { "-" } else { "" };
    let (Ok(mut num), Ok(mut den)) = (n.parse::<u128>(), d.parse::<u128>()) else {
        // Too big to reduce here; zero denominators are still caught.
        return (!d.chars().all(|c| c == '0')).then(|| Value::Ratio(format!("{sign}{n}/{d}")));
    };
    if den == 0 {
        return None;
    }
    let (mut a, mut b) = (num, den);
    while b != 0 {
        (a, b) = (b, a % b);
    }
    num /= a;
    den /= a;
    Some(if den == 1 {
        make_integer(neg, num.to_string(), false)
    } else {
        Value::Ratio(format!("{sign}{num}/{den}"))
    })
}

/// `body` (unsigned) must be `digits[.digits][e[+-]digits][M]`.
fn parse_float(neg: bool, body: &str) -> Option<Value> {
    let (core, decimal) = match body.strip_suffix('M') {
        Some(core) => (core, true),
        None => (body, false),
    };
    let digits = |s: &str| s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let int_len = digits(core);
    if int_len == 0 {
        return None;
    }
    let mut rest = &core[int_len..];
    if let Some(fraction) = rest.strip_prefix('.') {
        rest = &fraction[digits(fraction)..];
    }
    if let Some(exp) = rest.strip_prefix(['e', 'E']) {
        let exp = exp.strip_prefix(['+', '-']).unwrap_or(exp);
        let len = digits(exp);
        if len == 0 {
            return None;
        }
        rest = &exp[len..];
    }
    if !rest.is_empty() {
        return None;
    }
    let sign = if neg { "-" } else { "" };
    if decimal {
        Some(Value::BigDec(format!("{sign}{core}")))
    } else {
        format!("{sign}{core}").parse().ok().map(Value::Float)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(src: &str) -> Form {
        read_one(src).unwrap_or_else(|e| panic!("{src:?}: {e}"))
    }

    fn show(src: &str) -> String {
        read(src).to_string()
    }

    fn err(src: &str) -> String {
        match read_all(src) {
            Ok(forms) => panic!("{src:?} read as {forms:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn at(line: u32, column: u32) -> Pos {
        Pos { line, column }
    }

    fn items(form: &Form) -> &[Form] {
        match &form.value {
            Value::List(v) | Value::Vector(v) | Value::Set(v) | Value::AnonFn(v) => v,
            Value::ReaderConditional { forms, .. } => forms,
            other => panic!("not a sequence: {other:?}"),
        }
    }

    /// Reading the printed form prints the same text again.
    fn assert_round_trip(src: &str) {
        let first: Vec<String> = read_all(src).unwrap().iter().map(Form::to_string).collect();
        let again = first.join("\n");
        let second: Vec<String> = read_all(&again)
            .unwrap_or_else(|e| panic!("re-reading {again:?}: {e}"))
            .iter()
            .map(Form::to_string)
            .collect();
        assert_eq!(first, second);
    }

    #[test]
    fn positions_of_nested_forms() {
        let src = "{:a [1 2]\n :b (foo\n     \"x\")}\n  #{sym}";
        let forms = read_all(src).unwrap();
        assert_eq!(forms.len(), 2);
        let map = forms[0].as_map().unwrap();
        assert_eq!(forms[0].pos, at(1, 1));
        assert_eq!(map[0].0.pos, at(1, 2));
        assert_eq!(map[0].1.pos, at(1, 5));
        assert_eq!(items(&map[0].1)[1].pos, at(1, 8));
        assert_eq!(map[1].0.pos, at(2, 2));
        let list = &map[1].1;
        assert_eq!(list.pos, at(2, 5));
        assert_eq!(items(list)[0].pos, at(2, 6));
        assert_eq!(items(list)[1].pos, at(3, 6));
        assert_eq!(forms[1].pos, at(4, 3));
        assert_eq!(items(&forms[1])[0].pos, at(4, 5));
    }

    #[test]
    fn positions_after_multiline_strings_crlf_and_unicode() {
        let forms = read_all("\"a\nbc\" x\r\n[1\r\n  2]\r\"é\" y").unwrap();
        assert_eq!(forms[0].as_str(), Some("a\nbc"));
        assert_eq!(forms[1].pos, at(2, 5));
        assert_eq!(forms[2].pos, at(3, 1));
        assert_eq!(items(&forms[2])[1].pos, at(4, 3));
        // A lone CR ends a line too; columns count characters, not bytes.
        assert_eq!(forms[3].pos, at(5, 1));
        assert_eq!(forms[4].pos, at(5, 5));
        // A CRLF inside a string is kept, and counts as one line break.
        let forms = read_all("\"a\r\nb\" z").unwrap();
        assert_eq!(forms[0].as_str(), Some("a\r\nb"));
        assert_eq!(forms[1].pos, at(2, 4));
        // A byte-order mark is not a column.
        assert_eq!(read("\u{feff}x").pos, at(1, 1));
    }

    #[test]
    fn comments_commas_and_discard() {
        let forms =
            read_all("#!/usr/bin/env bb\n; comment\n[1,2 ,3] ; trailing\n#_ ignored x").unwrap();
        assert_eq!(forms.len(), 2);
        assert_eq!(forms[0].to_string(), "[1 2 3]");
        assert_eq!(forms[1].pos, at(4, 12));
        assert_eq!(show("[1 #_ 2 3]"), "[1 3]");
        assert_eq!(show("[#_ #_ a b c]"), "[c]");
        assert_eq!(show("[a #_ #_ b c]"), "[a]");
        assert_eq!(show("(a #_(b [c]) d)"), "(a d)");
        assert_eq!(show("{:a #_ :b 1}"), "{:a 1}");
        assert!(read_all("#_ x ; nothing else").unwrap().is_empty());
        assert!(read_all("").unwrap().is_empty());
        assert_eq!(
            err("[1 #_]"),
            "line 1, column 4: expected a form after `#_`, found `]`"
        );
        assert_eq!(
            err("#_ #_ a"),
            "line 1, column 1: expected a form after `#_`, found end of input"
        );
    }

    #[test]
    fn scalar_literals() {
        assert!(matches!(read("nil").value, Value::Nil));
        assert!(matches!(read("true").value, Value::Bool(true)));
        assert!(matches!(read("false").value, Value::Bool(false)));
        assert_eq!(read("\"hi\"").as_str(), Some("hi"));
        assert!(matches!(read("#\"a\\d+\\\"\"").value, Value::Regex(ref r) if r == "a\\d+\\\""));
        assert_eq!(read(":a").as_keyword(), Some("a"));
        assert_eq!(read(":mvn/version").as_keyword(), Some("mvn/version"));
        assert_eq!(read("::local").as_keyword(), Some(":local"));
        assert_eq!(read("::str/join").as_keyword(), Some(":str/join"));
        assert_eq!(read(":1").as_keyword(), Some("1"));
        assert_eq!(read(":a:b").as_keyword(), Some("a:b"));
        for sym in [
            "foo",
            "foo/bar",
            "a.b.c/d",
            "clojure.core//",
            "/",
            "*+!-_?<>=&%",
            "-",
            "+",
            "..",
            ".5",
            "->x",
            "x#",
            "a'b",
            "%1",
            "nil?",
            "true.x",
            "nil/x",
            "ünïcode",
        ] {
            assert_eq!(read(sym).as_symbol(), Some(sym), "{sym}");
        }
        for bad in ["a/", "/a", "a::b", "a:", ":", "::", ":::a", ":a/", "a/1"] {
            assert_eq!(
                err(bad),
                format!("line 1, column 1: invalid token `{bad}`"),
                "{bad}"
            );
        }
    }

    #[test]
    fn numbers() {
        let int = |src: &str| match read(src).value {
            Value::Int(i) => i,
            other => panic!("{src}: {other:?}"),
        };
        assert_eq!(int("0"), 0);
        assert_eq!(int("-0"), 0);
        assert_eq!(int("42"), 42);
        assert_eq!(int("+7"), 7);
        assert_eq!(int("-15"), -15);
        assert_eq!(int("0x1F"), 31);
        assert_eq!(int("-0XfF"), -255);
        assert_eq!(int("017"), 15);
        assert_eq!(int("2r101"), 5);
        assert_eq!(int("36rZz"), 36 * 36 - 1);
        assert_eq!(int("-16R10"), -16);
        assert_eq!(int("9223372036854775807"), i64::MAX);
        assert_eq!(int("-9223372036854775808"), i64::MIN);
        assert_eq!(int("4/2"), 2);
        assert_eq!(int("0/5"), 0);
        let text = |src: &str| match read(src).value {
            Value::BigInt(s) | Value::BigDec(s) | Value::Ratio(s) => s,
            other => panic!("{src}: {other:?}"),
        };
        assert_eq!(text("42N"), "42");
        assert_eq!(text("-0N"), "0");
        assert_eq!(text("0x10N"), "16");
        assert_eq!(text("9223372036854775808"), "9223372036854775808");
        assert_eq!(text("-9223372036854775809"), "-9223372036854775809");
        assert_eq!(text("0xFFFFFFFFFFFFFFFFFF"), "4722366482869645213695");
        assert_eq!(
            text("123456789012345678901234567890"),
            "123456789012345678901234567890"
        );
        assert_eq!(text("1.5M"), "1.5");
        assert_eq!(text("+1M"), "1");
        assert_eq!(text("-2.5e3M"), "-2.5e3");
        assert_eq!(text("1/2"), "1/2");
        assert_eq!(text("-3/6"), "-1/2");
        assert_eq!(text("+10/4"), "5/2");
        let float = |src: &str| match read(src).value {
            Value::Float(x) => x,
            other => panic!("{src}: {other:?}"),
        };
        assert_eq!(float("1.5"), 1.5);
        assert_eq!(float("-2.5e3"), -2500.0);
        assert_eq!(float("1e10"), 1e10);
        assert_eq!(float("+1E-2"), 0.01);
        assert_eq!(float("1."), 1.0);
        assert_eq!(float("08.5"), 8.5);
        assert_eq!(float("##Inf"), f64::INFINITY);
        assert_eq!(float("##-Inf"), f64::NEG_INFINITY);
        assert!(float("##NaN").is_nan());
        for bad in [
            "08", "09N", "1.2.3", "0x", "0xG", "1/0", "1/-2", "1/2.0", "37r1", "1r0", "2r102",
            "02r1", "1e", "1e+", "12abc", "1N5", "1.5N", "+1a", "-1-", "0x1.5", "1/2N",
        ] {
            assert_eq!(
                err(bad),
                format!("line 1, column 1: invalid number `{bad}`"),
                "{bad}"
            );
        }
        // A sign not followed by a digit starts a symbol.
        assert_eq!(read("-a").as_symbol(), Some("-a"));
        assert_eq!(
            err("[x ##Foo]"),
            "line 1, column 4: unknown symbolic value `##Foo`"
        );
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(
            read(r#""a\tb\nc\"d\\e\u00e9\101\0\r\b\f""#).as_str(),
            Some("a\tb\nc\"d\\eéA\0\r\u{8}\u{c}")
        );
        assert_eq!(read(r#""\uD83D\uDE00""#).as_str(), Some("😀"));
        assert_eq!(read("\"line1\nline2\"").as_str(), Some("line1\nline2"));
        assert_eq!(
            err(r#"  "ab\q""#),
            "line 1, column 6: invalid string escape `\\q`"
        );
        assert_eq!(
            err(r#""\u12x""#),
            "line 1, column 2: invalid string escape `\\u12`"
        );
        assert_eq!(
            err(r#""\uD800""#),
            "line 1, column 2: invalid string escape `\\uD800`"
        );
        assert_eq!(
            err(r#""\uDC00""#),
            "line 1, column 2: invalid string escape `\\uDC00`"
        );
        assert_eq!(
            err(r#""\uD800\u0041""#),
            "line 1, column 2: invalid string escape `\\uD800\\u0041`"
        );
        assert_eq!(
            err(r#""\400""#),
            "line 1, column 2: invalid string escape `\\400`"
        );
        assert_eq!(
            err(r#""\8""#),
            "line 1, column 2: invalid string escape `\\8`"
        );
        assert_eq!(
            err("x\n  \"abc\ndef"),
            "line 2, column 3: string is never closed"
        );
        assert_eq!(err("\"abc\\"), "line 1, column 1: string is never closed");
        assert_eq!(err("#\"abc"), "line 1, column 1: regex is never closed");
        assert_eq!(err("#\"abc\\\""), "line 1, column 1: regex is never closed");
    }

    #[test]
    fn characters() {
        let chr = |src: &str| match read(src).value {
            Value::Char(c) => c,
            other => panic!("{src}: {other:?}"),
        };
        assert_eq!(chr("\\a"), 'a');
        assert_eq!(chr("\\newline"), '\n');
        assert_eq!(chr("\\space"), ' ');
        assert_eq!(chr("\\tab"), '\t');
        assert_eq!(chr("\\return"), '\r');
        assert_eq!(chr("\\backspace"), '\u{8}');
        assert_eq!(chr("\\formfeed"), '\u{c}');
        assert_eq!(chr("\\u0041"), 'A');
        assert_eq!(chr("\\o101"), 'A');
        assert_eq!(chr("\\o0"), '\0');
        assert_eq!(chr("\\("), '(');
        assert_eq!(chr("\\\\"), '\\');
        assert_eq!(chr("\\;"), ';');
        assert_eq!(chr("\\é"), 'é');
        assert_eq!(chr("\\u"), 'u');
        assert_eq!(chr("\\o"), 'o');
        assert_eq!(show("[\\a\\b \\c]"), "[\\a \\b \\c]");
        assert_eq!(show("(\\))"), "(\\))");
        for bad in [
            "\\abc", "\\uD800", "\\u12", "\\u+123", "\\o400", "\\o8", "\\o1234", "\\Space",
        ] {
            assert_eq!(
                err(bad),
                format!("line 1, column 1: invalid character literal `{bad}`"),
                "{bad}"
            );
        }
        assert_eq!(
            err("\\"),
            "line 1, column 1: expected a form after `\\`, found end of input"
        );
    }

    #[test]
    fn collections() {
        let form = read("(a [b] {:c d} #{e})");
        assert_eq!(form.describe(), "list");
        let parts = form.as_seq().unwrap();
        assert_eq!(parts[1].describe(), "vector");
        assert_eq!(parts[1].as_seq().unwrap().len(), 1);
        assert_eq!(parts[2].get("c").and_then(Form::as_symbol), Some("d"));
        assert_eq!(parts[3].describe(), "set");
        assert!(parts[3].as_seq().is_none());
        // Maps keep source order.
        let map = read("{:z 1 :a 2 :m 3}");
        let keys: Vec<_> = map
            .as_map()
            .unwrap()
            .iter()
            .map(|(k, _)| k.to_string())
            .collect();
        assert_eq!(keys, [":z", ":a", ":m"]);
        assert!(map.get("nope").is_none());
        assert!(read("[]").get("a").is_none());
        // Keys of different kinds are different keys.
        assert_eq!(show("{:a 1 \"a\" 2 a 3 [a] 4}"), "{:a 1 \"a\" 2 a 3 [a] 4}");
    }

    #[test]
    fn map_and_set_errors() {
        assert_eq!(
            err("[x\n {:a 1 :b}]"),
            "line 2, column 2: map literal must contain an even number of forms"
        );
        assert_eq!(
            err("{:a 1\n :b 2\n :a 3}"),
            "line 1, column 1: duplicate key `:a` in map literal, at line 3, column 2"
        );
        assert_eq!(
            err("{[1 ^:x a] 1 [1 a] 2}"),
            "line 1, column 1: duplicate key `[1 a]` in map literal, at line 1, column 14"
        );
        assert_eq!(
            err(" #{1 2\n  1}"),
            "line 1, column 2: duplicate element `1` in set literal, at line 2, column 3"
        );
        let e = read_all("#{1 1}").unwrap_err();
        assert!(matches!(e, ReadError::Duplicate { at, .. } if at == Pos { line: 1, column: 5 }));
    }

    #[test]
    fn delimiter_errors() {
        assert_eq!(err("[1 2"), "line 1, column 1: `[` is never closed");
        assert_eq!(err("(a\n  [b (c)"), "line 2, column 3: `[` is never closed");
        assert_eq!(err("{:a #{1"), "line 1, column 5: `#{` is never closed");
        assert_eq!(err("x #(inc"), "line 1, column 3: `#(` is never closed");
        assert_eq!(err("#?(:clj"), "line 1, column 1: `#?(` is never closed");
        assert_eq!(err("#:a{:b"), "line 1, column 4: `{` is never closed");
        assert_eq!(err(")"), "line 1, column 1: unmatched delimiter `)`");
        assert_eq!(err("[1]\n  ]"), "line 2, column 3: unmatched delimiter `]`");
        assert_eq!(err("x }"), "line 1, column 3: unmatched delimiter `}`");
        assert_eq!(
            err("(a\n [1 2)"),
            "line 2, column 6: mismatched delimiter `)`, expected `]` to close `[` at line 2, column 2"
        );
        let e = read_all("[1 2").unwrap_err();
        assert_eq!(e.pos(), at(1, 1));
        assert!(matches!(e, ReadError::Unclosed { open: "[", .. }));
    }

    #[test]
    fn prefix_forms() {
        let quote = read("'(a b)");
        assert!(matches!(&quote.value, Value::Quote(inner) if inner.pos == at(1, 2)));
        assert_eq!(quote.describe(), "quoted form");
        assert!(matches!(read("@a").value, Value::Deref(_)));
        assert!(matches!(read("`(a ~b ~@c)").value, Value::SyntaxQuote(_)));
        let parts = read("`(a ~b ~@c)");
        let Value::SyntaxQuote(list) = &parts.value else {
            unreachable!()
        };
        assert!(matches!(items(list)[1].value, Value::Unquote(_)));
        assert!(matches!(items(list)[2].value, Value::UnquoteSplicing(_)));
        assert!(matches!(read("#'foo/bar").value, Value::Var(ref v) if v == "foo/bar"));
        assert!(matches!(read("#=(+ 1 2)").value, Value::ReaderEval(_)));
        let f = read("#(+ % %2 %&)");
        assert!(matches!(f.value, Value::AnonFn(ref v) if v.len() == 4));
        assert_eq!(
            err("#(a #(b))"),
            "line 1, column 5: `#()` cannot be nested in another `#()`"
        );
        // Another `#()` after the first one closed is fine.
        assert_eq!(read_all("#(a) #(b)").unwrap().len(), 2);
        assert_eq!(
            err("(')"),
            "line 1, column 2: expected a form after `'`, found `)`"
        );
        assert_eq!(
            err("[@"),
            "line 1, column 2: expected a form after `@`, found end of input"
        );
        assert_eq!(
            err("#'[a]"),
            "line 1, column 3: `#'` needs a symbol, not a vector"
        );
        assert_eq!(
            err("#"),
            "line 1, column 1: expected a form after `#`, found end of input"
        );
        assert_eq!(err("# x"), "line 1, column 1: unknown dispatch macro `# `");
        assert_eq!(err("#)"), "line 1, column 1: unknown dispatch macro `#)`");
        assert_eq!(
            err("#<Object@1>"),
            "line 1, column 1: unreadable form `#<...>`"
        );
    }

    #[test]
    fn tagged_literals_and_reader_conditionals() {
        let inst = read("#inst \"2024-01-02T03:04:05Z\"");
        assert!(matches!(&inst.value, Value::Tagged(tag, v)
            if tag == "inst" && v.as_str() == Some("2024-01-02T03:04:05Z") && v.pos == at(1, 7)));
        assert!(
            matches!(read("#uuid\"00000000-0000-0000-0000-000000000000\"").value,
            Value::Tagged(ref t, _) if t == "uuid")
        );
        assert!(
            matches!(read("#my.ns/tag [1 2]").value, Value::Tagged(ref t, _) if t == "my.ns/tag")
        );
        assert_eq!(
            err("#foo"),
            "line 1, column 1: expected a form after `#foo`, found end of input"
        );
        assert_eq!(err("#nil 1"), "line 1, column 1: invalid reader tag `#nil`");
        assert_eq!(err("#1 x"), "line 1, column 1: unknown dispatch macro `#1`");
        let rc = read("#?(:clj 1 :cljs \"x\" :default nil)");
        assert!(
            matches!(&rc.value, Value::ReaderConditional { splicing: false, forms } if forms.len() == 6)
        );
        let rc = read("[#?@(:clj [1 2])]");
        assert!(matches!(
            items(&rc)[0].value,
            Value::ReaderConditional { splicing: true, .. }
        ));
        assert_eq!(
            err("#?(:clj)"),
            "line 1, column 1: a reader conditional needs an even number of forms"
        );
        assert_eq!(
            err("#?(:clj 1 x 2)"),
            "line 1, column 11: a reader conditional feature must be a keyword, not a symbol"
        );
        assert_eq!(
            err("#?[:clj 1]"),
            "line 1, column 1: a reader conditional must be a list"
        );
    }

    #[test]
    fn namespaced_maps() {
        let m = read("#:foo{:a 1 :b/c 2 :_/d 3 e 4 ::f 5}");
        assert_eq!(m.pos, at(1, 1));
        assert_eq!(m.to_string(), "{:foo/a 1 :b/c 2 :d 3 foo/e 4 ::f 5}");
        assert_eq!(m.get("foo/a").map(Form::to_string).as_deref(), Some("1"));
        assert_eq!(show("#::{:a 1 b 2}"), "{::a 1 b 2}");
        assert_eq!(show("#::s {:a 1}"), "{::s/a 1}");
        assert_eq!(show("#:foo {:a 1}"), "{:foo/a 1}");
        assert_eq!(
            err("#:foo{:a 1 :foo/a 2}"),
            "line 1, column 1: duplicate key `:foo/a` in map literal, at line 1, column 12"
        );
        assert_eq!(
            err("#:foo[1]"),
            "line 1, column 6: a namespaced map needs a map after its namespace"
        );
        assert_eq!(
            err("#:{:a 1}"),
            "line 1, column 1: a namespaced map needs a namespace after `#:`"
        );
        assert_eq!(err("#:a/b{:a 1}"), "line 1, column 3: invalid token `a/b`");
        assert_eq!(
            err("#:a{:b}"),
            "line 1, column 1: map literal must contain an even number of forms"
        );
    }

    #[test]
    fn metadata() {
        let meta = |src: &str| read(src).meta.map(|m| m.to_string()).unwrap_or_default();
        assert_eq!(meta("^:a x"), "{:a true}");
        assert_eq!(meta("^:a ^:b x"), "{:a true :b true}");
        assert_eq!(meta("^:a ^{:b 1 :a false} x"), "{:a true :b 1}");
        assert_eq!(meta("^String x"), "{:tag String}");
        assert_eq!(meta("^\"[B\" x"), "{:tag \"[B\"}");
        assert_eq!(
            meta("^{:doc \"d\" :added \"1.0\"} [x]"),
            "{:doc \"d\" :added \"1.0\"}"
        );
        assert_eq!(meta("^[long String] f"), "{:param-tags [long String]}");
        assert_eq!(meta("#^:old x"), "{:old true}");
        assert_eq!(meta("^:a #_ ^:ignored y x"), "{:a true}");
        assert_eq!(meta("x"), "");
        let form = read(" ^:a\n ^:b [x]");
        assert_eq!(form.pos, at(2, 6));
        let m = form.meta.as_deref().unwrap();
        assert_eq!(m.pos, at(1, 2));
        assert_eq!(m.as_map().unwrap()[1].0.pos, at(2, 3));
        assert_eq!(m.get("b").unwrap().pos, at(2, 3));
        assert!(form.get("a").is_none());
        // Metadata is inside the element of its collection.
        assert_eq!(show("[^:private a b]"), "[^{:private true} a b]");
        assert_eq!(
            err("^:a 1"),
            "line 1, column 5: metadata cannot be applied to an integer"
        );
        assert_eq!(
            err("^:a :k"),
            "line 1, column 5: metadata cannot be applied to a keyword"
        );
        assert_eq!(
            err("^1 x"),
            "line 1, column 2: metadata must be a keyword, symbol, string, map or vector, not an integer"
        );
        assert_eq!(
            err("[^:a]"),
            "line 1, column 2: expected a form after `^`, found `]`"
        );
        assert_eq!(
            err("^{:a 1 :a 2} x"),
            "line 1, column 2: duplicate key `:a` in map literal, at line 1, column 8"
        );
    }

    #[test]
    fn display_is_canonical() {
        assert_eq!(show("{:a 1, :b [1   2\n3]}"), "{:a 1 :b [1 2 3]}");
        assert_eq!(show("( a  b )"), "(a b)");
        assert_eq!(show("#{ 3 1 2 }"), "#{3 1 2}");
        assert_eq!(
            show("\"tab\\there \\\"q\\\" \\\\ \\u0001 é\""),
            "\"tab\\there \\\"q\\\" \\\\ \\u0001 é\""
        );
        assert_eq!(
            show("[\\newline \\space \\u0000 \\u00A0 \\x]"),
            "[\\newline \\space \\u0000 \\u00A0 \\x]"
        );
        assert_eq!(
            show("[1.0 1e100 -0.5 1.5e-7 ##NaN ##-Inf 1N 2M 3/4]"),
            "[1.0 1e100 -0.5 1.5e-7 ##NaN ##-Inf 1N 2M 3/4]"
        );
        assert_eq!(show("[0x10 017 2r11 +5 1.50M]"), "[16 15 3 5 1.50M]");
        assert_eq!(show("[:a ::b :c/d sym #'v]"), "[:a ::b :c/d sym #'v]");
        assert_eq!(
            show("'[`(a ~b ~@c ~ @d) @e #=(f)]"),
            "'[`(a ~b ~@c ~ @d) @e #=(f)]"
        );
        assert_eq!(show("#(x %) "), "#(x %)");
        assert_eq!(show("#?@(:clj [1])"), "#?@(:clj [1])");
        assert_eq!(show("#inst   \"2020\""), "#inst \"2020\"");
        assert_eq!(show("#\"\\d+\""), "#\"\\d+\"");
        assert_eq!(show("^:a ^{:b 1} 'x"), "^{:a true :b 1} 'x");
        assert_eq!(show("~ ^:m @x"), "~^{:m true} @x");
    }

    #[test]
    fn display_round_trips() {
        assert_round_trip(PROJECT_CLJ);
        assert_round_trip(DEPS_EDN);
        assert_round_trip(
            r#"nil true false 0 -1 42N 9223372036854775808 1.5 -0.0 1e300 1.25M 1/3 ##Inf ##NaN
            \a \newline \space \u2028 \" \( "s\t\n\"\\ 😀 \u0007" #"[a-z]+\.\"clj\"" :k ::k :ns/k
            sym ns/sym / clojure.core// (a [b {c d}] #{e}) #inst "2020" #foo/bar {:x 1}
            '(q) #'v @d `(a ~b ~@c ~ @d) #=(e) #(f %) #?(:clj 1) [#?@(:clj [2])]
            ^:a ^String ^{:b [1]} sym #:ns{:a 1 :_/b 2} #::{:c 3}"#,
        );
    }

    #[test]
    fn read_one_wants_exactly_one_form() {
        assert_eq!(
            read_one(" ; just a comment\n #_x ")
                .unwrap_err()
                .to_string(),
            "line 2, column 6: expected a form, found end of input"
        );
        assert_eq!(
            read_one("").unwrap_err().to_string(),
            "line 1, column 1: expected a form, found end of input"
        );
        assert_eq!(
            read_one("{:a 1}\n[2]").unwrap_err().to_string(),
            "line 2, column 1: expected a single form, found another one"
        );
        // Later syntax errors are still reported.
        assert_eq!(
            read_one("1 )").unwrap_err().to_string(),
            "line 1, column 3: unmatched delimiter `)`"
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        // Run on a thread with the default 2 MiB stack (also tokio's worker size).
        let run = |f: fn()| {
            std::thread::Builder::new()
                .stack_size(2 << 20)
                .spawn(f)
                .unwrap()
                .join()
                .unwrap()
        };
        run(|| {
            for (open, close) in [
                ("[", "]"),
                ("(", ")"),
                ("{:a ", "}"),
                ("#{", "}"),
                ("'", ""),
                ("#_ ", ""),
                ("^:a ", ""),
                ("#t ", ""),
                ("@", ""),
            ] {
                let src = format!("{}x{}", open.repeat(10_000), close.repeat(10_000));
                let e = read_all(&src).unwrap_err();
                assert!(
                    matches!(
                        e,
                        ReadError::TooDeep {
                            limit: MAX_DEPTH,
                            ..
                        }
                    ),
                    "{open}: {e}"
                );
                assert_eq!(e.pos().line, 1);
            }
            assert_eq!(
                err(&"[".repeat(10_000)),
                format!(
                    "line 1, column {}: forms are nested deeper than 512 levels",
                    MAX_DEPTH + 1
                )
            );
            // Right at the limit everything works: reading, printing, cloning, dropping.
            let src = format!("{}x{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
            let form = read(&src);
            assert_eq!(form.clone().to_string(), src);
            let src = format!("{}x", "^:a '".repeat(MAX_DEPTH / 2));
            assert_eq!(
                read(&src).to_string().len(),
                "^{:a true} '".len() * (MAX_DEPTH / 2) + 1
            );
        });
    }

    #[test]
    fn describes() {
        let cases = [
            ("nil", "nil"),
            ("true", "boolean"),
            ("1", "integer"),
            ("1N", "integer"),
            ("1.0", "float"),
            ("1M", "decimal"),
            ("1/2", "ratio"),
            ("\\a", "character"),
            ("\"s\"", "string"),
            ("#\"r\"", "regex"),
            (":k", "keyword"),
            ("s", "symbol"),
            ("()", "list"),
            ("[]", "vector"),
            ("{}", "map"),
            ("#{}", "set"),
            ("#t x", "tagged literal"),
            ("'x", "quoted form"),
            ("#'x", "var"),
            ("@x", "deref"),
            ("`x", "syntax-quoted form"),
            ("~x", "unquote"),
            ("~@x", "unquote-splicing"),
            ("#=x", "read-eval form"),
            ("#()", "anonymous function"),
            ("#?()", "reader conditional"),
        ];
        for (src, kind) in cases {
            assert_eq!(read(src).describe(), kind, "{src}");
        }
        let s = read("\"s\"");
        assert!(s.as_keyword().is_none() && s.as_symbol().is_none() && s.as_map().is_none());
    }

    const PROJECT_CLJ: &str = r#"(defproject org.example/sample "1.0.0-SNAPSHOT"
  :description "A sample project"
  :url "https://example.org"
  :license {:name "EPL-2.0"
            :url "https://www.eclipse.org/legal/epl-2.0/"}
  :min-lein-version "2.9.0"
  :dependencies [[org.clojure/clojure "1.11.1"]
                 [com.google.guava/guava "32.1.2-jre"
                  :exclusions [com.google.code.findbugs/jsr305]]
                 [org.slf4j/slf4j-api "2.0.9" :scope "provided"]]
  :repositories [["internal" {:url "https://repo.example.org/maven"
                              :snapshots false}]]
  :source-paths ["src/clj"]
  :java-source-paths ["src/jvm"]
  :javac-options ["--release" "11" "-Xlint:unchecked"]
  :jar-exclusions [#"(?:^|/)\.DS_Store$" #"\.java$"]
  :main ^:skip-aot org.example.sample.main
  :jvm-opts ~(vec (remove nil? [(System/getenv "EXTRA_OPT") "-Xmx1g"]))
  :release-tasks [["vcs" "assert-committed"]
                  ["change" "version" "leiningen.release/bump-version" "release"]]
  :profiles {:dev {:dependencies [[org.clojure/test.check "1.1.1"]]
                   :resource-paths ^:replace ["dev-resources"]
                   :global-vars {*warn-on-reflection* true}}
             :uberjar {:aot :all
                       :uberjar-name ~(str "sample-" (System/getenv "BUILD_NUMBER") ".jar")}
             :test [:dev {:jvm-opts ["-Dtest=true"]}]}
  :aliases {"test-all" ["with-profile" "dev,test" "test"]})
"#;

    #[test]
    fn realistic_project_clj() {
        let form = read(PROJECT_CLJ);
        let items = form.as_seq().unwrap();
        assert_eq!(items[0].as_symbol(), Some("defproject"));
        assert_eq!(items[1].as_symbol(), Some("org.example/sample"));
        assert_eq!(items[2].as_str(), Some("1.0.0-SNAPSHOT"));
        // The rest is a keyword/value list: look values up by key.
        let options: Vec<(&str, &Form)> = items[3..]
            .chunks(2)
            .map(|kv| (kv[0].as_keyword().unwrap(), &kv[1]))
            .collect();
        let get = |key: &str| options.iter().find(|(k, _)| *k == key).unwrap().1;
        let deps = get("dependencies").as_seq().unwrap();
        assert_eq!(deps.len(), 3);
        assert_eq!(deps[1].pos, at(8, 18));
        assert_eq!(
            deps[1].as_seq().unwrap()[0].as_symbol(),
            Some("com.google.guava/guava")
        );
        let excl = get("jar-exclusions").as_seq().unwrap();
        assert!(matches!(&excl[0].value, Value::Regex(r) if r == r"(?:^|/)\.DS_Store$"));
        let main = get("main");
        assert_eq!(main.as_symbol(), Some("org.example.sample.main"));
        assert_eq!(
            main.meta.as_deref().unwrap().to_string(),
            "{:skip-aot true}"
        );
        assert!(matches!(&get("jvm-opts").value, Value::Unquote(inner)
            if inner.as_seq().unwrap()[0].as_symbol() == Some("vec")));
        let dev = get("profiles").get("dev").unwrap();
        let resources = dev.get("resource-paths").unwrap();
        assert_eq!(
            resources
                .meta
                .as_deref()
                .unwrap()
                .get("replace")
                .map(Form::to_string)
                .as_deref(),
            Some("true")
        );
        assert_eq!(resources.pos, at(22, 46));
        assert_eq!(
            dev.get("global-vars").unwrap().as_map().unwrap()[0]
                .0
                .as_symbol(),
            Some("*warn-on-reflection*")
        );
        let uberjar = get("profiles").get("uberjar").unwrap();
        assert_eq!(uberjar.get("aot").unwrap().as_keyword(), Some("all"));
        assert_eq!(
            uberjar.get("uberjar-name").unwrap().to_string(),
            "~(str \"sample-\" (System/getenv \"BUILD_NUMBER\") \".jar\")"
        );
        assert_eq!(get("profiles").get("test").unwrap().describe(), "vector");
    }

    const DEPS_EDN: &str = r#";; deps.edn
{:paths ["src" "resources"]
 :deps {org.clojure/clojure {:mvn/version "1.11.1"}
        io.github.example/lib {:git/tag "v1.0.0" :git/sha "abc1234"}
        local/thing {:local/root "../thing"}
        org.slf4j/slf4j-nop {:mvn/version "2.0.9"
                             :exclusions [org.slf4j/slf4j-api]}}
 :mvn/repos {"clojars" {:url "https://repo.clojars.org/"}}
 :aliases
 {:test {:extra-paths ["test"]
         :extra-deps {io.github.cognitect-labs/test-runner
                      {:git/tag "v0.5.1" :git/sha "dfb30dd"}}
         :main-opts ["-m" "cognitect.test-runner"]
         :exec-fn cognitect.test-runner.api/test}
  :build {:deps {io.github.clojure/tools.build {:mvn/version "0.9.6"}}
          :ns-default build}
  :dev {:extra-paths ["dev"] #_#_:jvm-opts ["-Dx"]
        :jvm-opts ["-XX:-OmitStackTraceInFastThrow"]}}}
"#;

    #[test]
    fn realistic_deps_edn() {
        let form = read(DEPS_EDN);
        assert_eq!(form.pos, at(2, 1));
        let paths: Vec<_> = form
            .get("paths")
            .unwrap()
            .as_seq()
            .unwrap()
            .iter()
            .filter_map(Form::as_str)
            .collect();
        assert_eq!(paths, ["src", "resources"]);
        let deps = form.get("deps").unwrap().as_map().unwrap();
        let names: Vec<_> = deps.iter().filter_map(|(k, _)| k.as_symbol()).collect();
        assert_eq!(
            names,
            [
                "org.clojure/clojure",
                "io.github.example/lib",
                "local/thing",
                "org.slf4j/slf4j-nop"
            ]
        );
        assert_eq!(
            deps[0].1.get("mvn/version").and_then(Form::as_str),
            Some("1.11.1")
        );
        assert_eq!(
            deps[1].1.get("git/sha").and_then(Form::as_str),
            Some("abc1234")
        );
        assert_eq!(deps[2].1.get("local/root").unwrap().pos, at(5, 34));
        let repos = form.get("mvn/repos").unwrap().as_map().unwrap();
        assert_eq!(repos[0].0.as_str(), Some("clojars"));
        let aliases = form.get("aliases").unwrap();
        let test = aliases.get("test").unwrap();
        assert_eq!(
            test.get("main-opts").unwrap().to_string(),
            r#"["-m" "cognitect.test-runner"]"#
        );
        assert_eq!(
            test.get("exec-fn").unwrap().as_symbol(),
            Some("cognitect.test-runner.api/test")
        );
        let dev = aliases.get("dev").unwrap();
        assert_eq!(dev.as_map().unwrap().len(), 2);
        assert_eq!(dev.get("jvm-opts").unwrap().pos, at(18, 19));
        assert_eq!(
            aliases
                .get("build")
                .unwrap()
                .get("ns-default")
                .unwrap()
                .as_symbol(),
            Some("build")
        );
    }
}
