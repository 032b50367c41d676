//! What the rules and inputs of one invocation share: the project's root and hashers, the
//! command line's options, the printer, and the machine's tools (the JDK, the Maven local
//! repository), each found once. Not the target graph: a rule learns about other targets
//! only from the values it fetches.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use kbuild_engine::{BuildError, StateLock};
use kbuild_hashers::Hasher;

use crate::inputs::{find_jdk, Jdk};
use crate::javac_worker::Workers;
use crate::printer::Printer;
use crate::project::Project;

/// Settings from the command line that change how, not what, things are built.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub jobs: usize,
    /// Resolve from the local Maven repository only.
    pub offline: bool,
    /// Check repositories' metadata whatever their update policies (`-U`).
    pub update_snapshots: bool,
    /// The local Maven repository, instead of settings.xml's or ~/.m2/repository.
    pub local_repo: Option<PathBuf>,
    /// Resolve without checking kbuild.lock (`kbuild lock` writes a new one).
    pub relock: bool,
    /// Run tests even when a cached outcome matches.
    pub force: bool,
    /// How many JVMs the test namespaces to run are spread over (at least one).
    pub test_jvms: usize,
    /// Whether `kbuild test` takes and leaves spare JVMs ([`crate::warm`]).
    pub warm: bool,
    /// Where `kbuild test` writes its JUnit XML reports, if anywhere.
    pub junit_xml: Option<PathBuf>,
    /// The lock on the checkout's state, which the command took before it read anything
    /// and holds while it uses the state.
    pub lock: Option<Arc<StateLock>>,
    /// Compile through the warm javac worker (`--no-worker`, `KBUILD_JAVAC_WORKER=off`: no).
    pub javac_worker: bool,
    /// Under `kbuild watch`: the stats its watcher vouches for.
    pub watched: Option<Arc<kbuild_engine::Watched>>,
}

pub struct Env {
    project: Arc<Project>,
    pub options: Options,
    pub printer: Arc<Printer>,
    /// The warm javac, on unless the command line or the build file turned it off.
    pub javac: Workers,
    local_repo: OnceLock<Result<PathBuf, String>>,
    jdk: OnceLock<Result<Jdk, String>>,
}

impl Env {
    pub fn new(project: Arc<Project>, options: Options, printer: Arc<Printer>) -> Env {
        let javac = Workers::new(options.javac_worker && project.javac_worker != Some(false));
        Env {
            project,
            options,
            javac,
            printer,
            local_repo: OnceLock::new(),
            jdk: OnceLock::new(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.project.root
    }

    pub fn out_dir(&self, name: &str) -> PathBuf {
        self.project.out_root().join(name)
    }

    /// The hasher for a source file under the build file's `:hashers` (which is part of
    /// the definition of every target that uses it).
    pub fn hasher_for(&self, rel: &str) -> &'static dyn Hasher {
        self.project.hasher_for(rel)
    }

    /// The Maven local repository this build uses (`--local-repo`, settings.xml, ~/.m2).
    pub fn local_repo(&self) -> Result<&Path, BuildError> {
        self.local_repo
            .get_or_init(|| {
                let config = crate::rules::maven::config(&[], false, &self.options);
                kbuild_resolvers::local_repository(&config).map_err(|e| e.to_string())
            })
            .as_deref()
            .map_err(|e| BuildError::Tool(e.clone()))
    }

    /// The JDK that provides javac and java.
    pub fn jdk(&self) -> Result<&Jdk, BuildError> {
        self.jdk
            .get_or_init(|| find_jdk().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| BuildError::Tool(e.clone()))
    }
}
