//! Encrypted passwords in settings.xml, made by the real `mvn --encrypt-master-password` and
//! `--encrypt-password`: kbuild decrypts them as mvn does, and both authenticate to a server
//! that demands the clear password.

mod support;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::Ordering;

use kbuild_resolvers::{resolve, to_list_lines, Dependency, RemoteRepository};
use support::{config, mvn_project_with, publish, runtime, Server};

/// `mvn ARGS`'s `{...}` output line.
fn mvn_encrypt(security: &Path, args: &[&str]) -> String {
    let out = Command::new("mvn")
        .arg(format!("-Dsettings.security={}", security.display()))
        .args(args)
        .output()
        .expect("mvn is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .map(str::trim)
        .find(|l| l.starts_with('{') && l.ends_with('}'))
        .unwrap_or_else(|| panic!("no encrypted value in {text:?}"))
        .to_string()
}

#[test]
fn passwords_encrypted_by_mvn_are_decrypted_as_mvn_does() {
    let work = tempfile::tempdir().unwrap();
    let security = work.path().join("settings-security.xml");
    let master = mvn_encrypt(&security, &["--encrypt-master-password", "the master {pw}"]);
    std::fs::write(
        &security,
        format!("<settingsSecurity><master>{master}</master></settingsSecurity>"),
    )
    .unwrap();
    let password = mvn_encrypt(&security, &["--encrypt-password", "s3cret:pw"]);
    // Maven allows text around the braces.
    let servers = format!(
        "<servers><server><id>private</id><username>deployer</username>\
         <password>rotated 2026 {password}</password></server></servers>"
    );

    let repo = tempfile::tempdir().unwrap();
    publish(repo.path(), "kbt.sec:a:1.0", "", "a");
    let server = Server::start(repo.path());
    *server.faults.basic_auth.lock().unwrap() = Some(("deployer".into(), "s3cret:pw".into()));

    let local = tempfile::tempdir().unwrap();
    let mut cfg = config(&[], local.path());
    cfg.repositories = vec![RemoteRepository::new("private", &server.url)];
    let settings_xml = work.path().join("kbuild-settings.xml");
    std::fs::write(&settings_xml, format!("<settings>{servers}</settings>")).unwrap();
    cfg.settings_xml = Some(settings_xml);
    cfg.system_properties
        .insert("settings.security".into(), security.display().to_string());
    let ours = runtime()
        .block_on(resolve(
            &cfg,
            &[Dependency::parse("kbt.sec:a:1.0").unwrap()],
            &[],
        ))
        .unwrap();
    assert_eq!(server.faults.unauthorized.load(Ordering::SeqCst), 0);

    let mvn_work = tempfile::tempdir().unwrap();
    let body = format!(
        "<repositories><repository><id>private</id><url>{}</url></repository></repositories>\
         <dependencies><dependency><groupId>kbt.sec</groupId><artifactId>a</artifactId><version>1.0</version></dependency></dependencies>",
        server.url
    );
    let flag = format!("-Dsettings.security={}", security.display());
    let mvn = mvn_project_with(mvn_work.path(), &body, &server.url, &servers, &[&flag]);
    assert!(mvn.ok, "{}", mvn.stdout);
    assert_eq!(to_list_lines(&ours), mvn.list);

    // A wrong master password is an error naming the file and the server, not a 401.
    std::fs::write(
        &security,
        format!(
            "<settingsSecurity><master>{}</master></settingsSecurity>",
            mvn_encrypt(&security, &["--encrypt-master-password", "another"])
        ),
    )
    .unwrap();
    let err = runtime()
        .block_on(resolve(
            &cfg,
            &[Dependency::parse("kbt.sec:a:1.0").unwrap()],
            &[],
        ))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("settings-security.xml") && err.contains("server private"),
        "{err}"
    );
}
