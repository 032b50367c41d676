//! `jar`: deterministic packaging of the dependencies' products. Entries are sorted, every
//! timestamp is the same fixed date, modes are fixed, so the same inputs give the same bytes
//! in any directory on any machine.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::fetch_targets;
use crate::engine::{BuildError, Ctx, Hash};
use crate::settings::Rule;

const MANIFEST: &str = "META-INF/MANIFEST.MF";

pub async fn run(
    ctx: &Ctx,
    main_class: Option<&str>,
    extra: &BTreeMap<String, String>,
    stage: &Path,
) -> Result<(), BuildError> {
    let deps = ctx.project().targets[&ctx.target].deps.clone();
    for d in &deps {
        if let Rule::Jar { .. } = ctx.project().targets[d].rule {
            return Err(ctx.fail(format!(
                "{d} is a jar; a jar packages java-library, resources and command targets"
            )));
        }
    }
    let products = fetch_targets(ctx, &deps).await?;
    // The first dependency that provides a path wins, as on a classpath.
    let mut entries: BTreeMap<String, (Hash, bool, &str)> = BTreeMap::new();
    for (dep, computed) in deps.iter().zip(&products) {
        let Some(product) = computed.product() else {
            continue;
        };
        for (path, e) in &product.files {
            if path == MANIFEST {
                continue;
            }
            match entries.get(path) {
                Some((h, _, first)) if *h != e.digest => ctx.engine.printer.warn(&format!(
                    "target {}: {dep} and {first} both provide {path}; using {first}'s",
                    ctx.target
                )),
                Some(_) => {}
                None => {
                    entries.insert(path.clone(), (e.digest, e.exec, dep.as_str()));
                }
            }
        }
    }
    let mut contents = BTreeMap::new();
    for (path, (h, exec, _)) in entries {
        contents.insert(path, (ctx.engine.blob(h)?, exec));
    }
    let manifest = manifest(main_class, extra);
    let dest = stage.join(format!("{}.jar", ctx.target));
    let _slot = ctx.engine.job_slot().await;
    ctx.engine.printer.running(&ctx.target);
    write_jar(&dest, &manifest, &contents)
        .map_err(|e| ctx.fail(format!("writing {}: {e}", dest.display())))
}

/// A manifest in the JAR format: `Name: value` lines of at most 72 bytes, continued with a
/// leading space, CRLF line ends.
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
