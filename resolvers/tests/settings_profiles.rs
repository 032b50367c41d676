//! settings.xml profiles: the repositories of the active ones come before the project's
//! own, as in mvn (checked against it on the same servers).

mod support;

use kbuild_resolvers::{resolve, to_list_lines, Dependency};
use support::{config, mvn_project_with, publish, runtime, Server};

/// Three repositories holding different `a-1.0`s (each jar says which), `only-b` in the
/// second alone, and settings.xml profiles naming them.
struct Setup {
    _dirs: Vec<tempfile::TempDir>,
    servers: Vec<Server>,
}

fn setup() -> Setup {
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    for (i, d) in dirs.iter().enumerate() {
        publish(d.path(), "kbt.settings:a:1.0", "", &format!("repo {i}"));
    }
    publish(dirs[1].path(), "kbt.settings:only-b:1.0", "", "b");
    let servers = dirs.iter().map(|d| Server::start(d.path())).collect();
    Setup {
        _dirs: dirs,
        servers,
    }
}

fn profile(id: &str, by_default: bool, repos: &[(&str, &str)]) -> String {
    let repos: String = repos
        .iter()
        .map(|(id, url)| format!("<repository><id>{id}</id><url>{url}</url></repository>"))
        .collect();
    let activation = if by_default {
        "<activation><activeByDefault>true</activeByDefault></activation>"
    } else {
        ""
    };
    format!("<profile><id>{id}</id>{activation}<repositories>{repos}</repositories></profile>")
}

fn marker(jar: &std::path::Path) -> String {
    let mut z = zip::ZipArchive::new(std::fs::File::open(jar).unwrap()).unwrap();
    std::io::read_to_string(z.by_name("marker.txt").unwrap()).unwrap()
}

/// kbuild and mvn with the same profiles and the project's repository last: the same list,
/// and `a` from the same repository.
fn compare(s: &Setup, profiles: &str, active: &[&str]) -> String {
    compare_with(s, profiles, active, &[])
}

/// [`compare`] with the system properties `props` set (`-D` for mvn).
fn compare_with(s: &Setup, profiles: &str, active: &[&str], props: &[&str]) -> String {
    let active: String = active
        .iter()
        .map(|a| format!("<activeProfile>{a}</activeProfile>"))
        .collect();
    let settings =
        format!("<profiles>{profiles}</profiles><activeProfiles>{active}</activeProfiles>");
    let project_repo = &s.servers[2].url;
    let roots = ["kbt.settings:a:1.0", "kbt.settings:only-b:1.0"];

    let local = tempfile::tempdir().unwrap();
    let mut cfg = config(&[project_repo], local.path());
    let settings_xml = local.path().join("settings.xml");
    std::fs::write(&settings_xml, format!("<settings>{settings}</settings>")).unwrap();
    cfg.settings_xml = Some(settings_xml);
    for p in props {
        cfg.system_properties.insert(p.to_string(), "on".into());
    }
    let deps: Vec<Dependency> = roots
        .iter()
        .map(|r| Dependency::parse(r).unwrap())
        .collect();
    let ours = runtime().block_on(resolve(&cfg, &deps, &[]));

    let work = tempfile::tempdir().unwrap();
    let body: String = roots
        .iter()
        .map(|r| {
            let [g, a, v]: [&str; 3] = r.split(':').collect::<Vec<_>>().try_into().unwrap();
            format!("<dependency><groupId>{g}</groupId><artifactId>{a}</artifactId><version>{v}</version></dependency>")
        })
        .collect();
    let body = format!(
        "<repositories><repository><id>project</id><url>{project_repo}</url></repository></repositories><dependencies>{body}</dependencies>"
    );
    let flags: Vec<String> = props.iter().map(|p| format!("-D{p}=on")).collect();
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let mvn = mvn_project_with(work.path(), &body, project_repo, &settings, &flags);
    match ours {
        Ok(r) => {
            assert!(mvn.ok, "kbuild resolved, mvn did not:\n{}", mvn.stdout);
            assert_eq!(to_list_lines(&r), mvn.list);
            let theirs = marker(&mvn.local.join("kbt/settings/a/1.0/a-1.0.jar"));
            assert_eq!(marker(&r.artifacts[0].file), theirs);
            theirs
        }
        Err(e) => {
            assert!(!mvn.ok, "mvn resolved, kbuild did not: {e}");
            format!("failed: {e}")
        }
    }
}

#[test]
fn active_profiles_repositories_come_first_as_in_mvn() {
    let s = setup();
    let (u0, u1) = (s.servers[0].url.as_str(), s.servers[1].url.as_str());
    // Named in <activeProfiles>: its repository comes before the project's.
    let p = profile("corp", false, &[("corp", u1)]);
    assert_eq!(compare(&s, &p, &["corp"]), "repo 1");
    // Not named, not by default: not used, so only-b is missing in both.
    assert!(compare(&s, &p, &[]).starts_with("failed"));
    // activeByDefault, while no other profile is active.
    let p = profile("corp", true, &[("corp", u1)]);
    assert_eq!(compare(&s, &p, &[]), "repo 1");
    // Two active profiles: the one declared last goes first, as in mvn.
    let p =
        profile("first", false, &[("first", u0)]) + &profile("second", false, &[("second", u1)]);
    assert_eq!(compare(&s, &p, &["first", "second"]), "repo 1");
    // ... which follows their declarations, not <activeProfiles>.
    assert_eq!(compare(&s, &p, &["second", "first"]), "repo 1");
    // An activeByDefault profile yields to one named in <activeProfiles>.
    let p =
        profile("default", true, &[("default", u0)]) + &profile("named", false, &[("named", u1)]);
    assert_eq!(compare(&s, &p, &["named"]), "repo 1");
}

/// A settings profile activated by a property, as a POM profile would be.
#[test]
fn a_settings_profile_activated_by_a_property_as_in_mvn() {
    let s = setup();
    let u1 = s.servers[1].url.as_str();
    let p = format!(
        "<profile><id>byprop</id><activation><property><name>kbt.flag</name></property></activation>\
         <repositories><repository><id>corp</id><url>{u1}</url></repository></repositories></profile>"
    );
    assert_eq!(compare_with(&s, &p, &[], &["kbt.flag"]), "repo 1");
    assert!(compare_with(&s, &p, &[], &[]).starts_with("failed"));
}
