//! What `lein jar` puts under `META-INF/` besides the classes: the project's pom.xml and
//! pom.properties, its project.clj, README and LICENSE.

use std::collections::BTreeMap;
use std::path::Path;

use kbuild_resolvers::Scope;

use crate::project::{ClojureProject, PROJECT_CLJ};

/// What `lein jar` adds under `META-INF/leiningen/<group>/<name>/`: the project.clj, and the
/// README and LICENSE files at the root (matched case-insensitively by their start).
pub(super) fn leiningen_metadata(root: &Path, cp: &ClojureProject) -> BTreeMap<String, String> {
    let mut names: Vec<String> = std::fs::read_dir(root)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| {
                    let lower = n.to_lowercase();
                    lower.starts_with("readme") || lower.starts_with("license")
                })
                .collect()
        })
        .unwrap_or_default();
    names.push(PROJECT_CLJ.to_string());
    names
        .into_iter()
        .filter_map(|n| {
            let text = std::fs::read(root.join(&n)).ok()?;
            Some((
                format!("META-INF/leiningen/{}/{}/{n}", cp.group, cp.name),
                String::from_utf8_lossy(&text).into_owned(),
            ))
        })
        .collect()
}

/// `META-INF/maven/<group>/<name>/pom.xml` and `pom.properties`, as `lein jar` writes them
/// (without the timestamp, so jars stay reproducible).
pub(super) fn maven_metadata(cp: &ClojureProject) -> BTreeMap<String, String> {
    fn esc(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    }
    let mut deps = String::new();
    for d in cp.dependencies.iter().map(|d| &d.maven) {
        deps.push_str("    <dependency>\n");
        deps.push_str(&format!(
            "      <groupId>{}</groupId>\n      <artifactId>{}</artifactId>\n",
            esc(&d.coord.group),
            esc(&d.coord.artifact)
        ));
        if !d.coord.version.is_empty() {
            deps.push_str(&format!(
                "      <version>{}</version>\n",
                esc(&d.coord.version)
            ));
        }
        let classifier = d.declared_classifier();
        if !classifier.is_empty() {
            deps.push_str(&format!(
                "      <classifier>{}</classifier>\n",
                esc(classifier)
            ));
        }
        if d.type_ != "jar" {
            deps.push_str(&format!("      <type>{}</type>\n", esc(&d.type_)));
        }
        if d.scope != Scope::Compile {
            deps.push_str(&format!("      <scope>{}</scope>\n", d.scope));
        }
        if d.optional {
            deps.push_str("      <optional>true</optional>\n");
        }
        if !d.exclusions.is_empty() {
            deps.push_str("      <exclusions>\n");
            for e in &d.exclusions {
                deps.push_str(&format!(
                    "        <exclusion>\n          <groupId>{}</groupId>\n          <artifactId>{}</artifactId>\n        </exclusion>\n",
                    esc(&e.group),
                    esc(&e.artifact)
                ));
            }
            deps.push_str("      </exclusions>\n");
        }
        deps.push_str("    </dependency>\n");
    }
    let pom = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <project xmlns=\"http://maven.apache.org/POM/4.0.0\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xsi:schemaLocation=\"http://maven.apache.org/POM/4.0.0 http://maven.apache.org/xsd/maven-4.0.0.xsd\">\n\
         \x20 <modelVersion>4.0.0</modelVersion>\n\
         \x20 <groupId>{g}</groupId>\n\
         \x20 <artifactId>{a}</artifactId>\n\
         \x20 <packaging>jar</packaging>\n\
         \x20 <version>{v}</version>\n\
         \x20 <name>{a}</name>\n\
         \x20 <dependencies>\n{deps}  </dependencies>\n\
         </project>\n",
        g = esc(&cp.group),
        a = esc(&cp.name),
        v = esc(&cp.version),
    );
    let props = format!(
        "groupId={}\nartifactId={}\nversion={}\n",
        cp.group, cp.name, cp.version
    );
    let dir = format!("META-INF/maven/{}/{}", cp.group, cp.name);
    BTreeMap::from([
        (format!("{dir}/pom.xml"), pom),
        (format!("{dir}/pom.properties"), props),
    ])
}
