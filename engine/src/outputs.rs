//! Output files on disk, checked by their stats: a product restored or installed is
//! remembered by the stats of its files, so the next build verifies it without reading it.

use std::fs;
use std::io;
use std::path::Path;
use std::sync::Arc;

use crate::bytes::{put_sized, put_u32, Reader};
use crate::db::{Db, Stat};
use crate::dirs::{DirStamps, Dirs};
use crate::store::{hash_reader, Hash};
use crate::value::{Entry, Product};
use crate::watched::Watched;
use crate::BuildError;

/// The sha256 of an output file (the content store's digest) and its executable bit; `None`
/// when it is not a regular file.
pub fn output_digest(db: &Db, abs: &Path, rel: &str) -> Result<Option<(Hash, bool)>, BuildError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = match fs::symlink_metadata(abs) {
        Ok(m) if m.is_file() => m,
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(BuildError::io(rel, e)),
    };
    let exec = meta.permissions().mode() & 0o111 != 0;
    let stat = Stat::of(&meta);
    if let Some(d) = db.stat_digest("sha256", rel, &stat)? {
        if let Ok(arr) = <[u8; 32]>::try_from(d.as_slice()) {
            return Ok(Some((Hash(arr), exec)));
        }
    }
    let f = fs::File::open(abs).map_err(|e| BuildError::io(rel, e))?;
    let (h, _) = hash_reader(f, None).map_err(|e| BuildError::io(rel, e))?;
    db.put_stat_digest("sha256", rel, &stat, &h.0)?;
    Ok(Some((h, exec)))
}

/// The entry under which the stats of the product in `rel_dir` are kept.
fn snapshot_key(rel_dir: &str) -> String {
    format!("output-stats:{rel_dir}")
}

/// A product as put in place: the stats of its files and of every directory in its output
/// directory, with the product itself. One database entry per output directory, as git's
/// index is one file per worktree: a no-op checks a product with one read and a stat per
/// file and directory, and lists a directory only when the directory's stat changed (an
/// entry was added or removed). A target found as it was takes its product from here, not
/// from the content store: no file to open and no JSON to parse, and none of either unless
/// a dependent reads it.
///
/// Encoded as [`TAG`], the product's digest, the directories' stamps, the product's `info`
/// as JSON (empty when null), then per file, in the product's order: its stat (all zeros
/// when too recent to trust), its executable bit, digest, size and path.
struct Snapshot {
    hash: Hash,
    /// In the order of the product's files.
    files: Vec<[u8; 32]>,
    /// Relative paths, `""` for the output directory itself.
    dirs: DirStamps,
}

/// Marks this layout: an entry of an older one decodes as none, and its product is checked
/// by hashing its files once.
const TAG: &[u8; 4] = b"os3\0";

/// One file as a snapshot records it.
struct Recorded<'a> {
    stat: [u8; 32],
    exec: bool,
    digest: Hash,
    size: u64,
    path: &'a str,
}

impl Snapshot {
    fn encode(&self, product: &Product) -> Vec<u8> {
        let mut v = Vec::with_capacity(64 + 100 * self.files.len());
        v.extend_from_slice(TAG);
        v.extend_from_slice(&self.hash.0);
        self.dirs.encode(&mut v);
        let info = match &product.info {
            serde_json::Value::Null => Vec::new(),
            info => serde_json::to_vec(info).expect("JSON values serialize"),
        };
        put_sized(&mut v, &info);
        put_u32(&mut v, self.files.len());
        for (stat, (path, entry)) in self.files.iter().zip(&product.files) {
            v.extend_from_slice(stat);
            v.push(entry.exec as u8);
            v.extend_from_slice(&entry.digest.0);
            v.extend_from_slice(&entry.size.to_le_bytes());
            put_sized(&mut v, path.as_bytes());
        }
        v
    }

    /// The header (the digest, the stamps, the info's JSON) and a reader at the first file,
    /// with the number of files.
    fn header(b: &[u8]) -> Option<(Hash, DirStamps, &[u8], usize, Reader<'_>)> {
        let mut r = Reader::new(b);
        (r.take(TAG.len())? == TAG).then_some(())?;
        let hash = Hash(r.array()?);
        let dirs = DirStamps::decode(&mut r)?;
        let info = r.sized()?;
        let n = r.u32()?;
        Some((hash, dirs, info, n, r))
    }

    fn file<'a>(r: &mut Reader<'a>) -> Option<Recorded<'a>> {
        Some(Recorded {
            stat: r.array()?,
            exec: r.array::<1>()?[0] != 0,
            digest: Hash(r.array()?),
            size: u64::from_le_bytes(r.array()?),
            path: r.text()?,
        })
    }

    fn decode(b: &[u8]) -> Option<Snapshot> {
        let (hash, dirs, _, n, mut r) = Snapshot::header(b)?;
        let mut files = Vec::with_capacity(r.capacity(n, 77));
        for _ in 0..n {
            files.push(Snapshot::file(&mut r)?.stat);
        }
        (r.rest() == 0).then_some(Snapshot { hash, files, dirs })
    }
}

/// The product a snapshot entry records (as [`unchanged`] returned it).
pub(crate) fn recorded_product(b: &[u8]) -> Option<Product> {
    let (_, _, info, n, mut r) = Snapshot::header(b)?;
    let info = match info {
        [] => serde_json::Value::Null,
        json => serde_json::from_slice(json).ok()?,
    };
    let mut files = Vec::with_capacity(r.capacity(n, 77));
    for _ in 0..n {
        let f = Snapshot::file(&mut r)?;
        let entry = Entry {
            digest: f.digest,
            size: f.size,
            exec: f.exec,
        };
        files.push((f.path.to_string(), entry));
    }
    (r.rest() == 0).then_some(Product {
        files: files.into_iter().collect(),
        info,
    })
}

/// The number of files under `dir` and the stamps of every directory there; `None` when the
/// tree cannot be read.
fn survey(dir: &Path) -> Option<(usize, DirStamps)> {
    let mut files = 0;
    let mut dirs = DirStamps::default();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.ok()?;
        if !entry.file_type().is_dir() {
            files += 1;
            continue;
        }
        let rel = entry.path().strip_prefix(dir).ok()?.to_str()?.to_string();
        dirs.push(rel, Some(Stat::of(&entry.metadata().ok()?)));
    }
    Some((files, dirs))
}

/// Records the stats of the files of `product` (digest `hash`), just put in place in `dir`
/// (`rel_dir` from the project root), and of its directories.
pub(crate) fn record(
    db: &Db,
    dir: &Path,
    rel_dir: &str,
    hash: Hash,
    product: &Product,
) -> Result<(), BuildError> {
    let (_, dirs) = survey(dir).unwrap_or_default();
    let mut files = Vec::with_capacity(product.files.len());
    for path in product.files.keys() {
        let meta = fs::symlink_metadata(dir.join(path)).map_err(|e| BuildError::io(path, e))?;
        // Just written, so almost always too recent to trust: the next build hashes it
        // once, as git checks an entry as recent as its index.
        let stat = Stat::of(&meta);
        files.push(if stat.racy() { [0; 32] } else { stat.encode() });
    }
    let snapshot = Snapshot { hash, files, dirs };
    Ok(db.put_note(&snapshot_key(rel_dir), &snapshot.encode(product))?)
}

/// The snapshot entry of `dir` when the directory is, stat for stat, as it was recorded
/// holding the product `hash`: no directory's stat changed (so no entry was added or
/// removed) and no file's, every stat old enough to trust. Needs neither the product nor a
/// write; `None` says only that the product must be checked the long way
/// ([`on_disk_matches`]). [`recorded_product`] reads the product from the entry.
pub(crate) fn unchanged(
    db: &Db,
    dir: &Path,
    rel_dir: &str,
    hash: Hash,
    watched: Option<&Arc<Watched>>,
) -> Result<Option<Vec<u8>>, BuildError> {
    let Some(bytes) = db.note(&snapshot_key(rel_dir))? else {
        return Ok(None);
    };
    let Some((recorded, stamps, info, n, mut r)) = Snapshot::header(&bytes) else {
        return Ok(None);
    };
    // Read through once here (the files below, the info's JSON checked, not built), so that
    // [`recorded_product`] cannot fail on what this returns.
    if !info.is_empty() && serde_json::from_slice::<serde::de::IgnoredAny>(info).is_err() {
        return Ok(None);
    }
    let dirs = Dirs::watched(dir, watched);
    let stat_now = |path: &str| dirs.stat(path, false).ok().flatten().map(|f| f.stat);
    if recorded != hash || !stamps.hold(stat_now) {
        return Ok(None);
    }
    for _ in 0..n {
        let Some(f) = Snapshot::file(&mut r) else {
            return Ok(None);
        };
        let same = f.stat != [0; 32]
            && match dirs.stat(f.path, false) {
                Ok(Some(found)) => {
                    found.is_file && found.executable == f.exec && found.stat.encode() == f.stat
                }
                _ => false,
            };
        if !same {
            return Ok(None);
        }
    }
    Ok((r.rest() == 0).then_some(bytes))
}

/// True when `dir` holds exactly the files of `product` (digest `hash`), with their digests
/// and modes. A file whose stat is the recorded one is taken as written; any other is read
/// and hashed. When every directory's stat is the recorded one, no entry was added or
/// removed, so the tree is not listed. What had to be looked at afresh is recorded anew.
pub(crate) fn on_disk_matches(
    db: &Db,
    dir: &Path,
    rel_dir: &str,
    hash: Hash,
    product: &Product,
    watched: Option<&Arc<Watched>>,
) -> Result<bool, BuildError> {
    let recorded = db
        .note(&snapshot_key(rel_dir))?
        .and_then(|b| Snapshot::decode(&b))
        .filter(|s| s.hash == hash && s.files.len() == product.files.len());
    let dirs = Dirs::watched(dir, watched);
    let stat_now = |path: &str| dirs.stat(path, false).ok().flatten().map(|f| f.stat);
    let listed = match &recorded {
        Some(s) if s.dirs.hold(stat_now) => None,
        // Nothing more than the product: as many files as it has, each of them found below.
        _ => match survey(dir) {
            Some((count, dirs)) if count == product.files.len() => Some(dirs),
            _ => return Ok(false),
        },
    };
    let stat_of = |path: &str| match dirs.stat(path, false) {
        Ok(Some(found)) if found.is_file => Ok(Some(found)),
        Ok(_) => Ok(None),
        Err(e) => Err(BuildError::io(path, e)),
    };
    let mut files = Vec::with_capacity(product.files.len());
    let mut rehashed = false;
    for (i, (path, entry)) in product.files.iter().enumerate() {
        let Some(found) = stat_of(path)? else {
            return Ok(false);
        };
        if found.executable != entry.exec {
            return Ok(false);
        }
        let stat = found.stat.encode();
        if recorded.as_ref().is_some_and(|s| s.files[i] == stat) {
            files.push(stat);
            continue;
        }
        let f = fs::File::open(dir.join(path)).map_err(|e| BuildError::io(path, e))?;
        let (h, _) = hash_reader(f, None).map_err(|e| BuildError::io(path, e))?;
        let after = stat_of(path)?.map(|f| f.stat);
        if h != entry.digest || after.as_ref().map(Stat::encode) != Some(stat) {
            return Ok(false);
        }
        rehashed = true;
        // A stat too recent could be followed by a write it cannot tell apart; left out, the
        // file is hashed again next time.
        files.push(if after.is_some_and(|s| s.racy()) {
            [0; 32]
        } else {
            stat
        });
    }
    if rehashed || listed.is_some() {
        let dirs = match (listed, recorded) {
            (Some(dirs), _) => dirs,
            (None, Some(s)) => s.dirs,
            (None, None) => DirStamps::default(),
        };
        let snapshot = Snapshot { hash, files, dirs };
        db.put_note(&snapshot_key(rel_dir), &snapshot.encode(product))?;
    }
    Ok(true)
}

/// Whether a path that came from outside (a cached product, a library name, a jar entry)
/// stays inside the directory it is joined to: relative, not empty, in normal form (no empty
/// or `.` components), without `..` (nor backslashes or control characters, which other
/// systems read as separators or terminators). The error says what is wrong with it.
pub fn check_contained(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("is empty".into());
    }
    if path.starts_with('/') {
        return Err("is an absolute path".into());
    }
    if path.contains('\\') || path.chars().any(char::is_control) {
        return Err("contains a backslash or a control character".into());
    }
    for part in path.split('/') {
        match part {
            ".." => return Err("has a `..` component".into()),
            "" | "." => return Err("is not in normal form (an empty or `.` component)".into()),
            _ => {}
        }
    }
    Ok(())
}

/// A relative path as kbuild records it: its text, or an error naming it when it is not
/// UTF-8. Keys, products and jar entries hold UTF-8 names; a lossy conversion would let two
/// files share one name.
pub fn utf8_path(rel: &Path) -> Result<&str, BuildError> {
    rel.to_str().ok_or_else(|| {
        BuildError::Input(format!(
            "{:?}: the file name is not valid UTF-8; kbuild, jar entries and javac need UTF-8 \
             file names (rename it, or leave it out of the globs)",
            rel.as_os_str()
        ))
    })
}

pub fn is_contained(path: &str) -> bool {
    check_contained(path).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(db: &Db, out: &Path, hash: Hash) -> bool {
        unchanged(db, out, "out", hash, None).unwrap().is_some()
    }

    /// Sets the modification time of `path` an hour back: a stat that old is trusted.
    fn age(path: &Path) {
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        fs::File::open(path).unwrap().set_modified(old).unwrap();
    }

    /// An output directory `out` with two files (one executable), aged, and its product.
    fn product_on_disk(root: &Path) -> (Product, Hash) {
        use std::os::unix::fs::PermissionsExt;
        let out = root.join("out");
        fs::create_dir_all(out.join("sub")).unwrap();
        fs::write(out.join("a.txt"), "a").unwrap();
        fs::write(out.join("sub/run"), "#!/bin/sh\n").unwrap();
        fs::set_permissions(out.join("sub/run"), fs::Permissions::from_mode(0o755)).unwrap();
        let mut product = Product {
            info: serde_json::json!({"classpath": ["a.txt"]}),
            ..Product::default()
        };
        for (path, exec) in [("a.txt", false), ("sub/run", true)] {
            let (digest, size) =
                hash_reader(fs::File::open(out.join(path)).unwrap(), None).unwrap();
            product
                .files
                .insert(path.into(), Entry { digest, size, exec });
        }
        for path in ["a.txt", "sub/run", "sub", ""] {
            age(&out.join(path));
        }
        let hash = product.hash();
        (product, hash)
    }

    #[test]
    fn a_directory_as_recorded_is_unchanged_and_any_change_to_it_is_seen() {
        use std::os::unix::fs::PermissionsExt;
        type Tamper = fn(&Path);
        let tampers: [(&str, Tamper); 6] = [
            ("rewritten", |out| {
                fs::write(out.join("a.txt"), "b").unwrap()
            }),
            ("removed", |out| {
                fs::remove_file(out.join("sub/run")).unwrap()
            }),
            ("a stray file", |out| {
                fs::write(out.join("sub/stray"), "").unwrap()
            }),
            ("made executable", |out| {
                fs::set_permissions(out.join("a.txt"), fs::Permissions::from_mode(0o755)).unwrap()
            }),
            ("replaced by a directory", |out| {
                fs::remove_file(out.join("a.txt")).unwrap();
                fs::create_dir(out.join("a.txt")).unwrap();
            }),
            // The same bytes, written anew: its stat is another, and it is too recent.
            ("written again", |out| {
                fs::write(out.join("a.txt"), "a").unwrap()
            }),
        ];
        for (what, tamper) in tampers {
            let root = tempfile::tempdir().unwrap();
            let db = Db::open(&root.path().join("db")).unwrap();
            let out = root.path().join("out");
            let (product, hash) = product_on_disk(root.path());
            assert!(!same(&db, &out, hash), "nothing recorded");
            record(&db, &out, "out", hash, &product).unwrap();
            assert!(same(&db, &out, hash));
            let entry = unchanged(&db, &out, "out", hash, None).unwrap().unwrap();
            assert_eq!(recorded_product(&entry).as_ref(), Some(&product));
            assert!(!same(&db, &out, Hash([7; 32])), "another product");
            tamper(&out);
            assert!(!same(&db, &out, hash), "{what}");
        }
    }

    #[test]
    fn a_recent_stat_or_an_entry_of_the_older_layout_is_checked_the_long_way() {
        let root = tempfile::tempdir().unwrap();
        let db = Db::open(&root.path().join("db")).unwrap();
        let out = root.path().join("out");
        let (product, hash) = product_on_disk(root.path());
        fs::write(out.join("a.txt"), "a").unwrap();
        record(&db, &out, "out", hash, &product).unwrap();
        assert!(!same(&db, &out, hash), "a racy stat");
        // The long way hashes it and finds the product; once old, it is trusted.
        assert!(on_disk_matches(&db, &out, "out", hash, &product, None).unwrap());
        age(&out.join("a.txt"));
        assert!(on_disk_matches(&db, &out, "out", hash, &product, None).unwrap());
        assert!(same(&db, &out, hash));
        // The layout before files were named: the digest, the file stats, the stamps.
        let mut old = hash.0.to_vec();
        put_u32(&mut old, 0);
        DirStamps::default().encode(&mut old);
        db.put_note(&snapshot_key("out"), &old).unwrap();
        assert!(!same(&db, &out, hash));
        assert!(on_disk_matches(&db, &out, "out", hash, &product, None).unwrap());
        assert!(same(&db, &out, hash));
    }

    #[test]
    fn only_normal_relative_paths_are_contained() {
        for good in [
            "my/lib",
            "io.github.someone/lib",
            "a",
            "a/b.class",
            "META-INF/MANIFEST.MF",
            "a..b/c",
            ".hidden/x",
        ] {
            assert_eq!(check_contained(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("", "empty"),
            ("/etc/x", "absolute"),
            ("x/../../y", "`..`"),
            ("..", "`..`"),
            ("./a", "normal form"),
            ("a//b", "normal form"),
            ("a/./b", "normal form"),
            ("a/", "normal form"),
            ("a\\..\\b", "backslash"),
            ("a/b\0", "control"),
        ] {
            let err = check_contained(bad).unwrap_err();
            assert!(err.contains(why), "{bad:?}: {err}");
            assert!(!is_contained(bad));
        }
    }
}
