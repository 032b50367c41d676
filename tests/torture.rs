//! Torture, bounded (well under two minutes): builds of the `mixed` fixture killed with SIGKILL
//! at random moments, sometimes beside a second build of the same checkout, interleaved with
//! damage to kbuild's stores (a deleted or corrupt blob in the machine-wide content store, a
//! garbled trace file in the machine-wide cache, a damaged database, a deleted output); after
//! each, a build that must succeed with outputs byte for byte equal to a clean build's of the
//! same sources. `KBUILD_TORTURE_SEED=N` replays a run.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{outputs, Build, Project};

const UTIL: &str = "src/util/u/Util.java";
const GREETING: &str = "resources/greeting.txt";

/// The sources in state `s`: 0 as the fixture has them, 1 with an edited class (javac, the
/// jar), 2 with an edited resource (the resources target, the jar).
fn set_state(p: &Project, s: u64, util: &str, greeting: &str) {
    let (u, g) = match s {
        0 => (util.to_string(), greeting.to_string()),
        1 => (util.replace("Hello", "Tortured"), greeting.to_string()),
        _ => (util.to_string(), greeting.replace("travel", "crawl")),
    };
    if p.read(UTIL) != u {
        p.write(UTIL, &u);
    }
    if p.read(GREETING) != g {
        p.write(GREETING, &g);
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        (!items.is_empty()).then(|| &items[self.below(items.len() as u64) as usize])
    }
}

fn files_under(dir: &Path, skip: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.file_name().is_some_and(|n| n == skip) {
                continue;
            }
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(t) if t.is_file() => out.push(path),
                _ => {}
            }
        }
    }
    out.sort();
    out
}

/// One kind of damage, done; what it did, for the log.
fn damage(p: &Project, rng: &mut Rng) -> String {
    let blobs = files_under(&p.cache.path().join("cas"), "tmp");
    let traces = files_under(&p.cache.path().join("traces"), "");
    let db = p.path(".kbuild/db");
    match rng.below(7) {
        0 => match rng.pick(&blobs) {
            Some(b) => {
                fs::remove_file(b).unwrap();
                format!("deleted blob {}", b.display())
            }
            None => "no blob to delete".into(),
        },
        1 => match rng.pick(&blobs) {
            Some(b) => {
                fs::write(b, "not what it was").unwrap();
                format!("corrupted blob {}", b.display())
            }
            None => "no blob to corrupt".into(),
        },
        2 | 3 => match rng.pick(&traces) {
            Some(t) => {
                let mut bytes = fs::read(t).unwrap();
                if bytes.is_empty() || rng.below(3) == 0 {
                    bytes.truncate(rng.below(bytes.len() as u64 + 1) as usize);
                } else {
                    let i = rng.below(bytes.len() as u64) as usize;
                    bytes[i] ^= 1 << rng.below(8);
                }
                fs::write(t, bytes).unwrap();
                format!("garbled trace {}", t.display())
            }
            None => "no trace to garble".into(),
        },
        4 => {
            let tables: Vec<PathBuf> = files_under(&db, "")
                .into_iter()
                .filter(|f| f.extension().is_some_and(|e| e == "sst"))
                .collect();
            match (rng.below(2), rng.pick(&tables)) {
                (0, Some(t)) => {
                    let b = fs::read(t).unwrap();
                    fs::write(t, &b[..b.len() / 2]).unwrap();
                    format!("truncated table {}", t.display())
                }
                _ if db.join("CURRENT").exists() => {
                    fs::write(db.join("CURRENT"), "garbage\n").unwrap();
                    "garbled the database's CURRENT".into()
                }
                _ => "no database to damage".into(),
            }
        }
        5 => {
            let outs = files_under(&p.path("target/kbuild"), ".tmp");
            match rng.pick(&outs) {
                Some(o) => {
                    fs::remove_file(o).unwrap();
                    format!("deleted output {}", o.display())
                }
                None => "no output to delete".into(),
            }
        }
        _ => "no damage".into(),
    }
}

#[test]
fn killed_builds_and_damaged_stores_are_followed_by_correct_builds() {
    let started = Instant::now();
    let budget = Duration::from_secs(75);
    let seed = std::env::var("KBUILD_TORTURE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        })
        | 1;
    eprintln!("KBUILD_TORTURE_SEED={seed}");
    let mut rng = Rng(seed);

    // Clean builds of each state, without any cache: what the tortured builds must equal.
    let reference = Project::new("mixed");
    let util = reference.read(UTIL);
    let greeting = reference.read(GREETING);
    let mut want: BTreeMap<u64, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
    for s in 0..3 {
        set_state(&reference, s, &util, &greeting);
        assert!(reference.run(&["clean"]).status.success());
        let out = reference
            .command(&["--json", "build"])
            .env("KBUILD_CACHE", "off")
            .output()
            .unwrap();
        let b = Build::from(out);
        assert!(b.ok(), "{}", b.stderr);
        assert_eq!(b.summary()["executed"], 5);
        want.insert(s, outputs(reference.dir.path()));
    }
    assert_ne!(want[&0], want[&1]);
    assert_ne!(want[&0], want[&2]);

    let p = Project::new("mixed");
    let mut rounds = 0;
    while rounds < 30 && (rounds < 4 || started.elapsed() < budget) {
        rounds += 1;
        let state = rng.below(3);
        set_state(&p, state, &util, &greeting);
        let delay = Duration::from_millis(rng.below(2500));
        let mut victim = p.command(&["build"]).stderr(Stdio::null()).spawn().unwrap();
        // Sometimes a second build of the same checkout runs beside it (and waits for it).
        let bystander = (rng.below(3) == 0).then(|| {
            p.command(&["--json", "build"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        });
        std::thread::sleep(delay);
        victim.kill().unwrap(); // SIGKILL
        victim.wait().unwrap();
        if let Some(b) = bystander {
            let b = Build::from(b.wait_with_output().unwrap());
            assert!(
                b.ok(),
                "seed {seed} round {rounds}: the bystander failed:\n{}",
                b.stderr
            );
        }
        let did = damage(&p, &mut rng);
        eprintln!("round {rounds}: state {state}, killed after {delay:?}, {did}");
        let b = p.build(&[]);
        assert_eq!(
            b.failed().len(),
            0,
            "seed {seed} round {rounds}: {}",
            b.stderr
        );
        let got = outputs(p.dir.path());
        assert_eq!(
            got.get("dist/dist.jar"),
            want[&state].get("dist/dist.jar"),
            "seed {seed} round {rounds} ({did}): the jar differs from a clean build's"
        );
        assert_eq!(
            got, want[&state],
            "seed {seed} round {rounds} ({did}): outputs differ from a clean build's"
        );
    }
    // Nothing is left half-done: the next build has nothing to do.
    let b = p.build(&[]);
    assert!(
        b.executed().is_empty(),
        "seed {seed}: ran {:?}",
        b.executed()
    );
    eprintln!("{rounds} rounds in {:?}", started.elapsed());
}
