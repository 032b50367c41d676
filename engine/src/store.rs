//! The content-addressed store: blobs named by their sha256, written to a temporary name
//! and renamed into place (so a killed build never leaves a half-written blob under its
//! final name), and verified on every read (so a corrupted blob is a miss, not a wrong
//! build).

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

/// A sha256 digest: the identity of blobs, values and products.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    pub fn of(bytes: &[u8]) -> Hash {
        Hash(Sha256::digest(bytes).into())
    }

    /// The digest of `parts` one after another, as [`Hash::of`] their concatenation, without
    /// making it.
    pub fn of_parts<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> Hash {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p);
        }
        Hash(h.finalize().into())
    }

    pub fn to_hex(self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(s: &str) -> Option<Hash> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(Hash(out))
    }

    /// The first 12 hex digits, for messages.
    pub fn short(self) -> String {
        self.to_hex()[..12].to_string()
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.short())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Hash, D::Error> {
        // Read in place, without a String per digest: a product lists one per file.
        struct Hex;
        impl serde::de::Visitor<'_> for Hex {
            type Value = Hash;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a sha256 in hex")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Hash, E> {
                Hash::from_hex(s).ok_or_else(|| E::custom("bad sha256 hex"))
            }
        }
        d.deserialize_str(Hex)
    }
}

/// Streams a reader through sha256, optionally copying the bytes to `out`.
pub fn hash_reader(mut r: impl Read, mut out: Option<&mut dyn Write>) -> io::Result<(Hash, u64)> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut n = 0u64;
    loop {
        let k = r.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        if let Some(o) = out.as_mut() {
            o.write_all(&buf[..k])?;
        }
        n += k as u64;
    }
    Ok((Hash(h.finalize().into()), n))
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("blob {0} is not in the store")]
    Missing(Hash),
    #[error("blob {0} is corrupted (its content no longer matches its name); it was removed")]
    Corrupt(Hash),
    #[error("content store at {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Files up to this size are hashed in memory before the store is written (see
/// [`Cas::put_file`]).
const IN_MEMORY: u64 = 4 << 20;

pub struct Cas {
    dir: PathBuf,
}

impl Cas {
    pub fn open(dir: &Path) -> Result<Cas, StoreError> {
        fs::create_dir_all(dir.join("tmp")).map_err(io_err(dir))?;
        Ok(Cas {
            dir: dir.to_path_buf(),
        })
    }

    fn path(&self, h: Hash) -> PathBuf {
        let hex = h.to_hex();
        self.dir.join(&hex[..2]).join(&hex[2..])
    }

    fn temp(&self) -> Result<tempfile::NamedTempFile, StoreError> {
        let tmp = self.dir.join("tmp");
        tempfile::NamedTempFile::new_in(&tmp).map_err(io_err(&tmp))
    }

    fn install(&self, tmp: tempfile::NamedTempFile, h: Hash) -> Result<(), StoreError> {
        let dest = self.path(h);
        let parent = dest.parent().expect("blob path has a parent");
        fs::create_dir_all(parent).map_err(io_err(parent))?;
        tmp.persist(&dest).map_err(|e| StoreError::Io {
            path: dest,
            source: e.error,
        })?;
        Ok(())
    }

    pub fn put_bytes(&self, bytes: &[u8]) -> Result<Hash, StoreError> {
        let h = Hash::of(bytes);
        if !self.holds(h, bytes.len() as u64) {
            let mut tmp = self.temp()?;
            tmp.write_all(bytes).map_err(io_err(tmp.path()))?;
            self.install(tmp, h)?;
        }
        Ok(h)
    }

    /// Copies a file into the store, returning its digest and size. A file up to
    /// [`IN_MEMORY`] is read once and written only when the store does not already hold it
    /// (most outputs of a rebuild are blobs the store has); a larger one is streamed into
    /// place.
    pub fn put_file(&self, src: &Path) -> Result<(Hash, u64), StoreError> {
        let mut f = File::open(src).map_err(io_err(src))?;
        let len = f.metadata().map_err(io_err(src))?.len();
        if len <= IN_MEMORY {
            let mut bytes = Vec::with_capacity(len as usize);
            f.read_to_end(&mut bytes).map_err(io_err(src))?;
            let h = self.put_bytes(&bytes)?;
            return Ok((h, bytes.len() as u64));
        }
        let mut tmp = self.temp()?;
        let (h, n) = hash_reader(f, Some(tmp.as_file_mut())).map_err(io_err(src))?;
        self.install(tmp, h)?;
        Ok((h, n))
    }

    /// Whether the store holds blob `h` of `size` bytes, intact. Checked, not assumed: a blob
    /// that exists may have been damaged, and a put is what repairs it. Reading a blob
    /// costs a fraction of writing and renaming a new one.
    fn holds(&self, h: Hash, size: u64) -> bool {
        let Ok(f) = File::open(self.path(h)) else {
            return false;
        };
        if f.metadata().map(|m| m.len()).ok() != Some(size) {
            return false;
        }
        matches!(hash_reader(f, None), Ok((got, n)) if got == h && n == size)
    }

    /// Whether a blob of this digest exists (not verified: every read verifies).
    pub fn contains(&self, h: Hash) -> bool {
        self.path(h).is_file()
    }

    /// Reads a blob, verifying it. A corrupted blob is deleted so the next put repairs it.
    pub fn get(&self, h: Hash) -> Result<Vec<u8>, StoreError> {
        let p = self.path(h);
        let bytes = match fs::read(&p) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(StoreError::Missing(h)),
            Err(e) => return Err(io_err(&p)(e)),
        };
        if Hash::of(&bytes) != h {
            let _ = fs::remove_file(&p);
            return Err(StoreError::Corrupt(h));
        }
        Ok(bytes)
    }

    /// Copies a blob to `dest` (which must not exist yet), verifying it on the way.
    pub fn copy_to(&self, h: Hash, dest: &Path, executable: bool) -> Result<(), StoreError> {
        let p = self.path(h);
        let src = match File::open(&p) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(StoreError::Missing(h)),
            Err(e) => return Err(io_err(&p)(e)),
        };
        let mut out = File::create(dest).map_err(io_err(dest))?;
        let (got, _) = hash_reader(src, Some(&mut out)).map_err(io_err(&p))?;
        if got != h {
            let _ = fs::remove_file(&p);
            let _ = fs::remove_file(dest);
            return Err(StoreError::Corrupt(h));
        }
        set_executable(dest, executable).map_err(io_err(dest))?;
        Ok(())
    }
}

/// Outputs are written 0644 or 0755 whatever the umask said, so restored trees are identical.
pub fn set_executable(path: &Path, executable: bool) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = if executable { 0o755 } else { 0o644 };
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_roundtrip_and_corruption_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let cas = Cas::open(dir.path()).unwrap();
        let h = cas.put_bytes(b"hello").unwrap();
        assert_eq!(h, Hash::of(b"hello"));
        assert_eq!(cas.get(h).unwrap(), b"hello");
        fs::write(cas.path(h), b"hellO").unwrap();
        assert!(matches!(cas.get(h), Err(StoreError::Corrupt(_))));
        assert!(!cas.path(h).exists(), "a corrupt blob is removed");
        assert!(matches!(cas.get(h), Err(StoreError::Missing(_))));
        cas.put_bytes(b"hello").unwrap();
        fs::write(cas.path(h), b"hellO").unwrap();
        cas.put_bytes(b"hello").unwrap();
        assert_eq!(cas.get(h).unwrap(), b"hello");
    }

    #[test]
    fn put_file_and_copy_out() {
        let dir = tempfile::tempdir().unwrap();
        let cas = Cas::open(&dir.path().join("cas")).unwrap();
        let src = dir.path().join("a.bin");
        fs::write(&src, vec![7u8; 200_000]).unwrap();
        let (h, n) = cas.put_file(&src).unwrap();
        assert_eq!(n, 200_000);
        let dest = dir.path().join("b.bin");
        cas.copy_to(h, &dest, true).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), fs::read(&src).unwrap());
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&dest).unwrap().permissions().mode() & 0o777,
            0o755
        );
    }

    #[test]
    fn a_put_keeps_an_intact_blob_and_repairs_a_damaged_one() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let cas = Cas::open(&dir.path().join("cas")).unwrap();
        let src = dir.path().join("a.class");
        fs::write(&src, b"cafebabe").unwrap();
        let (h, _) = cas.put_file(&src).unwrap();
        let ino = fs::metadata(cas.path(h)).unwrap().ino();
        cas.put_file(&src).unwrap();
        assert_eq!(
            fs::metadata(cas.path(h)).unwrap().ino(),
            ino,
            "not rewritten"
        );
        // Same size, other bytes: found by the check, replaced by the put.
        fs::write(cas.path(h), b"cafebabF").unwrap();
        cas.put_file(&src).unwrap();
        assert_eq!(cas.get(h).unwrap(), b"cafebabe");
        // A large file goes the streaming way and lands intact.
        let big = dir.path().join("big.bin");
        fs::write(&big, vec![3u8; (IN_MEMORY + 1) as usize]).unwrap();
        let (h, n) = cas.put_file(&big).unwrap();
        assert_eq!(
            (n, cas.get(h).unwrap().len() as u64),
            (IN_MEMORY + 1, IN_MEMORY + 1)
        );
    }
}
