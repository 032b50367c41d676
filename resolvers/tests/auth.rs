//! A repository's own credentials (Leiningen's `:username`/`:password`, written or named as
//! environment variables), sent to a real HTTP server that demands them.

mod support;

use std::sync::atomic::Ordering;

use kbuild_resolvers::{resolve, to_list_lines, Auth, Dependency, RemoteRepository, Secret};
use support::{config, publish, runtime, Server};

fn private_repo() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    publish(dir.path(), "kbt.auth:a:1.0", "", "a");
    let server = Server::start(dir.path());
    *server.faults.basic_auth.lock().unwrap() = Some(("deployer".into(), "s3cret:pw".into()));
    (dir, server)
}

fn resolve_with(server: &Server, auth: Auth) -> Result<kbuild_resolvers::Resolution, String> {
    let local = tempfile::tempdir().unwrap();
    let mut cfg = config(&[], local.path());
    cfg.repositories = vec![RemoteRepository {
        auth: Some(auth),
        ..RemoteRepository::new("private", &server.url)
    }];
    runtime()
        .block_on(resolve(
            &cfg,
            &[Dependency::parse("kbt.auth:a:1.0").unwrap()],
            &[],
        ))
        .map_err(|e| e.to_string())
}

#[test]
fn credentials_from_the_environment_reach_the_repository() {
    let (_dir, server) = private_repo();
    // Names no other test uses: the variables are the process's.
    std::env::set_var("KBT_AUTH_TEST_USER", "deployer");
    std::env::set_var("KBT_AUTH_TEST_PASS", "s3cret:pw");
    let auth = Auth {
        username: vec![Secret::Env("KBT_AUTH_TEST_USER".into())],
        // The first source with a value wins, as in Leiningen's vector form.
        password: vec![
            Secret::Env("KBT_AUTH_TEST_UNSET".into()),
            Secret::Env("KBT_AUTH_TEST_PASS".into()),
        ],
    };
    let r = resolve_with(&server, auth).unwrap();
    assert_eq!(to_list_lines(&r), ["kbt.auth:a:jar:1.0:compile"]);
    assert_eq!(server.faults.unauthorized.load(Ordering::SeqCst), 0);
    // Written literally works too.
    let auth = Auth {
        username: vec![Secret::Literal("deployer".into())],
        password: vec![Secret::Literal("s3cret:pw".into())],
    };
    resolve_with(&server, auth).unwrap();
}

/// A variable that is not set leaves that credential out, with a warning naming it (a
/// repository that needs no credentials still answers); one that needs them refuses, and
/// the error names the repository without the user's secrets.
#[test]
fn an_unset_variable_is_named_and_the_refusal_names_the_repository() {
    let (_dir, server) = private_repo();
    let auth = Auth {
        username: vec![Secret::Literal("deployer".into())],
        password: vec![Secret::Env("KBT_AUTH_TEST_NEVER_SET".into())],
    };
    *server.faults.basic_auth.lock().unwrap() = None;
    let r = resolve_with(&server, auth.clone()).unwrap();
    assert_eq!(
        r.warnings,
        ["repository private: its credentials name the environment variable KBT_AUTH_TEST_NEVER_SET, which is not set; asking without it"]
    );
    *server.faults.basic_auth.lock().unwrap() = Some(("deployer".into(), "s3cret:pw".into()));
    let err = resolve_with(&server, auth).unwrap_err();
    assert!(err.contains("401"), "{err}");
    assert!(err.contains(&server.url), "{err}");
    assert!(!err.contains("deployer"), "{err}");
    assert!(server.faults.unauthorized.load(Ordering::SeqCst) > 0);
}
