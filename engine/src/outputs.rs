//! Output files on disk, checked by their stats: a product restored or installed is
//! remembered by the stats of its files, so the next build verifies it without reading it.

use std::fs;
use std::io;
use std::path::Path;
use std::sync::Arc;

use crate::bytes::{put_u32, Reader};
use crate::db::{Db, Stat};
use crate::dirs::{DirStamps, Dirs};
use crate::store::{hash_reader, Hash};
use crate::value::Product;
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

/// The stats of a product's files as put in place and of every directory in its output
/// directory: one database entry per output directory, as git's index is one file per
/// worktree. A no-op checks a product with one read and a stat per file and directory; it
/// lists a directory only when the directory's stat changed (an entry was added or removed).
struct Snapshot {
    hash: Hash,
    /// In the order of the product's files; all zeros for a stat too recent to trust.
    files: Vec<[u8; 32]>,
    /// Relative paths, `""` for the output directory itself.
    dirs: DirStamps,
}

impl Snapshot {
    fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(40 + 32 * self.files.len());
        v.extend_from_slice(&self.hash.0);
        put_u32(&mut v, self.files.len());
        for f in &self.files {
            v.extend_from_slice(f);
        }
        self.dirs.encode(&mut v);
        v
    }

    fn decode(b: &[u8]) -> Option<Snapshot> {
        let mut r = Reader::new(b);
        let hash = Hash(r.array()?);
        let n = r.u32()?;
        let mut files = Vec::with_capacity(r.capacity(n, 32));
        for _ in 0..n {
            files.push(r.array()?);
        }
        let dirs = DirStamps::decode(&mut r)?;
        (r.rest() == 0).then_some(Snapshot { hash, files, dirs })
    }
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
        files.push(Stat::of(&meta).encode());
    }
    let snapshot = Snapshot { hash, files, dirs };
    Ok(db.put_note(&snapshot_key(rel_dir), &snapshot.encode())?)
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
        db.put_note(&snapshot_key(rel_dir), &snapshot.encode())?;
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
