//! The engine's promises, checked on generated cases with toy rules (no JVM): random DAGs of
//! tasks that read input cells, fetch their dependencies (whole, or through a coarser facet of
//! their providers), and sometimes choose a dependency from a value they fetched (a dynamic
//! dependency); random edits of the cells, of the graph
//! (edges added and removed, targets renamed), reverts, and failing runs. After every build:
//! - every product equals what a model computes from scratch (incremental equals clean);
//! - a task ran only if something it reads differs from its last successful build (cutoff);
//! - no task ran twice in one invocation;
//! - a revert to an earlier state that built runs nothing.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use futures::FutureExt;
use kbuild_engine::{
    BuildError, Config, Ctx, Engine, InputEnv, Inputs, Key, Reporter, Rule, Status, Target, Value,
};
use proptest::prelude::*;

/// What a toy target reads: cells, dependencies, and optionally a cell naming one more
/// dependency among the targets declared before it.
#[derive(Clone, Debug, PartialEq)]
struct Toy {
    cells: Vec<usize>,
    deps: Vec<usize>,
    /// Dependencies read only through a facet (the last character of their product).
    facets: Vec<usize>,
    pick: bool,
}

/// The world a build sees: cell contents and the graph (target names and their toys, in
/// declaration order; a target's deps and pick refer to earlier ones).
#[derive(Clone, Debug, PartialEq)]
struct World {
    cells: Vec<String>,
    picks: Vec<usize>,
    names: Vec<String>,
    toys: Vec<Toy>,
    /// Per target, an input only it reads: bumped to make it run.
    nonces: Vec<u64>,
    /// A target whose rule fails this time (an interrupted run); its nonce was bumped so that
    /// it does run.
    failing: Option<usize>,
}

impl World {
    fn picked(&self, i: usize) -> Option<usize> {
        (self.toys[i].pick && i > 0).then(|| self.picks[i] % i)
    }

    /// What target `i` reads, as text: equal signatures must give equal products.
    fn signature(&self, i: usize, outs: &[String]) -> String {
        let t = &self.toys[i];
        let mut sig = format!("{:?}|{}|", self.definition(i), self.nonces[i]);
        for c in &t.cells {
            sig.push_str(&self.cells[*c]);
            sig.push('|');
        }
        for d in &t.deps {
            sig.push_str(&outs[*d]);
            sig.push('|');
        }
        for d in &t.facets {
            sig.push_str(&facet(&outs[*d]));
            sig.push('|');
        }
        if let Some(p) = self.picked(i) {
            sig.push_str(&format!(
                "pick {} {} {}",
                self.picks[i], self.names[p], outs[p]
            ));
        }
        sig
    }

    fn definition(&self, i: usize) -> String {
        let t = &self.toys[i];
        let names =
            |ds: &[usize]| -> Vec<String> { ds.iter().map(|d| self.names[*d].clone()).collect() };
        format!(
            "cells {:?} deps {:?} facets {:?} pick {}",
            t.cells,
            names(&t.deps),
            names(&t.facets),
            t.pick
        )
    }

    /// The model: every product's content, computed from scratch.
    fn model(&self) -> Vec<String> {
        let mut outs: Vec<String> = Vec::new();
        for i in 0..self.toys.len() {
            let sig = self.signature(i, &outs);
            outs.push(coarse(&sig));
        }
        outs
    }
}

/// The facet a product shows its facet readers, as the engine gives it (JSON text): coarser
/// than the product (`v0` and `v2` look alike), so that it cuts off where the product does not.
fn facet(out: &str) -> String {
    let odd = out.ends_with(['1', '3', '5', '7', '9']);
    serde_json::Value::String(if odd { "odd" } else { "even" }.into()).to_string()
}

/// A deliberately coarse function of what a task read, so that many edits cut off.
fn coarse(text: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in text.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x100000001b3);
    }
    format!("v{}", h % 3)
}

/// The cells, as the engine's inputs.
struct Cells(Arc<Mutex<World>>);

impl Inputs for Cells {
    fn compute(
        &self,
        kind: &str,
        arg: &str,
        _: InputEnv,
    ) -> BoxFuture<'static, Result<Value, BuildError>> {
        let w = self.0.lock().unwrap();
        let text = match (kind, arg.parse::<usize>()) {
            ("cell", Ok(i)) => w.cells.get(i).cloned().unwrap_or_default(),
            ("pick", Ok(i)) => w.picks.get(i).map(|p| p.to_string()).unwrap_or_default(),
            ("nonce", Ok(i)) => w.nonces.get(i).map(|p| p.to_string()).unwrap_or_default(),
            _ => String::new(),
        };
        async move { Ok(Value::Text(text)) }.boxed()
    }

    fn describe(&self, kind: &str, arg: &str) -> String {
        format!("{kind} {arg}")
    }
}

/// The toy rule: reads its cells and dependencies, writes `out`.
struct ToyRule {
    world: Arc<Mutex<World>>,
    runs: Arc<Mutex<HashMap<String, usize>>>,
}

impl Rule for ToyRule {
    fn name(&self) -> &'static str {
        "toy"
    }

    fn version(&self) -> u32 {
        1
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Result<serde_json::Value, BuildError>> {
        async move {
            *self
                .runs
                .lock()
                .unwrap()
                .entry(ctx.target().to_string())
                .or_default() += 1;
            let i: usize = *ctx.spec::<usize>();
            let (toy, names, failing) = {
                let w = self.world.lock().unwrap();
                (w.toys[i].clone(), w.names.clone(), w.failing)
            };
            let nonce = ctx.fetch(Key::input("nonce", i.to_string())).await?;
            let Value::Text(nonce) = &*nonce.value else {
                unreachable!()
            };
            let cells = ctx
                .fetch_all(
                    toy.cells
                        .iter()
                        .map(|c| Key::input("cell", c.to_string()))
                        .collect(),
                )
                .await?;
            let deps = ctx
                .fetch_all(
                    toy.deps
                        .iter()
                        .map(|d| Key::Target(names[*d].clone()))
                        .collect(),
                )
                .await?;
            let _ = deps;
            let read_out = |name: &str| std::fs::read_to_string(ctx.out_dir(name).join("out"));
            let mut sig = {
                let w = self.world.lock().unwrap();
                format!("{:?}|{nonce}|", w.definition(i))
            };
            for c in &cells {
                let Value::Text(t) = &*c.value else {
                    unreachable!()
                };
                sig.push_str(t);
                sig.push('|');
            }
            for d in &toy.deps {
                sig.push_str(&read_out(&names[*d]).map_err(|e| BuildError::io("out", e))?);
                sig.push('|');
            }
            let keys = toy
                .facets
                .iter()
                .map(|d| Key::Facet {
                    target: names[*d].clone(),
                    name: "last".into(),
                })
                .collect();
            for f in ctx.fetch_all(keys).await? {
                let Value::Text(t) = &*f.value else {
                    unreachable!()
                };
                sig.push_str(t);
                sig.push('|');
            }
            if toy.pick && i > 0 {
                let p = ctx.fetch(Key::input("pick", i.to_string())).await?;
                let Value::Text(p) = &*p.value else {
                    unreachable!()
                };
                let n: usize = p.parse().unwrap_or(0);
                let picked = names[n % i].clone();
                ctx.fetch(Key::Target(picked.clone())).await?;
                let out = read_out(&picked).map_err(|e| BuildError::io("out", e))?;
                sig.push_str(&format!("pick {n} {picked} {out}"));
            }
            if failing == Some(i) {
                return Err(ctx.fail("injected failure"));
            }
            let out = coarse(&sig);
            std::fs::write(ctx.stage().join("out"), &out).map_err(|e| BuildError::io("out", e))?;
            let last: serde_json::Value = serde_json::from_str(&facet(&out)).unwrap();
            Ok(serde_json::json!({ "last": last }))
        }
        .boxed()
    }
}

#[derive(Default)]
struct Quiet(Mutex<BTreeMap<String, Status>>);

impl Reporter for Quiet {
    fn task(&self, target: &str, _: &str, status: Status, _: u64) {
        self.0.lock().unwrap().insert(target.to_string(), status);
    }
    fn running(&self, _: &str) {}
    fn tool_output(&self, _: &str, _: &str) {}
    fn warn(&self, _: &str) {}
    fn error(&self, _: &str) {}
}

/// A checkout: its directories, kept across builds.
struct Checkout {
    dir: tempfile::TempDir,
}

struct Built {
    outs: BTreeMap<String, Result<String, String>>,
    runs: HashMap<String, usize>,
}

impl Checkout {
    fn new() -> Checkout {
        Checkout {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn build(&self, world: &World) -> Built {
        let shared = Arc::new(Mutex::new(world.clone()));
        let runs = Arc::new(Mutex::new(HashMap::new()));
        let rule: Arc<dyn Rule> = Arc::new(ToyRule {
            world: shared.clone(),
            runs: runs.clone(),
        });
        let targets = world
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let t = Target {
                    rule: rule.clone(),
                    definition: world.definition(i),
                    always_runs: None,
                    spec: Arc::new(i),
                    place: None,
                };
                (n.clone(), t)
            })
            .collect();
        let root = self.dir.path();
        let config = Config {
            root: root.to_path_buf(),
            state: root.join(".kbuild"),
            out_root: root.join("out"),
            jobs: 2,
            shared: None,
            remote: None,
            lock: None,
            watched: None,
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let engine = Engine::open(
            config,
            targets,
            Arc::new(Cells(shared)),
            Arc::new(Quiet::default()),
        )
        .unwrap();
        let results = rt.block_on(engine.build(&world.names));
        let outs = results
            .into_iter()
            .map(|(n, r)| {
                let dir = engine.out_dir(&n);
                let out = r.map_err(|e| e.to_string()).and_then(|_| {
                    // The rule writes one file; anything else there is a stray.
                    let mut names: Vec<String> = std::fs::read_dir(&dir)
                        .unwrap()
                        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                        .collect();
                    names.sort();
                    match names == ["out"] {
                        true => Ok(read(&dir.join("out"))),
                        false => Err(format!("{n}'s output directory holds {names:?}")),
                    }
                });
                (n, out)
            })
            .collect();
        drop(engine);
        let runs = runs.lock().unwrap().clone();
        Built { outs, runs }
    }
}

/// Sets every file and directory under `dir` an hour back.
fn age(dir: &Path) {
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for entry in walkdir::WalkDir::new(dir) {
        let entry = entry.unwrap();
        std::fs::File::open(entry.path())
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
}

/// Changes the output in `dir` (if there is one): rewritten with as many bytes (`how` 0 and
/// 1, the change only a stat tells), removed (2) or joined by a stray file (3).
fn tamper(dir: &Path, how: usize) {
    let out = dir.join("out");
    let Ok(text) = std::fs::read_to_string(&out) else {
        return;
    };
    match how {
        0 | 1 => std::fs::write(&out, "x".repeat(text.len())).unwrap(),
        2 => std::fs::remove_file(&out).unwrap(),
        _ => std::fs::write(dir.join("stray"), "").unwrap(),
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

#[derive(Clone, Debug)]
enum Step {
    SetCell(usize, String),
    SetPick(usize, usize),
    Rewire(usize, Vec<usize>),
    Rename(usize),
    Fail(usize),
    Revert,
    /// Every output file and directory made an hour old, so that their stats are trusted
    /// and later builds check outputs by their recorded stats alone.
    Age,
    /// An output changed behind the engine's back: rewritten with as many bytes, removed,
    /// or joined by a stray file.
    Tamper(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..4usize, "[ab]{0,2}").prop_map(|(c, v)| Step::SetCell(c, v)),
        1 => (0..8usize, 0..8usize).prop_map(|(t, p)| Step::SetPick(t, p)),
        1 => (0..8usize, proptest::collection::vec(0..8usize, 0..3)).prop_map(|(t, d)| Step::Rewire(t, d)),
        1 => (0..8usize).prop_map(Step::Rename),
        1 => (0..8usize).prop_map(Step::Fail),
        2 => Just(Step::Revert),
        2 => Just(Step::Age),
        2 => (0..32usize).prop_map(Step::Tamper),
    ]
}

fn world() -> impl Strategy<Value = World> {
    (1..7usize)
        .prop_flat_map(|n| {
            let toy = (
                proptest::collection::vec(0..4usize, 0..3),
                proptest::collection::vec(0..8usize, 0..3),
                proptest::collection::vec(0..8usize, 0..2),
                any::<bool>(),
            );
            (
                proptest::collection::vec("[ab]{0,2}", 4),
                proptest::collection::vec(0..8usize, n),
                proptest::collection::vec(toy, n),
            )
        })
        .prop_map(|(cells, picks, toys)| {
            let toys: Vec<Toy> = toys
                .into_iter()
                .enumerate()
                .map(|(i, (cells, deps, facets, pick))| Toy {
                    cells,
                    deps: earlier(i, &deps),
                    facets: earlier(i, &facets),
                    pick,
                })
                .collect();
            World {
                cells,
                names: (0..toys.len()).map(|i| format!("t{i}")).collect(),
                picks,
                nonces: vec![0; toys.len()],
                toys,
                failing: None,
            }
        })
}

/// Dependencies among the targets before `i`, each once: the graph stays acyclic.
fn earlier(i: usize, deps: &[usize]) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    if i == 0 {
        return out;
    }
    for d in deps {
        let d = d % i;
        if !out.contains(&d) {
            out.push(d);
        }
    }
    out
}

fn apply(w: &mut World, step: &Step, renames: &mut usize, nonce: &mut u64) {
    let n = w.toys.len();
    w.failing = None;
    match step {
        Step::SetCell(c, v) => w.cells[*c] = v.clone(),
        Step::SetPick(t, p) => w.picks[t % n] = *p,
        Step::Rewire(t, d) => {
            let t = t % n;
            w.toys[t].deps = earlier(t, d);
        }
        Step::Rename(t) => {
            *renames += 1;
            w.names[t % n] = format!("r{renames}");
        }
        Step::Fail(t) => {
            *nonce += 1;
            w.nonces[t % n] = *nonce;
            w.failing = Some(t % n);
        }
        Step::Revert | Step::Age | Step::Tamper(_) => unreachable!("handled by the walk"),
    }
}

/// Checks one build of `w` against the model; returns whether every target built.
fn check(
    w: &World,
    built: &Built,
    last: &mut HashMap<String, String>,
) -> Result<bool, TestCaseError> {
    let model = w.model();
    // Which targets the failure keeps from building: the failing one and everything above it.
    let mut broken = vec![false; w.toys.len()];
    for i in 0..w.toys.len() {
        let below_broken = w.toys[i]
            .deps
            .iter()
            .chain(&w.toys[i].facets)
            .any(|d| broken[*d])
            || w.picked(i).is_some_and(|p| broken[p]);
        broken[i] = w.failing == Some(i) || below_broken;
    }
    let mut outs: Vec<String> = Vec::new();
    for (i, name) in w.names.iter().enumerate() {
        let got = &built.outs[name];
        if broken[i] {
            prop_assert!(got.is_err(), "{name} built although {:?} failed", w.failing);
        } else {
            prop_assert_eq!(
                got.as_ref().ok(),
                Some(&model[i]),
                "{} differs from a clean build",
                name
            );
        }
        let runs = built.runs.get(name).copied().unwrap_or(0);
        prop_assert!(runs <= 1, "{name} ran {runs} times in one invocation");
        let sig = w.signature(i, &outs);
        outs.push(model[i].clone());
        if runs == 1 && !broken[i] {
            prop_assert!(
                last.get(name) != Some(&sig),
                "{name} ran although nothing it reads changed since its last build"
            );
        }
        if !broken[i] {
            last.insert(name.clone(), sig);
        }
    }
    Ok(!broken.iter().any(|b| *b))
}

proptest! {
    // 48 cases take seconds; PROPTEST_CASES=2000 for a longer hunt.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48)
    ))]

    #[test]
    fn incremental_builds_equal_clean_ones_cut_off_and_reverts_run_nothing(
        start in world(),
        steps in proptest::collection::vec(step(), 1..7),
    ) {
        let checkout = Checkout::new();
        let mut last: HashMap<String, String> = HashMap::new();
        let mut w = start;
        let first = checkout.build(&w);
        let mut ok = check(&w, &first, &mut last)?;
        let mut history: Vec<(World, bool)> = Vec::new();
        let (mut renames, mut nonce) = (0, 0);
        for s in &steps {
            let before = w.clone();
            if let Step::Revert = s {
                let Some((prev, prev_ok)) = history.pop() else { continue };
                // The state comes back; an injected failure is not part of it.
                w = prev;
                w.failing = None;
                let built = checkout.build(&w);
                let all_ok = check(&w, &built, &mut last)?;
                if prev_ok && all_ok {
                    let ran: Vec<&String> = built.runs.keys().collect();
                    prop_assert!(ran.is_empty(), "a revert ran {:?}", ran);
                }
                ok = all_ok;
                continue;
            }
            if let Step::Age | Step::Tamper(_) = s {
                // The world is as it was; only the disk changed.
                w.failing = None;
                match s {
                    Step::Tamper(t) => {
                        let name = &w.names[t / 4 % w.names.len()];
                        tamper(&checkout.dir.path().join("out").join(name), t % 4);
                    }
                    _ => age(&checkout.dir.path().join("out")),
                }
                let built = checkout.build(&w);
                let was_ok = ok;
                ok = check(&w, &built, &mut last)?;
                let ran: Vec<&String> = built.runs.keys().collect();
                prop_assert!(!was_ok || ran.is_empty(), "{:?} ran after {:?}", ran, s);
                continue;
            }
            apply(&mut w, s, &mut renames, &mut nonce);
            history.push((before, ok));
            let built = checkout.build(&w);
            ok = check(&w, &built, &mut last)?;
        }
        // And a clean build of the final state gives the same products.
        w.failing = None;
        let inc = checkout.build(&w);
        let clean = Checkout::new().build(&w);
        prop_assert_eq!(inc.outs, clean.outs);
    }
}

/// The case the generated walks reach only now and then: an output rewritten with as many
/// bytes once its stats are trusted, which only its stat tells from what was recorded.
#[test]
fn an_output_rewritten_after_its_stats_were_trusted_is_restored() {
    let toy = |deps: Vec<usize>, facets: Vec<usize>| Toy {
        cells: vec![0],
        deps,
        facets,
        pick: false,
    };
    let w = World {
        cells: vec!["ab".into(); 4],
        picks: vec![0; 2],
        nonces: vec![0; 2],
        names: vec!["a".into(), "b".into()],
        toys: vec![toy(vec![], vec![]), toy(vec![0], vec![0])],
        failing: None,
    };
    let checkout = Checkout::new();
    let first = checkout.build(&w);
    let out = checkout.dir.path().join("out");
    age(&out);
    // This build hashes the outputs once more and then trusts their stats.
    assert!(checkout.build(&w).runs.is_empty());
    for name in ["a", "b"] {
        tamper(&out.join(name), 0);
        let built = checkout.build(&w);
        assert_eq!(built.outs, first.outs, "{name} rewritten");
        assert!(built.runs.is_empty(), "{:?}", built.runs);
    }
}

#[test]
fn a_cycle_is_reported_with_its_path() {
    let w = World {
        cells: vec![String::new(); 4],
        picks: vec![0; 2],
        nonces: vec![0; 2],
        names: vec!["a".into(), "b".into()],
        toys: vec![
            Toy {
                cells: vec![],
                deps: vec![1],
                facets: vec![],
                pick: false,
            },
            Toy {
                cells: vec![],
                deps: vec![],
                facets: vec![0],
                pick: false,
            },
        ],
        failing: None,
    };
    // Both are requested at once, so either may be the one that closes the cycle.
    let built = Checkout::new().build(&w);
    for name in ["a", "b"] {
        let err = built.outs[name].clone().unwrap_err();
        assert!(
            err.contains("dependency cycle: a -> b -> a")
                || err.contains("dependency cycle: b -> a -> b"),
            "{err}"
        );
    }
}
