//! kbuild: an incremental build companion for JVM and Clojure projects.

mod cli;
mod edn;
mod env;
mod gitlibs;
mod inputs;
mod javac_worker;
mod launch;
mod ops;
mod printer;
mod project;
mod rules;
mod session;
mod warm;
mod watch;

fn main() -> std::process::ExitCode {
    cli::main()
}
