//! Part results ([`Ctx::recall`], [`Ctx::remember`]): a rule that does its work in pieces,
//! keyed by what each piece read, gets back the pieces of earlier runs, those of a failed run
//! included, but never one made while an input it fetched changed.

mod common;

use common::Quiet;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use futures::FutureExt;
use kbuild_engine::{
    BuildError, Config, Ctx, Engine, Hash, InputEnv, Inputs, Key, Rule, Target, Value,
};

/// The cells the rule reads, and which one it overwrites while it runs (a file saved meanwhile).
#[derive(Default)]
struct World {
    cells: Vec<String>,
    edit_while_running: Option<(usize, String)>,
}

struct Cells(Arc<Mutex<World>>);

impl Inputs for Cells {
    fn compute(
        &self,
        _: &str,
        arg: &str,
        _: InputEnv,
    ) -> BoxFuture<'static, Result<Value, BuildError>> {
        let w = self.0.lock().unwrap();
        let text = arg
            .parse::<usize>()
            .ok()
            .and_then(|i| w.cells.get(i).cloned())
            .unwrap_or_default();
        async move { Ok(Value::Text(text)) }.boxed()
    }

    fn describe(&self, kind: &str, arg: &str) -> String {
        format!("{kind} {arg}")
    }
}

/// One piece per cell, keyed by the cell's value; a cell saying "bad" fails its piece.
struct Pieces {
    world: Arc<Mutex<World>>,
    /// Per build: the pieces recalled and the pieces made.
    log: Arc<Mutex<(Vec<String>, Vec<String>)>>,
}

impl Rule for Pieces {
    fn name(&self) -> &'static str {
        "pieces"
    }

    fn version(&self) -> u32 {
        1
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Result<serde_json::Value, BuildError>> {
        async move {
            let n = self.world.lock().unwrap().cells.len();
            let cells = ctx
                .fetch_all((0..n).map(|i| Key::input("cell", i.to_string())).collect())
                .await?;
            let edit = self.world.lock().unwrap().edit_while_running.take();
            if let Some((i, text)) = edit {
                self.world.lock().unwrap().cells[i] = text;
            }
            let mut failed = false;
            for c in &cells {
                let Value::Text(text) = &*c.value else {
                    unreachable!()
                };
                let key = Hash::of(text.as_bytes());
                let mut log = self.log.lock().unwrap();
                if let Some(piece) = ctx.recall(key)? {
                    assert_eq!(piece, format!("made from {text}").into_bytes());
                    log.0.push(text.clone());
                } else if text == "bad" {
                    failed = true;
                } else {
                    ctx.remember(key, format!("made from {text}").into_bytes());
                    log.1.push(text.clone());
                }
            }
            if failed {
                return Err(ctx.fail("a bad piece"));
            }
            Ok(serde_json::Value::Null)
        }
        .boxed()
    }
}

/// Builds the one target; what was recalled and made, sorted, and whether it succeeded.
fn build(dir: &std::path::Path, world: &Arc<Mutex<World>>) -> (Vec<String>, Vec<String>, bool) {
    let log = Arc::new(Mutex::new((Vec::new(), Vec::new())));
    let rule: Arc<dyn Rule> = Arc::new(Pieces {
        world: world.clone(),
        log: log.clone(),
    });
    let targets: BTreeMap<String, Target> = [(
        "t".to_string(),
        Target {
            rule,
            definition: String::new(),
            always_runs: None,
            spec: Arc::new(()),
            place: None,
        },
    )]
    .into_iter()
    .collect();
    let config = Config {
        root: dir.to_path_buf(),
        state: dir.join(".kbuild"),
        out_root: dir.join("out"),
        jobs: 1,
        ..Config::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let engine = Engine::open(
        config,
        targets,
        Arc::new(Cells(world.clone())),
        Arc::new(Quiet),
    )
    .unwrap();
    let ok = rt.block_on(engine.build(&["t".to_string()]))[0].1.is_ok();
    drop(engine);
    let (mut recalled, mut made) = log.lock().unwrap().clone();
    recalled.sort();
    made.sort();
    (recalled, made, ok)
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn pieces_of_earlier_runs_come_back_even_from_a_failed_run() {
    let dir = tempfile::tempdir().unwrap();
    let world = Arc::new(Mutex::new(World {
        cells: strings(&["a", "b", "bad"]),
        ..World::default()
    }));
    assert_eq!(
        build(dir.path(), &world),
        (vec![], strings(&["a", "b"]), false)
    );
    world.lock().unwrap().cells[2] = "c".into();
    assert_eq!(
        build(dir.path(), &world),
        (strings(&["a", "b"]), strings(&["c"]), true)
    );
    world.lock().unwrap().cells[0] = "a2".into();
    assert_eq!(
        build(dir.path(), &world),
        (strings(&["b", "c"]), strings(&["a2"]), true)
    );
}

#[test]
fn no_piece_is_kept_from_a_run_during_which_an_input_changed() {
    let dir = tempfile::tempdir().unwrap();
    let world = Arc::new(Mutex::new(World {
        cells: strings(&["a", "b"]),
        edit_while_running: Some((0, "x".into())),
    }));
    let (_, made, ok) = build(dir.path(), &world);
    assert_eq!((made, ok), (strings(&["a", "b"]), false));
    // Neither "a" nor "b" was kept: the run read "a" while the cell became "x".
    world.lock().unwrap().cells[0] = "a".into();
    assert_eq!(
        build(dir.path(), &world),
        (vec![], strings(&["a", "b"]), true)
    );
    assert_eq!(
        build(dir.path(), &world),
        (vec![], vec![], true),
        "up to date: the rule does not run"
    );
}
