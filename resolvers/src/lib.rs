//! Maven dependency resolution for kbuild, matching what `mvn` (and therefore `lein`)
//! computes: maven-resolver 1.6's classic collection and conflict resolution, the POM model
//! (parents, interpolation, profiles, BOM imports, relocation), Maven's version order and
//! ranges, and repositories in Maven's layout (HTTP(S), `file:`, the local repository and
//! `settings.xml`).
//!
//! The entry point is [`resolve`]; [`to_list_lines`] and [`to_tree_string`] print a
//! [`Resolution`] the way `mvn dependency:list` and `mvn dependency:tree` do, and
//! [`leiningen_order`] lists it in `lein classpath`'s order.

mod collect;
mod leiningen;
mod mediation;
pub(crate) mod pom;
pub mod repository;
mod requests;
mod resolve;
pub mod settings;
mod status;
pub mod version;
mod versions;

pub use leiningen::leiningen_order;
pub use repository::{redact_url, ChecksumPolicy, Policy, UpdatePolicy};
pub use requests::{Request, Requests};
pub use resolve::{
    local_repository, resolve, settings_fingerprint, standalone_pom_dependencies, to_list_lines,
    to_tree_string, Auth, Coord, Dependency, Download, Exclusion, Mediation, ProgressSink,
    RemoteRepository, Resolution, ResolveError, ResolvedArtifact, ResolverConfig, Scope, Secret,
    TreeNode,
};
pub use versions::available_versions;
