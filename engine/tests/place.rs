//! `Target::place`: a product put somewhere else than `out_root/<name>` (relative to the
//! root) is kept, checked and restored there like any other; a place that leaves the root
//! is refused when the engine opens.

mod common;

use common::Quiet;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use kbuild_engine::{
    BuildError, Config, Ctx, Engine, InputEnv, Inputs, Rule, Status, Target, Value,
};

struct NoInputs;

impl Inputs for NoInputs {
    fn compute(
        &self,
        _: &str,
        _: &str,
        _: InputEnv,
    ) -> BoxFuture<'static, Result<Value, BuildError>> {
        async { Ok(Value::Text(String::new())) }.boxed()
    }

    fn describe(&self, kind: &str, arg: &str) -> String {
        format!("{kind} {arg}")
    }
}

/// Writes `tree/file`.
struct Tree;

impl Rule for Tree {
    fn name(&self) -> &'static str {
        "tree"
    }

    fn version(&self) -> u32 {
        1
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Result<serde_json::Value, BuildError>> {
        async move {
            let dir = ctx.stage().join("tree");
            std::fs::create_dir_all(&dir).map_err(|e| BuildError::io("tree", e))?;
            std::fs::write(dir.join("file"), "made").map_err(|e| BuildError::io("file", e))?;
            Ok(serde_json::Value::Null)
        }
        .boxed()
    }
}

/// Opens the engine with one target, named with a `/`, placed at `place`.
fn open(dir: &std::path::Path, place: &str) -> Result<Arc<Engine>, BuildError> {
    let target = Target {
        rule: Arc::new(Tree),
        definition: "t".into(),
        always_runs: None,
        spec: Arc::new(()),
        place: Some(place.to_string()),
    };
    let config = Config {
        root: dir.to_path_buf(),
        state: dir.join(".kbuild"),
        out_root: dir.join("out"),
        jobs: 1,
        ..Config::default()
    };
    Engine::open(
        config,
        [("lib/t".to_string(), target)].into_iter().collect(),
        Arc::new(NoInputs),
        Arc::new(Quiet),
    )
}

fn build(dir: &std::path::Path) -> Status {
    let engine = open(dir, "vendor/t").unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let results = rt.block_on(engine.build(&["lib/t".to_string()]));
    assert!(results.iter().all(|(_, r)| r.is_ok()), "{:?}", results[0].1);
    assert_eq!(engine.out_dir("lib/t"), dir.join("vendor/t"));
    engine.status("lib/t").unwrap()
}

#[test]
fn a_placed_product_is_kept_and_restored_at_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = d.join("vendor/t/tree/file");
    assert_eq!(build(d), Status::Executed);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "made");
    assert!(!d.join("out/lib").exists(), "nothing under out_root");
    assert_eq!(build(d), Status::UpToDate);
    std::fs::write(&file, "edited").unwrap();
    assert_eq!(build(d), Status::Restored);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "made");
    std::fs::remove_dir_all(d.join("vendor")).unwrap();
    assert_eq!(build(d), Status::Restored);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "made");
}

#[test]
fn a_place_that_leaves_the_root_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["../t", "/tmp/t", "a/../../t"] {
        let err = open(dir.path(), bad).err().expect("refused");
        assert!(err.to_string().contains("lib/t"), "{bad}: {err}");
    }
}
