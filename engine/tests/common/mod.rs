//! What the engine's tests share.

use kbuild_engine::{Reporter, Status};

/// A reporter that shows nothing: the tests look at the engine's answers instead.
pub struct Quiet;

impl Reporter for Quiet {
    fn task(&self, _: &str, _: &str, _: Status, _: u64) {}
    fn running(&self, _: &str) {}
    fn tool_output(&self, _: &str, _: &str) {}
    fn warn(&self, _: &str) {}
    fn error(&self, _: &str) {}
}
