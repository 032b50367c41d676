//! A warm javac: a JVM that keeps `javax.tools.JavaCompiler` loaded and JIT-compiled, so a
//! compile costs javac's work and not a JVM's start. [`run`] is what the java rule calls instead
//! of starting a javac process; it answers with javac's exit code and output either way.
//!
//! The worker is `worker/KbuildJavacWorker.java`, compiled on first use into the machine-wide
//! cache (under the JDK's identity). It speaks Bazel's JSON persistent-worker protocol
//! (`WorkRequest`/`WorkResponse`, multiplexed by `requestId`) on a Unix socket in this user's
//! runtime directory (mode 0700: only this user can connect), named by the checkout and
//! everything that could make its javac differ from a javac process started now: the JDK,
//! the locale, `CLASSPATH`, the worker's own source. Its pid file and log are in the
//! checkout's `.kbuild/javac-worker/`. kbuild is not a server, so the worker outlives the
//! invocation that started it, and the next one connects to it; it exits when idle for
//! `KBUILD_JAVAC_WORKER_IDLE` seconds (default 300), and when its pid file is removed
//! (`kbuild clean`) or its socket replaced. Invocations of one checkout are serialized by its state lock, so two never
//! race to start one.
//!
//! It caches JVM warmth, never results: keys and traces are the same with or without it. A
//! compile whose outcome could depend on the JVM it runs in (annotation processors or javac
//! plugins, which keep static state; `-J` options; launcher-only features) runs as a process.
//! A worker that dies, hangs past `KBUILD_JAVAC_WORKER_TIMEOUT` seconds (default 600), answers
//! what does not parse or runs elsewhere than the project root is killed, and the request runs
//! as a javac process; after two such failures an invocation uses processes only.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kbuild_engine::{BuildError, Ctx};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::env::Env;
use crate::inputs::Jdk;

const SOURCE: &str = include_str!("../worker/KbuildJavacWorker.java");
const MAIN_CLASS: &str = "KbuildJavacWorker";
/// The exit code of a request the worker did not run (see the Java source).
const NOT_RUN: i32 = 125;
/// Failures after which an invocation stops trying the worker.
const MAX_FAILURES: u32 = 2;
/// How long a new worker may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Environment variables the JVM reads at its start that change what javac writes or prints
/// (the default encoding, the messages' language, the default classpath): the worker is
/// named by them.
const SHAPING_ENV: &[&str] = &["LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "CLASSPATH"];
/// Environment variables that make a javac process print or read more than a worker would.
const PROCESS_ONLY_ENV: &[&str] = &["JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVAC_OPTIONS"];
const PROCESSOR_SERVICE: &str = "META-INF/services/javax.annotation.processing.Processor";

/// What javac did: its exit code (None when a signal ended it) and its output, stdout first.
pub struct Javac {
    pub code: Option<i32>,
    pub output: String,
}

impl Javac {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    pub fn exit_text(&self) -> String {
        crate::rules::exit_text(self.code)
    }

    /// Shows javac's output as the target's.
    pub fn show(&self, ctx: &Ctx) {
        ctx.reporter().tool_output(ctx.target(), &self.output);
    }
}

/// Runs javac with `args` in the project root, within the `-j` limit, through the worker when
/// it is on and the compile allows it, else as a process. The caller shows the output
/// ([`Javac::show`]): a compile tried first may be replaced by another.
pub async fn run(env: &Env, ctx: &Ctx, jdk: &Jdk, args: &[String]) -> Result<Javac, BuildError> {
    if env.javac.enabled && eligible(env.root(), args) {
        let slot = ctx.job_slot().await;
        ctx.reporter().running(ctx.target());
        match env.javac.compile(env, jdk, args).await {
            Ok(out) => return Ok(out),
            Err(why) => {
                // None: the worker is off for the rest of this invocation, as already said.
                if let Some(why) = why {
                    ctx.reporter().warn(&format!(
                        "javac worker: {why}; compiling {} with a javac process",
                        ctx.target()
                    ));
                }
                drop(slot);
            }
        }
    }
    let out = crate::rules::run_tool_quiet(ctx, &jdk.javac, args, &[]).await?;
    let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
    output.push_str(&String::from_utf8_lossy(&out.stderr));
    Ok(Javac {
        code: out.status.code(),
        output,
    })
}

/// Whether the worker is on (`--no-worker`, `KBUILD_JAVAC_WORKER=off`, `:javac-worker false`
/// turn it off), and the invocation's connection to it.
pub struct Workers {
    enabled: bool,
    state: tokio::sync::Mutex<State>,
}

#[derive(Default)]
struct State {
    conn: Option<Arc<Conn>>,
    failures: u32,
}

impl Workers {
    pub fn new(enabled: bool) -> Workers {
        Workers {
            enabled,
            state: Default::default(),
        }
    }

    /// Closes this invocation's connection, so that the worker can idle out while kbuild goes
    /// on with other things (a REPL, a program).
    pub fn disconnect(&self) {
        if let Ok(mut state) = self.state.try_lock() {
            if let Some(conn) = state.conn.take() {
                conn.close();
            }
        }
    }

    /// javac's answer from the worker; else why not, or None when that was said before.
    async fn compile(
        &self,
        env: &Env,
        jdk: &Jdk,
        args: &[String],
    ) -> Result<Javac, Option<String>> {
        let conn = self.connection(env, jdk).await?;
        let root =
            std::fs::canonicalize(env.root()).map_err(|e| format!("the project root: {e}"))?;
        let answer = conn.request(args, &root.to_string_lossy()).await;
        match answer {
            // javac's own answers: done, compile errors, bad options.
            Ok(r) if (0..=2).contains(&r.exit_code) => Ok(Javac {
                code: Some(r.exit_code),
                output: r.output,
            }),
            Ok(r) => {
                let first = r.output.lines().next().unwrap_or("");
                let why = if r.exit_code == NOT_RUN {
                    format!("it could not run javac ({first})")
                } else {
                    format!("its javac ended abnormally (exit status {})", r.exit_code)
                };
                Err(Some(self.replace(&conn, why).await))
            }
            Err(why) => Err(Some(self.replace(&conn, why).await)),
        }
    }

    /// The live connection, else one to the checkout's worker, started when there is none.
    async fn connection(&self, env: &Env, jdk: &Jdk) -> Result<Arc<Conn>, Option<String>> {
        let mut state = self.state.lock().await;
        if let Some(c) = state.conn.as_ref().filter(|c| c.alive()) {
            return Ok(c.clone());
        }
        if state.failures >= MAX_FAILURES {
            return Err(None);
        }
        // Each failure counts once, but a socket that cannot be made is the same every time.
        let connected = match Place::new(env.root(), jdk) {
            Err(e) => Err((e, MAX_FAILURES)),
            Ok(place) => match UnixStream::connect(&place.socket) {
                Ok(stream) => Conn::new(stream, place, None).map_err(|e| (e, 1)),
                Err(_) => match start(env, jdk, &place).await {
                    Ok((stream, child)) => {
                        Conn::new(stream, place, Some(child)).map_err(|e| (e, 1))
                    }
                    Err(e) => Err((e, 1)),
                },
            },
        };
        match connected {
            Ok(conn) => {
                let conn = Arc::new(conn);
                state.conn = Some(conn.clone());
                Ok(conn)
            }
            Err((why, failures)) => {
                state.failures += failures;
                Err(Some(state.says(why)))
            }
        }
    }

    /// Kills a worker that failed, so that the next request starts a new one; returns the
    /// warning that says why.
    async fn replace(&self, conn: &Arc<Conn>, why: String) -> String {
        let mut state = self.state.lock().await;
        if state.conn.as_ref().is_some_and(|c| Arc::ptr_eq(c, conn)) {
            state.conn = None;
        }
        state.failures += 1;
        conn.close();
        let conn = conn.clone();
        let _ = tokio::task::spawn_blocking(move || conn.kill()).await;
        state.says(why)
    }
}

impl State {
    /// A failure as its warning says it, noting when it ends the worker for this invocation.
    fn says(&self, why: String) -> String {
        if self.failures >= MAX_FAILURES {
            format!("{why} (no more tries in this build)")
        } else {
            why
        }
    }
}

/// Where a checkout's worker for this JDK and environment listens and says who it is.
struct Place {
    socket: PathBuf,
    pid_file: PathBuf,
    log: PathBuf,
}

impl Place {
    fn new(root: &Path, jdk: &Jdk) -> Result<Place, String> {
        let dir = root.join(".kbuild").join("javac-worker");
        std::fs::create_dir_all(&dir)
            .and_then(|_| std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)))
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut h = Sha256::new();
        h.update(identity(jdk));
        for var in SHAPING_ENV {
            h.update(format!("{var}={:?}\0", std::env::var_os(var)));
        }
        let name = &hex::encode(h.finalize())[..16];
        // The socket is not in the checkout: copying a checkout cannot copy it, and a deep
        // checkout's path would pass the kernel's limit (108 bytes with the terminating zero).
        let root = std::fs::canonicalize(root).map_err(|e| format!("the project root: {e}"))?;
        let mut h = Sha256::new();
        h.update(root.as_os_str().as_encoded_bytes());
        h.update([0]);
        h.update(name);
        let socket = runtime_dir()?.join(format!("{}.sock", &hex::encode(h.finalize())[..24]));
        if socket.as_os_str().len() > 100 {
            return Err(format!(
                "the path of its socket would be too long ({})",
                socket.display()
            ));
        }
        Ok(Place {
            pid_file: dir.join(format!("{name}.pid")),
            log: dir.join(format!("{name}.log")),
            socket,
        })
    }
}

/// This user's directory for sockets: `$XDG_RUNTIME_DIR/kbuild-UID`, else the temporary
/// directory's, made with mode 0700 and checked to be this user's alone (another user could
/// have made it first).
fn runtime_dir() -> Result<PathBuf, String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let uid = std::fs::metadata("/proc/self")
        .map_err(|e| format!("/proc/self: {e}"))?
        .uid();
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = base.join(format!("kbuild-{uid}"));
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    }
    let meta = std::fs::symlink_metadata(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
        return Err(format!(
            "{} is not a directory of this user's alone",
            dir.display()
        ));
    }
    Ok(dir)
}

/// The JDK and the worker's source: what its compiled classes depend on.
fn identity(jdk: &Jdk) -> String {
    format!(
        "{}\0{}\0{}\0",
        jdk.java.display(),
        jdk.identity,
        hex::encode(Sha256::digest(SOURCE))
    )
}

fn java_home(jdk: &Jdk) -> PathBuf {
    jdk.javac
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The worker's classes, compiled by this JDK's javac the first time they are needed.
async fn classes(env: &Env, jdk: &Jdk) -> Result<PathBuf, String> {
    let base = crate::session::shared_cache_dir().unwrap_or_else(|| env.root().join(".kbuild"));
    let parent = base.join("javac-worker");
    let dir = parent.join(&hex::encode(Sha256::digest(identity(jdk)))[..16]);
    if dir.join(format!("{MAIN_CLASS}.class")).is_file() {
        return Ok(dir);
    }
    let failed = |e: std::io::Error| format!("compiling the worker in {}: {e}", parent.display());
    std::fs::create_dir_all(&parent).map_err(failed)?;
    let tmp = tempfile::tempdir_in(&parent).map_err(failed)?;
    let source = tmp.path().join(format!("{MAIN_CLASS}.java"));
    std::fs::write(&source, SOURCE).map_err(failed)?;
    let out = tokio::process::Command::new(&jdk.javac)
        .args(["-encoding", "UTF-8", "-nowarn", "-d"])
        .arg(tmp.path())
        .arg(&source)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(failed)?;
    if !out.status.success() {
        return Err(format!(
            "its source does not compile with {}: {}",
            jdk.javac.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    std::fs::remove_file(&source).map_err(failed)?;
    // Another kbuild may have put the same classes there meanwhile.
    if std::fs::rename(tmp.path(), &dir).is_ok() {
        let _ = tmp.keep();
    }
    Ok(dir)
}

/// Starts a worker in the project root, detached from this process, and connects to it once
/// it listens.
async fn start(env: &Env, jdk: &Jdk, place: &Place) -> Result<(UnixStream, Child), String> {
    let classes = classes(env, jdk).await?;
    let _ = std::fs::remove_file(&place.socket);
    let log = std::fs::File::create(&place.log)
        .and_then(|f| Ok((f.try_clone()?, f)))
        .map_err(|e| format!("{}: {e}", place.log.display()))?;
    let home = java_home(jdk);
    let mut cmd = std::process::Command::new(&jdk.java);
    // What the javac launcher sets: its home, and CLASSPATH as javac's default classpath.
    cmd.arg("-XX:+UseSerialGC")
        .arg(format!("-Dapplication.home={}", home.display()));
    if let Some(cp) = std::env::var_os("CLASSPATH") {
        let mut arg = std::ffi::OsString::from("-Denv.class.path=");
        arg.push(cp);
        cmd.arg(arg);
    }
    cmd.arg("-cp")
        .arg(&classes)
        .arg(MAIN_CLASS)
        .arg("--socket")
        .arg(&place.socket)
        .arg("--pid-file")
        .arg(&place.pid_file)
        .arg("--idle")
        .arg(idle_seconds().to_string())
        .arg("--release-file")
        .arg(home.join("release"))
        .current_dir(env.root())
        .env_remove("JDK_JAVA_OPTIONS")
        .stdin(Stdio::null())
        .stdout(log.0)
        .stderr(log.1);
    // SAFETY: between fork and exec the closure calls only async-signal-safe functions.
    unsafe {
        cmd.pre_exec(|| {
            // A session of its own: no terminal's Ctrl-C or hangup reaches it.
            libc::setsid();
            // It keeps none of the descriptors kbuild inherited (a caller's pipes, make's
            // jobserver), so no one waits on it for their end: close-on-exec for all.
            const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;
            if libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, CLOSE_RANGE_CLOEXEC) != 0 {
                for fd in 3..1024 {
                    libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
                }
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", jdk.java.display()))?;
    let started = Instant::now();
    loop {
        if let Ok(stream) = UnixStream::connect(&place.socket) {
            return Ok((stream, child));
        }
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(&place.log).unwrap_or_default();
            return Err(format!(
                "it exited as it started ({status}): {}",
                log.lines().next().unwrap_or("")
            ));
        }
        if started.elapsed() > START_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "it did not listen within {}s",
                START_TIMEOUT.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn seconds_from_env(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn request_timeout() -> Duration {
    Duration::from_secs(seconds_from_env("KBUILD_JAVAC_WORKER_TIMEOUT", 600))
}

fn idle_seconds() -> u64 {
    seconds_from_env("KBUILD_JAVAC_WORKER_IDLE", 300)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WorkRequest<'a> {
    arguments: &'a [String],
    request_id: u64,
    /// The directory the arguments' relative paths are relative to: the worker checks that it
    /// runs there.
    sandbox_dir: &'a str,
}

/// As protobuf's JSON mapping writes it, a field with its default value may be left out.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WorkResponse {
    #[serde(default)]
    exit_code: i32,
    #[serde(default)]
    output: String,
    #[serde(default)]
    request_id: u64,
}

type Pending = HashMap<u64, tokio::sync::oneshot::Sender<WorkResponse>>;

/// One connection to a worker: requests written under a lock, answers read by a thread that
/// hands each to its waiting request by id.
struct Conn {
    stream: UnixStream,
    /// Held while a request is written, so that requests do not interleave.
    writing: Mutex<()>,
    /// None once the connection is gone: every waiting request then fails.
    pending: Arc<Mutex<Option<Pending>>>,
    next_id: AtomicU64,
    place: Place,
    /// The worker, when this invocation started it (to reap it if it must be killed).
    child: Mutex<Option<Child>>,
}

impl Conn {
    fn new(stream: UnixStream, place: Place, child: Option<Child>) -> Result<Conn, String> {
        let pending: Arc<Mutex<Option<Pending>>> = Arc::new(Mutex::new(Some(HashMap::new())));
        let reader = stream.try_clone().map_err(|e| format!("its socket: {e}"))?;
        let answers = pending.clone();
        std::thread::Builder::new()
            .name("javac-worker".into())
            .spawn(move || {
                for line in BufReader::new(reader).lines() {
                    let Ok(line) = line else { break };
                    // An answer that does not parse is a worker that does not speak our protocol.
                    let Ok(r) = serde_json::from_str::<WorkResponse>(&line) else {
                        break;
                    };
                    let waiting = answers
                        .lock()
                        .unwrap()
                        .as_mut()
                        .and_then(|p| p.remove(&r.request_id));
                    if let Some(tx) = waiting {
                        let _ = tx.send(r);
                    }
                }
                answers.lock().unwrap().take();
            })
            .map_err(|e| format!("a thread for its answers: {e}"))?;
        // A worker that stops reading must not stop a request at its write.
        stream
            .set_write_timeout(Some(request_timeout()))
            .map_err(|e| format!("its socket: {e}"))?;
        Ok(Conn {
            stream,
            writing: Mutex::new(()),
            pending,
            next_id: AtomicU64::new(1),
            place,
            child: Mutex::new(child),
        })
    }

    fn alive(&self) -> bool {
        self.pending.lock().unwrap().is_some()
    }

    async fn request(&self, args: &[String], dir: &str) -> Result<WorkResponse, String> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.pending
            .lock()
            .unwrap()
            .as_mut()
            .ok_or("its connection closed")?
            .insert(id, tx);
        let mut line = serde_json::to_vec(&WorkRequest {
            arguments: args,
            request_id: id,
            sandbox_dir: dir,
        })
        .map_err(|e| e.to_string())?;
        line.push(b'\n');
        // A request is a few kilobytes: the socket's buffer takes it without blocking for long.
        {
            let _writing = self.writing.lock().unwrap();
            (&self.stream)
                .write_all(&line)
                .map_err(|e| format!("writing to it: {e}"))?;
        }
        let limit = request_timeout();
        match tokio::time::timeout(limit, rx).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(_)) => Err("it closed the connection (it died, or was killed)".into()),
            Err(_) => Err(format!("it gave no answer in {}s", limit.as_secs())),
        }
    }

    fn close(&self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        self.pending.lock().unwrap().take();
    }

    /// Kills the worker and waits (boundedly) until it is gone, so that it writes no more
    /// class files once its request runs again as a process. The pid comes from the child or
    /// the pid file, and is checked to be this worker's before it is signalled.
    fn kill(&self) {
        let gone = match self.child.lock().unwrap().take() {
            Some(mut child) => {
                let _ = child.kill();
                child.wait().is_ok()
            }
            None => self.kill_by_pid_file(),
        };
        // A killed worker leaves its socket behind.
        if gone {
            let _ = std::fs::remove_file(&self.place.socket);
        }
    }

    /// Whether the worker is gone, after a SIGKILL if its pid file names it.
    fn kill_by_pid_file(&self) -> bool {
        let Some(pid) = std::fs::read_to_string(&self.place.pid_file)
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
        else {
            // A worker without its pid file exits by itself.
            return true;
        };
        let ours = std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
            let c = String::from_utf8_lossy(&c);
            c.contains(MAIN_CLASS) && c.contains(&*self.place.socket.to_string_lossy())
        });
        if !ours {
            return true;
        }
        // SAFETY: kill(2) with a pid and a signal number has no memory-safety preconditions.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
        let started = Instant::now();
        while alive(pid) && started.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(10));
        }
        !alive(pid)
    }
}

/// Whether a process runs (a zombie has stopped running).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !matches!(
            stat.rsplit(')')
                .next()
                .and_then(|s| s.trim_start().chars().next()),
            Some('Z' | 'X')
        ),
        Err(_) => false,
    }
}

/// Whether a worker JVM compiles exactly as a javac process would with these arguments.
fn eligible(root: &Path, args: &[String]) -> bool {
    if PROCESS_ONLY_ENV
        .iter()
        .any(|v| std::env::var_os(v).is_some())
    {
        return false;
    }
    let mut classpath: Option<&str> = None;
    let mut processing = true;
    for (i, a) in args.iter().enumerate() {
        // `--name=value` is `--name value`.
        let (name, value) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v)),
            _ => (a.as_str(), args.get(i + 1).map(String::as_str)),
        };
        match name {
            "-cp" | "-classpath" | "--class-path" => classpath = value,
            "-proc:none" => processing = false,
            // Code loaded into javac (processors, plugins), modules, and options for the JVM:
            // processes only.
            "-processor"
            | "-processorpath"
            | "--processor-path"
            | "--processor-module-path"
            | "-p"
            | "--module-path"
            | "--upgrade-module-path" => return false,
            _ if name.starts_with("-J") || name.starts_with("-Xplugin") => return false,
            // The rule's own argument file, last, holds sources only; any other may hold options.
            _ if a.starts_with('@') && (i + 1 != args.len() || !sources_only(&a[1..])) => {
                return false
            }
            _ => {}
        }
        // Classpath wildcards are expanded by the javac launcher, not by javac.
        if a.contains('*') {
            return false;
        }
    }
    if !processing {
        return true;
    }
    let env_cp = std::env::var("CLASSPATH").ok();
    let cp = classpath.or(env_cp.as_deref()).unwrap_or(".");
    !cp.split(':')
        .any(|entry| provides_processor(&root.join(entry)))
}

/// An argument file whose every line is one quoted path that is not an option.
fn sources_only(file: &str) -> bool {
    std::fs::read_to_string(file).is_ok_and(|text| {
        text.lines().all(|l| {
            l.len() >= 2 && l.starts_with('"') && l.ends_with('"') && !l[1..].starts_with('-')
        })
    })
}

/// Whether javac would find an annotation processor in a classpath entry (unreadable jars
/// count as yes).
fn provides_processor(entry: &Path) -> bool {
    if entry.is_dir() {
        return entry.join(PROCESSOR_SERVICE).exists();
    }
    if !entry.is_file() {
        return false;
    }
    let Ok(file) = std::fs::File::open(entry) else {
        return true;
    };
    match zip::ZipArchive::new(file) {
        Ok(mut jar) => jar.by_name(PROCESSOR_SERVICE).is_ok(),
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn what_needs_a_process() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let argfile = root.join("srcs");
        std::fs::write(&argfile, "\"src/A.java\"\n\"src/B.java\"").unwrap();
        let at = format!("@{}", argfile.display());
        let cp = root.join("classes");
        std::fs::create_dir_all(&cp).unwrap();
        let cp = cp.to_string_lossy().into_owned();
        assert!(eligible(
            root,
            &args(&["-d", "out", "-classpath", &cp, &at])
        ));
        assert!(eligible(
            root,
            &args(&["--release", "17", "-proc:none", &at])
        ));
        assert!(!eligible(root, &args(&["-J-Xmx1g", &at])));
        assert!(!eligible(root, &args(&["-processorpath", "x", &at])));
        assert!(!eligible(root, &args(&["-Xplugin:P", &at])));
        assert!(!eligible(root, &args(&["-cp", "lib/*", &at])));
        assert!(!eligible(root, &args(&["@opts", &at])));
        std::fs::write(&argfile, "\"-Xplugin:P\"").unwrap();
        assert!(!eligible(root, &args(&[&at])));
        std::fs::write(&argfile, "\"src/A.java\"").unwrap();
        // A processor on the classpath runs inside javac, unless -proc:none.
        let services = root.join("classes/META-INF/services");
        std::fs::create_dir_all(&services).unwrap();
        std::fs::write(
            services.join("javax.annotation.processing.Processor"),
            "p.P",
        )
        .unwrap();
        assert!(!eligible(root, &args(&["-classpath", &cp, &at])));
        assert!(eligible(
            root,
            &args(&["-proc:none", "-classpath", &cp, &at])
        ));
    }

    #[test]
    fn a_process_state_is_read_from_proc() {
        assert!(alive(std::process::id() as i32));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        while alive(pid) {
            std::thread::sleep(Duration::from_millis(5));
        }
        child.wait().unwrap();
        assert!(!alive(pid));
    }
}
