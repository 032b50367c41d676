//! kbuild: an incremental build companion for JVM and Clojure projects.

mod cli;
mod clojure_project;
mod edn;
mod engine;
mod gitlibs;
mod launch;
mod printer;
mod rules;
mod settings;

fn main() -> std::process::ExitCode {
    cli::main()
}
