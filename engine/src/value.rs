//! Values: what a key computes to. A value's identity is its digest; traces compare only
//! digests, and products are kept whole in the content store.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::store::Hash;

#[derive(Debug, Clone)]
pub enum Value {
    /// A file's digest under its hasher (empty when the file does not exist).
    Digest(Vec<u8>),
    /// The files a glob matched, sorted, relative to the project root.
    Files(Vec<String>),
    /// A definition or a tool identity, as canonical text.
    Text(String),
    /// A target's product.
    Product(Product),
    /// A target's product as it is stored, read only when asked for.
    Stored(StoredProduct),
}

impl Value {
    /// Streamed, not assembled: a no-op hashes a value per source file.
    pub fn hash(&self) -> Hash {
        match self {
            Value::Digest(d) => Hash::of_parts([&b"d"[..], d]),
            Value::Files(files) => Hash::of_parts(
                std::iter::once(&b"f"[..]).chain(files.iter().flat_map(|f| [f.as_bytes(), b"\0"])),
            ),
            Value::Text(t) => Hash::of_parts([&b"t"[..], t.as_bytes()]),
            Value::Product(p) => p.hash(),
            Value::Stored(s) => s.hash,
        }
    }
}

/// A tree of files, path (relative to the target's output directory, `/`-separated)
/// → content digest, and what the rule says of it for its dependents (`info`: the providers,
/// opaque to the engine). Its digest is the digest of its canonical JSON, which is also how
/// it is kept in the content store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub files: BTreeMap<String, Entry>,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub info: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub digest: Hash,
    pub size: u64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exec: bool,
}

impl Product {
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("products serialize")
    }

    /// A product as the content store or a server holds it. The bytes may be anything (a
    /// damaged blob, a hostile server): an error, never a panic; serde_json bounds nesting,
    /// and what it builds is never larger than a small multiple of the input.
    pub fn from_json(bytes: &[u8]) -> Result<Product, String> {
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    }

    pub fn hash(&self) -> Hash {
        Hash::of(&self.to_json())
    }
}

/// A product known by its digest and a record it can be read from, read when first asked
/// for: what a target found as it was on disk computes to, its record being the entry that
/// vouched for the disk ([`crate::outputs`]). A no-op build reads no product (parsing them
/// was a tenth of a no-op on 100,000 files).
#[derive(Debug, Clone)]
pub struct StoredProduct {
    hash: Hash,
    record: Vec<u8>,
    product: std::sync::OnceLock<Option<Product>>,
}

impl StoredProduct {
    /// `record` is an output snapshot entry as [`crate::outputs::unchanged`] returned it.
    pub(crate) fn new(hash: Hash, record: Vec<u8>) -> Self {
        StoredProduct {
            hash,
            record,
            product: Default::default(),
        }
    }

    /// The product; `None` only if the record was damaged.
    pub fn get(&self) -> Option<&Product> {
        self.product
            .get_or_init(|| crate::outputs::recorded_product(&self.record))
            .as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_digest_is_its_stored_json_digest_and_order_independent() {
        let e = |b: u8| Entry {
            digest: Hash([b; 32]),
            size: 1,
            exec: false,
        };
        let mut a = Product::default();
        a.files.insert("b".into(), e(2));
        a.files.insert("a".into(), e(1));
        let mut b = Product::default();
        b.files.insert("a".into(), e(1));
        b.files.insert("b".into(), e(2));
        assert_eq!(a.hash(), b.hash());
        assert_eq!(a.hash(), Hash::of(&a.to_json()));
        assert_ne!(
            Value::Text("x".into()).hash(),
            Value::Digest(b"x".to_vec()).hash()
        );
        // The digests of a value's tagged bytes, which stored traces hold: they never change.
        let files = Value::Files(vec!["a/B.java".into(), "c".into()]);
        assert_eq!(files.hash(), Hash::of(b"fa/B.java\0c\0"));
        assert_eq!(Value::Digest(vec![1, 2]).hash(), Hash::of(b"d\x01\x02"));
        assert_eq!(Value::Text("x".into()).hash(), Hash::of(b"tx"));
    }
}
