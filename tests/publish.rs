//! `kbuild pom`, `kbuild install` and `kbuild deploy` against the real tools: the pom equals
//! the one Debian's `lein pom` writes; what `kbuild install` puts into a local repository
//! `lein` and `mvn` then resolve offline; what `kbuild deploy` uploads to Debian's nginx
//! (WebDAV PUT) `mvn` then fetches from it, with checksums enforced.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::lein::{debian_m2, lein};
use common::{Nginx, Project};

/// XML with the whitespace between elements dropped: "equal modulo whitespace".
fn squeeze(xml: &str) -> String {
    xml.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("")
}

fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `lein pom` and `kbuild pom` in the same project; returns both files' text.
fn both_poms(p: &Project) -> (String, String) {
    let m2 = debian_m2();
    ok(&lein(p, &m2, &["pom"]), "lein pom");
    let theirs = p.read("pom.xml");
    fs::remove_file(p.path("pom.xml")).unwrap();
    let out = p.run(&["pom"]);
    let printed = ok(&out, "kbuild pom");
    assert!(printed.contains("pom.xml"), "{printed}");
    (theirs, p.read("pom.xml"))
}

#[test]
fn pom_equals_lein_pom_on_the_fixture_project() {
    let p = Project::new("lein-mixed");
    let (theirs, ours) = both_poms(&p);
    assert!(theirs.contains("<artifactId>lein-mixed</artifactId>"));
    assert_eq!(squeeze(&ours), squeeze(&theirs));
    // Byte for byte, in fact: the same indentation and Leiningen's closing comment.
    assert_eq!(ours, theirs);
}

/// Description with markup characters, url, both license keys, an explicit scm, extra source
/// and test paths, repositories with policies, managed and versionless dependencies,
/// exclusions (global ones, and with a classifier), classifiers, optional, and the scoped profiles (`:provided`, `:dev`, `:test`)
/// that `lein pom` keeps while dropping the others.
#[test]
fn pom_equals_lein_pom_with_every_section() {
    let p = Project::new("lein-mixed");
    p.write(
        "project.clj",
        r#"(defproject kbuild.fixtures/rich "2.0.0"
  :description "Rich & <strange> project"
  :url "https://example.org/rich"
  :license {:name "EPL-2.0" :url "https://www.eclipse.org/legal/epl-2.0/"}
  :licenses [{:name "Apache-2.0" :url "https://www.apache.org/licenses/LICENSE-2.0" :distribution :repo}]
  :scm {:name "git" :url "https://github.com/example/rich" :tag "v2.0.0"}
  :repositories [["internal" {:url "https://repo.example.org/maven" :snapshots false :update :daily}]
                 ["other" "https://other.example.org/m2"]]
  :managed-dependencies [[org.clojure/clojure "1.11.1"]]
  :exclusions [org.example/everywhere]
  :dependencies [[org.clojure/clojure]
                 [org.clojure/data.fressian "1.0.0" :exclusions [org.fressian/fressian [x/y :classifier "c" :extension "zip"]]]
                 [org.yaml/snakeyaml "1.33" :classifier "android" :optional true]]
  :source-paths ["src" "src2"]
  :java-source-paths ["java"]
  :test-paths ["test" "test2"]
  :profiles {:dev {:dependencies [[nrepl "1.0.0"]] :resource-paths ["dev-res"]}
             :provided {:dependencies [[junit "4.13.2"]]}
             :test {:test-paths ["test3"]}
             :other {:dependencies [[never/included "1"]]}})
"#,
    );
    let (theirs, ours) = both_poms(&p);
    for part in [
        "<scope>provided</scope>",
        "<scope>test</scope>",
        "<source>java</source>",
        "Rich &amp; &lt;strange&gt;",
        "<classifier>c</classifier>\n          <type>zip</type>",
        "<artifactId>everywhere</artifactId>",
    ] {
        assert!(theirs.contains(part), "lein's pom has {part}:\n{theirs}");
    }
    assert!(!theirs.contains("never"));
    assert_eq!(squeeze(&ours), squeeze(&theirs));
}

/// `:pom-location` moves the pom, for lein and kbuild alike.
#[test]
fn pom_goes_where_pom_location_says() {
    let p = Project::new("lein-mixed");
    p.edit(
        "project.clj",
        ":java-source-paths",
        ":pom-location \"target/poms\"\n  :java-source-paths",
    );
    ok(&lein(&p, &debian_m2(), &["pom"]), "lein pom");
    let theirs = p.read("target/poms/pom.xml");
    fs::remove_dir_all(p.path("target/poms")).unwrap();
    ok(&p.run(&["pom"]), "kbuild pom");
    assert_eq!(p.read("target/poms/pom.xml"), theirs);
    assert!(!p.path("pom.xml").exists());
}

/// Without `:scm`, Leiningen fills it from `.git`: the GitHub origin's URLs and HEAD.
#[test]
fn pom_takes_scm_from_git_as_lein_does() {
    let p = Project::new("lein-mixed");
    common::git(p.dir.path(), &["init", "-q"]);
    common::git(
        p.dir.path(),
        &[
            "remote",
            "add",
            "origin",
            "git@github.com:example/mixed.git",
        ],
    );
    common::git(p.dir.path(), &["add", "project.clj"]);
    common::git(
        p.dir.path(),
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.org",
            "commit",
            "-qm",
            "one",
        ],
    );
    let head = common::git(p.dir.path(), &["rev-parse", "HEAD"]);
    let (theirs, ours) = both_poms(&p);
    assert!(theirs.contains(&format!("<tag>{head}</tag>")), "{theirs}");
    assert!(theirs.contains("scm:git:ssh://git@github.com/example/mixed.git"));
    assert_eq!(squeeze(&ours), squeeze(&theirs));
}

#[test]
fn pom_needs_a_project_clj_and_says_so() {
    let p = Project::new("deps-alias");
    let out = p.run(&["pom"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("deps.edn") && err.contains("project.clj"),
        "{err}"
    );
    assert!(!p.path("pom.xml").exists());

    // A key lein pom writes and kbuild does not is an error naming it, not a silent gap.
    let p = Project::new("lein-mixed");
    p.edit(
        "project.clj",
        ":java-source-paths",
        ":pom-addition [:developers [:developer [:name \"X\"]]]\n  :java-source-paths",
    );
    let out = p.run(&["pom"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(":pom-addition") && err.contains("project.clj"),
        "{err}"
    );

    // As lein pom, a release may not depend on a snapshot; both refuse.
    let p = library("kbt/release", "1.0.0");
    p.edit(
        "project.clj",
        "\"1.11.1\"]",
        "\"1.11.1\"] [kbt/other \"0.1-SNAPSHOT\"]",
    );
    let theirs = lein(&p, &debian_m2(), &["pom"]);
    assert!(!theirs.status.success());
    assert!(String::from_utf8_lossy(&theirs.stderr).contains("may not depend upon snapshots"));
    let out = p.run(&["pom"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("kbt/other 0.1-SNAPSHOT") && err.contains("project.clj"),
        "{err}"
    );
}

/// A writable copy of Debian's repository that `mvn -o` can run its dependency plugin from.
fn maven_local_repo(dir: &Path) -> PathBuf {
    let m2 = dir.join("m2");
    let ok = Command::new("cp")
        .arg("-rL")
        .arg("/usr/share/maven-repo")
        .arg(&m2)
        .status()
        .unwrap();
    assert!(ok.success(), "cp -rL /usr/share/maven-repo");
    // Debian's sisu-plexus asks for junit:junit:4.x, which no package installs.
    let j = m2.join("junit/junit/4.x");
    fs::create_dir_all(&j).unwrap();
    fs::write(
        j.join("junit-4.x.pom"),
        "<project><modelVersion>4.0.0</modelVersion><groupId>junit</groupId><artifactId>junit</artifactId><version>4.x</version></project>",
    )
    .unwrap();
    fs::copy(
        common::fixture("maven/basic-transitive/repo/kbt/basic/c/1.0/c-1.0.jar"),
        j.join("junit-4.x.jar"),
    )
    .unwrap();
    m2
}

/// A library project depending on Clojure, as `group/name "version"`.
fn library(coord: &str, version: &str) -> Project {
    let p = Project::new("lein-mixed");
    p.write(
        "project.clj",
        &format!(
            "(defproject {coord} \"{version}\"\n  :description \"a library\"\n  :dependencies [[org.clojure/clojure \"1.11.1\"]])\n"
        ),
    );
    fs::remove_dir_all(p.path("java")).unwrap();
    p.write("src/kbt/lib.clj", "(ns kbt.lib)\n(defn hello [] :hello)\n");
    p
}

/// `mvn dependency:list` of a project depending on `coord` (g:a:v), with `settings`; the
/// project names a repository that serves snapshots (a mirror takes its policies).
fn mvn_list(work: &Path, settings: &str, coord: &str, extra: &[&str]) -> Output {
    let (g, rest) = coord.split_once(':').unwrap();
    let (a, v) = rest.split_once(':').unwrap();
    fs::create_dir_all(work).unwrap();
    fs::write(work.join("settings.xml"), settings).unwrap();
    fs::write(
        work.join("pom.xml"),
        format!(
            "<project><modelVersion>4.0.0</modelVersion><groupId>c</groupId><artifactId>consumer</artifactId><version>1</version>\
             <repositories><repository><id>kbt</id><url>https://kbt.example.invalid/</url><snapshots><enabled>true</enabled></snapshots></repository></repositories>\
             <dependencies><dependency><groupId>{g}</groupId><artifactId>{a}</artifactId><version>{v}</version></dependency></dependencies></project>"
        ),
    )
    .unwrap();
    Command::new("mvn")
        .current_dir(work)
        .args(["-B", "-ntp", "-Dstyle.color=never", "-s", "settings.xml"])
        .args(extra)
        .arg("org.apache.maven.plugins:maven-dependency-plugin:3.5.0:list")
        .env("MAVEN_OPTS", "-XX:TieredStopAtLevel=1")
        .output()
        .unwrap()
}

#[test]
fn installed_jar_and_pom_resolve_offline_in_lein_and_mvn() {
    let work = tempfile::tempdir().unwrap();
    let m2 = maven_local_repo(work.path());
    let lib = library("kbt/installed", "1.2.0");
    let out = lib
        .command(&["--offline", "--local-repo", m2.to_str().unwrap(), "install"])
        .output()
        .unwrap();
    let printed = ok(&out, "kbuild install");
    let dir = m2.join("kbt/installed/1.2.0");
    for f in ["installed-1.2.0.jar", "installed-1.2.0.pom"] {
        assert!(printed.contains(f), "{printed}");
        assert!(dir.join(f).is_file(), "{f}");
    }
    // The installed pom is the one `kbuild pom` writes.
    assert_eq!(
        fs::read_to_string(dir.join("installed-1.2.0.pom")).unwrap(),
        lib.read("pom.xml")
    );
    let jar = zip::ZipArchive::new(fs::File::open(dir.join("installed-1.2.0.jar")).unwrap())
        .unwrap()
        .file_names()
        .map(str::to_string)
        .collect::<Vec<_>>();
    assert!(jar.contains(&"kbt/lib.clj".to_string()), "{jar:?}");

    // lein: a project depending on it gets the jar and, through its pom, Clojure.
    let consumer = Project::new("lein-mixed");
    consumer.write(
        "project.clj",
        "(defproject consumer \"0.1.0\" :dependencies [[kbt/installed \"1.2.0\"]])\n",
    );
    let cp = ok(&lein(&consumer, &m2, &["classpath"]), "lein classpath");
    assert!(
        cp.contains(&dir.join("installed-1.2.0.jar").display().to_string()),
        "{cp}"
    );
    assert!(cp.contains("clojure-1.11.1.jar"), "{cp}");

    // mvn, offline.
    let settings = format!(
        "<settings><localRepository>{}</localRepository></settings>",
        m2.display()
    );
    let out = mvn_list(
        &work.path().join("mvn"),
        &settings,
        "kbt:installed:1.2.0",
        &["-o"],
    );
    let text = ok(&out, "mvn -o dependency:list");
    assert!(text.contains("kbt:installed:jar:1.2.0:compile"), "{text}");
    assert!(
        text.contains("org.clojure:clojure:jar:1.11.1:compile"),
        "{text}"
    );
}

#[test]
fn installing_a_snapshot_twice_keeps_one_entry_per_version() {
    let work = tempfile::tempdir().unwrap();
    let m2 = work.path().join("m2");
    fs::create_dir_all(&m2).unwrap();
    // A copy of what Debian ships under org/clojure suffices for the build to resolve.
    let ok_cp = Command::new("cp")
        .args(["-rL", "/usr/share/maven-repo/org"])
        .arg(m2.join("org"))
        .status()
        .unwrap();
    assert!(ok_cp.success());
    let lib = library("kbt/snap", "0.1.0-SNAPSHOT");
    for _ in 0..2 {
        let out = lib
            .command(&[
                "--offline",
                "--local-repo",
                m2.to_str().unwrap(),
                "--json",
                "install",
            ])
            .output()
            .unwrap();
        let printed = ok(&out, "kbuild install");
        let last: serde_json::Value =
            serde_json::from_str(printed.lines().last().unwrap()).unwrap();
        assert_eq!(last["event"], "install", "{printed}");
        assert_eq!(last["files"].as_array().unwrap().len(), 4, "{printed}");
    }
    let meta = fs::read_to_string(m2.join("kbt/snap/maven-metadata-local.xml")).unwrap();
    assert_eq!(
        meta.matches("<version>0.1.0-SNAPSHOT</version>").count(),
        1,
        "{meta}"
    );
    let remote =
        fs::read_to_string(m2.join("kbt/snap/0.1.0-SNAPSHOT/_remote.repositories")).unwrap();
    assert_eq!(
        remote.matches("snap-0.1.0-SNAPSHOT.jar>=").count(),
        1,
        "{remote}"
    );
    let snap =
        fs::read_to_string(m2.join("kbt/snap/0.1.0-SNAPSHOT/maven-metadata-local.xml")).unwrap();
    assert!(snap.contains("<localCopy>true</localCopy>"), "{snap}");
}

/// The files under `root` (a repository served by nginx), relative, sorted.
fn files_under(root: &Path) -> Vec<String> {
    let mut out: Vec<String> = walk(root)
        .into_iter()
        .map(|p| p.strip_prefix(root).unwrap().display().to_string())
        .collect();
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn sha1_hex(bytes: &[u8]) -> String {
    let out = Command::new("sha1sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(bytes)?;
            c.wait_with_output()
        })
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// Settings that send every repository to `url` (so nothing goes to Central), as `user`.
fn mirror_settings(m2: &Path, url: &str, user: &str, password: &str) -> String {
    format!(
        "<settings><localRepository>{}</localRepository>\
         <mirrors><mirror><id>it</id><mirrorOf>*</mirrorOf><url>{url}</url></mirror></mirrors>\
         <servers><server><id>it</id><username>{user}</username><password>{password}</password></server></servers></settings>",
        m2.display()
    )
}

#[test]
fn deployed_release_is_fetched_by_mvn_with_checksums_enforced() {
    let work = tempfile::tempdir().unwrap();
    let served = work.path().join("served");
    fs::create_dir_all(&served).unwrap();
    let nginx = Nginx::webdav_with_users(&served, &[("deployer", "s3cret")]);
    let m2 = maven_local_repo(work.path());
    let lib = library("kbt/deployed", "1.0.0");
    // Credentials from the project, through the environment, as Leiningen takes them.
    lib.edit(
        "project.clj",
        ":description",
        &format!(
            ":deploy-repositories [[\"releases\" {{:url \"{}\" :username :env/KB_USER :password :env/KB_PASS}}]]\n  :description",
            nginx.url
        ),
    );
    let deploy = |user: &str, pass: &str| {
        lib.command(&["--offline", "--local-repo", m2.to_str().unwrap(), "deploy"])
            .env("KB_USER", user)
            .env("KB_PASS", pass)
            .env("HOME", work.path())
            .output()
            .unwrap()
    };
    // Wrong credentials: exit 4, naming the repository and the URL, never the password.
    let out = deploy("deployer", "wrong-password");
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("releases") && err.contains("HTTP 401"),
        "{err}"
    );
    assert!(err.contains("project.clj: kbt/deployed 1.0.0"), "{err}");
    assert!(!err.contains("wrong-password"), "{err}");

    let printed = ok(&deploy("deployer", "s3cret"), "kbuild deploy");
    let dir = "kbt/deployed/1.0.0";
    let mut want = Vec::new();
    for f in ["deployed-1.0.0.jar", "deployed-1.0.0.pom"] {
        want.push(format!("{dir}/{f}"));
        for sum in ["md5", "sha1", "sha256", "sha512"] {
            want.push(format!("{dir}/{f}.{sum}"));
        }
    }
    want.push("kbt/deployed/maven-metadata.xml".into());
    for sum in ["md5", "sha1", "sha256", "sha512"] {
        want.push(format!("kbt/deployed/maven-metadata.xml.{sum}"));
    }
    want.sort();
    assert_eq!(files_under(&served), want, "{printed}");
    let jar = fs::read(served.join(dir).join("deployed-1.0.0.jar")).unwrap();
    assert_eq!(
        fs::read_to_string(served.join(dir).join("deployed-1.0.0.jar.sha1")).unwrap(),
        sha1_hex(&jar)
    );
    let meta = fs::read_to_string(served.join("kbt/deployed/maven-metadata.xml")).unwrap();
    assert!(meta.contains("<release>1.0.0</release>"), "{meta}");

    // mvn, with only that server to go to, fails on any checksum mismatch (-C).
    let settings = mirror_settings(&m2, &nginx.url, "deployer", "s3cret");
    let out = mvn_list(
        &work.path().join("mvn"),
        &settings,
        "kbt:deployed:1.0.0",
        &["-C"],
    );
    let text = ok(&out, "mvn -C dependency:list");
    assert!(text.contains("kbt:deployed:jar:1.0.0:compile"), "{text}");
    assert!(
        text.contains("org.clojure:clojure:jar:1.11.1:compile"),
        "{text}"
    );
    assert_eq!(
        fs::read(m2.join(dir).join("deployed-1.0.0.jar")).unwrap(),
        jar,
        "mvn fetched the deployed jar"
    );

    // The next release, to a URL carrying its credentials: the metadata lists both.
    lib.edit("project.clj", "\"1.0.0\"", "\"1.0.1\"");
    let with_auth = nginx.url.replace("http://", "http://deployer:s3cret@");
    let out = lib
        .command(&[
            "--offline",
            "--local-repo",
            m2.to_str().unwrap(),
            "deploy",
            &with_auth,
        ])
        .env("HOME", work.path())
        .output()
        .unwrap();
    let printed = ok(&out, "kbuild deploy URL");
    assert!(!printed.contains("s3cret"), "{printed}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("s3cret"));
    let meta = fs::read_to_string(served.join("kbt/deployed/maven-metadata.xml")).unwrap();
    assert!(
        meta.contains("<version>1.0.0</version>")
            && meta.contains("<version>1.0.1</version>")
            && meta.contains("<release>1.0.1</release>"),
        "{meta}"
    );
}

#[test]
fn a_second_snapshot_deploy_updates_the_metadata_and_mvn_takes_the_newest() {
    let work = tempfile::tempdir().unwrap();
    let served = work.path().join("served");
    fs::create_dir_all(&served).unwrap();
    let nginx = Nginx::webdav_with_users(&served, &[("ci", "pw")]);
    let m2 = maven_local_repo(work.path());
    // Credentials from settings.xml: the <server> whose id is the repository's.
    let home = work.path().join("home");
    fs::create_dir_all(home.join(".m2")).unwrap();
    fs::write(
        home.join(".m2/settings.xml"),
        "<settings><servers><server><id>snapshots</id><username>ci</username><password>pw</password></server></servers></settings>",
    )
    .unwrap();
    let lib = library("kbt/snap", "0.1.0-SNAPSHOT");
    lib.edit(
        "project.clj",
        ":description",
        &format!(
            ":deploy-repositories {{\"snapshots\" \"{}\"}}\n  :description",
            nginx.url
        ),
    );
    let deploy = || {
        let out = lib
            .command(&[
                "--offline",
                "--local-repo",
                m2.to_str().unwrap(),
                "--json",
                "deploy",
            ])
            .env("HOME", &home)
            .output()
            .unwrap();
        let printed = ok(&out, "kbuild deploy");
        let last: serde_json::Value =
            serde_json::from_str(printed.lines().last().unwrap()).unwrap();
        assert_eq!(last["event"], "deploy", "{printed}");
        assert_eq!(last["repository"], "snapshots");
        last["version"].as_str().unwrap().to_string()
    };
    let first = deploy();
    assert!(
        first.starts_with("0.1.0-") && first.ends_with("-1"),
        "{first}"
    );
    lib.write("src/kbt/lib.clj", "(ns kbt.lib)\n(defn hello [] :second)\n");
    let second = deploy();
    assert!(second.ends_with("-2"), "{second}");

    let dir = served.join("kbt/snap/0.1.0-SNAPSHOT");
    let meta = fs::read_to_string(dir.join("maven-metadata.xml")).unwrap();
    assert!(meta.contains("<buildNumber>2</buildNumber>"), "{meta}");
    assert!(meta.contains(&format!("<value>{second}</value>")), "{meta}");
    assert!(!meta.contains(&format!("<value>{first}</value>")), "{meta}");
    let top = fs::read_to_string(served.join("kbt/snap/maven-metadata.xml")).unwrap();
    assert_eq!(
        top.matches("<version>0.1.0-SNAPSHOT</version>").count(),
        1,
        "{top}"
    );
    for v in [&first, &second] {
        assert!(dir.join(format!("snap-{v}.jar")).is_file(), "{v}");
    }

    let settings = mirror_settings(&m2, &nginx.url, "ci", "pw");
    let out = mvn_list(
        &work.path().join("mvn"),
        &settings,
        "kbt:snap:0.1.0-SNAPSHOT",
        &["-C"],
    );
    let text = ok(&out, "mvn -C dependency:list");
    assert!(
        text.contains("kbt:snap:jar:0.1.0-SNAPSHOT:compile"),
        "{text}"
    );
    assert_eq!(
        fs::read(m2.join("kbt/snap/0.1.0-SNAPSHOT/snap-0.1.0-SNAPSHOT.jar")).unwrap(),
        fs::read(dir.join(format!("snap-{second}.jar"))).unwrap(),
        "mvn took the second deploy"
    );
}

#[test]
fn deploy_to_an_unknown_repository_names_it_and_the_file() {
    let lib = library("kbt/nowhere", "1.0.0");
    let out = lib.run(&["deploy", "nosuch"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("project.clj") && err.contains("\"nosuch\""),
        "{err}"
    );
    // Plain http:// off this machine needs --allow-http.
    let out = lib.run(&["deploy", "http://repo.example.invalid/m2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-http"));
}

/// kbuild.edn names what a project.clj would (`:publish`): its jar target installs with a
/// pom whose dependencies are the `:maven` coordinates below it, which mvn then resolves;
/// beside a deps.edn, the deps.edn's dependencies are those coordinates.
#[test]
fn kbuild_edn_and_deps_edn_publish_through_publish() {
    let work = tempfile::tempdir().unwrap();
    let m2 = maven_local_repo(work.path());
    let p = library("unused/unused", "0");
    fs::remove_file(p.path("project.clj")).unwrap();
    p.write(
        "kbuild.edn",
        "{:publish {:lib kbt/edn-lib :version \"2.0.0\" :description \"from kbuild.edn\"\n           :licenses [{:name \"EPL-2.0\" :url \"https://www.eclipse.org/legal/epl-2.0/\"}]}\n :targets {clj {:rule :maven :coords [[org.clojure/clojure \"1.11.1\"]]}\n           lib {:rule :clojure-library :paths [\"src\"] :deps [clj]}\n           dist {:rule :jar :deps [lib]}}}\n",
    );
    let out = p
        .command(&["--offline", "--local-repo", m2.to_str().unwrap(), "install"])
        .output()
        .unwrap();
    ok(&out, "kbuild install");
    let dir = m2.join("kbt/edn-lib/2.0.0");
    let pom = fs::read_to_string(dir.join("edn-lib-2.0.0.pom")).unwrap();
    assert!(
        pom.contains("<description>from kbuild.edn</description>"),
        "{pom}"
    );
    assert!(pom.contains("<name>EPL-2.0</name>"), "{pom}");
    assert!(
        !p.path("pom.xml").exists(),
        "a kbuild.edn's pom stays under target/kbuild"
    );
    let settings = format!(
        "<settings><localRepository>{}</localRepository></settings>",
        m2.display()
    );
    let text = ok(
        &mvn_list(
            &work.path().join("mvn"),
            &settings,
            "kbt:edn-lib:2.0.0",
            &["-o"],
        ),
        "mvn -o dependency:list",
    );
    assert!(text.contains("kbt:edn-lib:jar:2.0.0:compile"), "{text}");
    assert!(
        text.contains("org.clojure:clojure:jar:1.11.1:compile"),
        "{text}"
    );

    // deps.edn beside: its :deps are what the jar's pom declares.
    fs::remove_file(p.path("kbuild.edn")).unwrap();
    p.write(
        "deps.edn",
        "{:paths [\"src\"] :deps {org.clojure/clojure {:mvn/version \"1.11.1\"}}}\n",
    );
    p.write(
        "kbuild.edn",
        "{:publish {:lib kbt/cli-lib :version \"0.3.0\"}\n :targets {dist {:rule :jar :deps [main]}}}\n",
    );
    let out = p
        .command(&[
            "--offline",
            "--local-repo",
            m2.to_str().unwrap(),
            "--json",
            "pom",
        ])
        .output()
        .unwrap();
    let printed = ok(&out, "kbuild pom");
    let v: serde_json::Value = serde_json::from_str(printed.trim()).unwrap();
    let pom = fs::read_to_string(v["file"].as_str().unwrap()).unwrap();
    assert!(pom.contains("<artifactId>cli-lib</artifactId>"), "{pom}");
    assert!(
        pom.contains("<groupId>org.clojure</groupId>\n      <artifactId>clojure</artifactId>\n      <version>1.11.1</version>"),
        "{pom}"
    );
    let out = p
        .command(&["--offline", "--local-repo", m2.to_str().unwrap(), "install"])
        .output()
        .unwrap();
    ok(&out, "kbuild install");
    let jar = zip::ZipArchive::new(
        fs::File::open(m2.join("kbt/cli-lib/0.3.0/cli-lib-0.3.0.jar")).unwrap(),
    )
    .unwrap()
    .file_names()
    .map(str::to_string)
    .collect::<Vec<_>>();
    assert!(jar.contains(&"kbt/lib.clj".to_string()), "{jar:?}");

    // A :publish that names no jar target is the build file's error, with its line.
    p.write(
        "kbuild.edn",
        "{:publish {:lib kbt/cli-lib :version \"0.3.0\" :jar main}\n :targets {dist {:rule :jar :deps [main]}}}\n",
    );
    let out = p.run(&["pom"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("kbuild.edn:1:") && err.contains(":jar main"),
        "{err}"
    );
}

#[test]
fn kbuild_edn_deploys_to_its_publish_repository() {
    let work = tempfile::tempdir().unwrap();
    let served = work.path().join("served");
    fs::create_dir_all(&served).unwrap();
    let nginx = Nginx::webdav_with_users(&served, &[("edn", "pw")]);
    let m2 = maven_local_repo(work.path());
    let p = library("unused/unused", "0");
    fs::remove_file(p.path("project.clj")).unwrap();
    p.write(
        "kbuild.edn",
        &format!(
            "{{:publish {{:lib kbt/edn-deployed :version \"1.0.0\"\n           :deploy-repositories {{\"it\" {{:url \"{}\" :username :env/EDN_USER :password :env/EDN_PW}}}}}}\n :targets {{clj {{:rule :maven :coords [[org.clojure/clojure \"1.11.1\"]]}}\n           lib {{:rule :clojure-library :paths [\"src\"] :deps [clj]}}\n           dist {{:rule :jar :deps [lib]}}}}}}\n",
            nginx.url
        ),
    );
    let out = p
        .command(&[
            "--offline",
            "--local-repo",
            m2.to_str().unwrap(),
            "deploy",
            "it",
        ])
        .env("EDN_USER", "edn")
        .env("EDN_PW", "pw")
        .output()
        .unwrap();
    ok(&out, "kbuild deploy");
    assert!(served
        .join("kbt/edn-deployed/1.0.0/edn-deployed-1.0.0.pom.sha1")
        .is_file());
    let settings = mirror_settings(&m2, &nginx.url, "edn", "pw");
    let text = ok(
        &mvn_list(
            &work.path().join("mvn"),
            &settings,
            "kbt:edn-deployed:1.0.0",
            &["-C"],
        ),
        "mvn -C dependency:list",
    );
    assert!(
        text.contains("kbt:edn-deployed:jar:1.0.0:compile"),
        "{text}"
    );
    assert!(
        text.contains("org.clojure:clojure:jar:1.11.1:compile"),
        "{text}"
    );
}
