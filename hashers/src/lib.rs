//! Content hashers: map file bytes to a [`Digest`].
//!
//! `sha512` hashes the raw bytes. The syntax-aware hashers (`java`, `clojure` and their
//! `-lines` variants) hash the token stream a tree-sitter grammar sees, so edits the
//! compiler ignores (whitespace, comments, `#_` forms) do not invalidate a build. The
//! `-lines` variants also hash each token's line, because compilers record line numbers in
//! their output (javac's LineNumberTable, Clojure's `:line`/`:column` metadata); use them
//! where outputs must be byte-identical to a clean build. Anything that copies source bytes
//! (a jar of sources, resources) must use `sha512`.
//!
//! Every syntax digest is domain-separated from raw digests and from the other hashers, so
//! a cache keyed by digest alone can never confuse a syntax digest with a raw one.

use std::fmt;

mod syntax;

use sha2::Digest as _;

/// A 64-byte digest (the sha512 output size); displayed as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub [u8; 64]);

impl Digest {
    /// Lowercase hex, 128 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 128 hex digits (either case); `None` for anything else.
    pub fn from_hex(s: &str) -> Option<Digest> {
        let mut out = [0u8; 64];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(Digest(out))
    }

    /// The raw sha512 of `bytes`.
    pub fn of_bytes(bytes: &[u8]) -> Digest {
        Digest(sha2::Sha512::digest(bytes).into())
    }
}

impl fmt::LowerHex for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::LowerHex::fmt(self, f)
    }
}

// Hex rather than 64 decimal bytes, so test failures and logs are readable.
impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self:x})")
    }
}

/// Why a hasher could not produce a digest.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The file does not parse; position of the first error (or missing) node, 1-based,
    /// column in bytes.
    #[error("syntax error at line {line}, column {column}")]
    Syntax { line: usize, column: usize },
    /// The tree-sitter grammar could not be loaded (an ABI mismatch: a build problem).
    #[error("cannot load the {grammar} grammar: {message}")]
    Grammar {
        grammar: &'static str,
        message: String,
    },
    /// tree-sitter returned no tree (it only does so when cancelled or timed out).
    #[error("the {grammar} parser gave up")]
    ParseAborted { grammar: &'static str },
}

/// Maps file content to a digest. Implementations are stateless and shared across threads.
pub trait Hasher: Send + Sync {
    /// Stable name used in build files and cache keys.
    fn id(&self) -> &'static str;
    /// Part of every cache key: bump whenever the digest of some input would change
    /// (including upgrades of the grammar crate that change the tree).
    fn version(&self) -> u32;
    /// True when the digest is the raw sha512 of the bytes, so callers can reuse a raw
    /// digest they already have instead of hashing again.
    fn is_raw(&self) -> bool {
        false
    }
    /// Digest of the content as this hasher sees it; `Err(HashError::Syntax { .. })` when
    /// the file does not parse.
    fn digest(&self, bytes: &[u8]) -> Result<Digest, HashError>;
}

struct Sha512Hasher;

impl Hasher for Sha512Hasher {
    fn id(&self) -> &'static str {
        "sha512"
    }
    fn version(&self) -> u32 {
        1
    }
    fn is_raw(&self) -> bool {
        true
    }
    fn digest(&self, bytes: &[u8]) -> Result<Digest, HashError> {
        Ok(Digest::of_bytes(bytes))
    }
}

static SHA512: Sha512Hasher = Sha512Hasher;
static JAVA: syntax::SyntaxHasher = syntax::SyntaxHasher::new("java", 1, syntax::Lang::Java, false);
static JAVA_LINES: syntax::SyntaxHasher =
    syntax::SyntaxHasher::new("java-lines", 1, syntax::Lang::Java, true);
static CLOJURE: syntax::SyntaxHasher =
    syntax::SyntaxHasher::new("clojure", 1, syntax::Lang::Clojure, false);
static CLOJURE_LINES: syntax::SyntaxHasher =
    syntax::SyntaxHasher::new("clojure-lines", 1, syntax::Lang::Clojure, true);

static ALL: [&dyn Hasher; 5] = [&SHA512, &JAVA, &JAVA_LINES, &CLOJURE, &CLOJURE_LINES];
static NAMES: [&str; 5] = ["sha512", "java", "java-lines", "clojure", "clojure-lines"];

/// The built-in hasher called `name`.
pub fn by_name(name: &str) -> Option<&'static dyn Hasher> {
    ALL.iter().copied().find(|h| h.id() == name)
}

/// Names of the built-in hashers, for error messages and `--help`.
pub fn names() -> &'static [&'static str] {
    &NAMES
}

/// Digest under `hasher`, falling back to the raw digest when the file doesn't parse (a
/// file being edited must still build, or fail in the compiler with a real message). The
/// error is returned so the caller can warn. Domain separation guarantees the fallback
/// can never equal a syntax digest of another content.
pub fn digest_or_raw(hasher: &dyn Hasher, bytes: &[u8]) -> (Digest, Option<HashError>) {
    match hasher.digest(bytes) {
        Ok(d) => (d, None),
        Err(e) => (Digest::of_bytes(bytes), Some(e)),
    }
}
