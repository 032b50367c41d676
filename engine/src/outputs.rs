//! Output files on disk, checked by their stats: a product restored or installed is
//! remembered by the stats of its files, so the next build verifies it without reading it.

use std::fs;
use std::io;
use std::path::Path;

use crate::db::{Db, Stat};
use crate::store::{hash_reader, Hash};
use crate::value::Product;
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
    format!("outputs:{rel_dir}")
}

/// Records the stats of the files of `product` (digest `hash`), just put in place in `dir`
/// (`rel_dir` from the project root): one entry per output directory, as git's index is one
/// file per worktree, so that a no-op checks a product with one read and a stat per file.
pub(crate) fn record(
    db: &Db,
    dir: &Path,
    rel_dir: &str,
    hash: Hash,
    product: &Product,
) -> Result<(), BuildError> {
    let mut stats = Vec::with_capacity(32 * (product.files.len() + 1));
    stats.extend_from_slice(&hash.0);
    for path in product.files.keys() {
        let meta = fs::symlink_metadata(dir.join(path)).map_err(|e| BuildError::io(path, e))?;
        stats.extend_from_slice(&Stat::of(&meta).encode());
    }
    Ok(db.put_note(&snapshot_key(rel_dir), &stats)?)
}

/// True when `dir` holds exactly the files of `product` (digest `hash`), with their digests
/// and modes. A file whose stat is the recorded one is taken as written; any other is read
/// and hashed, and when all match the stats are recorded afresh (unless one is too recent
/// to be trusted, see [`Stat::racy`]).
pub(crate) fn on_disk_matches(
    db: &Db,
    dir: &Path,
    rel_dir: &str,
    hash: Hash,
    product: &Product,
) -> Result<bool, BuildError> {
    use std::os::unix::fs::PermissionsExt;
    // Nothing more than the product: as many files as it has, each of them found below.
    let mut count = 0usize;
    for entry in walkdir::WalkDir::new(dir) {
        match entry {
            Ok(e) if e.file_type().is_dir() => {}
            Ok(_) => count += 1,
            Err(_) => return Ok(false),
        }
    }
    if count != product.files.len() {
        return Ok(false);
    }
    let recorded = db
        .note(&snapshot_key(rel_dir))?
        .filter(|v| v.len() == 32 * (product.files.len() + 1) && v[..32] == hash.0);
    let mut fresh: Option<Vec<u8>> = None;
    for (i, (path, entry)) in product.files.iter().enumerate() {
        let abs = dir.join(path);
        let meta = match fs::symlink_metadata(&abs) {
            Ok(m) if m.is_file() => m,
            Ok(_) => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(BuildError::io(path, e)),
        };
        if (meta.permissions().mode() & 0o111 != 0) != entry.exec {
            return Ok(false);
        }
        let stat = Stat::of(&meta).encode();
        let at = 32 * (i + 1);
        if recorded.as_ref().is_some_and(|v| v[at..at + 32] == stat) {
            continue;
        }
        let f = fs::File::open(&abs).map_err(|e| BuildError::io(path, e))?;
        let (h, _) = hash_reader(f, None).map_err(|e| BuildError::io(path, e))?;
        let after = fs::symlink_metadata(&abs).map(|m| Stat::of(&m));
        if h != entry.digest || after.as_ref().map(Stat::encode).ok() != Some(stat) {
            return Ok(false);
        }
        let fresh = fresh.get_or_insert_with(|| match &recorded {
            Some(v) => v.clone(),
            None => {
                let mut v = vec![0; 32 * (product.files.len() + 1)];
                v[..32].copy_from_slice(&hash.0);
                v
            }
        });
        // A stat too recent could be followed by a write it cannot tell apart; left out, the
        // file is hashed again next time.
        if !after.is_ok_and(|s| s.racy()) {
            fresh[at..at + 32].copy_from_slice(&stat);
        }
    }
    if let Some(v) = fresh {
        db.put_note(&snapshot_key(rel_dir), &v)?;
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
