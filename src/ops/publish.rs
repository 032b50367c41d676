//! `kbuild pom`, `kbuild install` and `kbuild deploy`: a project.clj's pom.xml as `lein pom`
//! writes it, and its jar and pom put into the local repository (as `lein install`, which is
//! Maven's install) or uploaded to a remote one with checksums and `maven-metadata.xml`
//! (as `lein deploy`, which is Maven's deploy).
//!
//! A project.clj names its coordinates; a kbuild.edn (alone or beside a deps.edn or
//! project.clj) names them, and the `:jar` target to publish, in `:publish`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::Digest;

use super::{runtime, Failure};
use crate::env::Options;
use crate::project::{kbuild_pom, lein_pom, LeinPom, PomCoords, Project, Secret};
use crate::rules::maven;

const PROJECT_CLJ: &str = "project.clj";

fn read_pom(project: &Project) -> Result<LeinPom, Failure> {
    if project.publish.is_some() {
        return Ok(kbuild_pom(project)?);
    }
    if !project.root.join(PROJECT_CLJ).is_file() {
        return Err(Failure::Usage(format!(
            "{}: nothing names what to publish: a project.clj does, or kbuild.edn's :publish {{:lib group/name :version \"1.0\" :jar target}}",
            project.file
        )));
    }
    Ok(lein_pom(&project.root)?)
}

/// Writes `pom.xml` at the project's root, as `lein pom` does; returns its path.
pub fn pom(project: &Project) -> Result<PathBuf, Failure> {
    let pom = read_pom(project)?;
    let path = pom_location(project, &pom);
    write_atomic(&path, pom.xml.as_bytes())?;
    Ok(path)
}

/// A project.clj's pom goes where `lein pom` writes it; a kbuild.edn's beside its jar, so a
/// pom.xml at the root (which Maven would take for a build) is never overwritten.
fn pom_location(project: &Project, pom: &LeinPom) -> PathBuf {
    match project.publish.as_ref().and_then(|p| p.jar.as_ref()) {
        Some(jar) => project.out_root().join(format!("{jar}.pom.xml")),
        None => project
            .root
            .join(pom.dir.as_deref().unwrap_or_default())
            .join("pom.xml"),
    }
}

/// The jar `kbuild jar` builds and the pom, with the pom written as `kbuild pom` does.
fn jar_and_pom(
    project: &Arc<Project>,
    json: bool,
    options: &Options,
) -> Result<(LeinPom, PathBuf, PathBuf), Failure> {
    let pom = read_pom(project)?;
    if pom.coords.packaging != "jar" {
        return Err(Failure::Usage(format!(
            "{PROJECT_CLJ}: :packaging {:?}: kbuild publishes jars only",
            pom.coords.packaging
        )));
    }
    let jars = super::package::jars(project, false, json, options)?;
    let jar = jars
        .into_iter()
        .next()
        .ok_or_else(|| Failure::Usage(format!("{}: no jar to publish", project.file)))?;
    let pom_path = pom_location(project, &pom);
    write_atomic(&pom_path, pom.xml.as_bytes())?;
    Ok((pom, jar, pom_path))
}

/// `g/r/o/u/p/artifact`
fn artifact_dir(c: &PomCoords) -> String {
    format!("{}/{}", c.group.replace('.', "/"), c.artifact)
}

/// The file name of the artifact with `extension`, at `version` (a snapshot's timestamped
/// one when deployed), with the classifier for the jar only: the pom has none.
fn file_name(c: &PomCoords, version: &str, extension: &str) -> String {
    match (&c.classifier, extension) {
        (Some(cl), "jar") => format!("{}-{version}-{cl}.jar", c.artifact),
        _ => format!("{}-{version}.{extension}", c.artifact),
    }
}

fn is_snapshot(version: &str) -> bool {
    version.ends_with("-SNAPSHOT")
}

/// Puts the jar and pom into the local repository as Maven's install does (with
/// `maven-metadata-local.xml` and `_remote.repositories`); returns the files written.
pub fn install(
    project: &Arc<Project>,
    json: bool,
    options: &Options,
) -> Result<Vec<PathBuf>, Failure> {
    let (pom, jar, pom_path) = jar_and_pom(project, json, options)?;
    let config = maven::config(&[], false, options);
    let local = kbuild_resolvers::local_repository(&config)
        .map_err(|e| Failure::Env(format!("the local repository: {e}")))?;
    let c = &pom.coords;
    let base = local.join(artifact_dir(c));
    let dir = base.join(&c.version);
    let mut written = Vec::new();
    let now = Timestamp::now();
    for (ext, from) in [("jar", &jar), ("pom", &pom_path)] {
        let to = dir.join(file_name(c, &c.version, ext));
        let bytes = read(from)?;
        write_atomic(&to, &bytes)?;
        written.push(to);
    }
    // Maven's enhanced local repository: a locally installed file comes from no repository.
    let remote = dir.join("_remote.repositories");
    let mut lines: Vec<String> = std::fs::read_to_string(&remote)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(str::to_string)
        .collect();
    for ext in ["jar", "pom"] {
        let line = format!("{}>=", file_name(c, &c.version, ext));
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    let text = format!(
        "#NOTE: This is a Maven Resolver internal implementation file, its format can be changed without prior notice.\n{}\n",
        lines.join("\n")
    );
    write_atomic(&remote, text.as_bytes())?;
    let meta = base.join("maven-metadata-local.xml");
    let versions = versions_in(&std::fs::read_to_string(&meta).unwrap_or_default());
    write_atomic(
        &meta,
        artifact_metadata(c, versions, &now, false).as_bytes(),
    )?;
    written.push(meta);
    if is_snapshot(&c.version) {
        let meta = dir.join("maven-metadata-local.xml");
        write_atomic(&meta, local_snapshot_metadata(c, &now).as_bytes())?;
        written.push(meta);
    }
    Ok(written)
}

/// Where `kbuild deploy` uploads, and as whom.
struct Target {
    id: String,
    url: String,
    credentials: Option<(String, String)>,
}

/// The repository named `repo` (an id from `:deploy-repositories` or `:repositories`, or a
/// URL), by default `snapshots` or `releases` as the version is one, as `lein deploy` picks it.
fn deploy_target(pom: &LeinPom, repo: Option<&str>, allow_http: bool) -> Result<Target, Failure> {
    let default = if is_snapshot(&pom.coords.version) {
        "snapshots"
    } else {
        "releases"
    };
    let name = repo.unwrap_or(default);
    let found = pom.deploy.iter().find(|r| r.id == name);
    let (id, url) = match found {
        Some(r) => (r.id.clone(), r.url.clone()),
        // A URL names itself, without any password it carries.
        None if name.contains("://") => (kbuild_resolvers::redact_url(name), name.to_string()),
        None => {
            let known: Vec<&str> = pom.deploy.iter().map(|r| r.id.as_str()).collect();
            return Err(Failure::Usage(format!(
                "{PROJECT_CLJ}: no repository named {name:?} to deploy to (known: {}); name one or give a URL",
                known.join(", ")
            )));
        }
    };
    let parsed = reqwest::Url::parse(&url)
        .map_err(|e| Failure::Usage(format!("{PROJECT_CLJ}: repository {id:?}: bad URL: {e}")))?;
    let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match parsed.scheme() {
        "https" => {}
        "http" if allow_http || loopback => {}
        "http" => {
            return Err(Failure::Usage(format!(
            "{PROJECT_CLJ}: repository {id:?} is plain http://; pass --allow-http to deploy there"
        )))
        }
        s => {
            return Err(Failure::Usage(format!(
                "{PROJECT_CLJ}: repository {id:?}: kbuild deploys over http(s), not {s}:"
            )))
        }
    }
    // The project's credentials first, then settings.xml's server with the same id.
    let secret = |s: &Option<Secret>, what: &str| -> Result<Option<String>, Failure> {
        match s {
            None => Ok(None),
            Some(Secret::Literal(t)) => Ok(Some(t.clone())),
            Some(Secret::Env(var)) => std::env::var(var).map(Some).map_err(|_| {
                Failure::Env(format!(
                    "{PROJECT_CLJ}: repository {id:?}: its {what} comes from ${var}, which is not set"
                ))
            }),
        }
    };
    // Credentials in the URL (`https://user:pw@host/`) win, as in Leiningen.
    let mut parsed = parsed;
    let in_url = (!parsed.username().is_empty()).then(|| {
        let user = parsed.username().to_string();
        let pw = parsed.password().unwrap_or_default().to_string();
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
        (user, pw)
    });
    let url = parsed.to_string();
    let own = match found {
        Some(r) => match (
            secret(&r.username, "username")?,
            secret(&r.password, "password")?,
        ) {
            (Some(u), Some(p)) => Some((u, p)),
            (Some(u), None) => Some((u, String::new())),
            _ => None,
        },
        None => None,
    };
    let credentials = match in_url.or(own) {
        Some(c) => Some(c),
        None => settings_credentials(&id)?,
    };
    Ok(Target {
        id,
        url: url.trim_end_matches('/').to_string(),
        credentials,
    })
}

fn settings_credentials(id: &str) -> Result<Option<(String, String)>, Failure> {
    let Some(home) = std::env::var_os("HOME") else {
        return Ok(None);
    };
    let path = Path::new(&home).join(".m2/settings.xml");
    let settings = kbuild_resolvers::settings::Settings::load(&path)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    Ok(settings
        .credentials(id)
        .map(|c| (c.username.clone(), c.password.clone())))
}

/// What `kbuild deploy` did: the repository and the URLs it uploaded.
pub struct Deployed {
    pub repository: String,
    pub version: String,
    pub uploaded: Vec<String>,
}

/// Uploads the jar and pom with their checksums, then the snapshot's and the artifact's
/// `maven-metadata.xml` (merged with what the repository has), as Maven's deploy does.
pub fn deploy(
    project: &Arc<Project>,
    repo: Option<&str>,
    allow_http: bool,
    json: bool,
    options: &Options,
) -> Result<Deployed, Failure> {
    let pom_only = read_pom(project)?;
    // Settle where to before building anything.
    let target = deploy_target(&pom_only, repo, allow_http)?;
    let (pom, jar, pom_path) = jar_and_pom(project, json, options)?;
    let rt = runtime(options.jobs)?;
    let c = &pom.coords;
    // Every failure names the file and the artifact before what went wrong.
    let context = format!("{}: {}/{} {}", project.file, c.group, c.artifact, c.version);
    rt.block_on(upload_all(&target, c, &read(&jar)?, &read(&pom_path)?))
        .map_err(|f| match f {
            Failure::Resolve(m) => Failure::Resolve(format!("{context}: {m}")),
            Failure::Env(m) => Failure::Env(format!("{context}: {m}")),
            other => other,
        })
}

async fn upload_all(
    target: &Target,
    c: &PomCoords,
    jar: &[u8],
    pom: &[u8],
) -> Result<Deployed, Failure> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .map_err(|e| Failure::Env(format!("HTTP client: {e}")))?;
    let http = Http { client, target };
    let base = artifact_dir(c);
    let now = Timestamp::now();
    let mut uploaded = Vec::new();
    let version_dir = format!("{base}/{}", c.version);
    let (file_version, snapshot) = if is_snapshot(&c.version) {
        let existing = http
            .get(&format!("{version_dir}/maven-metadata.xml"))
            .await?;
        let build = existing
            .as_deref()
            .and_then(|m| tag_text(m, "buildNumber"))
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
            + 1;
        let stamp = now.dotted();
        let v = format!(
            "{}-{stamp}-{build}",
            c.version.trim_end_matches("-SNAPSHOT")
        );
        (v, Some((stamp, build)))
    } else {
        (c.version.clone(), None)
    };
    for (ext, bytes) in [("jar", jar), ("pom", pom)] {
        let path = format!("{version_dir}/{}", file_name(c, &file_version, ext));
        uploaded.extend(http.put_with_checksums(&path, bytes).await?);
    }
    if let Some((stamp, build)) = &snapshot {
        let meta = remote_snapshot_metadata(c, stamp, *build, &file_version, &now);
        let path = format!("{version_dir}/maven-metadata.xml");
        uploaded.extend(http.put_with_checksums(&path, meta.as_bytes()).await?);
    }
    let path = format!("{base}/maven-metadata.xml");
    let existing = http.get(&path).await?;
    let versions = versions_in(existing.as_deref().unwrap_or_default());
    let meta = artifact_metadata(c, versions, &now, snapshot.is_none());
    uploaded.extend(http.put_with_checksums(&path, meta.as_bytes()).await?);
    Ok(Deployed {
        repository: target.id.clone(),
        version: file_version,
        uploaded,
    })
}

struct Http<'a> {
    client: reqwest::Client,
    target: &'a Target,
}

impl Http<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.target.url)
    }

    /// The URL without a password, for messages.
    fn shown(&self, path: &str) -> String {
        kbuild_resolvers::redact_url(&self.url(path))
    }

    fn auth(&self, r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.target.credentials {
            Some((u, p)) => r.basic_auth(u, Some(p)),
            None => r,
        }
    }

    /// The file's text, or None when the repository has none (404).
    async fn get(&self, path: &str) -> Result<Option<String>, Failure> {
        let failed = |e: String| {
            Failure::Resolve(format!(
                "deploy to {}: GET {}: {e}",
                self.target.id,
                self.shown(path)
            ))
        };
        let resp = self
            .auth(self.client.get(self.url(path)))
            .send()
            .await
            .map_err(|e| failed(e.to_string()))?;
        match resp.status().as_u16() {
            404 => Ok(None),
            s if (200..300).contains(&s) => resp
                .text()
                .await
                .map(Some)
                .map_err(|e| failed(e.to_string())),
            s => Err(failed(format!("HTTP {s}"))),
        }
    }

    async fn put(&self, path: &str, bytes: Vec<u8>) -> Result<String, Failure> {
        let resp = self
            .auth(self.client.put(self.url(path)))
            .body(bytes)
            .send()
            .await
            .map_err(|e| {
                Failure::Resolve(format!(
                    "deploy to {}: PUT {}: {e}",
                    self.target.id,
                    self.shown(path)
                ))
            })?;
        let s = resp.status();
        if !s.is_success() {
            let why = if s.as_u16() == 401 || s.as_u16() == 403 {
                " (credentials: the repository's :username/:password in project.clj, or a <server> with its id in ~/.m2/settings.xml)"
            } else {
                ""
            };
            return Err(Failure::Resolve(format!(
                "deploy to {}: PUT {}: HTTP {}{why}",
                self.target.id,
                self.shown(path),
                s.as_u16()
            )));
        }
        Ok(self.shown(path))
    }

    /// The file, then its .md5, .sha1, .sha256 and .sha512.
    async fn put_with_checksums(&self, path: &str, bytes: &[u8]) -> Result<Vec<String>, Failure> {
        let mut done = vec![self.put(path, bytes.to_vec()).await?];
        for (ext, sum) in checksums(bytes) {
            done.push(self.put(&format!("{path}.{ext}"), sum.into_bytes()).await?);
        }
        Ok(done)
    }
}

fn checksums(bytes: &[u8]) -> [(&'static str, String); 4] {
    [
        ("md5", hex::encode(md5::Md5::digest(bytes))),
        ("sha1", hex::encode(sha1::Sha1::digest(bytes))),
        ("sha256", hex::encode(sha2::Sha256::digest(bytes))),
        ("sha512", hex::encode(sha2::Sha512::digest(bytes))),
    ]
}

/// UTC now, in the two forms Maven's metadata uses.
struct Timestamp {
    /// (year, month, day, hour, minute, second)
    parts: (i64, u32, u32, u32, u32, u32),
}

impl Timestamp {
    fn now() -> Timestamp {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        let rest = rest as u32;
        Timestamp {
            parts: (year, month, day, rest / 3600, rest / 60 % 60, rest % 60),
        }
    }

    /// `yyyyMMddHHmmss` (lastUpdated, updated)
    fn compact(&self) -> String {
        let (y, mo, d, h, mi, s) = self.parts;
        format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}")
    }

    /// `yyyyMMdd.HHmmss` (a snapshot's timestamp)
    fn dotted(&self) -> String {
        let (y, mo, d, h, mi, s) = self.parts;
        format!("{y:04}{mo:02}{d:02}.{h:02}{mi:02}{s:02}")
    }
}

fn tag_text<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{tag}>"))?;
    Some(xml[start..end].trim())
}

/// The versions an artifact's metadata lists.
fn versions_in(xml: &str) -> Vec<String> {
    let Some(list) = tag_text(xml, "versions") else {
        return Vec::new();
    };
    list.split("<version>")
        .skip(1)
        .filter_map(|v| {
            v.split_once("</version>")
                .map(|(v, _)| v.trim().to_string())
        })
        .collect()
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The artifact-level metadata: every version (this one added last), and for a release the
/// latest and release versions.
fn artifact_metadata(
    c: &PomCoords,
    mut versions: Vec<String>,
    now: &Timestamp,
    release: bool,
) -> String {
    versions.retain(|v| *v != c.version);
    versions.push(c.version.clone());
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata>\n  <groupId>{}</groupId>\n  <artifactId>{}</artifactId>\n  <versioning>\n",
        xml_escape(&c.group),
        xml_escape(&c.artifact)
    );
    // Maven's newest version by its own order, whatever order the list was built in.
    let latest = versions
        .iter()
        .max_by(|a, b| {
            kbuild_resolvers::version::Version::parse(a)
                .cmp(&kbuild_resolvers::version::Version::parse(b))
        })
        .cloned()
        .unwrap_or_default();
    if release {
        out.push_str(&format!("    <latest>{}</latest>\n", xml_escape(&latest)));
        let newest_release = versions.iter().filter(|v| !is_snapshot(v)).max_by(|a, b| {
            kbuild_resolvers::version::Version::parse(a)
                .cmp(&kbuild_resolvers::version::Version::parse(b))
        });
        if let Some(r) = newest_release {
            out.push_str(&format!("    <release>{}</release>\n", xml_escape(r)));
        }
    }
    out.push_str("    <versions>\n");
    for v in &versions {
        out.push_str(&format!("      <version>{}</version>\n", xml_escape(v)));
    }
    out.push_str(&format!(
        "    </versions>\n    <lastUpdated>{}</lastUpdated>\n  </versioning>\n</metadata>\n",
        now.compact()
    ));
    out
}

fn snapshot_versions(c: &PomCoords, value: &str, now: &Timestamp) -> String {
    let mut out = String::new();
    let mut entries: Vec<(&str, Option<&str>)> = vec![("jar", c.classifier.as_deref())];
    entries.push(("pom", None));
    for (ext, classifier) in entries {
        out.push_str("      <snapshotVersion>\n");
        if let Some(cl) = classifier {
            out.push_str(&format!(
                "        <classifier>{}</classifier>\n",
                xml_escape(cl)
            ));
        }
        out.push_str(&format!(
            "        <extension>{ext}</extension>\n        <value>{}</value>\n        <updated>{}</updated>\n      </snapshotVersion>\n",
            xml_escape(value),
            now.compact()
        ));
    }
    out
}

fn local_snapshot_metadata(c: &PomCoords, now: &Timestamp) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata modelVersion=\"1.1.0\">\n  <groupId>{g}</groupId>\n  <artifactId>{a}</artifactId>\n  <versioning>\n    <lastUpdated>{t}</lastUpdated>\n    <snapshot>\n      <localCopy>true</localCopy>\n    </snapshot>\n    <snapshotVersions>\n{sv}    </snapshotVersions>\n  </versioning>\n  <version>{v}</version>\n</metadata>\n",
        g = xml_escape(&c.group),
        a = xml_escape(&c.artifact),
        t = now.compact(),
        sv = snapshot_versions(c, &c.version, now),
        v = xml_escape(&c.version),
    )
}

fn remote_snapshot_metadata(
    c: &PomCoords,
    stamp: &str,
    build: u64,
    value: &str,
    now: &Timestamp,
) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata modelVersion=\"1.1.0\">\n  <groupId>{g}</groupId>\n  <artifactId>{a}</artifactId>\n  <version>{v}</version>\n  <versioning>\n    <snapshot>\n      <timestamp>{stamp}</timestamp>\n      <buildNumber>{build}</buildNumber>\n    </snapshot>\n    <lastUpdated>{t}</lastUpdated>\n    <snapshotVersions>\n{sv}    </snapshotVersions>\n  </versioning>\n</metadata>\n",
        g = xml_escape(&c.group),
        a = xml_escape(&c.artifact),
        v = xml_escape(&c.version),
        t = now.compact(),
        sv = snapshot_versions(c, value, now),
    )
}

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure::Env(format!("reading {}: {e}", path.display())))
}

/// Written to a temporary name beside it and renamed, so no reader sees half a file.
pub(super) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let failed = |e: std::io::Error| Failure::Env(format!("writing {}: {e}", path.display()));
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(failed)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(failed)?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(failed)?;
    tmp.persist(path).map_err(|e| failed(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_lists_versions_once_with_the_new_one_last() {
        let c = PomCoords {
            group: "g".into(),
            artifact: "a".into(),
            version: "1.1".into(),
            packaging: "jar".into(),
            classifier: None,
        };
        let old = artifact_metadata(&c, vec!["1.0".into()], &Timestamp::now(), true);
        assert_eq!(versions_in(&old), ["1.0", "1.1"]);
        assert_eq!(tag_text(&old, "release"), Some("1.1"));
        let again = artifact_metadata(&c, versions_in(&old), &Timestamp::now(), true);
        assert_eq!(versions_in(&again), ["1.0", "1.1"]);
    }

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        let t = Timestamp::now();
        let (y, mo, d, ..) = t.parts;
        assert!((2024..2200).contains(&y) && (1..=12).contains(&mo) && (1..=31).contains(&d));
        assert_eq!(t.compact().len(), 14);
        assert_eq!(&t.dotted()[8..9], ".");
    }
}
