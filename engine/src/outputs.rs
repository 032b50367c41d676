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

/// Whether a path that came from outside (a cached product, a library name) stays inside the
/// directory it is joined to: relative, non-empty, and made of plain names only (no `..`,
/// no `.`, no root, no empty component).
pub fn is_contained(path: &str) -> bool {
    !path.contains('\0')
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_are_contained() {
        for ok in ["a", "a/b.class", "META-INF/MANIFEST.MF", "x..y/z"] {
            assert!(is_contained(ok), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a/./b",
            "./a",
            "a//b",
            "a/",
            "..",
            "a\0b",
        ] {
            assert!(!is_contained(bad), "{bad}");
        }
    }
}
