//! The versions the repositories list for an artifact (`maven-metadata.xml`), for
//! `kbuild outdated`: the same repositories, mirrors, credentials, proxy and offline rule as
//! [`crate::resolve`], nothing downloaded but the metadata.

use crate::collect::{home_dir, metadata_versions};
use crate::repository::{self, LocalRepository};
use crate::resolve::{local_repository, ResolveError, ResolverConfig};
use crate::settings::Settings;
use crate::version::Version;

/// Every version of `group:artifact` that the configured repositories' metadata (or, offline,
/// the local repository's copies of it) list, ascending by Maven's order, each once.
pub async fn available_versions(
    config: &ResolverConfig,
    group: &str,
    artifact: &str,
) -> Result<Vec<String>, ResolveError> {
    let settings_path = config
        .settings_xml
        .clone()
        .unwrap_or_else(|| home_dir().join(".m2/settings.xml"));
    let settings = Settings::load(&settings_path)?;
    let local = LocalRepository::new(local_repository(config)?);
    let dir = format!("{}/{artifact}", group.replace('.', "/"));
    let rel = format!("{dir}/maven-metadata.xml");
    let parse = |bytes: &[u8], file: &str| {
        metadata_versions(bytes, file).map_err(|source| ResolveError::Pom {
            path: vec![],
            source,
        })
    };
    let mut all = Vec::new();
    // What was installed locally counts online too, as Maven's range resolution has it.
    let local_names: Vec<String> = if config.offline || settings.offline {
        std::fs::read_dir(local.path_of(&dir))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.starts_with("maven-metadata") && n.ends_with(".xml"))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        vec!["maven-metadata-local.xml".to_string()]
    };
    for name in local_names {
        let path = local.path_of(&format!("{dir}/{name}"));
        if let Ok(bytes) = std::fs::read(&path) {
            all.extend(parse(&bytes, &path.display().to_string())?);
        }
    }
    if !(config.offline || settings.offline) {
        let transport = crate::resolve::transport(config, &settings)?;
        for r in &config.repositories {
            let (id, url) = match settings.mirror_for(&r.id, &r.url) {
                Some(m) => (m.id.as_str(), m.url.as_str()),
                None => (r.id.as_str(), r.url.as_str()),
            };
            let creds = settings.credentials(id).cloned();
            let repo = repository::open(id, url, &transport, config.allow_http, creds)
                .map_err(|e| ResolveError::Setup(Box::new(e)))?;
            let fetched = repository::fetch_verified(repo.as_ref(), &rel)
                .await
                .map_err(|source| ResolveError::Fetch {
                    coord: format!("{group}:{artifact} metadata"),
                    path: vec![],
                    source: Box::new(source),
                })?;
            if let Some(bytes) = fetched {
                let file = repository::redact_url(&format!("{}{rel}", repo.url()));
                all.extend(parse(&bytes, &file)?);
            }
        }
    }
    let mut versions: Vec<Version> = all.iter().map(|s| Version::parse(s)).collect();
    versions.sort();
    versions.dedup_by(|a, b| a.as_str() == b.as_str());
    Ok(versions.iter().map(|v| v.as_str().to_string()).collect())
}
