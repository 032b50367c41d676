//! `jar` and `uberjar`: deterministic packaging. A jar holds its direct dependencies'
//! products (classes, resources, command outputs, Clojure sources); an uberjar holds every
//! transitive dependency's and the contents of the resolved Maven jars, merging
//! `META-INF/services/*` and `data_readers.clj(c)` as Leiningen does. Entries are sorted,
//! every timestamp is the same fixed date, modes are fixed, so the same inputs give the same
//! bytes in any directory on any machine.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use kbuild_engine::{is_contained, BuildError, Computed, Ctx};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::fetch_files;
use super::info::{Deps, Info};
use crate::env::Env;
use crate::inputs::glob_key;
use crate::project::{self, Target};

const MANIFEST: &str = "META-INF/MANIFEST.MF";

/// Entries of the jar being assembled: path → (bytes, executable).
#[derive(Default)]
struct Entries {
    files: BTreeMap<String, (Vec<u8>, bool)>,
    /// Who put each entry there, for the warning about conflicts.
    from: BTreeMap<String, String>,
    warnings: Vec<String>,
}

impl Entries {
    /// The first provider of a path wins, as on a classpath, except for files that are meant
    /// to be merged.
    fn add(&mut self, path: &str, bytes: Vec<u8>, exec: bool, from: &str) {
        if path == MANIFEST || path.ends_with('/') || is_signature(path) {
            return;
        }
        match self.files.get_mut(path) {
            None => {
                self.files.insert(path.to_string(), (bytes, exec));
                self.from.insert(path.to_string(), from.to_string());
            }
            Some((old, _)) if *old == bytes => {}
            Some((old, _)) if path.starts_with("META-INF/services/") => {
                if !old.ends_with(b"\n") {
                    old.push(b'\n');
                }
                old.extend_from_slice(&bytes);
            }
            Some((old, _)) if path == "data_readers.clj" || path == "data_readers.cljc" => {
                match merge_readers(old, &bytes) {
                    Some(merged) => *old = merged,
                    None => self.warnings.push(format!(
                        "cannot merge {path} from {from}; keeping {}'s",
                        self.from[path]
                    )),
                }
            }
            Some(_) => self.warnings.push(format!(
                "{from} and {} both provide {path}; using {}'s",
                self.from[path], self.from[path]
            )),
        }
    }
}

/// Signatures of signed jars do not hold for a jar made of other contents.
fn is_signature(path: &str) -> bool {
    let upper = path.to_ascii_uppercase();
    upper.starts_with("META-INF/")
        && [".SF", ".RSA", ".DSA", ".EC"]
            .iter()
            .any(|ext| upper.ends_with(ext))
        && !upper[9..].contains('/')
}

/// Two `{tag var ...}` maps as one, in the order first seen.
fn merge_readers(a: &[u8], b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for text in [a, b] {
        let form = crate::edn::read_one(std::str::from_utf8(text).ok()?).ok()?;
        for (k, v) in form.as_map()? {
            let entry = (k.to_string(), v.to_string());
            if !out
                .iter()
                .any(|(key, _): &(String, String)| *key == entry.0)
            {
                out.push(entry);
            }
        }
    }
    let body: Vec<String> = out.iter().map(|(k, v)| format!("{k} {v}")).collect();
    Some(format!("{{{}}}\n", body.join("\n ")).into_bytes())
}

pub async fn run(env: &Env, ctx: &Ctx, uber: bool) -> Result<serde_json::Value, BuildError> {
    let target = ctx.spec::<Target>();
    let (project::Rule::Jar(package) | project::Rule::Uberjar(package)) = &target.rule else {
        return Err(ctx.fail("not a jar target"));
    };
    let direct = Deps::fetch(ctx).await?;
    let info = direct.info(ctx.target(), target).to_value();
    let deps: Vec<(String, Computed)> = if uber {
        direct.fetch_closure(ctx).await?
    } else {
        direct
            .names
            .iter()
            .cloned()
            .zip(direct.values.iter().cloned())
            .collect()
    };
    let infos: Vec<Info> = deps.iter().map(|(_, c)| Info::of(c)).collect();
    for ((d, _), i) in deps.iter().zip(&infos) {
        if !uber && matches!(i.node.kind.as_str(), "jar" | "uberjar") {
            return Err(ctx.fail(format!(
                "{d} is a jar; a jar packages library, resources and command targets"
            )));
        }
    }
    // Clojure libraries are packaged from their roots, byte for byte: raw digests (design
    // rule 2), so even a comment edit makes a new jar.
    let mut roots: Vec<(String, String)> = Vec::new();
    for ((d, _), i) in deps.iter().zip(&infos) {
        roots.extend(i.node.roots.iter().map(|p| (d.clone(), p.clone())));
    }
    // The package's own source directories come last: on a classpath, products win.
    let own = ctx.target().to_string();
    roots.extend(package.sources.iter().map(|p| (own.clone(), p.clone())));
    let globs = roots
        .iter()
        .map(|(_, p)| glob_key(&[format!("{p}/**")]))
        .collect();
    let listed = ctx.fetch_all(globs).await?;
    let all: Vec<String> = listed.iter().flat_map(|c| c.files().to_vec()).collect();
    fetch_files(env, ctx, &all, true).await?;

    let mut entries = Entries::default();
    for (path, text) in &package.files {
        entries.add(path, text.clone().into_bytes(), false, &own);
    }
    for ((dep, computed), i) in deps.iter().zip(&infos) {
        let Some(product) = computed.product() else {
            continue;
        };
        match i.node.kind.as_str() {
            // A git library's tree is packaged as its library target's roots.
            // A prep task wrote into the project's paths, which are packaged as roots.
            "test" | "git-lib" | "prep-run" | "lein-task" => continue,
            "clojure-library" => {
                add_roots(env, dep, &roots, &listed, &mut entries)?;
            }
            "maven" if uber => {
                for a in i.artifacts.iter().filter(|a| a.file.ends_with(".jar")) {
                    if a.id.ends_with(":test")
                        || a.id.ends_with(":provided")
                        || a.id.ends_with(":system")
                    {
                        continue;
                    }
                    let path = env.local_repo()?.join(&a.file);
                    read_jar(&path, &a.id, &mut entries)
                        .map_err(|e| ctx.fail(format!("reading {}: {e}", path.display())))?;
                }
                continue;
            }
            "jar" | "uberjar" => {
                let jar = ctx.out_dir(dep).join(format!("{dep}.jar"));
                read_jar(&jar, dep, &mut entries)
                    .map_err(|e| ctx.fail(format!("reading {}: {e}", jar.display())))?;
                continue;
            }
            _ => {}
        }
        for (path, e) in &product.files {
            entries.add(path, ctx.dep_file(dep, path, e)?, e.exec, dep);
        }
    }
    for w in &entries.warnings {
        ctx.reporter()
            .warn(&format!("target {}: {w}", ctx.target()));
    }
    add_roots(env, &own, &roots, &listed, &mut entries)?;
    let manifest = manifest(package.main_class.as_deref(), &package.manifest);
    let dest = ctx.stage().join(format!("{}.jar", ctx.target()));
    let _slot = ctx.job_slot().await;
    ctx.reporter().running(ctx.target());
    write_jar(&dest, &manifest, &entries.files)
        .map_err(|e| ctx.fail(format!("writing {}: {e}", dest.display())))?;
    Ok(info)
}

fn read_jar(path: &Path, from: &str, entries: &mut Entries) -> zip::result::ZipResult<()> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path)?)?;
    for i in 0..zip.len() {
        let mut f = zip.by_index(i)?;
        if f.is_dir() {
            continue;
        }
        let name = f.name().to_string();
        // Zip slip: an entry named `../x` or `/x` would be written outside the directory of
        // whoever unpacks the jar.
        if !is_contained(&name) {
            entries.warnings.push(format!(
                "{from} has an entry named {name:?}, which leaves the jar's root; it was left out"
            ));
            continue;
        }
        // The size in the header is the jar's word, not a fact: no allocation by it alone.
        let mut bytes = Vec::with_capacity((f.size() as usize).min(1 << 20));
        f.read_to_end(&mut bytes)?;
        let exec = f.unix_mode().is_some_and(|m| m & 0o111 != 0);
        entries.add(&name, bytes, exec, from);
    }
    Ok(())
}

/// A manifest in the JAR format: `Name: value` lines of at most 72 bytes, continued with a
/// leading space, CRLF line ends.
/// Every file under the roots `owner` packages, at its path inside its root.
fn add_roots(
    env: &Env,
    owner: &str,
    roots: &[(String, String)],
    listed: &[Computed],
    entries: &mut Entries,
) -> Result<(), BuildError> {
    for ((who, root), files) in roots.iter().zip(listed) {
        if who != owner {
            continue;
        }
        for f in files.files() {
            let bytes = std::fs::read(env.root().join(f)).map_err(|e| BuildError::io(f, e))?;
            let rel = f.strip_prefix(&format!("{root}/")).unwrap_or(f);
            entries.add(rel, bytes, false, owner);
        }
    }
    Ok(())
}

pub fn manifest(main_class: Option<&str>, extra: &BTreeMap<String, String>) -> String {
    let mut attrs = vec![
        ("Manifest-Version".to_string(), "1.0".to_string()),
        ("Created-By".to_string(), "kbuild".to_string()),
    ];
    if let Some(m) = main_class {
        attrs.push(("Main-Class".to_string(), m.to_string()));
    }
    attrs.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    let mut out = String::new();
    for (k, v) in attrs {
        let line = format!("{k}: {v}");
        let mut rest = line.as_str();
        let mut first = true;
        while !rest.is_empty() {
            let limit = if first { 72 } else { 71 };
            let mut cut = rest.len().min(limit);
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            if !first {
                out.push(' ');
            }
            out.push_str(&rest[..cut]);
            out.push_str("\r\n");
            rest = &rest[cut..];
            first = false;
        }
    }
    out.push_str("\r\n");
    out
}

/// Writes a jar: `META-INF/` and the manifest first (where `JarInputStream` looks for
/// them), then every other entry in sorted order with its parent directories.
pub fn write_jar(
    dest: &Path,
    manifest: &str,
    entries: &BTreeMap<String, (Vec<u8>, bool)>,
) -> zip::result::ZipResult<()> {
    let file = std::fs::File::create(dest)?;
    let mut zip = ZipWriter::new(std::io::BufWriter::new(file));
    let time = DateTime::from_date_and_time(2000, 1, 1, 0, 0, 0).expect("valid date");
    let base = SimpleFileOptions::default()
        .last_modified_time(time)
        .compression_method(CompressionMethod::Deflated);
    let dir_opts = base.unix_permissions(0o755);
    zip.add_directory("META-INF/", dir_opts)?;
    zip.start_file(MANIFEST, base.unix_permissions(0o644))?;
    zip.write_all(manifest.as_bytes())?;
    let mut dirs = std::collections::BTreeSet::from(["META-INF/".to_string()]);
    for (path, (bytes, exec)) in entries {
        let mut parent = String::new();
        for part in path
            .split('/')
            .collect::<Vec<_>>()
            .split_last()
            .map(|(_, init)| init.to_vec())
            .unwrap_or_default()
        {
            parent.push_str(part);
            parent.push('/');
            if dirs.insert(parent.clone()) {
                zip.add_directory(parent.as_str(), dir_opts)?;
            }
        }
        zip.start_file(
            path.as_str(),
            base.unix_permissions(if *exec { 0o755 } else { 0o644 }),
        )?;
        zip.write_all(bytes)?;
    }
    zip.finish()?.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_and_data_readers_merge_and_the_first_provider_wins() {
        let mut e = Entries::default();
        e.add("META-INF/services/x.Y", b"a.One\n".to_vec(), false, "one");
        e.add("META-INF/services/x.Y", b"b.Two".to_vec(), false, "two");
        e.add("data_readers.clj", b"{foo/bar a/b}".to_vec(), false, "one");
        e.add(
            "data_readers.clj",
            b"{baz/qux c/d foo/bar z/z}".to_vec(),
            false,
            "two",
        );
        e.add("x.txt", b"first".to_vec(), false, "one");
        e.add("x.txt", b"second".to_vec(), false, "two");
        e.add("META-INF/SIGNER.SF", b"sig".to_vec(), false, "two");
        assert_eq!(e.files["META-INF/services/x.Y"].0, b"a.One\nb.Two");
        assert_eq!(
            String::from_utf8_lossy(&e.files["data_readers.clj"].0),
            "{foo/bar a/b\n baz/qux c/d}\n"
        );
        assert_eq!(e.files["x.txt"].0, b"first");
        assert_eq!(e.warnings.len(), 1);
        assert!(!e.files.contains_key("META-INF/SIGNER.SF"));
    }

    #[test]
    fn long_manifest_lines_are_continued() {
        let m = manifest(Some(&"a.".repeat(50)), &BTreeMap::new());
        for line in m.split("\r\n") {
            assert!(line.len() <= 72, "{line}");
        }
        let joined = m.replace("\r\n ", "");
        assert!(joined.contains(&format!("Main-Class: {}\r\n", "a.".repeat(50))));
        assert!(m.ends_with("\r\n\r\n"));
    }

    #[test]
    fn same_entries_same_bytes_with_sorted_entries() {
        let dir = tempfile::tempdir().unwrap();
        let mut e = BTreeMap::new();
        e.insert("b/B.class".to_string(), (vec![1, 2, 3], false));
        e.insert("a/A.class".to_string(), (vec![4, 5], false));
        let m = manifest(None, &BTreeMap::new());
        write_jar(&dir.path().join("1.jar"), &m, &e).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        write_jar(&dir.path().join("2.jar"), &m, &e).unwrap();
        let one = std::fs::read(dir.path().join("1.jar")).unwrap();
        assert_eq!(one, std::fs::read(dir.path().join("2.jar")).unwrap());
        let mut z =
            zip::ZipArchive::new(std::fs::File::open(dir.path().join("1.jar")).unwrap()).unwrap();
        let names: Vec<String> = (0..z.len())
            .map(|i| z.by_index(i).unwrap().name().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "META-INF/",
                "META-INF/MANIFEST.MF",
                "a/",
                "a/A.class",
                "b/",
                "b/B.class"
            ]
        );
    }
}
