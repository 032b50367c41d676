//! kbuild: an incremental build companion for JVM and Clojure projects.

mod cli;
mod edn;
mod env;
mod gitlibs;
mod inputs;
mod launch;
mod printer;
mod project;
mod rules;
mod session;
mod warm;

fn main() -> std::process::ExitCode {
    cli::main()
}
