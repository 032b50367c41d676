//! The dependency graph and Maven's conflict resolution on it (maven-resolver's
//! ConflictResolver with NearestVersionSelector, JavaScopeSelector,
//! SimpleOptionalitySelector and JavaScopeDeriver).
//!
//! Nodes with the same artifact and the same collection context share one children list, as
//! in Maven's collector, so the graph is a DAG and stays polynomial in size.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::repository::Repository;
use crate::resolve::{Dep, Mediation, ResolveError, Scope};
use crate::version::{Version, VersionReq};

pub(crate) struct Node {
    pub dep: Dep,
    /// The node that first declared this one (for error paths); `None` for direct deps.
    pub parent: Option<usize>,
    /// Index into `Graph::lists`; `None` for leaves.
    pub list: Option<usize>,
    pub constraint: VersionReq,
    pub managed_scope: bool,
    pub managed_optional: bool,
    pub repos: Arc<Vec<Arc<dyn Repository>>>,
}

pub(crate) struct Graph {
    pub nodes: Vec<Node>,
    /// Children lists; `lists[ROOT]` holds the direct dependencies.
    pub lists: Vec<Vec<usize>>,
}

pub(crate) const ROOT: usize = 0;

/// Maven's scope of a child under a parent whose scope is already effective.
pub(crate) fn derive_scope(parent: Option<Scope>, child: Scope) -> Scope {
    match (parent, child) {
        (_, Scope::System) | (_, Scope::Test) => child,
        (None, _) | (Some(Scope::Compile), _) => child,
        (Some(Scope::Test), _) => Scope::Test,
        (Some(Scope::Runtime), _) => Scope::Runtime,
        (Some(Scope::System), _) | (Some(Scope::Provided), _) => Scope::Provided,
        _ => Scope::Runtime,
    }
}

/// One place (a node within a children list) where a conflict id occurs, merged over all
/// paths that reach the list.
struct Item {
    node: usize,
    list: usize,
    depth: usize,
    scopes: Vec<Scope>,
    optionals: Vec<bool>,
}

struct Gather<'a> {
    cid: &'a str,
    winners: &'a HashMap<String, usize>,
    items: Vec<Item>,
    item_index: HashMap<(usize, usize), usize>,
    /// Per visited list: minimum depth and the (scope, optional) pairs it was visited with.
    infos: HashMap<usize, (usize, HashSet<(Scope, bool)>)>,
    stack: Vec<usize>,
}

impl Graph {
    fn key(&self, n: usize) -> String {
        self.nodes[n].dep.coord.key()
    }

    fn version(&self, n: usize) -> Version {
        Version::parse(&self.nodes[n].dep.coord.version)
    }

    /// Walks the lists reachable from `list` (whose nodes sit at `depth`), collecting items of
    /// the current conflict id and dropping leftover losers of resolved ones.
    fn gather(
        &mut self,
        list: usize,
        depth: usize,
        parent: Option<(Scope, bool)>,
        st: &mut Gather<'_>,
    ) {
        let children = self.lists[list].clone();
        let mut losers = Vec::new();
        for c in children {
            let key = self.key(c);
            let node = &self.nodes[c];
            let dep = &node.dep;
            let resolved = st.winners.get(&key).copied();
            let scope = if node.managed_scope || resolved.is_some() {
                dep.scope
            } else {
                derive_scope(parent.map(|p| p.0), dep.scope)
            };
            let optional = if dep.optional || node.managed_optional || resolved.is_some() {
                dep.optional
            } else {
                parent.is_some_and(|p| p.1)
            };
            if key == st.cid {
                match st.item_index.get(&(list, c)) {
                    Some(&i) => {
                        let it = &mut st.items[i];
                        it.depth = it.depth.min(depth);
                        if !it.scopes.contains(&scope) {
                            it.scopes.push(scope);
                        }
                        if !it.optionals.contains(&optional) {
                            it.optionals.push(optional);
                        }
                    }
                    None => {
                        st.item_index.insert((list, c), st.items.len());
                        st.items.push(Item {
                            node: c,
                            list,
                            depth,
                            scopes: vec![scope],
                            optionals: vec![optional],
                        });
                    }
                }
                continue;
            }
            if resolved.is_some_and(|w| w != c) {
                losers.push(c);
                continue;
            }
            let Some(l) = node.list else { continue };
            if st.stack.contains(&l) {
                continue;
            }
            let changed = match st.infos.get_mut(&l) {
                None => {
                    st.infos
                        .insert(l, (depth, HashSet::from([(scope, optional)])));
                    true
                }
                Some((min_depth, seen)) => {
                    let deeper = depth < *min_depth;
                    *min_depth = (*min_depth).min(depth);
                    seen.insert((scope, optional)) || deeper
                }
            };
            if changed {
                st.stack.push(l);
                self.gather(l, depth + 1, Some((scope, optional)), st);
                st.stack.pop();
            }
        }
        if !losers.is_empty() {
            self.lists[list].retain(|c| !losers.contains(c));
        }
    }

    /// Path of declarations leading to node `n`, for messages.
    pub fn path_to(&self, n: usize) -> Vec<String> {
        let mut path = Vec::new();
        let mut cur = Some(n);
        while let Some(i) = cur {
            path.push(self.nodes[i].dep.display());
            cur = self.nodes[i].parent;
        }
        path.reverse();
        path
    }

    fn select_version(
        &self,
        items: &[Item],
        cid: &str,
        rule: Mediation,
    ) -> Result<usize, ResolveError> {
        let mut constraints: Vec<&VersionReq> = Vec::new();
        let mut candidates: Vec<usize> = Vec::new();
        let mut winner: Option<usize> = None;
        let acceptable = |cs: &[&VersionReq], v: &Version| cs.iter().all(|c| c.contains(v));
        // Siblings (same children list) prefer the higher version; otherwise the nearer wins.
        let nearer = |a: usize, b: usize| {
            let (va, vb) = (self.version(items[a].node), self.version(items[b].node));
            match rule {
                _ if items[a].list == items[b].list => va > vb,
                Mediation::Nearest => items[a].depth < items[b].depth,
                // The Clojure CLI: top-level declarations win; below them, the newest.
                Mediation::Newest => match (items[a].depth <= 1, items[b].depth <= 1) {
                    (true, false) => true,
                    (false, true) => false,
                    _ if va != vb => va > vb,
                    _ => items[a].depth < items[b].depth,
                },
            }
        };
        let beats = |i: usize, winner: Option<usize>| match winner {
            None => true,
            Some(w) => nearer(i, w),
        };
        for (i, item) in items.iter().enumerate() {
            let mut backtrack = false;
            let c = &self.nodes[item.node].constraint;
            if c.is_range() && !constraints.contains(&c) {
                constraints.push(c);
                if let Some(w) = winner {
                    backtrack = !c.contains(&self.version(items[w].node));
                }
            }
            if acceptable(&constraints, &self.version(item.node)) {
                candidates.push(i);
                if backtrack {
                    winner = None;
                } else if beats(i, winner) {
                    winner = Some(i);
                }
            } else if backtrack {
                winner = None;
            }
            if backtrack {
                candidates.retain(|&c| acceptable(&constraints, &self.version(items[c].node)));
                for &c in &candidates {
                    if beats(c, winner) {
                        winner = Some(c);
                    }
                }
            }
        }
        winner.ok_or_else(|| {
            let mut described: Vec<String> = items
                .iter()
                .map(|it| self.path_to(it.node).join(" -> "))
                .collect();
            described.dedup();
            ResolveError::UnsolvableConflict {
                key: cid.to_string(),
                constraints: described,
            }
        })
    }
}

fn effective_scope(g: &Graph, items: &[Item]) -> Scope {
    let mut scopes: Vec<Scope> = Vec::new();
    for it in items {
        if it.depth <= 1 {
            return g.nodes[it.node].dep.scope;
        }
        for s in &it.scopes {
            if !scopes.contains(s) {
                scopes.push(*s);
            }
        }
    }
    if scopes.len() > 1 {
        scopes.retain(|s| *s != Scope::System);
    }
    if scopes.len() == 1 {
        return scopes[0];
    }
    for s in [Scope::Compile, Scope::Runtime, Scope::Provided, Scope::Test] {
        if scopes.contains(&s) {
            return s;
        }
    }
    Scope::Compile
}

fn effective_optional(g: &Graph, items: &[Item]) -> bool {
    let mut optional = true;
    for it in items {
        if it.depth <= 1 {
            return g.nodes[it.node].dep.optional;
        }
        if it.optionals.contains(&false) {
            optional = false;
        }
    }
    optional
}

/// Conflict ids (versionless keys) in topological order of the graph, parents first; cycles
/// are broken at the earliest-seen id.
fn conflict_order(g: &Graph) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut edges: Vec<HashSet<usize>> = Vec::new();
    let mut seen_lists = HashSet::new();
    let mut stack: Vec<(usize, Option<usize>)> = vec![(ROOT, None)];
    while let Some((list, pid)) = stack.pop() {
        if !seen_lists.insert((list, pid)) {
            continue;
        }
        let mut next = Vec::new();
        for &c in &g.lists[list] {
            let k = g.key(c);
            let cid = *index.entry(k.clone()).or_insert_with(|| {
                order.push(k);
                edges.push(HashSet::new());
                order.len() - 1
            });
            if let Some(p) = pid {
                if p != cid {
                    edges[p].insert(cid);
                }
            }
            if let Some(l) = g.nodes[c].list {
                next.push((l, Some(cid)));
            }
        }
        stack.extend(next.into_iter().rev());
    }
    let mut indegree = vec![0usize; order.len()];
    for e in &edges {
        for &t in e {
            indegree[t] += 1;
        }
    }
    let mut done = vec![false; order.len()];
    let mut topo = Vec::with_capacity(order.len());
    while topo.len() < order.len() {
        let next = (0..order.len())
            .find(|&i| !done[i] && indegree[i] == 0)
            .or_else(|| (0..order.len()).find(|&i| !done[i]));
        let Some(i) = next else { break };
        done[i] = true;
        topo.push(order[i].clone());
        for &t in &edges[i] {
            indegree[t] = indegree[t].saturating_sub(1);
        }
    }
    topo
}

/// Resolves every conflict: afterwards each conflict id occurs once, with its effective
/// scope and optionality set on the winning node.
pub(crate) fn mediate(g: &mut Graph, rule: Mediation) -> Result<(), ResolveError> {
    let mut winners: HashMap<String, usize> = HashMap::new();
    for cid in conflict_order(g) {
        let mut st = Gather {
            cid: &cid,
            winners: &winners,
            items: Vec::new(),
            item_index: HashMap::new(),
            infos: HashMap::new(),
            stack: vec![ROOT],
        };
        g.gather(ROOT, 1, None, &mut st);
        let items = st.items;
        if items.is_empty() {
            continue;
        }
        let w = g.select_version(&items, &cid, rule)?;
        let winner = items[w].node;
        let scope = if g.nodes[winner].dep.scope == Scope::System {
            Scope::System
        } else {
            effective_scope(g, &items)
        };
        let optional = effective_optional(g, &items);
        for (i, it) in items.iter().enumerate() {
            if i != w {
                g.lists[it.list].retain(|&c| c != it.node);
            }
        }
        g.nodes[winner].dep.scope = scope;
        g.nodes[winner].dep.optional = optional;
        winners.insert(cid, winner);
    }
    Ok(())
}

/// Pre-order of the resolved graph (Maven's classpath order), each node with its path.
pub(crate) fn preorder(g: &Graph) -> Vec<(usize, Vec<String>)> {
    fn walk(
        g: &Graph,
        list: usize,
        on_path: &mut Vec<usize>,
        path: &mut Vec<String>,
        out: &mut Vec<(usize, Vec<String>)>,
    ) {
        for &c in &g.lists[list] {
            path.push(g.nodes[c].dep.display());
            out.push((c, path.clone()));
            if let Some(l) = g.nodes[c].list {
                if !on_path.contains(&l) {
                    on_path.push(l);
                    walk(g, l, on_path, path, out);
                    on_path.pop();
                }
            }
            path.pop();
        }
    }
    let mut out = Vec::new();
    walk(g, ROOT, &mut vec![ROOT], &mut Vec::new(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_derivation_table() {
        use Scope::*;
        let table = [
            (Compile, Compile, Compile),
            (Compile, Runtime, Runtime),
            (Provided, Compile, Provided),
            (Provided, Runtime, Provided),
            (Runtime, Compile, Runtime),
            (Runtime, Runtime, Runtime),
            (Test, Compile, Test),
            (Test, Runtime, Test),
            (Compile, Test, Test),
            (System, Compile, Provided),
        ];
        for (p, c, want) in table {
            assert_eq!(derive_scope(Some(p), c), want, "{p} / {c}");
        }
    }
}
