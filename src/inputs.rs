//! The input kinds, as the engine's [`Inputs`]: source files through the two-step hash cache
//! (`file`), globs by walking only the directories a pattern can match (`glob`), tool
//! identities (`tool`) and settings of this machine (`setting`).

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use kbuild_hashers::Hasher;
use sha2::{Digest as _, Sha512};

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use kbuild_engine::{bytes, BuildError, Db, DirStamps, Dirs, InputEnv, Inputs, Key, Stat, Value};

use crate::env::Env;

/// The [`Key`] of a source file's content under a hasher.
pub fn file_key(path: &str, hasher: &dyn Hasher) -> Key {
    Key::input("file", format!("{}:{path}", hasher_tag(hasher)))
}

/// The [`Key`] of the sorted list of files these globs match.
pub fn glob_key(patterns: &[String]) -> Key {
    Key::input("glob", patterns.join("\n"))
}

/// The [`Key`] of a tool's identity: `javac` (the JDK), or a program on `PATH`.
pub fn tool_key(name: &str) -> Key {
    Key::input("tool", name)
}

/// The [`Key`] naming the Maven local repository, where resolved artifacts are.
pub fn maven_local_repo_key() -> Key {
    Key::input("setting", MAVEN_LOCAL_REPO)
}

const MAVEN_LOCAL_REPO: &str = "maven-local-repo";

/// The [`Key`] of what resolution reads from `~/.m2/settings.xml` (mirrors, servers,
/// proxies, profiles), so an edit there resolves again and a comment does not.
pub fn maven_settings_key() -> Key {
    Key::input("setting", MAVEN_SETTINGS)
}

const MAVEN_SETTINGS: &str = "maven-settings";

/// `id@version` as it appears in keys.
pub fn hasher_tag(h: &dyn Hasher) -> String {
    format!("{}@{}", h.id(), h.version())
}

fn hasher_by_tag(tag: &str) -> Option<&'static dyn Hasher> {
    let (id, version) = tag.split_once('@')?;
    let version: u32 = version.parse().ok()?;
    kbuild_hashers::by_name(id).filter(|h| h.version() == version)
}

pub struct ProjectInputs {
    env: Arc<Env>,
    /// For [`Inputs::known`], which the engine asks before it runs anything (what runs
    /// after a rule must see the tree as it is now): stats through directory handles, and
    /// under `kbuild watch` those its watcher vouches for.
    dirs: Arc<Dirs>,
}

impl ProjectInputs {
    pub fn new(env: Arc<Env>) -> ProjectInputs {
        let dirs = Arc::new(Dirs::watched(env.root(), env.options.watched.as_ref()));
        ProjectInputs { env, dirs }
    }
}

impl Inputs for ProjectInputs {
    fn compute(
        &self,
        kind: &str,
        arg: &str,
        env: InputEnv,
    ) -> BoxFuture<'static, Result<Value, BuildError>> {
        let me = self.env.clone();
        let dirs = self.dirs.clone();
        let (kind, arg) = (kind.to_string(), arg.to_string());
        async move {
            match kind.as_str() {
                "file" => {
                    let Some((tag, path)) = arg.split_once(':') else {
                        return Ok(Value::Text(format!("malformed file key {arg}")));
                    };
                    let Some(h) = hasher_by_tag(tag) else {
                        // A hasher this kbuild does not have: never equal to a recorded digest.
                        return Ok(Value::Text(format!("unknown hasher {tag}")));
                    };
                    if let Some(d) = cached_digest(me.root(), &env.db, path, h, tag)? {
                        return Ok(Value::Digest(d));
                    }
                    // Reading and parsing may take a while: off the scheduler's threads.
                    let (path, tag) = (path.to_string(), tag.to_string());
                    let digest = tokio::task::spawn_blocking(move || {
                        let warn = |m: String| env.reporter.warn(&m);
                        file_digest(me.root(), &env.db, &path, h, &tag, &warn)
                    })
                    .await
                    .map_err(|e| BuildError::Input(format!("internal error: {e}")))??;
                    Ok(Value::Digest(digest))
                }
                // Inline: a directory walk is quick, and a blocking-pool thread per glob is not.
                "glob" => {
                    // Under a watcher, the directories' stats as `known` has them; afresh
                    // after a rule ran.
                    let watched = env.watched.is_some().then_some(&*dirs);
                    Ok(Value::Files(cached_globs(
                        me.root(),
                        &env.db,
                        &arg,
                        watched,
                    )?))
                }
                "tool" if arg == "javac" => Ok(Value::Text(me.jdk()?.identity.clone())),
                // Any other program named on PATH: its file's digest, so a new version reruns
                // what it made.
                "tool" => {
                    let identity = tokio::task::spawn_blocking(move || {
                        let warn = |m: String| env.reporter.warn(&m);
                        program_identity(&env.db, &arg, &warn)
                    })
                    .await
                    .map_err(|e| BuildError::Input(format!("internal error: {e}")))??;
                    Ok(Value::Text(identity))
                }
                "setting" if arg == MAVEN_LOCAL_REPO => {
                    Ok(Value::Text(me.local_repo()?.to_string_lossy().into_owned()))
                }
                // Settings that do not read are a value too: the resolution then says why.
                "setting" if arg == MAVEN_SETTINGS => {
                    let config = crate::rules::maven::config(&[], false, &me.options);
                    let text = kbuild_resolvers::settings_fingerprint(&config)
                        .unwrap_or_else(|e| format!("unreadable: {e}"));
                    Ok(Value::Digest(Sha512::digest(text.as_bytes()).to_vec()))
                }
                _ => Ok(Value::Text(format!("unknown input {kind}:{arg}"))),
            }
        }
        .boxed()
    }

    /// An unchanged source file, by its stat through the build's directory handles.
    fn known(&self, kind: &str, arg: &str, db: &Db) -> Option<Result<Value, BuildError>> {
        let (tag, path) = arg.split_once(':').filter(|_| kind == "file")?;
        let h = hasher_by_tag(tag)?;
        let digest = match self.dirs.stat(path, true) {
            Ok(None) => Ok(Some(Vec::new())),
            Ok(Some(found)) if found.is_file => known_digest(db, path, &found.stat, h, tag),
            // A directory, say: computed the long way, which says what is wrong.
            Ok(Some(_)) => Ok(None),
            Err(e) => Err(io_err(path, e)),
        };
        digest.transpose().map(|d| d.map(Value::Digest))
    }

    fn describe(&self, kind: &str, arg: &str) -> String {
        match (kind, arg.split_once(':')) {
            ("file", Some((hasher, path))) => format!("source {path} (hasher {hasher})"),
            ("glob", _) => format!(
                "the set of files matching {}",
                arg.split('\n').collect::<Vec<_>>().join(", ")
            ),
            ("tool", _) => format!("the tool {arg}"),
            ("setting", _) => format!("the setting {arg}"),
            _ => format!("{kind} {arg}"),
        }
    }
}

fn io_err(path: &str, source: io::Error) -> BuildError {
    BuildError::Io {
        what: path.to_string(),
        source,
    }
}

/// The digest of `rel` under `hasher` when the stat and syntax caches already know it: the
/// common case, cheap enough to run on the scheduler's threads.
pub fn cached_digest(
    root: &Path,
    db: &Db,
    rel: &str,
    hasher: &dyn Hasher,
    tag: &str,
) -> Result<Option<Vec<u8>>, BuildError> {
    let stat = match fs::metadata(root.join(rel)) {
        Ok(m) => Stat::of(&m),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Some(Vec::new())),
        Err(e) => return Err(io_err(rel, e)),
    };
    known_digest(db, rel, &stat, hasher, tag)
}

/// The digest the caches hold for `rel` with this stat, if any.
fn known_digest(
    db: &Db,
    rel: &str,
    stat: &Stat,
    hasher: &dyn Hasher,
    tag: &str,
) -> Result<Option<Vec<u8>>, BuildError> {
    let Some(raw) = db.stat_digest("sha512", rel, stat)? else {
        return Ok(None);
    };
    if hasher.is_raw() {
        return Ok(Some(raw));
    }
    Ok(db.syntax_digest(&raw, tag)?)
}

/// The digest of `rel` under `hasher`, or an empty digest when the file does not exist.
/// Unchanged files cost a `stat` and two lookups; the bytes are read only when the stat
/// changed, and parsed only when the raw digest is new.
pub fn file_digest(
    root: &Path,
    db: &Db,
    rel: &str,
    hasher: &dyn Hasher,
    tag: &str,
    warn: &dyn Fn(String),
) -> Result<Vec<u8>, BuildError> {
    let abs = root.join(rel);
    let meta = match fs::metadata(&abs) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(rel, e)),
    };
    let stat = Stat::of(&meta);
    let mut bytes = None;
    let raw = match db.stat_digest("sha512", rel, &stat)? {
        Some(raw) => raw,
        None => {
            let b = fs::read(&abs).map_err(|e| io_err(rel, e))?;
            let raw = Sha512::digest(&b).to_vec();
            // Only trust the stat if the file did not change while we read it.
            let after = fs::metadata(&abs).map(|m| Stat::of(&m)).ok();
            if after == Some(stat) && !stat.racy() {
                db.put_stat_digest("sha512", rel, &stat, &raw)?;
            }
            bytes = Some(b);
            raw
        }
    };
    if hasher.is_raw() {
        return Ok(raw);
    }
    if let Some(d) = db.syntax_digest(&raw, tag)? {
        return Ok(d);
    }
    let b = match bytes {
        Some(b) => b,
        None => fs::read(&abs).map_err(|e| io_err(rel, e))?,
    };
    if Sha512::digest(&b).as_slice() != raw.as_slice() {
        // Changed between stat and read: let the next build look again.
        return Ok(Sha512::digest(&b).to_vec());
    }
    let (digest, err) = kbuild_hashers::digest_or_raw(hasher, &b);
    if let Some(e) = err {
        warn(format!(
            "{rel}: does not parse as {} ({e}); using its raw digest",
            hasher.id()
        ));
    }
    db.put_syntax_digest(&raw, tag, &digest.0)?;
    Ok(digest.0.to_vec())
}

/// Where `PATH` finds program `name`.
pub fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file()))
}

/// What identifies a program found on `PATH`: the sha512 of the file it resolves to (the
/// stat cache spares re-reading it). A program that is not there is named as missing; running
/// it will fail with the real error.
pub fn program_identity(db: &Db, name: &str, warn: &dyn Fn(String)) -> Result<String, BuildError> {
    let Some(file) = on_path(name).and_then(|f| fs::canonicalize(f).ok()) else {
        return Ok(format!("{name}: not on PATH"));
    };
    let sha512 = kbuild_hashers::by_name("sha512").expect("sha512 is built in");
    let tag = hasher_tag(sha512);
    let digest = file_digest(
        Path::new("/"),
        db,
        &file.to_string_lossy(),
        sha512,
        &tag,
        warn,
    )?;
    Ok(format!("{name}: sha512 {}", hex::encode(digest)))
}

/// Directories never searched by globs: kbuild's own state and outputs, and VCS metadata.
fn skipped(rel: &str) -> bool {
    matches!(rel, ".kbuild" | ".git" | "target/kbuild") || rel.ends_with("/.git")
}

/// The leading directories of a pattern that hold no glob syntax: only they are walked.
fn literal_base(pattern: &str) -> &str {
    let mut end = 0;
    for (i, part) in pattern.split('/').enumerate() {
        if part.contains(['*', '?', '[', '{']) {
            break;
        }
        end += part.len() + usize::from(i > 0);
    }
    &pattern[..end.min(pattern.len())]
}

/// Every file under `root` that one of `patterns` matches, relative and sorted.
///
/// Patterns are grouped by their literal base, and a group is compiled only when a file under
/// its base turns up: a file can only match a pattern whose base is one of its ancestors, so
/// a long list costs what its parse costs, not one automaton over every pattern.
#[cfg(test)]
fn expand_globs(root: &Path, patterns: &[String]) -> Result<Vec<String>, BuildError> {
    Ok(walk_globs(root, patterns)?.0)
}

/// A directory's stat as a glob listing keeps it ([`DirStamps`]): `None` when it is missing.
fn dir_stat(path: &Path) -> Option<Stat> {
    fs::metadata(path)
        .ok()
        .filter(|m| m.is_dir())
        .map(|m| Stat::of(&m))
}

/// What the globs match, listed again only when a directory they walked changed: the
/// listing is kept with the stamps of every directory walked (and of each base's parent,
/// which changes when the base comes or goes).
///
/// `watched`: the stats of the build's [`Dirs`] under a watcher; else each is taken afresh.
fn cached_globs(
    root: &Path,
    db: &Db,
    arg: &str,
    watched: Option<&Dirs>,
) -> Result<Vec<String>, BuildError> {
    let note = listing_note(arg);
    if let Some(listing) = db.note(&note)?.and_then(|b| Listing::decode(&b)) {
        let now = |dir: &str| match watched {
            Some(dirs) => match dirs.stat(dir, true) {
                Ok(Some(found)) if found.is_dir => Some(found.stat),
                _ => None,
            },
            None => dir_stat(&root.join(dir)),
        };
        if listing.dirs.hold(now) {
            return Ok(listing.files);
        }
    }
    let patterns: Vec<String> = arg.split('\n').map(str::to_string).collect();
    let (files, dirs) = walk_globs(root, &patterns)?;
    let listing = Listing { dirs, files };
    db.put_note(&note, &listing.encode())?;
    Ok(listing.files)
}

fn listing_note(arg: &str) -> String {
    format!(
        "glob-listing:{}",
        hex::encode(Sha512::digest(arg.as_bytes()))
    )
}

/// A glob listing with the directories it was read from (see [`cached_globs`]).
struct Listing {
    dirs: DirStamps,
    files: Vec<String>,
}

impl Listing {
    fn encode(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.dirs.encode(&mut v);
        for f in &self.files {
            bytes::put_sized(&mut v, f.as_bytes());
        }
        v
    }

    fn decode(b: &[u8]) -> Option<Listing> {
        let mut r = bytes::Reader::new(b);
        let dirs = DirStamps::decode(&mut r)?;
        let mut files = Vec::new();
        while r.rest() > 0 {
            files.push(r.text()?.to_string());
        }
        Some(Listing { dirs, files })
    }
}

/// What [`expand_globs`] returns, and the directories it walked with their stats, each taken
/// before the directory was listed.
///
/// A pattern starting with `!` excludes what it matches instead (a generator's inputs leave
/// out its own outputs this way).
fn walk_globs(root: &Path, patterns: &[String]) -> Result<(Vec<String>, DirStamps), BuildError> {
    let glob = |p: &str| {
        GlobBuilder::new(p)
            .literal_separator(true)
            .build()
            .map_err(|e| BuildError::Input(format!("bad glob `{p}`: {e}")))
    };
    let (excluded, included): (Vec<&String>, Vec<&String>) =
        patterns.iter().partition(|p| p.starts_with('!'));
    let excluded = if excluded.is_empty() {
        None
    } else {
        let mut set = GlobSetBuilder::new();
        for p in excluded {
            set.add(glob(&p[1..])?);
        }
        Some(
            set.build()
                .map_err(|e| BuildError::Input(format!("bad globs: {e}")))?,
        )
    };
    let patterns = included;
    // Every pattern is checked here; only the groups that are used are kept parsed.
    let mut groups: HashMap<&str, Vec<&str>> = HashMap::new();
    for p in patterns {
        glob(p)?;
        groups.entry(literal_base(p)).or_default().push(p);
    }
    let mut compiled: HashMap<&str, GlobSet> = HashMap::new();
    let mut matches = |rel: &str| -> Result<bool, BuildError> {
        let ancestors = std::iter::once("")
            .chain(rel.match_indices('/').map(|(i, _)| &rel[..i]))
            .chain(std::iter::once(rel));
        for base in ancestors {
            let Some((&base, globs)) = groups.get_key_value(base) else {
                continue;
            };
            // `base/**` takes everything under its base: no automaton to build (a thousand
            // resource targets each built one in every no-op).
            let everything = |g: &&str| {
                g.strip_suffix("**")
                    .is_some_and(|b| b.trim_end_matches('/') == base)
            };
            if base != rel && globs.iter().any(everything) {
                return Ok(true);
            }
            if !compiled.contains_key(base) {
                let mut set = GlobSetBuilder::new();
                for g in globs {
                    set.add(glob(g)?);
                }
                let set = set
                    .build()
                    .map_err(|e| BuildError::Input(format!("bad globs: {e}")))?;
                compiled.insert(base, set);
            }
            if compiled[base].is_match(rel) {
                return Ok(true);
            }
        }
        Ok(false)
    };
    let mut bases: Vec<&str> = groups.keys().copied().collect();
    bases.sort();
    // A base inside another base is walked by it already.
    let nested = |base: &str| {
        !base.is_empty()
            && (groups.contains_key("")
                || base
                    .match_indices('/')
                    .any(|(i, _)| groups.contains_key(&base[..i])))
    };
    let bases: Vec<&str> = bases.into_iter().filter(|b| !nested(b)).collect();
    let mut out = Vec::new();
    let mut dirs = DirStamps::default();
    for base in bases {
        let start: PathBuf = if base.is_empty() {
            root.to_path_buf()
        } else {
            let parent = base.rsplit_once('/').map_or("", |(p, _)| p);
            dirs.push(parent.to_string(), dir_stat(&root.join(parent)));
            root.join(base)
        };
        // Entries are `root` joined with names, so the part after its length is the relative
        // path (a component-wise `strip_prefix` per entry costs a tenth of a no-op).
        let skip =
            root.as_os_str().len() + usize::from(!root.as_os_str().as_bytes().ends_with(b"/"));
        fn after(p: &Path, skip: usize) -> &Path {
            let bytes = p.as_os_str().as_bytes();
            Path::new(OsStr::from_bytes(bytes.get(skip..).unwrap_or_default()))
        }
        let walker = walkdir::WalkDir::new(&start).follow_links(true).into_iter();
        let walker = walker.filter_entry(|e| !after(e.path(), skip).to_str().is_some_and(skipped));
        for entry in walker {
            let entry = match entry {
                Ok(e) => e,
                Err(e) if e.io_error().map(|i| i.kind()) == Some(io::ErrorKind::NotFound) => {
                    continue
                }
                Err(e) => {
                    return Err(BuildError::Input(format!(
                        "listing {}: {e}",
                        start.display()
                    )))
                }
            };
            if entry.file_type().is_dir() {
                let rel = after(entry.path(), skip).to_string_lossy().into_owned();
                dirs.push(rel, dir_stat(entry.path()));
                continue;
            }
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = kbuild_engine::utf8_path(after(entry.path(), skip))?;
            let rel = if rel.contains('\\') {
                std::borrow::Cow::Owned(rel.replace('\\', "/"))
            } else {
                std::borrow::Cow::Borrowed(rel)
            };
            if matches(&rel)? && !excluded.as_ref().is_some_and(|x| x.is_match(&*rel)) {
                out.push(rel.into_owned());
            }
        }
    }
    out.sort();
    out.dedup();
    Ok((out, dirs))
}

/// Where javac lives and what identifies that JDK: `$JAVA_HOME`, else `javac` on `PATH`
/// with its symlinks resolved. The identity is the JDK's `release` file (vendor and version),
/// never its path.
pub struct Jdk {
    pub javac: PathBuf,
    pub java: PathBuf,
    pub identity: String,
}

/// The JDK's version from its `release` file (`JAVA_VERSION="17.0.15"`).
pub fn java_version() -> Option<String> {
    let jdk = find_jdk().ok()?;
    jdk.identity.lines().find_map(|l| {
        l.strip_prefix("JAVA_VERSION=")
            .map(|v| v.trim_matches('"').to_string())
    })
}

pub fn find_jdk() -> Result<Jdk, BuildError> {
    let home = match std::env::var_os("JAVA_HOME").filter(|h| !h.is_empty()) {
        Some(h) => PathBuf::from(h),
        None => {
            let javac = on_path("javac").ok_or_else(|| {
                BuildError::Tool(
                    "javac was not found: set JAVA_HOME or put a JDK's bin on PATH".into(),
                )
            })?;
            let real = fs::canonicalize(&javac).unwrap_or(javac);
            real.parent()
                .and_then(Path::parent)
                .map(Path::to_path_buf)
                .unwrap_or_default()
        }
    };
    let javac = home.join("bin").join("javac");
    if !javac.is_file() {
        return Err(BuildError::Tool(format!(
            "no javac at {} (from JAVA_HOME)",
            javac.display()
        )));
    }
    let identity = match fs::read_to_string(home.join("release")) {
        Ok(release) => release,
        Err(_) => {
            let out = std::process::Command::new(&javac)
                .arg("-version")
                .output()
                .map_err(|e| {
                    BuildError::Tool(format!("running {} -version: {e}", javac.display()))
                })?;
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        }
    };
    let java = home.join("bin").join("java");
    Ok(Jdk {
        javac,
        java,
        identity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_bases() {
        assert_eq!(literal_base("src/util/**/*.java"), "src/util");
        assert_eq!(literal_base("**/*.java"), "");
        assert_eq!(literal_base("gen/input.txt"), "gen/input.txt");
        assert_eq!(literal_base("resources/**"), "resources");
    }

    #[test]
    fn globs_match_files_under_their_base_only() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        for f in [
            "src/a/A.java",
            "src/a/b/B.java",
            "src/a/notes.txt",
            "other/C.java",
            ".kbuild/x.java",
        ] {
            fs::create_dir_all(r.join(f).parent().unwrap()).unwrap();
            fs::write(r.join(f), "x").unwrap();
        }
        let got = expand_globs(r, &["src/**/*.java".into()]).unwrap();
        assert_eq!(got, vec!["src/a/A.java", "src/a/b/B.java"]);
        let got = expand_globs(r, &["**/*.java".into()]).unwrap();
        assert_eq!(got, vec!["other/C.java", "src/a/A.java", "src/a/b/B.java"]);
        let got = expand_globs(r, &["src/a/*.java".into(), "src/a/notes.txt".into()]).unwrap();
        assert_eq!(got, vec!["src/a/A.java", "src/a/notes.txt"]);
        assert!(expand_globs(r, &["missing/**".into()]).unwrap().is_empty());
        // `base/**` is everything under the base, at any depth, and nothing beside it.
        let got = expand_globs(r, &["src/a/**".into()]).unwrap();
        assert_eq!(
            got,
            vec!["src/a/A.java", "src/a/b/B.java", "src/a/notes.txt"]
        );
        let got = expand_globs(r, &["**".into()]).unwrap();
        assert_eq!(got.len(), 4, "all but kbuild's own state: {got:?}");
        // `!` patterns take out what they match.
        let got = expand_globs(
            r,
            &[
                "src/**".into(),
                "!src/a/b/**".into(),
                "!src/a/notes.txt".into(),
            ],
        )
        .unwrap();
        assert_eq!(got, vec!["src/a/A.java"]);
        // Nested bases, a base that is a prefix but not an ancestor (`src/a-x`), and patterns
        // whose groups are found only through a file's ancestors.
        let got = expand_globs(
            r,
            &[
                "src/a/b/*.java".into(),
                "src/a-x/**".into(),
                "src/*/notes.txt".into(),
                "other/C.java".into(),
            ],
        )
        .unwrap();
        assert_eq!(
            got,
            vec!["other/C.java", "src/a/b/B.java", "src/a/notes.txt"]
        );
    }

    #[test]
    fn a_glob_listing_is_read_again_only_when_a_directory_it_walked_changed() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path().join("p");
        for f in ["src/a/A.java", "src/b/B.java"] {
            fs::create_dir_all(r.join(f).parent().unwrap()).unwrap();
            fs::write(r.join(f), "x").unwrap();
        }
        let db = Db::open(&dir.path().join("db")).unwrap();
        let arg = "src/**/*.java\ngen/**";
        let note = listing_note(arg);
        let ls = || cached_globs(&r, &db, arg, None).unwrap();
        // Past the racy window, so that the directories' stats are kept.
        let age = || std::thread::sleep(std::time::Duration::from_millis(1100));
        age();
        assert_eq!(ls(), vec!["src/a/A.java", "src/b/B.java"]);
        // Served from the listing while no directory changed: a planted listing shows it.
        let mut planted = Listing::decode(&db.note(&note).unwrap().unwrap()).unwrap();
        assert!(
            planted.dirs.hold(|d| dir_stat(&r.join(d))),
            "{:?}",
            planted.dirs
        );
        planted.files = vec!["planted".into()];
        db.put_note(&note, &planted.encode()).unwrap();
        assert_eq!(ls(), vec!["planted"]);
        // A file added, a directory added, a base that comes into being: listed again.
        fs::write(r.join("src/a/C.java"), "x").unwrap();
        assert_eq!(ls(), vec!["src/a/A.java", "src/a/C.java", "src/b/B.java"]);
        age();
        fs::create_dir_all(r.join("src/c")).unwrap();
        fs::write(r.join("src/c/D.java"), "x").unwrap();
        age();
        assert_eq!(ls().len(), 4);
        fs::create_dir_all(r.join("gen")).unwrap();
        fs::write(r.join("gen/g.txt"), "x").unwrap();
        assert!(ls().contains(&"gen/g.txt".to_string()));
        fs::remove_dir_all(r.join("src/b")).unwrap();
        assert!(!ls().contains(&"src/b/B.java".to_string()));
    }

    #[test]
    fn a_long_pattern_list_is_matched_by_the_groups_that_apply() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        fs::create_dir_all(r.join("src/d7")).unwrap();
        fs::write(r.join("src/d7/x.txt"), "x").unwrap();
        fs::write(r.join("src/d7/y.java"), "y").unwrap();
        let patterns: Vec<String> = (0..50_000).map(|i| format!("src/d{i}/*.txt")).collect();
        assert_eq!(expand_globs(r, &patterns).unwrap(), vec!["src/d7/x.txt"]);
    }
}
