//! One test namespace's (or JUnit class's) outcome, in enough detail to print it again, total
//! it, and write it as the XML report Maven Surefire writes (`TEST-<name>.xml`), whether it
//! ran now or came from the cache.

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::edn::{self, Form, Value};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suite {
    pub name: String,
    /// False when the selectors picked none of its tests: nothing to show or count.
    pub ran: bool,
    pub tests: u64,
    /// Assertions that passed, failed and erred, as clojure.test counts them.
    pub pass: u64,
    pub fail: u64,
    pub error: u64,
    pub micros: u64,
    /// What it printed (clojure.test's report included), shown when it runs.
    pub out: String,
    pub cases: Vec<Case>,
    /// Failures outside any test (a fixture, loading the namespace).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub name: String,
    pub micros: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// An exception rather than a failed assertion.
    pub error: bool,
    pub message: String,
    /// The exception's class, or the assertion's kind.
    #[serde(rename = "type")]
    pub kind: String,
    /// The report as printed, with the stack trace of an exception.
    pub text: String,
}

impl Suite {
    pub fn passed(&self) -> bool {
        self.fail == 0 && self.error == 0
    }

    /// A suite from the map the test JVM prints (see `clojure::RUNNER`); None for a form of
    /// another shape.
    pub fn from_form(form: &Form) -> Option<Suite> {
        let text = |f: &Form, k: &str| f.get(k).and_then(Form::as_str).unwrap_or("").to_string();
        let int = |f: &Form, k: &str| match f.get(k).map(|v| &v.value) {
            Some(Value::Int(n)) => (*n).max(0) as u64,
            _ => 0,
        };
        let problems = |f: &Form| -> Vec<Problem> {
            f.get("problems")
                .and_then(Form::as_seq)
                .unwrap_or_default()
                .iter()
                .map(|p| Problem {
                    error: matches!(p.get("error").map(|v| &v.value), Some(Value::Bool(true))),
                    message: text(p, "message"),
                    kind: text(p, "type"),
                    text: text(p, "text"),
                })
                .collect()
        };
        let name = form.get("ns")?.as_str()?.to_string();
        Some(Suite {
            name,
            ran: matches!(form.get("ran").map(|v| &v.value), Some(Value::Bool(true))),
            tests: int(form, "test"),
            pass: int(form, "pass"),
            fail: int(form, "fail"),
            error: int(form, "error"),
            micros: int(form, "us"),
            out: text(form, "out"),
            cases: form
                .get("cases")
                .and_then(Form::as_seq)
                .unwrap_or_default()
                .iter()
                .map(|c| Case {
                    name: text(c, "name"),
                    micros: int(c, "us"),
                    problems: problems(c),
                })
                .collect(),
            problems: problems(form),
        })
    }

    /// Every suite the test JVM printed, one map per line; a line cut short (the JVM killed
    /// while writing) is left out, so its namespace counts as not reported.
    pub fn parse_all(text: &str) -> Vec<Suite> {
        text.lines()
            .filter_map(|l| edn::read_one(l).ok())
            .filter_map(|f| Suite::from_form(&f))
            .collect()
    }
}

/// The suites of the JUnit platform's XML reports (the console launcher's `--reports-dir`:
/// one file per engine, every class in it), one per test class as Surefire reports them.
/// A report that does not read gives the suites read so far.
pub fn from_junit_platform_xml(text: &str) -> Vec<Suite> {
    use quick_xml::events::{BytesStart, Event};
    let attrs = |e: &BytesStart| -> Vec<(String, String)> {
        e.attributes()
            .flatten()
            .map(|a| {
                let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
                let value = a
                    .unescape_value()
                    .map(|v| v.into_owned())
                    .unwrap_or_default();
                (key, value)
            })
            .collect()
    };
    let get = |a: &[(String, String)], k: &str| {
        a.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let micros = |t: &str| (t.replace(',', "").parse::<f64>().unwrap_or(0.0) * 1e6) as u64;
    let mut suites: Vec<Suite> = Vec::new();
    let mut reader = quick_xml::Reader::from_str(text);
    // The test case being read, and the failure or error inside it.
    let mut case: Option<(String, Case)> = None;
    let mut problem: Option<Problem> = None;
    loop {
        let event = match reader.read_event() {
            Ok(Event::Eof) | Err(_) => break,
            Ok(e) => e,
        };
        let (start, empty) = match &event {
            Event::Start(e) => (Some(e.clone()), false),
            Event::Empty(e) => (Some(e.clone()), true),
            _ => (None, false),
        };
        if let Some(e) = start {
            let a = attrs(&e);
            match e.local_name().as_ref() {
                b"testcase" => {
                    let c = Case {
                        name: get(&a, "name"),
                        micros: micros(&get(&a, "time")),
                        problems: Vec::new(),
                    };
                    case = Some((get(&a, "classname"), c));
                }
                b"failure" | b"error" if case.is_some() => {
                    problem = Some(Problem {
                        error: e.local_name().as_ref() == b"error",
                        message: get(&a, "message"),
                        kind: get(&a, "type"),
                        text: String::new(),
                    });
                }
                _ => {}
            }
            if !empty {
                continue;
            }
        }
        let end = match &event {
            Event::End(e) => Some(e.local_name().as_ref().to_vec()),
            Event::Empty(e) => Some(e.local_name().as_ref().to_vec()),
            Event::Text(t) => {
                if let Some(p) = problem.as_mut() {
                    p.text.push_str(&t.unescape().unwrap_or_default());
                }
                None
            }
            Event::CData(t) => {
                if let Some(p) = problem.as_mut() {
                    p.text.push_str(&String::from_utf8_lossy(t));
                }
                None
            }
            _ => None,
        };
        match end.as_deref() {
            Some(b"failure" | b"error") => {
                if let (Some(p), Some((_, c))) = (problem.take(), case.as_mut()) {
                    c.problems.push(p);
                }
            }
            Some(b"testcase") => {
                let Some((class, c)) = case.take() else {
                    continue;
                };
                let at = match suites.iter().position(|s| s.name == class) {
                    Some(i) => i,
                    None => {
                        suites.push(Suite {
                            name: class,
                            ran: true,
                            ..Suite::default()
                        });
                        suites.len() - 1
                    }
                };
                let s = &mut suites[at];
                // A JUnit test fails or errs once, however many problems it reports.
                s.tests += 1;
                if c.problems.iter().any(|p| !p.error) {
                    s.fail += 1;
                } else if c.problems.is_empty() {
                    s.pass += 1;
                } else {
                    s.error += 1;
                }
                s.micros += c.micros;
                s.cases.push(c);
            }
            _ => {}
        }
    }
    suites
}

/// clojure.test's totals over suites that ran now and came from the cache, as `lein test`
/// prints them, with how many tests the cache answered for.
pub fn totals<'a>(suites: impl IntoIterator<Item = (&'a Suite, bool)>) -> String {
    let (mut tests, mut assertions, mut fail, mut error, mut cached) = (0, 0, 0, 0, 0);
    for (s, from_cache) in suites {
        tests += s.tests;
        assertions += s.pass + s.fail + s.error;
        fail += s.fail;
        error += s.error;
        if from_cache {
            cached += s.tests;
        }
    }
    let note = if cached > 0 {
        format!(" ({cached} from cache)")
    } else {
        String::new()
    };
    format!(
        "Ran {tests} tests containing {assertions} assertions{note}.\n{fail} failures, {error} errors.\n"
    )
}

/// Writes `TEST-<name>.xml` for each suite that ran into `dir`, as Surefire writes it.
pub fn write_junit_xml(dir: &Path, suites: &[Suite]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for s in suites.iter().filter(|s| s.ran) {
        std::fs::write(dir.join(format!("TEST-{}.xml", s.name)), junit_xml(s))?;
    }
    Ok(())
}

fn seconds(micros: u64) -> String {
    format!("{}.{:03}", micros / 1_000_000, (micros % 1_000_000) / 1000)
}

/// Surefire's report format: failures (any number) before the error (at most one, so a
/// test's several exceptions are one element); the suite's counts are clojure.test's, the
/// ones `kbuild test` prints. Surefire's schema has no place for a suite's output (only a
/// test's), so what a namespace printed stays on the terminal.
pub fn junit_xml(s: &Suite) -> String {
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuite name=\"{}\" time=\"{}\" tests=\"{}\" errors=\"{}\" skipped=\"0\" failures=\"{}\">",
        attr(&s.name),
        seconds(s.micros),
        s.tests,
        s.error,
        s.fail
    );
    let outside = Case {
        name: s.name.clone(),
        micros: 0,
        problems: s.problems.clone(),
    };
    let cases = s
        .cases
        .iter()
        .chain((!s.problems.is_empty()).then_some(&outside));
    for c in cases {
        let _ = write!(
            x,
            "  <testcase name=\"{}\" classname=\"{}\" time=\"{}\"",
            attr(&c.name),
            attr(&s.name),
            seconds(c.micros)
        );
        if c.problems.is_empty() {
            x.push_str("/>\n");
            continue;
        }
        x.push_str(">\n");
        for p in c.problems.iter().filter(|p| !p.error) {
            let _ = writeln!(
                x,
                "    <failure message=\"{}\" type=\"{}\">{}</failure>",
                attr(&p.message),
                attr(&p.kind),
                text(&p.text)
            );
        }
        let errors: Vec<&Problem> = c.problems.iter().filter(|p| p.error).collect();
        if let Some(first) = errors.first() {
            let body: Vec<&str> = errors.iter().map(|p| p.text.as_str()).collect();
            let _ = writeln!(
                x,
                "    <error message=\"{}\" type=\"{}\">{}</error>",
                attr(&first.message),
                attr(&first.kind),
                text(&body.join("\n"))
            );
        }
        x.push_str("  </testcase>\n");
    }
    x.push_str("</testsuite>\n");
    x
}

/// Text as XML 1.0 takes it: escaped, without the control characters it cannot hold.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

fn attr(s: &str) -> String {
    text(s)
        .replace('"', "&quot;")
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
        .replace('\t', "&#9;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_runner_prints_and_totals_it() {
        let out = "{:ns \"a.b-test\" :ran true :test 2 :pass 3 :fail 1 :error 0 :us 1500 :out \"\\nTesting a.b-test\\n\" \
                   :cases [{:name \"x\" :us 700 :problems [{:error false :message \"m\" :type \"assertion\" :text \"FAIL in (x)\"}]} {:name \"y\" :us 5}]}\n\
                   {:ns \"a.c-te";
        let suites = Suite::parse_all(out);
        assert_eq!(suites.len(), 1, "a line cut short is no suite");
        let s = &suites[0];
        assert_eq!((s.tests, s.pass, s.fail, s.error), (2, 3, 1, 0));
        assert_eq!(s.cases[0].problems[0].text, "FAIL in (x)");
        let cached = Suite {
            tests: 5,
            pass: 7,
            ran: true,
            ..Suite::default()
        };
        assert_eq!(
            totals([(s, false), (&cached, true)]),
            "Ran 7 tests containing 11 assertions (5 from cache).\n1 failures, 0 errors.\n"
        );
        assert_eq!(
            totals([(s, false)]),
            "Ran 2 tests containing 4 assertions.\n1 failures, 0 errors.\n"
        );
        let xml = junit_xml(s);
        assert!(xml.contains("<testsuite name=\"a.b-test\" time=\"0.001\" tests=\"2\" errors=\"0\" skipped=\"0\" failures=\"1\">"), "{xml}");
        assert!(
            xml.contains("<failure message=\"m\" type=\"assertion\">FAIL in (x)</failure>"),
            "{xml}"
        );
    }

    #[test]
    fn junit_platform_reports_split_into_one_suite_per_class() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="JUnit Jupiter" tests="3" skipped="0" failures="1" errors="0" time="0.1">
<properties><property name="x" value="y"/></properties>
<testcase name="doubles()" classname="calc.CalcTest" time="0.012"><system-out><![CDATA[
unique-id: x
]]></system-out></testcase>
<testcase name="wrong()" classname="calc.CalcTest" time="0.002">
<failure message="expected: &lt;5&gt; but was: &lt;4&gt;" type="org.opentest4j.AssertionFailedError"><![CDATA[org.opentest4j.AssertionFailedError: expected
	at calc.CalcTest.wrong(CalcTest.java:14)
]]></failure>
</testcase>
<testcase name="other()" classname="calc.OtherTest" time="0"/>
</testsuite>"#;
        let suites = from_junit_platform_xml(xml);
        assert_eq!(suites.len(), 2);
        let calc = &suites[0];
        assert_eq!(
            (
                calc.name.as_str(),
                calc.tests,
                calc.pass,
                calc.fail,
                calc.error
            ),
            ("calc.CalcTest", 2, 1, 1, 0)
        );
        let p = &calc.cases[1].problems[0];
        assert_eq!(p.message, "expected: <5> but was: <4>");
        assert!(p.text.contains("CalcTest.java:14"), "{p:?}");
        assert_eq!(calc.micros, 14_000);
        assert_eq!(suites[1].cases[0].name, "other()");
    }

    #[test]
    fn xml_text_is_escaped_and_loses_what_xml_cannot_hold() {
        assert_eq!(attr("a<\"b\"&\n\u{7}"), "a&lt;&quot;b&quot;&amp;&#10;");
        assert_eq!(text("x > y\u{0}"), "x &gt; y");
    }
}
