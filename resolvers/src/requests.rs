//! Every place a dependency was asked for, before and after conflict resolution: what
//! explains a conflict ("I asked for 2.0 and got 1.0") and answers "why is this here".
//!
//! The paths are those Leiningen's pedantic check walks: breadth first through the collected
//! graph, a path cut where it would revisit an artifact already on it.

use std::collections::{HashMap, HashSet};

use crate::mediation::{Graph, ROOT};
use crate::resolve::Dependency;

/// Past this many paths a graph is pathological (a wide diamond lattice has exponentially
/// many); the walk stops there and says so.
const MAX_PATHS: usize = 20_000;

/// One path from a direct dependency to a dependency it led to, as collected.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// The declarations along the path, the direct dependency first, as indexes into
    /// [`Requests::declarations`]; each with the version it asked for (after dependency
    /// management).
    pub path: Vec<usize>,
    /// Whether this path is in the resolved graph (its last artifact won, at this place).
    pub chosen: bool,
    /// Whether the root's dependencyManagement set the last declaration's version.
    pub managed: bool,
    /// Whether the last declaration asked for a version range (each version the range
    /// admits is a request of its own, and all but one lose).
    pub range: bool,
}

/// All requests of a graph, and whether the walk stopped at [`MAX_PATHS`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Requests {
    pub requests: Vec<Request>,
    /// Each declaration once, however many paths go through it.
    pub declarations: Vec<Dependency>,
    pub truncated: bool,
}

impl Requests {
    /// The declarations along `r`'s path.
    pub fn path(&self, r: &Request) -> Vec<&Dependency> {
        r.path.iter().map(|&i| &self.declarations[i]).collect()
    }

    /// What `r` asked for at its end.
    pub fn target(&self, r: &Request) -> &Dependency {
        &self.declarations[*r.path.last().expect("paths are not empty")]
    }
}

/// The node paths of the graph as it stands, breadth first.
pub(crate) fn node_paths(g: &Graph) -> (Vec<Vec<usize>>, bool) {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut level: Vec<Vec<usize>> = g.lists[ROOT].iter().map(|&n| vec![n]).collect();
    while !level.is_empty() {
        let mut next = Vec::new();
        for path in level {
            let last = *path.last().expect("paths are not empty");
            if let Some(l) = g.nodes[last].list {
                for &c in &g.lists[l] {
                    let key = g.nodes[c].dep.coord.key();
                    if path.iter().any(|&p| g.nodes[p].dep.coord.key() == key) {
                        continue;
                    }
                    let mut longer = path.clone();
                    longer.push(c);
                    next.push(longer);
                }
            }
            out.push(path);
            if out.len() >= MAX_PATHS {
                return (out, true);
            }
        }
        level = next;
    }
    (out, false)
}

/// The requests: `before`'s paths (taken before mediation), each marked chosen when the
/// mediated graph `g` still has it.
pub(crate) fn requests(
    g: &Graph,
    before: (Vec<Vec<usize>>, bool),
    is_managed: impl Fn(&Dependency) -> bool,
) -> Requests {
    let (paths, truncated) = before;
    let (after, _) = node_paths(g);
    let after: HashSet<Vec<usize>> = after.into_iter().collect();
    let mut index: HashMap<usize, usize> = HashMap::new();
    let mut declarations = Vec::new();
    let requests = paths
        .into_iter()
        .map(|p| {
            let last = *p.last().expect("paths are not empty");
            let managed = p.len() > 1 && is_managed(&g.nodes[last].dep);
            let chosen = after.contains(&p);
            let range = g.nodes[last].constraint.is_range();
            let path = p
                .iter()
                .map(|&n| {
                    *index.entry(n).or_insert_with(|| {
                        declarations.push(g.nodes[n].dep.clone());
                        declarations.len() - 1
                    })
                })
                .collect();
            Request {
                chosen,
                managed,
                range,
                path,
            }
        })
        .collect();
    Requests {
        requests,
        declarations,
        truncated,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::mediation::{mediate, Node};
    use crate::resolve::Mediation;
    use crate::version::VersionReq;

    fn node(g: &mut Graph, spec: &str, list: Option<usize>) -> usize {
        let dep = Dependency::parse(spec).unwrap();
        g.nodes.push(Node {
            constraint: VersionReq::parse(&dep.coord.version).unwrap(),
            dep,
            parent: None,
            list,
            managed_scope: false,
            managed_optional: false,
            repos: Arc::new(Vec::new()),
        });
        g.nodes.len() - 1
    }

    /// root -> a -> c:2.0, root -> b -> c:1.0 -> a (a cycle back to a).
    #[test]
    fn paths_before_and_after_mediation() {
        let mut g = Graph {
            nodes: Vec::new(),
            lists: vec![Vec::new(); 4],
        };
        node(&mut g, "root:root:1", Some(0));
        let a = node(&mut g, "g:a:1.0", Some(1));
        let b = node(&mut g, "g:b:1.0", Some(2));
        let c2 = node(&mut g, "g:c:2.0", None);
        let c1 = node(&mut g, "g:c:1.0", Some(3));
        let a_again = node(&mut g, "g:a:1.0", Some(1));
        g.lists[ROOT] = vec![a, b];
        g.lists[1] = vec![c2];
        g.lists[2] = vec![c1];
        g.lists[3] = vec![a_again];
        let before = node_paths(&g);
        assert!(!before.1);
        // a, b, a>c2, b>c1, b>c1>a (then a's c is cut: c is on the path).
        assert_eq!(before.0.len(), 5, "{:?}", before.0);
        mediate(&mut g, Mediation::Nearest).unwrap();
        let r = requests(&g, before, |_| false);
        let shown: Vec<(String, bool)> = r
            .requests
            .iter()
            .map(|q| {
                let p: Vec<String> = r.path(q).iter().map(|d| d.coord.to_string()).collect();
                (p.join(" > "), q.chosen)
            })
            .collect();
        assert_eq!(
            shown,
            [
                ("g:a:jar:1.0".to_string(), true),
                ("g:b:jar:1.0".to_string(), true),
                ("g:a:jar:1.0 > g:c:jar:2.0".to_string(), true),
                ("g:b:jar:1.0 > g:c:jar:1.0".to_string(), false),
                ("g:b:jar:1.0 > g:c:jar:1.0 > g:a:jar:1.0".to_string(), false),
            ]
        );
        assert_eq!(r.declarations.len(), 5, "each declaration once");
    }

    /// A lattice of 2 choices per level has 2^levels paths: the walk stops at MAX_PATHS.
    #[test]
    fn a_pathological_lattice_is_cut_short() {
        let levels = 20;
        let mut g = Graph {
            nodes: Vec::new(),
            lists: vec![Vec::new(); levels + 1],
        };
        node(&mut g, "root:root:1", Some(0));
        for l in 0..levels {
            let next = (l + 1 < levels).then_some(l + 1);
            let x = node(&mut g, &format!("g:x{l}:1"), next);
            let y = node(&mut g, &format!("g:y{l}:1"), next);
            g.lists[l] = vec![x, y];
        }
        let (paths, truncated) = node_paths(&g);
        assert!(truncated);
        assert_eq!(paths.len(), MAX_PATHS);
    }
}
