//! kbuild: an incremental build companion for JVM and Clojure projects.

mod cli;
mod clojure_project;
mod edn;
mod env;
mod gitlibs;
mod inputs;
mod launch;
mod printer;
mod rules;
mod session;
mod settings;

fn main() -> std::process::ExitCode {
    cli::main()
}
