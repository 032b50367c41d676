//! The POM model: reading POM XML, and building the effective model the way Maven's model
//! builder does (profile injection, parent inheritance, interpolation, dependency management).
//!
//! Fetching parents and imported BOMs is the caller's job (it is I/O); this module only
//! combines models it is handed.

use std::collections::{BTreeMap, HashSet};

use quick_xml::events::Event;
use quick_xml::Reader;

use crate::repository::{ChecksumPolicy, Policy, UpdatePolicy};
use crate::version::{Restriction, Version, VersionReq};

#[derive(Debug, thiserror::Error)]
pub enum PomError {
    #[error("malformed POM {file}, line {line}: {message}")]
    Malformed {
        file: String,
        line: usize,
        message: String,
    },
    #[error("invalid POM {file}: {message}")]
    Invalid { file: String, message: String },
    #[error("invalid POM {file}: interpolating ${{{property}}} expands past the limit of {limit} (properties nested too deeply to expand)")]
    TooLarge {
        file: String,
        property: String,
        limit: String,
    },
}

/// A minimal XML element tree; POMs are small, so a tree is the simplest thing to query.
#[derive(Debug, Default, Clone)]
pub(crate) struct Element {
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
    pub fn text_of(&self, name: &str) -> Option<String> {
        self.child(name).map(|c| c.text.trim().to_string())
    }
    pub fn all<'a>(
        &'a self,
        outer: &str,
        inner: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.child(outer)
            .into_iter()
            .flat_map(move |o| o.children.iter().filter(move |c| c.name == inner))
    }
}

fn line_at(bytes: &[u8], pos: u64) -> usize {
    let end = (pos as usize).min(bytes.len());
    1 + bytes[..end].iter().filter(|b| **b == b'\n').count()
}

/// Parses an XML document and returns its root element.
pub(crate) fn parse_document(bytes: &[u8], file: &str) -> Result<Element, PomError> {
    let mut reader = Reader::from_reader(bytes);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<Element> = vec![Element::default()];
    let mut buf = Vec::new();
    let malformed =
        |reader: &Reader<&[u8]>, pos: Option<u64>, message: String| PomError::Malformed {
            file: file.to_string(),
            line: line_at(bytes, pos.unwrap_or_else(|| reader.error_position())),
            message,
        };
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| malformed(&reader, None, e.to_string()))?;
        match event {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                stack.push(Element {
                    name,
                    ..Default::default()
                });
            }
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if let Some(top) = stack.last_mut() {
                    top.children.push(Element {
                        name,
                        ..Default::default()
                    });
                }
            }
            Event::End(_) => {
                let done = stack.pop();
                match (done, stack.last_mut()) {
                    (Some(done), Some(parent)) => parent.children.push(done),
                    _ => {
                        let pos = reader.buffer_position();
                        return Err(malformed(&reader, Some(pos), "unexpected end tag".into()));
                    }
                }
            }
            Event::Text(t) => {
                let pos = reader.buffer_position();
                let text = t
                    .unescape()
                    .map_err(|e| malformed(&reader, Some(pos), e.to_string()))?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&text);
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    let pos = reader.buffer_position();
    if stack.len() != 1 {
        return Err(malformed(
            &reader,
            Some(pos),
            "unexpected end of file".into(),
        ));
    }
    let doc = stack.pop().unwrap_or_default();
    match doc.children.into_iter().next() {
        Some(root) => Ok(root),
        None => Err(PomError::Invalid {
            file: file.to_string(),
            message: "no root element".into(),
        }),
    }
}

/// A `<dependency>` as written (before interpolation and management).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PomDep {
    pub group_id: String,
    pub artifact_id: String,
    pub version: Option<String>,
    pub type_: Option<String>,
    pub classifier: Option<String>,
    pub scope: Option<String>,
    pub optional: Option<String>,
    pub exclusions: Vec<(String, String)>,
    pub system_path: Option<String>,
}

impl PomDep {
    /// Maven's management key: `groupId:artifactId:type[:classifier]`.
    pub fn management_key(&self) -> String {
        let t = self.type_.as_deref().unwrap_or("jar");
        match self.classifier.as_deref() {
            Some(c) if !c.is_empty() => {
                format!("{}:{}:{}:{}", self.group_id, self.artifact_id, t, c)
            }
            _ => format!("{}:{}:{}", self.group_id, self.artifact_id, t),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Relocation {
    pub group_id: Option<String>,
    pub artifact_id: Option<String>,
    pub version: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Activation {
    pub active_by_default: bool,
    jdk: Option<String>,
    property: Option<(String, Option<String>)>,
    /// `<os>`: name, family, arch, version (each optional, `!` negates).
    os: Option<[Option<String>; 4]>,
    /// Conditions this crate cannot evaluate (file); such profiles never activate.
    unsupported: bool,
}

#[derive(Debug, Clone, Default)]
struct Content {
    properties: Vec<(String, String)>,
    dependencies: Vec<PomDep>,
    managed: Vec<PomDep>,
    repositories: Vec<(String, String, Policy)>,
}

#[derive(Debug, Clone)]
struct Profile {
    activation: Activation,
    content: Content,
}

/// A POM as read from one file.
#[derive(Debug, Clone)]
pub(crate) struct RawPom {
    pub file: String,
    pub group_id: Option<String>,
    pub artifact_id: Option<String>,
    pub version: Option<String>,
    pub packaging: Option<String>,
    /// groupId, artifactId, version of `<parent>`.
    pub parent: Option<(String, String, String)>,
    pub relocation: Option<Relocation>,
    content: Content,
    profiles: Vec<Profile>,
}

fn read_dep(e: &Element) -> PomDep {
    PomDep {
        group_id: e.text_of("groupId").unwrap_or_default(),
        artifact_id: e.text_of("artifactId").unwrap_or_default(),
        version: e.text_of("version").filter(|s| !s.is_empty()),
        type_: e.text_of("type").filter(|s| !s.is_empty()),
        classifier: e.text_of("classifier").filter(|s| !s.is_empty()),
        scope: e.text_of("scope").filter(|s| !s.is_empty()),
        optional: e.text_of("optional").filter(|s| !s.is_empty()),
        exclusions: e
            .all("exclusions", "exclusion")
            .map(|x| {
                (
                    x.text_of("groupId").unwrap_or_default(),
                    x.text_of("artifactId").unwrap_or_default(),
                )
            })
            .collect(),
        system_path: e.text_of("systemPath"),
    }
}

fn read_content(e: &Element) -> Content {
    Content {
        properties: e
            .child("properties")
            .map(|p| {
                p.children
                    .iter()
                    .map(|c| (c.name.clone(), c.text.trim().to_string()))
                    .collect()
            })
            .unwrap_or_default(),
        dependencies: e.all("dependencies", "dependency").map(read_dep).collect(),
        managed: e
            .child("dependencyManagement")
            .map(|dm| dm.all("dependencies", "dependency").map(read_dep).collect())
            .unwrap_or_default(),
        repositories: repositories(e),
    }
}

/// `<repositories>` under `e` (a POM, or a settings.xml profile) as `(id, url, policy)`.
pub(crate) fn repositories(e: &Element) -> Vec<(String, String, Policy)> {
    e.all("repositories", "repository")
        .map(|r| {
            // `<enabled>` is true unless it says false, as Maven reads it.
            let enabled = |which: &str| {
                r.child(which)
                    .and_then(|p| p.text_of("enabled"))
                    .is_none_or(|t| t.trim() != "false")
            };
            // Unwritten, kbuild keeps its `fail` (mvn's default is `warn`).
            let checksums = |which: &str| {
                r.child(which)
                    .and_then(|p| p.text_of("checksumPolicy"))
                    .and_then(|t| ChecksumPolicy::parse(&t))
                    .unwrap_or_default()
            };
            // Unwritten or unknown, Maven's `daily`.
            let updates = |which: &str| {
                r.child(which)
                    .and_then(|p| p.text_of("updatePolicy"))
                    .and_then(|t| UpdatePolicy::parse(&t))
                    .unwrap_or_default()
            };
            (
                r.text_of("id").unwrap_or_default(),
                r.text_of("url").unwrap_or_default(),
                Policy {
                    releases: enabled("releases"),
                    snapshots: enabled("snapshots"),
                    release_checksums: checksums("releases"),
                    snapshot_checksums: checksums("snapshots"),
                    release_updates: updates("releases"),
                    snapshot_updates: updates("snapshots"),
                },
            )
        })
        .collect()
}

impl RawPom {
    /// The repositories this file declares, as written (not interpolated).
    pub fn declared_repositories(&self) -> &[(String, String, Policy)] {
        &self.content.repositories
    }

    pub fn parse(bytes: &[u8], file: &str) -> Result<RawPom, PomError> {
        let p = parse_document(bytes, file)?;
        if p.name != "project" {
            return Err(PomError::Invalid {
                file: file.into(),
                message: "root element is not <project>".into(),
            });
        }
        let parent = match p.child("parent") {
            None => None,
            Some(pe) => {
                let g = pe.text_of("groupId").unwrap_or_default();
                let a = pe.text_of("artifactId").unwrap_or_default();
                let v = pe.text_of("version").unwrap_or_default();
                if g.is_empty() || a.is_empty() || v.is_empty() {
                    return Err(PomError::Invalid {
                        file: file.into(),
                        message: "<parent> needs groupId, artifactId and version".into(),
                    });
                }
                Some((g, a, v))
            }
        };
        let relocation = p
            .child("distributionManagement")
            .and_then(|d| d.child("relocation"))
            .map(|r| Relocation {
                group_id: r.text_of("groupId").filter(|s| !s.is_empty()),
                artifact_id: r.text_of("artifactId").filter(|s| !s.is_empty()),
                version: r.text_of("version").filter(|s| !s.is_empty()),
            });
        let profiles = p
            .all("profiles", "profile")
            .map(|pe| {
                let activation = Activation::read(pe);
                Profile {
                    activation,
                    content: read_content(pe),
                }
            })
            .collect();
        Ok(RawPom {
            file: file.to_string(),
            group_id: p.text_of("groupId"),
            artifact_id: p.text_of("artifactId"),
            version: p.text_of("version"),
            packaging: p.text_of("packaging"),
            parent,
            relocation,
            content: read_content(&p),
            profiles,
        })
    }
}

/// System properties (java.version, os.name, ...) and the environment seen by activation and
/// interpolation.
#[derive(Debug, Clone, Default)]
pub(crate) struct Env {
    pub system: BTreeMap<String, String>,
    pub env: BTreeMap<String, String>,
}

fn jdk_matches(spec: &str, java_version: &str) -> bool {
    let spec = spec.trim();
    if spec.starts_with('[') || spec.starts_with('(') {
        // Maven compares ranges against the JDK version with its own numeric parsing; the
        // general version order agrees for the JDK version formats in use.
        return match VersionReq::parse(spec) {
            Ok(VersionReq::Ranges(rs)) => {
                let v = Version::parse(java_version);
                rs.iter().any(|r: &Restriction| r.contains(&v))
            }
            _ => false,
        };
    }
    match spec.strip_prefix('!') {
        Some(neg) => !java_version.starts_with(neg),
        None => java_version.starts_with(spec),
    }
}

/// Java's `os.name`/`os.arch`/`os.version` (from the configured system properties, else
/// this process's platform), and Maven's family test.
fn os_matches(cond: &[Option<String>; 4], env: &Env) -> bool {
    let prop = |k: &str, fallback: &str| {
        env.system
            .get(k)
            .cloned()
            .unwrap_or_else(|| fallback.to_string())
            .to_lowercase()
    };
    let name = prop(
        "os.name",
        match std::env::consts::OS {
            "linux" => "Linux",
            "macos" => "Mac OS X",
            "windows" => "Windows",
            other => other,
        },
    );
    let arch = prop(
        "os.arch",
        match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "x86" => "x86",
            other => other,
        },
    );
    let version = prop("os.version", "");
    let family_is = |f: &str| match f {
        "windows" => name.contains("windows"),
        "mac" => name.contains("mac"),
        "unix" => {
            !name.contains("windows") && !name.starts_with("os/2") && !name.contains("netware")
        }
        "dos" => name.contains("windows") || name.contains("dos"),
        other => name.contains(other),
    };
    let check = |spec: &Option<String>, test: &dyn Fn(&str) -> bool| match spec {
        None => true,
        Some(v) => {
            let v = v.to_lowercase();
            match v.strip_prefix('!') {
                Some(neg) => !test(neg),
                None => test(&v),
            }
        }
    };
    check(&cond[0], &|v| v == name)
        && check(&cond[1], &family_is)
        && check(&cond[2], &|v| v == arch)
        && check(&cond[3], &|v| v == version)
}

impl Activation {
    /// The `<activation>` of a profile element (a POM's or settings.xml's).
    pub(crate) fn read(profile: &Element) -> Activation {
        let mut activation = Activation::default();
        if let Some(a) = profile.child("activation") {
            activation.active_by_default = a.text_of("activeByDefault").as_deref() == Some("true");
            activation.jdk = a.text_of("jdk");
            activation.property = a.child("property").map(|pr| {
                (
                    pr.text_of("name").unwrap_or_default(),
                    pr.text_of("value").filter(|v| !v.is_empty()),
                )
            });
            activation.os = a.child("os").map(|o| {
                ["name", "family", "arch", "version"]
                    .map(|k| o.text_of(k).filter(|v| !v.is_empty()))
            });
            activation.unsupported = a.child("file").is_some();
        }
        activation
    }
}

/// Whether a profile's JDK, property and OS conditions hold (activeByDefault aside).
pub(crate) fn activated(a: &Activation, env: &Env) -> bool {
    if a.unsupported || (a.jdk.is_none() && a.property.is_none() && a.os.is_none()) {
        return false;
    }
    if let Some(os) = &a.os {
        if !os_matches(os, env) {
            return false;
        }
    }
    if let Some(jdk) = &a.jdk {
        let java = env
            .system
            .get("java.version")
            .map(String::as_str)
            .unwrap_or("");
        if !jdk_matches(jdk, java) {
            return false;
        }
    }
    if let Some((name, value)) = &a.property {
        let (negate_name, name) = match name.strip_prefix('!') {
            Some(n) => (true, n),
            None => (false, name.as_str()),
        };
        // Maven's system properties include the environment as `env.NAME`.
        let actual = match name.strip_prefix("env.") {
            Some(var) => env.env.get(var),
            None => env.system.get(name),
        }
        .map(String::as_str)
        .unwrap_or("");
        let ok = match value {
            None => negate_name == actual.is_empty(),
            Some(v) => match v.strip_prefix('!') {
                Some(v) => v != actual,
                None => v == actual,
            },
        };
        if !ok {
            return false;
        }
    }
    true
}

/// Merges `over` into `base`: same-key entries are replaced in place, new ones appended.
fn merge_by_key<T: Clone>(base: &mut Vec<T>, over: &[T], key: impl Fn(&T) -> String) {
    for item in over {
        let k = key(item);
        match base.iter().position(|b| key(b) == k) {
            Some(i) => base[i] = item.clone(),
            None => base.push(item.clone()),
        }
    }
}

/// Inheritance: the child's entries first, then the parent's not overridden by key.
fn inherit<T: Clone>(child: &[T], parent: &[T], key: impl Fn(&T) -> String) -> Vec<T> {
    let mut out = child.to_vec();
    let keys: HashSet<String> = child.iter().map(&key).collect();
    out.extend(parent.iter().filter(|p| !keys.contains(&key(p))).cloned());
    out
}

fn with_profiles(raw: &RawPom, env: &Env) -> Content {
    let mut active: Vec<&Profile> = raw
        .profiles
        .iter()
        .filter(|p| activated(&p.activation, env))
        .collect();
    if active.is_empty() {
        active = raw
            .profiles
            .iter()
            .filter(|p| p.activation.active_by_default)
            .collect();
    }
    let mut c = raw.content.clone();
    for p in active {
        merge_by_key(&mut c.properties, &p.content.properties, |x| x.0.clone());
        merge_by_key(
            &mut c.dependencies,
            &p.content.dependencies,
            PomDep::management_key,
        );
        merge_by_key(&mut c.managed, &p.content.managed, PomDep::management_key);
        merge_by_key(&mut c.repositories, &p.content.repositories, |x| {
            x.0.clone()
        });
    }
    c
}

/// The effective model of one POM (with its parents folded in).
#[derive(Debug, Clone, Default)]
pub(crate) struct Model {
    // The POM's own coordinates and packaging do not influence resolution (the dependency
    // declaration decides the type): they only feed `${project.*}` interpolation.
    pub dependencies: Vec<PomDep>,
    pub managed: Vec<PomDep>,
    pub repositories: Vec<(String, String, Policy)>,
    pub relocation: Option<Relocation>,
}

impl Model {
    /// Builds the model from `chain` (the POM first, then its parent, grandparent, ...),
    /// up to, but not including, BOM imports and management injection (see `imports` and
    /// `finish`).
    pub fn assemble(chain: &[RawPom], env: &Env) -> Result<Model, PomError> {
        let Some(first) = chain.first() else {
            return Err(PomError::Invalid {
                file: String::new(),
                message: "empty POM chain".into(),
            });
        };
        // Fold from the root ancestor down so each child overrides what it inherits.
        let mut content = Content::default();
        let mut group_id = None;
        let mut version = None;
        for raw in chain.iter().rev() {
            let own = with_profiles(raw, env);
            let mut props = content.properties.clone();
            merge_by_key(&mut props, &own.properties, |x| x.0.clone());
            content = Content {
                properties: props,
                dependencies: inherit(
                    &own.dependencies,
                    &content.dependencies,
                    PomDep::management_key,
                ),
                managed: inherit(&own.managed, &content.managed, PomDep::management_key),
                repositories: inherit(&own.repositories, &content.repositories, |x| x.0.clone()),
            };
            let parent = raw.parent.as_ref();
            group_id = raw.group_id.clone().or_else(|| parent.map(|p| p.0.clone()));
            version = raw.version.clone().or_else(|| parent.map(|p| p.2.clone()));
        }
        let file = &first.file;
        let missing = |what: &str| PomError::Invalid {
            file: file.clone(),
            message: format!("missing {what}"),
        };
        let group_id = group_id.ok_or_else(|| missing("groupId"))?;
        let version = version.ok_or_else(|| missing("version"))?;
        let artifact_id = first
            .artifact_id
            .clone()
            .ok_or_else(|| missing("artifactId"))?;
        let packaging = first.packaging.clone().unwrap_or_else(|| "jar".into());

        let mut vars: BTreeMap<String, String> = BTreeMap::new();
        // Lowest precedence first; later inserts win.
        vars.insert("groupId".into(), group_id.clone());
        vars.insert("artifactId".into(), artifact_id.clone());
        vars.insert("version".into(), version.clone());
        for (k, v) in &env.env {
            vars.insert(format!("env.{k}"), v.clone());
        }
        for (k, v) in &env.system {
            vars.insert(k.clone(), v.clone());
        }
        for (k, v) in &content.properties {
            vars.insert(k.clone(), v.clone());
        }
        for prefix in ["project", "pom"] {
            vars.insert(format!("{prefix}.groupId"), group_id.clone());
            vars.insert(format!("{prefix}.artifactId"), artifact_id.clone());
            vars.insert(format!("{prefix}.version"), version.clone());
            vars.insert(format!("{prefix}.packaging"), packaging.clone());
            if let Some((g, a, v)) = &first.parent {
                vars.insert(format!("{prefix}.parent.groupId"), g.clone());
                vars.insert(format!("{prefix}.parent.artifactId"), a.clone());
                vars.insert(format!("{prefix}.parent.version"), v.clone());
            }
        }
        let budget = std::cell::Cell::new(MAX_EXPANDED_POM);
        let i = |s: &str| -> Result<String, PomError> {
            let mut left = budget.get();
            let r = interpolate(s, &vars, &mut left);
            budget.set(left);
            r.map_err(|e| e.into_error(file))
        };
        let io = |s: &Option<String>| s.as_deref().map(i).transpose();
        let idep = |d: &PomDep| -> Result<PomDep, PomError> {
            Ok(PomDep {
                group_id: i(&d.group_id)?,
                artifact_id: i(&d.artifact_id)?,
                version: io(&d.version)?,
                type_: io(&d.type_)?,
                classifier: io(&d.classifier)?,
                scope: io(&d.scope)?,
                optional: io(&d.optional)?,
                exclusions: d
                    .exclusions
                    .iter()
                    .map(|(g, a)| Ok((i(g)?, i(a)?)))
                    .collect::<Result<_, PomError>>()?,
                system_path: io(&d.system_path)?,
            })
        };
        Ok(Model {
            dependencies: content
                .dependencies
                .iter()
                .map(idep)
                .collect::<Result<_, _>>()?,
            managed: content.managed.iter().map(idep).collect::<Result<_, _>>()?,
            repositories: content
                .repositories
                .iter()
                .map(|(id, url, policy)| Ok((i(id)?, i(url)?, *policy)))
                .collect::<Result<_, PomError>>()?,
            relocation: match &first.relocation {
                None => None,
                Some(r) => Some(Relocation {
                    group_id: io(&r.group_id)?,
                    artifact_id: io(&r.artifact_id)?,
                    version: io(&r.version)?,
                }),
            },
        })
    }

    /// Removes and returns the `import`-scoped `pom` entries of dependencyManagement (BOMs),
    /// in declaration order.
    pub fn take_imports(&mut self) -> Vec<PomDep> {
        let (imports, rest): (Vec<PomDep>, Vec<PomDep>) = std::mem::take(&mut self.managed)
            .into_iter()
            .partition(|d| {
                d.scope.as_deref() == Some("import") && d.type_.as_deref() == Some("pom")
            });
        self.managed = rest;
        imports
    }

    /// Adds an imported BOM's managed entries; entries already present win.
    pub fn add_imported(&mut self, managed: &[PomDep]) {
        let keys: HashSet<String> = self.managed.iter().map(PomDep::management_key).collect();
        self.managed.extend(
            managed
                .iter()
                .filter(|m| !keys.contains(&m.management_key()))
                .cloned(),
        );
    }

    /// Injects dependencyManagement (version, scope, system path, exclusions) into the POM's
    /// own dependencies and applies defaults.
    pub fn finish(&mut self) {
        for d in &mut self.dependencies {
            let key = d.management_key();
            if let Some(m) = self.managed.iter().find(|m| m.management_key() == key) {
                if d.version.is_none() {
                    d.version = m.version.clone();
                }
                if d.scope.is_none() {
                    d.scope = m.scope.clone();
                }
                // Not `optional`: Maven's model builder does not manage it ("optional flag is
                // not managed", DefaultDependencyManagementInjector). The root project's
                // management still makes transitive dependencies optional, in collect.
                if d.system_path.is_none() {
                    d.system_path = m.system_path.clone();
                }
                if d.exclusions.is_empty() {
                    d.exclusions = m.exclusions.clone();
                }
            }
            if d.scope.is_none() {
                d.scope = Some("compile".into());
            }
        }
    }
}

/// The most text interpolation may expand into one value, and into all the values of one
/// POM. Real POMs stay far below both; a POM whose properties nest exponentially (each ten
/// references to the one below: a "billion laughs") reaches them after a few KiB of work
/// instead of gigabytes.
pub(crate) const MAX_EXPANDED_VALUE: usize = 64 * 1024;
pub(crate) const MAX_EXPANDED_POM: usize = 8 * 1024 * 1024;

/// Interpolation went past a limit: `property` is the reference (in the value being
/// interpolated) whose expansion did, `limit` the limit's size in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TooLarge {
    pub property: String,
    pub limit: usize,
    pub per_pom: bool,
}

impl TooLarge {
    fn into_error(self, file: &str) -> PomError {
        PomError::TooLarge {
            file: file.to_string(),
            property: self.property,
            limit: format!(
                "{} KiB {}",
                self.limit / 1024,
                if self.per_pom { "per POM" } else { "per value" }
            ),
        }
    }
}

/// Replaces `${name}` with its value, recursively; unknown names stay as written, as in Maven.
///
/// Every byte copied from a property's value and every reference followed inside one counts
/// against [`MAX_EXPANDED_VALUE`] and against `pom_budget` (what is left of
/// [`MAX_EXPANDED_POM`]), so the result and the work both stay bounded: an exponentially
/// nested property fails fast, naming the reference it was expanding.
pub(crate) fn interpolate(
    s: &str,
    vars: &BTreeMap<String, String>,
    pom_budget: &mut usize,
) -> Result<String, TooLarge> {
    struct Budget<'a> {
        value: usize,
        pom: &'a mut usize,
    }
    impl Budget<'_> {
        /// Spends `n` bytes at `depth`; `Err(per_pom)` when a limit is passed. The value's
        /// own text (depth 0) is free: the POM's size bounds it.
        fn spend(&mut self, depth: usize, n: usize) -> Result<(), bool> {
            if depth == 0 {
                return Ok(());
            }
            if n > self.value {
                return Err(false);
            }
            if n > *self.pom {
                return Err(true);
            }
            self.value -= n;
            *self.pom -= n;
            Ok(())
        }
    }
    /// `Err(per_pom)` when a limit is passed; the caller names the property.
    fn go(
        s: &str,
        vars: &BTreeMap<String, String>,
        depth: usize,
        budget: &mut Budget,
        top: &mut Option<String>,
    ) -> Result<String, bool> {
        if depth > 32 || !s.contains("${") {
            budget.spend(depth, s.len())?;
            return Ok(s.to_string());
        }
        let mut out = String::new();
        let mut rest = s;
        while let Some(start) = rest.find("${") {
            budget.spend(depth, start)?;
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            match after.find('}') {
                Some(end) => {
                    let name = &after[..end];
                    if depth == 0 {
                        *top = Some(name.to_string());
                    }
                    match vars.get(name) {
                        Some(v) => {
                            // Following a reference costs what it took to write it, so even
                            // references to empty values cannot multiply without bound.
                            budget.spend(depth, name.len() + 3)?;
                            out.push_str(&go(v, vars, depth + 1, budget, top)?);
                        }
                        None => {
                            budget.spend(depth, name.len() + 3)?;
                            out.push_str("${");
                            out.push_str(name);
                            out.push('}');
                        }
                    }
                    rest = &after[end + 1..];
                }
                None => {
                    budget.spend(depth, rest.len() - start)?;
                    out.push_str(&rest[start..]);
                    rest = "";
                }
            }
        }
        budget.spend(depth, rest.len())?;
        out.push_str(rest);
        Ok(out)
    }
    let mut budget = Budget {
        value: MAX_EXPANDED_VALUE,
        pom: pom_budget,
    };
    let mut top = None;
    go(s, vars, 0, &mut budget, &mut top).map_err(|per_pom| TooLarge {
        property: top.unwrap_or_default(),
        limit: if per_pom {
            MAX_EXPANDED_POM
        } else {
            MAX_EXPANDED_VALUE
        },
        per_pom,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(xml: &str) -> RawPom {
        RawPom::parse(xml.as_bytes(), "test.pom").unwrap()
    }

    fn env(java: &str, props: &[(&str, &str)]) -> Env {
        let mut system: BTreeMap<String, String> = props
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        system.insert("java.version".into(), java.into());
        Env {
            system,
            env: [("HOME".to_string(), "/home/x".to_string())]
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn malformed_xml_reports_file_and_line() {
        let err = RawPom::parse(
            b"<project>\n<groupId>g</groupId>\n<artifactId>a</artifact>\n</project>",
            "x/a.pom",
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("x/a.pom") && msg.contains("line 3"), "{msg}");
        let err = RawPom::parse(b"<project>\n<groupId>g</groupId>\n", "b.pom").unwrap_err();
        assert!(matches!(err, PomError::Malformed { .. }), "{err}");
    }

    /// Found by the Debian corpus (maven-slf4j-provider 3.8.7, whose parent manages
    /// slf4j-simple as optional): Maven's model builder injects a managed version, scope and
    /// exclusions into a POM's own dependencies but never `<optional>` ("optional flag is not
    /// managed", DefaultDependencyManagementInjector), so such a dependency stays required.
    #[test]
    fn management_does_not_make_a_pom_own_dependency_optional() {
        let parent = raw(
            r#"<project><groupId>org.p</groupId><artifactId>parent</artifactId><version>1</version>
            <dependencyManagement><dependencies>
              <dependency><groupId>org.s</groupId><artifactId>simple</artifactId><version>2</version><optional>true</optional></dependency>
              <dependency><groupId>org.s</groupId><artifactId>api</artifactId><version>3</version><optional>true</optional><scope>runtime</scope></dependency>
            </dependencies></dependencyManagement></project>"#,
        );
        let child = raw(
            r#"<project><parent><groupId>org.p</groupId><artifactId>parent</artifactId><version>1</version></parent>
            <artifactId>child</artifactId><dependencies>
              <dependency><groupId>org.s</groupId><artifactId>simple</artifactId></dependency>
              <dependency><groupId>org.s</groupId><artifactId>api</artifactId></dependency>
              <dependency><groupId>org.s</groupId><artifactId>own</artifactId><version>1</version><optional>true</optional></dependency>
            </dependencies></project>"#,
        );
        let mut m = Model::assemble(&[child, parent], &env("17", &[])).unwrap();
        m.finish();
        let deps: Vec<(&str, &str, &str, Option<&str>)> = m
            .dependencies
            .iter()
            .map(|d| {
                (
                    d.artifact_id.as_str(),
                    d.version.as_deref().unwrap_or_default(),
                    d.scope.as_deref().unwrap_or_default(),
                    d.optional.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            deps,
            vec![
                ("simple", "2", "compile", None),
                ("api", "3", "runtime", None),
                ("own", "1", "compile", Some("true")),
            ]
        );
    }

    #[test]
    fn inheritance_and_interpolation() {
        let parent = raw(
            r#"<project><groupId>org.p</groupId><artifactId>parent</artifactId><version>2.0</version>
            <properties><lib.version>1.0</lib.version><other>x</other></properties>
            <dependencies><dependency><groupId>org.d</groupId><artifactId>pd</artifactId><version>${other}</version></dependency></dependencies>
            <dependencyManagement><dependencies><dependency><groupId>org.m</groupId><artifactId>m</artifactId><version>${lib.version}</version><scope>runtime</scope></dependency></dependencies></dependencyManagement>
            </project>"#,
        );
        let child = raw(
            r#"<project><parent><groupId>org.p</groupId><artifactId>parent</artifactId><version>2.0</version></parent>
            <artifactId>child</artifactId><properties><lib.version>1.5</lib.version></properties>
            <dependencies>
              <dependency><groupId>org.m</groupId><artifactId>m</artifactId></dependency>
              <dependency><groupId>${project.groupId}</groupId><artifactId>sib</artifactId><version>${project.version}</version></dependency>
              <dependency><groupId>org.e</groupId><artifactId>e</artifactId><version>${pom.parent.version}-${java.version}-${env.HOME}-${undefined}</version></dependency>
            </dependencies></project>"#,
        );
        let mut m = Model::assemble(&[child, parent], &env("17.0.2", &[])).unwrap();
        m.finish();
        // The inherited groupId and version show through `${project.*}` in `sib`.
        let deps: Vec<(String, String, String)> = m
            .dependencies
            .iter()
            .map(|d| {
                (
                    d.artifact_id.clone(),
                    d.version.clone().unwrap_or_default(),
                    d.scope.clone().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            deps,
            vec![
                ("m".into(), "1.5".into(), "runtime".into()),
                ("sib".into(), "2.0".into(), "compile".into()),
                (
                    "e".into(),
                    "2.0-17.0.2-/home/x-${undefined}".into(),
                    "compile".into()
                ),
                ("pd".into(), "x".into(), "compile".into()),
            ]
        );
        assert_eq!(m.dependencies[1].group_id, "org.p");
    }

    #[test]
    fn interpolation_is_bounded_in_size_and_work() {
        let vars = |pairs: &[(&str, String)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect()
        };
        let mut budget = MAX_EXPANDED_POM;
        let plain = vars(&[("a", "x${b}".into()), ("b", "y".into())]);
        assert_eq!(
            interpolate("1-${a}-${none}", &plain, &mut budget).as_deref(),
            Ok("1-xy-${none}")
        );
        // ${l9} is 10^9 copies of "lol"; ${e30} is 2^30 references to an empty value.
        let mut laughs = vec![("l0", "lol".to_string())];
        let mut empties = vec![("e0", String::new())];
        let names: Vec<(String, String)> = (1..=30)
            .map(|n| (format!("l{n}"), format!("e{n}")))
            .collect();
        for (n, (l, e)) in names.iter().enumerate() {
            laughs.push((l, format!("${{l{n}}}").repeat(10)));
            empties.push((e, format!("${{e{n}}}${{e{n}}}")));
        }
        let started = std::time::Instant::now();
        for (value, vars, property) in [
            ("v${l9}", vars(&laughs), "l9"),
            ("${e30}", vars(&empties), "e30"),
        ] {
            let mut budget = MAX_EXPANDED_POM;
            let err = interpolate(value, &vars, &mut budget).unwrap_err();
            assert_eq!(
                err,
                TooLarge {
                    property: property.into(),
                    limit: MAX_EXPANDED_VALUE,
                    per_pom: false
                }
            );
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        // Many values just under the per-value limit exhaust the POM's budget.
        let big = vars(&[("big", "x".repeat(MAX_EXPANDED_VALUE - 16))]);
        let mut budget = MAX_EXPANDED_POM;
        let results: Vec<_> = (0..200)
            .map(|_| interpolate("${big}", &big, &mut budget))
            .collect();
        assert!(results[0].is_ok());
        assert_eq!(
            results.last().unwrap().as_ref().unwrap_err(),
            &TooLarge {
                property: "big".into(),
                limit: MAX_EXPANDED_POM,
                per_pom: true
            }
        );
        let err = TooLarge {
            property: "l9".into(),
            limit: MAX_EXPANDED_VALUE,
            per_pom: false,
        }
        .into_error("x/bomb.pom")
        .to_string();
        assert_eq!(err, "invalid POM x/bomb.pom: interpolating ${l9} expands past the limit of 64 KiB per value (properties nested too deeply to expand)");
    }

    #[test]
    fn profiles() {
        let xml = r#"<project><groupId>g</groupId><artifactId>a</artifactId><version>1</version>
          <profiles>
            <profile><id>def</id><activation><activeByDefault>true</activeByDefault></activation>
              <dependencies><dependency><groupId>g</groupId><artifactId>def</artifactId><version>1</version></dependency></dependencies></profile>
            <profile><id>jdk</id><activation><jdk>[11,)</jdk></activation>
              <dependencies><dependency><groupId>g</groupId><artifactId>jdk11</artifactId><version>1</version></dependency></dependencies></profile>
            <profile><id>prop</id><activation><property><name>!skip</name></property></activation>
              <properties><p>yes</p></properties></profile>
            <profile><id>val</id><activation><property><name>mode</name><value>fast</value></property></activation>
              <dependencies><dependency><groupId>g</groupId><artifactId>fast</artifactId><version>1</version></dependency></dependencies></profile>
          </profiles></project>"#;
        let names = |e: &Env| -> Vec<String> {
            let m = Model::assemble(&[raw(xml)], e).unwrap();
            m.dependencies
                .iter()
                .map(|d| d.artifact_id.clone())
                .collect()
        };
        assert_eq!(names(&env("17.0.1", &[])), vec!["jdk11"]);
        assert_eq!(names(&env("1.8.0_292", &[("skip", "1")])), vec!["def"]);
        assert_eq!(
            names(&env("1.8.0_292", &[])),
            Vec::<String>::new(),
            "!skip activates, so default is off"
        );
        assert_eq!(
            names(&env("1.8", &[("skip", "1"), ("mode", "fast")])),
            vec!["fast"]
        );
        assert!(
            jdk_matches("1.8", "1.8.0_292")
                && !jdk_matches("!1.8", "1.8.0")
                && jdk_matches("(,11)", "1.8.0")
        );
    }

    #[test]
    fn relocation_and_imports() {
        let mut m = Model::assemble(
            &[raw(r#"<project><groupId>old</groupId><artifactId>a</artifactId><version>1</version><packaging>pom</packaging>
              <distributionManagement><relocation><groupId>new</groupId></relocation></distributionManagement>
              <dependencyManagement><dependencies>
                <dependency><groupId>b</groupId><artifactId>bom</artifactId><version>1</version><type>pom</type><scope>import</scope></dependency>
                <dependency><groupId>x</groupId><artifactId>y</artifactId><version>2</version></dependency>
              </dependencies></dependencyManagement></project>"#)],
            &Env::default(),
        )
        .unwrap();
        assert_eq!(
            m.relocation,
            Some(Relocation {
                group_id: Some("new".into()),
                artifact_id: None,
                version: None
            })
        );
        let imports = m.take_imports();
        assert_eq!(imports.len(), 1);
        let bom = vec![
            PomDep {
                group_id: "x".into(),
                artifact_id: "y".into(),
                version: Some("9".into()),
                ..Default::default()
            },
            PomDep {
                group_id: "x".into(),
                artifact_id: "z".into(),
                version: Some("9".into()),
                ..Default::default()
            },
        ];
        m.add_imported(&bom);
        let v: Vec<_> = m
            .managed
            .iter()
            .map(|d| d.version.clone().unwrap_or_default())
            .collect();
        assert_eq!(v, vec!["2", "9"]);
    }
}
