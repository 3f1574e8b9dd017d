//! Dependency cycles between resources (`Ref`, `Fn::GetAtt`, `Fn::Sub`,
//! `DependsOn`), each reported once as its shortest cycle.

use std::collections::{BTreeMap, BTreeSet};

use super::check::Checker;
use super::{Problem, join_key};

impl Checker<'_> {
    /// Reports each strongly connected group of resources once, as the
    /// shortest cycle through its smallest logical ID.
    pub(super) fn check_cycles(&mut self) {
        let edges: BTreeMap<&str, Vec<&str>> = self
            .edges
            .iter()
            .map(|(from, targets)| (*from, targets.iter().map(String::as_str).collect()))
            .collect();
        let mut cycles = Vec::new();
        for component in strongly_connected(&edges) {
            let Some(start) = component.iter().min().copied() else {
                continue;
            };
            let self_loop = edges
                .get(start)
                .is_some_and(|targets| targets.contains(&start));
            if component.len() < 2 && !self_loop {
                continue;
            }
            if let Some(cycle) = shortest_cycle(&edges, start, &component) {
                cycles.push(cycle);
            }
        }
        cycles.sort();
        for cycle in cycles {
            let start = cycle.first().cloned().unwrap_or_default();
            self.error(
                &start,
                join_key("Resources", &start),
                Problem::Cycle { cycle },
            );
        }
    }
}

/// Tarjan's algorithm, iterative so a deep chain of resources cannot exhaust
/// the stack. Components come out in a deterministic order for sorted input.
fn strongly_connected<'g>(edges: &BTreeMap<&'g str, Vec<&'g str>>) -> Vec<Vec<&'g str>> {
    struct NodeState {
        index: usize,
        low_link: usize,
        on_stack: bool,
    }
    let mut state: BTreeMap<&str, NodeState> = BTreeMap::new();
    let mut stack: Vec<&str> = Vec::new();
    let mut components = Vec::new();
    let mut next_index = 0;
    let no_targets: Vec<&str> = Vec::new();

    for &root in edges.keys() {
        if state.contains_key(root) {
            continue;
        }
        // (node, position of the next successor to visit)
        let mut work: Vec<(&str, usize)> = vec![(root, 0)];
        while let Some((node, position)) = work.pop() {
            if position == 0 {
                state.insert(
                    node,
                    NodeState {
                        index: next_index,
                        low_link: next_index,
                        on_stack: true,
                    },
                );
                next_index += 1;
                stack.push(node);
            }
            let targets = edges.get(node).unwrap_or(&no_targets);
            if let Some(&target) = targets.get(position) {
                work.push((node, position + 1));
                match state.get(target) {
                    None => work.push((target, 0)),
                    Some(target_state) if target_state.on_stack => {
                        let target_index = target_state.index;
                        if let Some(node_state) = state.get_mut(node) {
                            node_state.low_link = node_state.low_link.min(target_index);
                        }
                    }
                    Some(_) => {}
                }
                continue;
            }
            // All successors done: close the component if `node` is its root,
            // then pass the low link up to the caller.
            let (index, low_link) = state.get(node).map_or((0, 0), |s| (s.index, s.low_link));
            if low_link == index {
                let mut component = Vec::new();
                while let Some(member) = stack.pop() {
                    if let Some(member_state) = state.get_mut(member) {
                        member_state.on_stack = false;
                    }
                    component.push(member);
                    if member == node {
                        break;
                    }
                }
                components.push(component);
            }
            if let Some(&(parent, _)) = work.last()
                && let Some(parent_state) = state.get_mut(parent)
            {
                parent_state.low_link = parent_state.low_link.min(low_link);
            }
        }
    }
    components
}

/// Breadth-first search from `start` back to itself inside `component`,
/// visiting successors in sorted order so the result is deterministic.
fn shortest_cycle(
    edges: &BTreeMap<&str, Vec<&str>>,
    start: &str,
    component: &[&str],
) -> Option<Vec<String>> {
    let members: BTreeSet<&str> = component.iter().copied().collect();
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for &target in edges.get(node).map(Vec::as_slice).unwrap_or_default() {
            if !members.contains(target) {
                continue;
            }
            if target == start {
                // Walk back from the last hop to `start`, then read it forwards.
                let mut backwards = vec![start.to_owned()];
                let mut current = node;
                while current != start {
                    backwards.push(current.to_owned());
                    current = came_from.get(current).copied()?;
                }
                backwards.push(start.to_owned());
                backwards.reverse();
                return Some(backwards);
            }
            if target != start && !came_from.contains_key(target) {
                came_from.insert(target, node);
                queue.push_back(target);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycle_starts_at_the_smallest_member() {
        let edges = BTreeMap::from([
            ("B", vec!["C"]),
            ("C", vec!["A"]),
            ("A", vec!["B"]),
            ("D", vec!["A"]),
        ]);
        let components = strongly_connected(&edges);
        let cyclic: Vec<_> = components.iter().filter(|c| c.len() > 1).collect();
        assert_eq!(cyclic.len(), 1);
        let cycle = shortest_cycle(&edges, "A", cyclic[0]).unwrap();
        assert_eq!(cycle, vec!["A", "B", "C", "A"]);
    }
}
