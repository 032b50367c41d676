//! All user-facing output goes through here: plain lines (one per task that did work, and a
//! summary) on stderr, a live spinner when stderr is a terminal, or, with `--json`, one JSON
//! object per line on stdout for tools. Colour only on a terminal, and never with NO_COLOR.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

pub use kbuild_engine::Status;

fn status_json(status: Status) -> &'static str {
    match status {
        Status::Executed => "executed",
        Status::UpToDate | Status::Restored => "cached",
        Status::Failed => "failed",
    }
}

impl kbuild_engine::Reporter for Printer {
    fn task(&self, target: &str, rule: &str, status: Status, ms: u64) {
        Printer::task(self, target, rule, status, ms)
    }
    fn running(&self, target: &str) {
        Printer::running(self, target)
    }
    fn tool_output(&self, target: &str, text: &str) {
        Printer::tool_output(self, target, text)
    }
    fn warn(&self, message: &str) {
        Printer::warn(self, message)
    }
    fn error(&self, message: &str) {
        Printer::error(self, message)
    }
}

#[derive(Default, Clone, Copy, Debug)]
pub struct Counts {
    pub executed: usize,
    pub up_to_date: usize,
    pub restored: usize,
    pub failed: usize,
}

impl Counts {
    pub fn total(&self) -> usize {
        self.executed + self.up_to_date + self.restored + self.failed
    }
}

pub struct Printer {
    json: bool,
    color: bool,
    spinner: Option<ProgressBar>,
    /// Counts so far, and the targets whose tool is running with when it started.
    state: Mutex<(Counts, BTreeMap<String, Instant>)>,
    /// Files and bytes downloaded so far.
    downloads: Mutex<(u64, u64)>,
}

fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} kB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

impl Printer {
    pub fn new(json: bool) -> Printer {
        let tty = std::io::stderr().is_terminal();
        let ci = std::env::var_os("CI").is_some();
        let spinner = (tty && !json && !ci).then(|| {
            let pb = ProgressBar::new_spinner();
            pb.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid template"));
            pb.enable_steady_tick(Duration::from_millis(100));
            pb
        });
        let color = tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Printer {
            json,
            color,
            spinner,
            state: Mutex::new((Counts::default(), BTreeMap::new())),
            downloads: Mutex::new((0, 0)),
        }
    }

    fn line(&self, text: &str) {
        match &self.spinner {
            Some(pb) => pb.println(text),
            None => {
                let _ = writeln!(std::io::stderr(), "{text}");
            }
        }
    }

    fn json_line(&self, value: serde_json::Value) {
        let out = std::io::stdout();
        let mut out = out.lock();
        let _ = writeln!(out, "{value}");
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn refresh(&self, counts: &Counts, running: &BTreeMap<String, Instant>) {
        if let Some(pb) = &self.spinner {
            let names: Vec<&str> = running.keys().map(String::as_str).take(4).collect();
            let more = running.len().saturating_sub(names.len());
            let extra = if more > 0 {
                format!(" +{more}")
            } else {
                String::new()
            };
            pb.set_message(format!(
                "{} done, running {}{extra}",
                counts.total(),
                names.join(", ")
            ));
        }
    }

    /// A rule started running its tool.
    pub fn running(&self, target: &str) {
        let mut st = self.state.lock().expect("printer lock");
        st.1.insert(target.to_string(), Instant::now());
        self.refresh(&st.0, &st.1);
    }

    /// A target is done. `ms` is its whole time, waits included; when its tool ran, the
    /// time since the tool started is reported instead, which is what the task itself cost.
    pub fn task(&self, target: &str, rule: &str, status: Status, ms: u64) {
        let mut ms = ms;
        {
            let mut st = self.state.lock().expect("printer lock");
            if let Some(started) = st.1.remove(target) {
                ms = started.elapsed().as_millis() as u64;
            }
            let c = &mut st.0;
            match status {
                Status::Executed => c.executed += 1,
                Status::UpToDate => c.up_to_date += 1,
                Status::Restored => c.restored += 1,
                Status::Failed => c.failed += 1,
            }
            let (counts, running) = (st.0, st.1.clone());
            self.refresh(&counts, &running);
        }
        if self.json {
            self.json_line(
                json!({"event": "task", "target": target, "rule": rule, "status": status_json(status),
                                  "restored": status == Status::Restored, "ms": ms}),
            );
            return;
        }
        match status {
            Status::UpToDate => {}
            Status::Executed => self.line(&format!(
                "{} {target} ({rule}, {ms} ms)",
                self.paint("32", "   built")
            )),
            Status::Restored => self.line(&format!(
                "{} {target} ({rule})",
                self.paint("36", "restored")
            )),
            Status::Failed => self.line(&format!(
                "{} {target} ({rule})",
                self.paint("31", "  failed")
            )),
        }
    }

    /// A file fetched from a Maven repository: counted on the live display, a line otherwise.
    pub fn download(&self, repository: &str, path: &str, bytes: u64) {
        let (files, total) = {
            let mut d = self.downloads.lock().expect("printer lock");
            d.0 += 1;
            d.1 += bytes;
            *d
        };
        if self.json {
            self.json_line(json!({"event": "download", "repository": repository, "path": path, "bytes": bytes}));
            return;
        }
        match &self.spinner {
            Some(pb) => {
                pb.set_message(format!("downloaded {files} files ({})", human_bytes(total)))
            }
            None => self.line(&format!(
                "downloaded {path} ({}) from {repository}",
                human_bytes(bytes)
            )),
        }
    }

    /// A tool's own output (javac diagnostics), shown as the tool printed it.
    pub fn tool_output(&self, target: &str, text: &str) {
        let text = text.trim_end();
        if text.is_empty() {
            return;
        }
        if self.json {
            self.json_line(json!({"event": "output", "target": target, "text": text}));
        }
        match &self.spinner {
            Some(pb) => pb.suspend(|| eprintln!("{text}")),
            None => eprintln!("{text}"),
        }
    }

    pub fn warn(&self, msg: &str) {
        if self.json {
            self.json_line(json!({"event": "warning", "message": msg}));
        }
        self.line(&format!("{} {msg}", self.paint("33", "warning:")));
    }

    pub fn error(&self, msg: &str) {
        if self.json {
            self.json_line(json!({"event": "error", "message": msg}));
        }
        self.line(&format!("{} {msg}", self.paint("31", "error:")));
    }

    pub fn counts(&self) -> Counts {
        self.state.lock().expect("printer lock").0
    }

    /// `4 tasks: 1 run, 3 up to date`, plus restored and failed counts when there are any.
    pub fn summary(&self, ms: u64) {
        if let Some(pb) = &self.spinner {
            pb.finish_and_clear();
        }
        let c = self.counts();
        if self.json {
            self.json_line(
                json!({"event": "summary", "tasks": c.total(), "executed": c.executed,
                                  "cached": c.up_to_date + c.restored, "up_to_date": c.up_to_date,
                                  "restored": c.restored, "failed": c.failed, "ms": ms}),
            );
            return;
        }
        let mut text = format!(
            "{} tasks: {} run, {} up to date",
            c.total(),
            c.executed,
            c.up_to_date
        );
        if c.restored > 0 {
            text += &format!(", {} restored", c.restored);
        }
        if c.failed > 0 {
            text += &format!(", {} failed", c.failed);
        }
        self.line(&format!("{text} ({:.2} s)", ms as f64 / 1000.0));
    }
}
