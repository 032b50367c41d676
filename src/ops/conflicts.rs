//! What a resolution's requests say about conflicts: which version each place asked for,
//! which one was chosen and why, the exclusions that would silence a conflict (Leiningen's
//! pedantic check, whose "Possibly confusing dependencies found" text this writes the same
//! way), and every path to one artifact (`kbuild deps --why`).

use kbuild_resolvers::{Dependency, Mediation, Request, Requests, Resolution, TreeNode};
use serde_json::json;

fn key(d: &Dependency) -> String {
    let c = &d.coord;
    format!(
        "{}:{}:{}:{}",
        c.group, c.artifact, c.extension, c.classifier
    )
}

/// `group/artifact`, or `name` alone when both are the same, as Leiningen writes names.
fn lein_name(group: &str, artifact: &str) -> String {
    if group == artifact {
        group.to_string()
    } else {
        format!("{group}/{artifact}")
    }
}

/// `[group/artifact "version" :classifier "c" :extension "e" :exclusions [g/a]]`, as
/// Leiningen's pedantic messages write a declaration.
fn lein_dep(d: &Dependency, exclusions: &[(String, String)]) -> String {
    let c = &d.coord;
    let mut s = format!("[{} \"{}\"", lein_name(&c.group, &c.artifact), c.version);
    if !c.classifier.is_empty() {
        s.push_str(&format!(" :classifier \"{}\"", c.classifier));
    }
    if c.extension != "jar" {
        s.push_str(&format!(" :extension \"{}\"", c.extension));
    }
    if !exclusions.is_empty() {
        let names: Vec<String> = exclusions.iter().map(|(g, a)| lein_name(g, a)).collect();
        s.push_str(&format!(" :exclusions [{}]", names.join(" ")));
    }
    s.push(']');
    s
}

fn own_exclusions(d: &Dependency) -> Vec<(String, String)> {
    d.exclusions
        .iter()
        .map(|e| (e.group.clone(), e.artifact.clone()))
        .collect()
}

fn lein_path(path: &[&Dependency]) -> String {
    path.iter()
        .map(|d| lein_dep(d, &own_exclusions(d)))
        .collect::<Vec<_>>()
        .join(" -> ")
}

/// One chosen place and the places it overrode that asked for a newer version, or that
/// were direct dependencies (Leiningen's criteria for "possibly confusing").
pub struct Conflict<'a> {
    pub accepted: &'a Request,
    pub ignored: Vec<&'a Request>,
}

fn path<'a>(r: &'a Resolution, q: &Request) -> Vec<&'a Dependency> {
    r.requests.path(q)
}

fn version(d: &Dependency) -> kbuild_resolvers::version::Version {
    kbuild_resolvers::version::Version::parse(&d.coord.version)
}

/// The conflicts, in the order Leiningen reports them: chosen paths breadth first, each
/// with the paths it overrode latest first.
pub fn conflicts(r: &Resolution) -> Vec<Conflict<'_>> {
    let rq = &r.requests;
    let last = |q: &Request| rq.target(q);
    // Each artifact's requests, latest first (Leiningen conses them onto a list).
    let mut by_key: std::collections::HashMap<String, Vec<&Request>> = Default::default();
    for q in rq.requests.iter().rev() {
        by_key.entry(key(last(q))).or_default().push(q);
    }
    let mut out = Vec::new();
    for accepted in rq.requests.iter().filter(|q| q.chosen) {
        let v = version(last(accepted));
        let ignored: Vec<&Request> = by_key[&key(last(accepted))]
            .iter()
            .copied()
            // As Leiningen's check, leaving out what a range asked for.
            .filter(|q| !q.range && q.path != accepted.path)
            .filter(|q| version(last(q)) > v || q.path.len() == 1)
            .collect();
        if !ignored.is_empty() {
            out.push(Conflict { accepted, ignored });
        }
    }
    out
}

/// The exclusion on the ignored path's direct dependency that would drop the artifact.
fn exclusion_for(rq: &Requests, q: &Request) -> String {
    if q.path.len() < 2 {
        return String::new();
    }
    let top = &rq.declarations[q.path[0]];
    let end = rq.target(q);
    let mut ex = vec![(end.coord.group.clone(), end.coord.artifact.clone())];
    for e in own_exclusions(top) {
        if !ex.contains(&e) {
            ex.push(e);
        }
    }
    lein_dep(top, &ex)
}

/// Leiningen's "Possibly confusing dependencies found" text (empty when there are none).
pub fn lein_report(r: &Resolution, conflicts: &[Conflict]) -> String {
    if conflicts.is_empty() {
        return String::new();
    }
    let mut out = String::from("Possibly confusing dependencies found:\n");
    for c in conflicts {
        out.push_str(&lein_path(&path(r, c.accepted)));
        out.push_str("\n overrides\n");
        let ignored: Vec<String> = c.ignored.iter().map(|q| lein_path(&path(r, q))).collect();
        out.push_str(&ignored.join("\n and\n"));
        out.push_str("\n\nConsider using these exclusions:\n");
        let mut seen: Vec<String> = Vec::new();
        for q in &c.ignored {
            let e = exclusion_for(&r.requests, q);
            if !seen.contains(&e) {
                out.push_str(&e);
                out.push('\n');
                seen.push(e);
            }
        }
        out.push('\n');
    }
    out
}

/// Why `chosen` won over `other` (same artifact, another version or place).
fn reason(chosen: &Request, other: &Request, rule: Mediation) -> &'static str {
    let (a, b) = (chosen.path.len(), other.path.len());
    if chosen.managed {
        return "managed (dependencyManagement)";
    }
    if a == 1 && b > 1 {
        return "direct dependency";
    }
    match rule {
        Mediation::Newest if a > 1 => "newest",
        _ if a < b => "nearest",
        _ if a == b && chosen.path[..a - 1] == other.path[..b - 1] => "higher version of siblings",
        _ if a == b => "first declaration",
        _ => "newest",
    }
}

/// Each artifact's chosen request: the first by breadth.
type Chosen<'a> = std::collections::HashMap<String, &'a Request>;

fn chosen_map(r: &Resolution) -> Chosen<'_> {
    let mut m = Chosen::new();
    for q in r.requests.requests.iter().filter(|q| q.chosen) {
        m.entry(key(r.requests.target(q))).or_insert(q);
    }
    m
}

/// The chosen request for the artifact `q` asked for.
fn chosen_for<'a>(r: &Resolution, chosen: &Chosen<'a>, q: &Request) -> Option<&'a Request> {
    chosen.get(&key(r.requests.target(q))).copied()
}

fn last<'a>(r: &'a Resolution, q: &Request) -> &'a Dependency {
    r.requests.target(q)
}

fn list_line(d: &Dependency) -> String {
    let c = &d.coord;
    let mut s = format!("{}:{}:{}", c.group, c.artifact, d.type_);
    if !c.classifier.is_empty() {
        s.push(':');
        s.push_str(&c.classifier);
    }
    format!("{s}:{}:{}", c.version, d.scope)
}

/// The resolved tree drawn as `mvn dependency:tree` draws it, with, under each chosen
/// artifact, the other versions its dependencies asked for and why they lost:
/// `\- g:a:jar:2.0 (omitted: 1.0 chosen, nearest)`.
pub fn tree(r: &Resolution, rule: Mediation) -> String {
    type Omitted<'a> = std::collections::HashMap<Vec<String>, Vec<&'a Request>>;
    struct Line {
        text: String,
        children: Vec<Line>,
    }
    fn build(
        r: &Resolution,
        chosen: &Chosen,
        omitted: &Omitted,
        nodes: &[TreeNode],
        parent: &[String],
        rule: Mediation,
    ) -> Vec<Line> {
        let mut out = Vec::new();
        for n in nodes {
            let a = &r.artifacts[n.artifact];
            let dep = Dependency {
                coord: a.coord.clone(),
                type_: a.type_.clone(),
                scope: a.scope,
                optional: a.optional,
                exclusions: Vec::new(),
                system_path: None,
            };
            let mut path = parent.to_vec();
            path.push(key(&dep));
            let mut text = list_line(&dep);
            if a.optional {
                text.push_str(" (optional)");
            }
            // The version came from the root's dependencyManagement, not from its declaration.
            if chosen.get(&key(&dep)).is_some_and(|c| c.managed) {
                text.push_str(" (version managed)");
            }
            out.push(Line {
                text,
                children: build(r, chosen, omitted, &n.children, &path, rule),
            });
        }
        // The requests made here that lost to a version chosen elsewhere.
        for q in omitted.get(parent).into_iter().flatten() {
            let Some(c) = chosen_for(r, chosen, q) else {
                continue;
            };
            let (asked, got) = (&last(r, q).coord.version, &last(r, c).coord.version);
            if asked == got {
                continue;
            }
            let d = last(r, q);
            let mut text = format!("{}:{}:{}", d.coord.group, d.coord.artifact, d.type_);
            if !d.coord.classifier.is_empty() {
                text.push(':');
                text.push_str(&d.coord.classifier);
            }
            text.push_str(&format!(
                ":{asked} (omitted: {got} chosen, {})",
                reason(c, q, rule)
            ));
            out.push(Line {
                text,
                children: Vec::new(),
            });
        }
        out
    }
    fn draw(lines: &[Line], prefix: &str, out: &mut String) {
        for (i, l) in lines.iter().enumerate() {
            let last = i + 1 == lines.len();
            out.push_str(prefix);
            out.push_str(if last { "\\- " } else { "+- " });
            out.push_str(&l.text);
            out.push('\n');
            draw(
                &l.children,
                &format!("{prefix}{}", if last { "   " } else { "|  " }),
                out,
            );
        }
    }
    let mut out = String::new();
    // The requests that lost, by the artifacts above them.
    let mut omitted = Omitted::new();
    for q in r.requests.requests.iter().filter(|q| !q.chosen && !q.range) {
        let p = path(r, q);
        let above: Vec<String> = p[..p.len() - 1].iter().map(|d| key(d)).collect();
        omitted.entry(above).or_default().push(q);
    }
    let lines = build(r, &chosen_map(r), &omitted, &r.tree, &[], rule);
    draw(&lines, "", &mut out);
    out
}

/// Every path to `group/artifact` (or `group:artifact`): chosen ones first, then those that
/// asked for it and lost, each with what was chosen and why. None when nothing asks for it.
pub fn why(r: &Resolution, target: &str, rule: Mediation) -> Option<String> {
    let (g, a) = target.split_once(['/', ':'])?;
    let matches: Vec<&Request> = r
        .requests
        .requests
        .iter()
        .filter(|q| last(r, q).coord.group == g && last(r, q).coord.artifact == a)
        .collect();
    if matches.is_empty() {
        return None;
    }
    let chosen = chosen_map(r);
    let mut out = String::new();
    for q in matches.iter().filter(|q| q.chosen) {
        out.push_str(&format!("  {}\n", lein_path(&path(r, q))));
    }
    for q in matches.iter().filter(|q| !q.chosen) {
        let note = match chosen_for(r, &chosen, q) {
            Some(c) => format!(
                "omitted: {} chosen, {}",
                last(r, c).coord.version,
                reason(c, q, rule)
            ),
            None => "omitted".to_string(),
        };
        out.push_str(&format!("  {}  ({note})\n", lein_path(&path(r, q))));
    }
    Some(out)
}

/// The resolution as one JSON object for `--json`.
pub fn to_json(name: &str, r: &Resolution, rule: Mediation) -> serde_json::Value {
    let mut lines = kbuild_resolvers::to_list_lines(r);
    lines.sort();
    let chosen = chosen_map(r);
    let conflicts: Vec<serde_json::Value> = r
        .requests
        .requests
        .iter()
        .filter(|q| !q.chosen)
        .filter_map(|q| {
            let c = chosen_for(r, &chosen, q)?;
            let d = last(r, q);
            (d.coord.version != last(r, c).coord.version).then(|| {
                json!({
                    "artifact": format!("{}:{}", d.coord.group, d.coord.artifact),
                    "requested": d.coord.version,
                    "chosen": last(r, c).coord.version,
                    "reason": reason(c, q, rule),
                    "path": path(r, q).iter().map(|p| p.coord.to_string()).collect::<Vec<_>>(),
                    "chosen_path": path(r, c).iter().map(|p| p.coord.to_string()).collect::<Vec<_>>(),
                    "exclusion": exclusion_for(&r.requests, q),
                })
            })
        })
        .collect();
    fn nodes(r: &Resolution, ns: &[TreeNode]) -> Vec<serde_json::Value> {
        ns.iter()
            .map(|n| {
                let a = &r.artifacts[n.artifact];
                json!({
                    "artifact": a.coord.to_string(),
                    "scope": a.scope.as_str(),
                    "children": nodes(r, &n.children),
                })
            })
            .collect()
    }
    json!({
        "event": "deps",
        "target": name,
        "artifacts": lines,
        "tree": nodes(r, &r.tree),
        "conflicts": conflicts,
        "paths_truncated": r.requests.truncated,
    })
}
