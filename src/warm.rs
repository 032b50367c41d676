//! Warm JVMs for `kbuild test`: a JVM's start and Clojure's own loading, paid before they are
//! needed. After a run, one spare JVM is started on the same classpath (by its entries and
//! their digests), JVM options and JDK, with `clojure.core` and `clojure.test` loaded but no
//! project namespace, waiting on a Unix socket in `.kbuild/warm/` (a directory only its owner
//! may enter, so only the user who started it can connect). The next run with the same key
//! takes it: the spare evaluates that run's forms and exits, so no JVM is used twice and every
//! run starts from a clean state. A spare exits after an idle time (`KBUILD_WARM_IDLE`
//! seconds, default 600) and when its socket is removed (`kbuild clean`).

use std::io::{Read, Write};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use kbuild_engine::Hash;

const IDLE_SECONDS: u64 = 600;

/// Where the spare for `key` waits.
pub fn socket(root: &Path, key: Hash) -> PathBuf {
    // Short: a Unix socket's path is limited to about 100 bytes.
    root.join(".kbuild/warm")
        .join(format!("{}.sock", &key.to_hex()[..16]))
}

/// Runs `script` in the spare waiting on `sock`, if one is: what it printed, once it exited.
/// None when there is none (or it went away before taking the script).
pub fn take(sock: &Path, script: &str) -> Option<String> {
    let mut stream = UnixStream::connect(sock).ok()?;
    stream.write_all(script.as_bytes()).ok()?;
    stream.shutdown(std::net::Shutdown::Write).ok()?;
    let mut out = Vec::new();
    stream.read_to_end(&mut out).ok()?;
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Starts a spare for `sock` in the background unless one is waiting there; it outlives this
/// kbuild. A spare that cannot start (an old JDK without Unix sockets, a path too long) only
/// means the next run starts its own JVM.
pub fn spawn(java: &Path, opts: &[String], cp: &str, sock: &Path) {
    if sock.exists() {
        return;
    }
    let Some(dir) = sock.parent() else {
        return;
    };
    if std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .is_err()
    {
        return;
    }
    let idle = std::env::var("KBUILD_WARM_IDLE")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(IDLE_SECONDS);
    let script = format!(
        "({} {:?} {})",
        include_str!("warm_spare.clj"),
        sock.to_string_lossy(),
        idle * 1000
    );
    let log = std::fs::File::create(sock.with_extension("log"));
    let mut cmd = Command::new(java);
    cmd.args(opts)
        .args(["-cp", cp, "clojure.main", "-e", &script])
        .stdin(Stdio::null())
        // Its own process group: a Ctrl-C meant for this kbuild does not reach it.
        .process_group(0);
    match log {
        Ok(f) => {
            let err = f.try_clone().map(Stdio::from).unwrap_or(Stdio::null());
            cmd.stdout(f).stderr(err);
        }
        Err(_) => {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
    }
    let _ = cmd.spawn();
}
