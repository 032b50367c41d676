//! `java-library`: javac over source globs, with the classes of every dependency (and
//! theirs) on the classpath. When only some sources changed since the previous product, it
//! compiles those and what their changes reach against the rest of it ([`incremental`]).

mod incremental;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use kbuild_engine::{BuildError, Ctx, Hash, Key};

use self::incremental::{Class, Unsure};
use super::info::{Deps, Info};
use super::{check_literals, fetch_files};
use crate::env::Env;
use crate::inputs::{glob_key, tool_key, Jdk};
use crate::javac_worker::Javac;
use crate::project::{self, Target};

pub async fn run(env: &Env, ctx: &Ctx) -> Result<serde_json::Value, BuildError> {
    let target = ctx.spec::<Target>();
    let project::Rule::JavaLibrary { srcs, javac_opts } = &target.rule else {
        return Err(ctx.fail("not a java-library"));
    };
    // The dependencies first: one may be a prep task that writes sources for this one.
    let deps = Deps::fetch_shapes(ctx).await?;
    let got = ctx
        .fetch_all(vec![tool_key("javac"), glob_key(srcs)])
        .await?;
    let files = got[1].files().to_vec();
    if files.is_empty() {
        return Err(ctx.fail(format!("no Java sources match {}", srcs.join(", "))));
    }
    check_literals(ctx, srcs, &files)?;
    // Every target below, not only the direct ones: javac reads them all, so a change in any
    // of them may change these classes even when the direct deps' classes cut off. Java
    // libraries count by their ABI only: what javac can observe of them.
    deps.fetch_compiled(ctx).await?;
    fetch_files(env, ctx, &files, false).await?;

    let jdk = env.jdk()?;
    let classpath = deps.classpath(env);
    let stage = ctx.stage();
    let why_full = match incremental(env, ctx, jdk, javac_opts, &classpath, &files).await? {
        Ok(compiled) => {
            ctx.detail(format!(
                "javac compiled {compiled} of {} sources, incrementally",
                files.len()
            ));
            None
        }
        Err(Unsure(why)) => Some(why),
    };
    if let Some(why) = why_full {
        clear(stage)?;
        let out = javac(env, ctx, jdk, javac_opts, &classpath, &files).await?;
        out.show(ctx);
        if !out.success() {
            return Err(ctx.fail(format!("javac failed ({})", out.exit_text())));
        }
        ctx.detail(format!("javac compiled all {} sources: {why}", files.len()));
    }
    let info = Info {
        abi: Some(abi(stage)?),
        ..deps.info(ctx.target(), target)
    };
    Ok(info.to_value())
}

/// Runs javac over `sources` into the stage, with `classpath`: every javac of this rule runs
/// here.
async fn javac(
    env: &Env,
    ctx: &Ctx,
    jdk: &Jdk,
    opts: &[String],
    classpath: &[String],
    sources: &[String],
) -> Result<Javac, BuildError> {
    let stage = ctx.stage();
    // Sources go through an argument file: a large library overflows a command line.
    let argfile = tempfile::NamedTempFile::new_in(stage.parent().unwrap_or(stage))
        .map_err(|e| BuildError::io("javac argument file", e))?;
    let quoted: Vec<String> = sources
        .iter()
        .map(|f| format!("\"{}\"", f.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    std::fs::write(argfile.path(), quoted.join("\n"))
        .map_err(|e| BuildError::io(argfile.path().display(), e))?;

    let mut args: Vec<String> = opts.to_vec();
    args.extend([
        "-d".into(),
        stage.to_string_lossy().into_owned(),
        "-implicit:none".into(),
    ]);
    // An empty -sourcepath keeps javac from compiling stray sources found on the classpath.
    args.extend(["-sourcepath".into(), String::new()]);
    if !classpath.is_empty() {
        args.extend(["-classpath".into(), classpath.join(":")]);
    }
    args.push(format!("@{}", argfile.path().display()));
    crate::javac_worker::run(env, ctx, jdk, &args).await
}

/// What an incremental compile starts from: the previous output, its classes, and which
/// sources changed or went since.
struct Base {
    bytes: BTreeMap<String, Vec<u8>>,
    classes: Vec<Class>,
    changed: BTreeSet<String>,
    deleted: BTreeSet<String>,
}

/// The previous product as a [`Base`], or why there is none to trust.
fn base(
    ctx: &Ctx,
    opts: &[String],
    classpath: &[String],
    files: &[String],
) -> Result<Base, Unsure> {
    let unsure = |why: String| Err(Unsure(why));
    // Annotation processors and compiler plugins run inside javac and may read or write
    // anything; `-h` and `-s` write outside the stage; without `SourceFile` no class can be
    // tied to its source.
    let flags = [
        "-processor",
        "-processorpath",
        "--processor-path",
        "--processor-module-path",
        "--module-source-path",
        "-h",
        "-s",
    ];
    let unsure_of = |o: &String| {
        flags.contains(&o.as_str())
            || o.starts_with("-Xplugin")
            || (o.starts_with("-g:") && !o.contains("source"))
    };
    if let Some(o) = opts.iter().find(|o| unsure_of(o)) {
        return unsure(format!("javac option {o}"));
    }
    if files.iter().any(|f| f.ends_with("module-info.java")) {
        return unsure("a module".into());
    }
    let Some(previous) = ctx.previous() else {
        return unsure("no previous output".into());
    };
    // Sources may change; everything else (the definition with its options, the JDK, what
    // the compiler sees of the dependencies) must be as it was.
    let now = ctx.fetched();
    let other = |k: &Key| {
        source_of_key(k).is_none() && !matches!(k, Key::Input { kind, .. } if &**kind == "glob")
    };
    let moved = now
        .iter()
        .find(|(k, h)| other(k) && previous.fetched(k) != Some(**h))
        .map(|(k, _)| k)
        .or_else(|| previous.keys().find(|k| other(k) && !now.contains_key(k)));
    if let Some(k) = moved {
        return unsure(format!("{k} changed"));
    }
    if !opts.iter().any(|o| o == "-proc:none") {
        if let Some(cp) = classpath
            .iter()
            .find(|cp| has_processor(&ctx.root().join(cp)))
        {
            return unsure(format!("{cp} provides an annotation processor"));
        }
    }
    let old_sources: Vec<&str> = previous.keys().filter_map(source_of_key).collect();
    let changed: BTreeSet<String> = now
        .iter()
        .filter(|(k, h)| previous.fetched(k) != Some(**h))
        .filter_map(|(k, _)| source_of_key(k).map(String::from))
        .collect();
    let deleted: BTreeSet<String> = old_sources
        .iter()
        .filter(|s| !files.iter().any(|f| f == *s))
        .map(|s| s.to_string())
        .collect();
    if changed.is_empty() && deleted.is_empty() {
        return unsure("no source changed".into());
    }
    let mut bytes = BTreeMap::new();
    let mut classes = Vec::new();
    for (path, entry) in &previous.product.files {
        let Ok(b) = ctx.previous_file(entry) else {
            return unsure("the previous output is not in the store".into());
        };
        match Class::read(path, &b, &old_sources) {
            Ok(Some(c)) if path.ends_with(".class") && !entry.exec => classes.push(c),
            _ => return unsure(format!("{path} of the previous output")),
        }
        bytes.insert(path.clone(), b);
    }
    Ok(Base {
        bytes,
        classes,
        changed,
        deleted,
    })
}

/// Compiles only what changed since the previous product, and what that reaches, into the
/// stage, over the rest of the previous product (see [`incremental`](self::incremental)):
/// the number of sources compiled, or why everything must be compiled instead. Whatever it
/// decides, the rule has fetched exactly what a full compile fetches.
async fn incremental(
    env: &Env,
    ctx: &Ctx,
    jdk: &Jdk,
    opts: &[String],
    classpath: &[String],
    files: &[String],
) -> Result<Result<usize, Unsure>, BuildError> {
    let unsure = |why: &str| Ok(Err(Unsure(why.to_string())));
    let Base {
        bytes: old_bytes,
        classes: old,
        changed,
        deleted,
    } = match base(ctx, opts, classpath, files) {
        Ok(base) => base,
        Err(e) => return Ok(Err(e)),
    };
    let plan = match incremental::first_pass(&old, files, &changed, &deleted) {
        Ok(plan) => plan,
        Err(e) => return Ok(Err(e)),
    };
    let stage = ctx.stage();
    for (path, bytes) in old_bytes.iter().filter(|(p, _)| !plan.drop.contains(*p)) {
        ctx.keep_previous_file(path, bytes)?;
    }
    // The stage comes first: the classes of this target's sources hide any of the same name
    // below, as the sources themselves do in a full compile.
    let mut classpath_here = vec![stage.to_string_lossy().into_owned()];
    classpath_here.extend(classpath.iter().cloned());
    let compile = |sources: Vec<String>| {
        let classpath_here = &classpath_here;
        async move {
            let out = javac(env, ctx, jdk, opts, classpath_here, &sources).await?;
            Ok::<_, BuildError>((out, sources))
        }
    };

    let (out, first) = compile(plan.compile).await?;
    if !out.success() {
        return unsure(
            "javac failed on the changed sources; their diagnostics come from a full compile",
        );
    }
    let replaced: BTreeSet<String> = first.iter().cloned().chain(deleted).collect();
    let first_classes = match new_classes(stage, &old_bytes, &plan.drop, &first)? {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    // The sources are this run's inputs, fetched above (a file that does not read is
    // taken to mention anything).
    let mentions = |source: &str, words: &[&str]| {
        std::fs::read_to_string(ctx.root().join(source))
            .map_or(true, |text| incremental::mentions(&text, words))
    };
    let next = match incremental::dependents(&old, &replaced, &first_classes, mentions) {
        Ok(next) => next,
        Err(e) => return Ok(Err(e)),
    };
    let mut compiled = first.len();
    let mut outputs = vec![out];
    if compiled + next.len() > files.len() / 2 {
        return unsure(&format!(
            "{} of {} sources to compile",
            compiled + next.len(),
            files.len()
        ));
    }
    if !next.is_empty() {
        let mut dropped = plan.drop.clone();
        for c in old.iter().filter(|c| next.contains(&c.source)) {
            remove_file(&stage.join(&c.path))?;
            dropped.insert(c.path.clone());
        }
        let sources: Vec<String> = files
            .iter()
            .filter(|f| next.contains(*f))
            .cloned()
            .collect();
        let (out, second) = compile(sources).await?;
        if !out.success() {
            return unsure(
                "javac failed on the dependents; their diagnostics come from a full compile",
            );
        }
        // Everything written by now that is neither kept nor the first pass's.
        let mut before: BTreeMap<String, Vec<u8>> = old_bytes.clone();
        before.retain(|p, _| !dropped.contains(p));
        for c in &first_classes {
            before.insert(
                c.path.clone(),
                std::fs::read(stage.join(&c.path)).unwrap_or_default(),
            );
        }
        let second_classes = match new_classes(stage, &before, &BTreeSet::new(), &second)? {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        let again: BTreeSet<String> = second.iter().cloned().collect();
        if let Err(e) = incremental::same_abi(&old, &again, &second_classes) {
            return Ok(Err(e));
        }
        compiled += second.len();
        outputs.push(out);
    }
    for out in &outputs {
        out.show(ctx);
    }
    Ok(Ok(compiled))
}

/// The classes javac wrote into the stage from `sources`: those not among `kept` (paths
/// with their bytes before it ran, which must be untouched, less `dropped`). Unsure when
/// javac rewrote a kept class or wrote one that none of `sources` is the source of.
fn new_classes(
    stage: &Path,
    kept: &BTreeMap<String, Vec<u8>>,
    dropped: &BTreeSet<String>,
    sources: &[String],
) -> Result<Result<Vec<Class>, Unsure>, BuildError> {
    let sources: Vec<&str> = sources.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(stage).sort_by_file_name() {
        let entry = entry.map_err(|e| BuildError::Input(format!("reading classes: {e}")))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(stage).unwrap_or(entry.path());
        let path = rel.to_string_lossy().into_owned();
        let bytes = std::fs::read(entry.path()).map_err(|e| BuildError::io(rel.display(), e))?;
        match kept.get(&path) {
            Some(before) if !dropped.contains(&path) => {
                if *before != bytes {
                    return Ok(Err(Unsure(format!("javac rewrote {path}"))));
                }
            }
            _ => match Class::read(&path, &bytes, &sources) {
                Ok(Some(c)) => out.push(c),
                _ => return Ok(Err(Unsure(format!("javac wrote {path}")))),
            },
        }
    }
    Ok(Ok(out))
}

/// The source path a file input names, for inputs of kind `file` (`java@1:src/A.java`).
fn source_of_key(key: &Key) -> Option<&str> {
    match key {
        Key::Input { kind, arg } if &**kind == "file" => arg.split_once(':').map(|(_, p)| p),
        _ => None,
    }
}

/// Whether a classpath entry (a directory or a jar) declares an annotation processor.
fn has_processor(entry: &Path) -> bool {
    if entry.is_dir() {
        return entry.join(PROCESSORS).exists();
    }
    let Ok(file) = std::fs::File::open(entry) else {
        return false;
    };
    // A jar that does not open as one is no processor javac could load either.
    zip::ZipArchive::new(file).is_ok_and(|mut z| z.by_name(PROCESSORS).is_ok())
}

const PROCESSORS: &str = "META-INF/services/javax.annotation.processing.Processor";

fn remove_file(path: &Path) -> Result<(), BuildError> {
    std::fs::remove_file(path).map_err(|e| BuildError::io(path.display(), e))
}

/// Empties the stage, for a full compile after an incremental attempt.
fn clear(stage: &Path) -> Result<(), BuildError> {
    for entry in std::fs::read_dir(stage).map_err(|e| BuildError::io(stage.display(), e))? {
        let path = entry
            .map_err(|e| BuildError::io(stage.display(), e))?
            .path();
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|e| BuildError::io(path.display(), e))?;
    }
    Ok(())
}

/// The digest of what a compiler that uses these classes can observe: each class file's ABI
/// (`kbuild_classfile::abi_digest`), any other file whole. An annotation processor among them
/// runs inside its users' javac, so then every file counts whole; so does a class file that
/// does not parse.
fn abi(stage: &Path) -> Result<Hash, BuildError> {
    let whole = stage.join(PROCESSORS).exists();
    let mut all = Vec::new();
    for entry in walkdir::WalkDir::new(stage).sort_by_file_name() {
        let entry = entry.map_err(|e| BuildError::Input(format!("reading classes: {e}")))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(stage).unwrap_or(entry.path());
        let bytes = std::fs::read(entry.path()).map_err(|e| BuildError::io(rel.display(), e))?;
        let is_class = rel.extension().is_some_and(|e| e == "class");
        let digest = match kbuild_classfile::abi_digest(&bytes) {
            Ok(abi) if is_class && !whole => abi,
            _ => Hash::of(&bytes).0,
        };
        all.extend_from_slice(rel.to_string_lossy().as_bytes());
        all.push(0);
        all.extend_from_slice(&digest);
    }
    Ok(Hash::of(&all))
}
