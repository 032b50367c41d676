//! A POM's own `<repositories>` serve its parent and its imported BOMs, not only its
//! dependencies, as Maven's model builder adds them while it reads the POM (checked against
//! mvn on the same servers).

mod support;

use kbuild_resolvers::{resolve, to_list_lines, Dependency};
use support::{config, mvn_project, publish, runtime, Server};

#[test]
fn a_poms_repository_serves_its_parent_and_its_imports() {
    let (main_dir, extra_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let extra = Server::start(extra_dir.path());
    let dep = |a: &str, v: &str, more: &str| {
        format!("<dependency><groupId>kbt.pomrepo</groupId><artifactId>{a}</artifactId>{v}{more}</dependency>")
    };
    let x = format!(
        "<parent><groupId>kbt.pomrepo</groupId><artifactId>parent</artifactId><version>1.0</version></parent>\
         <repositories><repository><id>extra</id><url>{}</url></repository></repositories>\
         <dependencyManagement><dependencies>{}</dependencies></dependencyManagement>\
         <dependencies>{}</dependencies>",
        extra.url,
        dep("bom", "<version>1.0</version>", "<type>pom</type><scope>import</scope>"),
        dep("d", "", "")
    );
    publish(main_dir.path(), "kbt.pomrepo:x:1.0", &x, "x");
    // Only the POM's own repository has the parent (which brings e) and the BOM (which
    // gives d its version).
    let parent = format!(
        "<packaging>pom</packaging><dependencies>{}</dependencies>",
        dep("e", "<version>1.0</version>", "")
    );
    publish(
        extra_dir.path(),
        "kbt.pomrepo:parent:1.0",
        &parent,
        "parent",
    );
    let bom = format!(
        "<packaging>pom</packaging><dependencyManagement><dependencies>{}</dependencies></dependencyManagement>",
        dep("d", "<version>1.0</version>", "")
    );
    publish(extra_dir.path(), "kbt.pomrepo:bom:1.0", &bom, "bom");
    publish(extra_dir.path(), "kbt.pomrepo:d:1.0", "", "d");
    publish(extra_dir.path(), "kbt.pomrepo:e:1.0", "", "e");
    let main = Server::start(main_dir.path());

    let local = tempfile::tempdir().unwrap();
    let ours = runtime()
        .block_on(resolve(
            &config(&[&main.url], local.path()),
            &[Dependency::parse("kbt.pomrepo:x:1.0").unwrap()],
            &[],
        ))
        .unwrap();

    let work = tempfile::tempdir().unwrap();
    let body = format!(
        "<repositories><repository><id>main</id><url>{}</url></repository></repositories>\
         <dependencies>{}</dependencies>",
        main.url,
        dep("x", "<version>1.0</version>", "")
    );
    let mvn = mvn_project(work.path(), &body, &main.url);
    assert!(mvn.ok, "{}", mvn.stdout);
    // mvn's list is not in classpath order; the set is what this checks.
    let (mut ours, mut theirs) = (to_list_lines(&ours), mvn.list);
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs);
    assert_eq!(
        theirs,
        [
            "kbt.pomrepo:d:jar:1.0:compile",
            "kbt.pomrepo:e:jar:1.0:compile",
            "kbt.pomrepo:x:jar:1.0:compile"
        ]
    );
}
