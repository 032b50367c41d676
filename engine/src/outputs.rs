//! Output files on disk, checked through the stat cache: a product restored or installed is
//! remembered by the stats of its files, so the next build verifies it without reading it.

use std::fs;
use std::io;
use std::path::Path;

use crate::db::{Db, Stat};
use crate::store::{hash_reader, Hash};
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

/// Records the digest of an output kbuild just wrote, so the next build checks it by stat.
pub fn remember_output(db: &Db, abs: &Path, rel: &str, digest: Hash) -> Result<(), BuildError> {
    let meta = fs::metadata(abs).map_err(|e| BuildError::io(rel, e))?;
    db.put_stat_digest("sha256", rel, &Stat::of(&meta), &digest.0)?;
    Ok(())
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
