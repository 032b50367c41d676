//! `Ctx::previous`: a rule that runs sees the product last put in place for its target (the
//! first of its traces, which a restore promotes) with what that run fetched, and its detail
//! reaches the target's note.

mod common;

use common::Quiet;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use futures::FutureExt;
use kbuild_engine::{
    BuildError, Config, Ctx, Engine, InputEnv, Inputs, Key, Rule, Status, Target, Value,
};

/// One input cell, `cell`, whose text the test sets.
struct Cell(Arc<Mutex<String>>);

impl Inputs for Cell {
    fn compute(
        &self,
        _: &str,
        _: &str,
        _: InputEnv,
    ) -> BoxFuture<'static, Result<Value, BuildError>> {
        let text = self.0.lock().unwrap().clone();
        async move { Ok(Value::Text(text)) }.boxed()
    }

    fn describe(&self, kind: &str, arg: &str) -> String {
        format!("{kind} {arg}")
    }
}

/// Writes `out`: the cell's text, after the previous product's `out` and the digest the
/// cell had then, as the rule saw them.
struct Chain;

impl Rule for Chain {
    fn name(&self) -> &'static str {
        "chain"
    }

    fn version(&self) -> u32 {
        1
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Result<serde_json::Value, BuildError>> {
        async move {
            let key = Key::input("cell", "0");
            let now = ctx.fetch(key.clone()).await?;
            let Value::Text(text) = &*now.value else {
                unreachable!()
            };
            let before = match ctx.previous() {
                None => "none".to_string(),
                Some(p) => {
                    let out =
                        String::from_utf8(ctx.previous_file(&p.product.files["out"])?).unwrap();
                    let was = p.fetched(&key) == Some(Value::Text("x".into()).hash());
                    assert_eq!(ctx.fetched().get(&key), Some(&now.hash));
                    format!("{out} (cell was {}x)", if was { "" } else { "not " })
                }
            };
            ctx.detail(format!("after {before}"));
            std::fs::write(ctx.stage().join("out"), text).map_err(|e| BuildError::io("out", e))?;
            Ok(serde_json::Value::Null)
        }
        .boxed()
    }
}

/// Builds target `t` with the cell set to `text`: its status and its note's detail.
fn build(dir: &std::path::Path, text: &str) -> (Status, Option<String>) {
    let cell = Arc::new(Mutex::new(text.to_string()));
    let target = Target {
        rule: Arc::new(Chain),
        definition: "t".into(),
        always_runs: None,
        spec: Arc::new(()),
        place: None,
    };
    let config = Config {
        root: dir.to_path_buf(),
        state: dir.join(".kbuild"),
        out_root: dir.join("out"),
        jobs: 1,
        ..Config::default()
    };
    let engine = Engine::open(
        config,
        [("t".to_string(), target)].into_iter().collect(),
        Arc::new(Cell(cell)),
        Arc::new(Quiet),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let results = rt.block_on(engine.build(&["t".to_string()]));
    assert!(results.iter().all(|(_, r)| r.is_ok()));
    let status = engine.status("t").unwrap();
    let detail = engine.note("t").unwrap().and_then(|n| n.detail);
    (status, detail)
}

#[test]
fn a_run_sees_the_product_last_put_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(build(d, "x"), (Status::Executed, Some("after none".into())));
    let (status, detail) = build(d, "y");
    assert_eq!(status, Status::Executed);
    assert_eq!(detail.as_deref(), Some("after x (cell was x)"));
    // Back to x: restored from its trace, which becomes the first.
    assert_eq!(build(d, "x").0, Status::Restored);
    let (status, detail) = build(d, "z");
    assert_eq!(status, Status::Executed);
    assert_eq!(detail.as_deref(), Some("after x (cell was x)"));
    let (_, detail) = build(d, "w");
    assert_eq!(detail.as_deref(), Some("after z (cell was not x)"));
}
