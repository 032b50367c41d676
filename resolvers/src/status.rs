//! `resolver-status.properties`, Maven's record of when each metadata file was last
//! checked: a Java properties file of `<file>.lastUpdated=<ms>` lines.

use std::path::Path;

use crate::repository::{LocalRepository, RepoError};

/// Where maven-resolver records when each metadata file was last checked.
pub const FILE: &str = "resolver-status.properties";

pub fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Java's properties escapes in a key (`\:`, `\=`, `\ `...) undone.
fn unescape(key: &str) -> String {
    let mut out = String::new();
    let mut chars = key.chars();
    while let Some(c) = chars.next() {
        out.push(if c == '\\' {
            chars.next().unwrap_or(c)
        } else {
            c
        });
    }
    out
}

fn escape(key: &str) -> String {
    key.chars().fold(String::new(), |mut out, c| {
        if matches!(c, ':' | '=' | ' ' | '#' | '!' | '\\') {
            out.push('\\');
        }
        out.push(c);
        out
    })
}

/// The key and value of one line, split at the first unescaped `=` or `:`.
fn entry(line: &str) -> Option<(String, &str)> {
    let line = line.trim_start();
    if line.is_empty() || line.starts_with(['#', '!']) {
        return None;
    }
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '=' | ':' if !escaped => {
                return Some((unescape(line[..i].trim_end()), line[i + 1..].trim()))
            }
            _ => escaped = false,
        }
    }
    None
}

/// The milliseconds recorded under `key`; `None` when there are none (or no file).
pub fn read(file: &Path, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines()
        .rev()
        .filter_map(entry)
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.parse().ok())
}

/// Records `millis` under `key` in the file at `rel` in `local`, keeping the other entries.
/// One write at a time in this process (resolutions of several targets run at once), so
/// none loses another's entry.
pub fn write(local: &LocalRepository, rel: &str, key: &str, millis: u64) -> Result<(), RepoError> {
    static WRITING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = WRITING.lock().unwrap_or_else(|e| e.into_inner());
    let old = std::fs::read_to_string(local.path_of(rel)).unwrap_or_default();
    let mut text = String::from(
        "#NOTE: This is a Maven Resolver internal implementation file, its format can be changed without prior notice.\n",
    );
    for line in old.lines() {
        match entry(line) {
            Some((k, _)) if k == key => {}
            Some(_) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    text.push_str(&format!("{}={millis}\n", escape(key)));
    local.store(rel, text.as_bytes()).map(drop)
}

#[cfg(test)]
mod tests {
    #[test]
    fn entries_are_read_back_and_others_kept() {
        let dir = tempfile::tempdir().unwrap();
        let local = crate::repository::LocalRepository::new(dir.path());
        let f = dir.path().join(super::FILE);
        std::fs::write(
            &f,
            "#c\nmaven-metadata-a.xml.lastUpdated=5\nother\\:key=7\n",
        )
        .unwrap();
        assert_eq!(super::read(&f, "maven-metadata-a.xml.lastUpdated"), Some(5));
        assert_eq!(super::read(&f, "other:key"), Some(7));
        super::write(&local, super::FILE, "maven-metadata-a.xml.lastUpdated", 9).unwrap();
        super::write(&local, super::FILE, "id:x.lastUpdated", 11).unwrap();
        assert_eq!(super::read(&f, "maven-metadata-a.xml.lastUpdated"), Some(9));
        assert_eq!(super::read(&f, "other:key"), Some(7));
        assert_eq!(super::read(&f, "id:x.lastUpdated"), Some(11));
        assert_eq!(super::read(&f, "missing"), None);
    }
}
