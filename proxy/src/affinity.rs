//! Rendezvous (highest-random-weight) hashing: each tenant ranks the nodes
//! by `hash(node, tenant)` and prefers them in that order.
//!
//! Why rendezvous: a tenant's modules stay compiled on the first node of its
//! ranking, removing a node moves only the tenants that ranked it first
//! (everyone else keeps their warm node), and every proxy computes the same
//! ranking with no shared state. The hash is SHA-256 so the order is stable
//! across processes, versions and machines.

use sha2::{Digest, Sha256};

fn weight(node: &str, key: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(node.as_bytes());
    h.update(b"\0");
    h.update(key.as_bytes());
    let d = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    u64::from_be_bytes(first)
}

/// Indices of `nodes` from most to least preferred for `key`.
pub fn ranking<S: AsRef<str>>(nodes: &[S], key: &str) -> Vec<usize> {
    let mut scored: Vec<(u64, usize)> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (weight(n.as_ref(), key), i))
        .collect();
    scored.sort_unstable_by(|a, b| b.cmp(a));
    scored.into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rankings_are_stable_and_spread_tenants() {
        let nodes = ["http://a:1", "http://b:1", "http://c:1"];
        let mut firsts = [0usize; 3];
        for t in 0..3000 {
            let key = format!("tenant-{t}");
            let r = ranking(&nodes, &key);
            assert_eq!(r, ranking(&nodes, &key), "same input, same order");
            let mut sorted = r.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, vec![0, 1, 2], "a permutation of the nodes");
            firsts[r[0]] += 1;
        }
        for n in firsts {
            assert!((800..1200).contains(&n), "roughly even spread: {firsts:?}");
        }
    }

    #[test]
    fn removing_a_node_moves_only_its_tenants() {
        let three = ["a", "b", "c"];
        let two = ["a", "b"];
        for t in 0..500 {
            let key = format!("t{t}");
            let before = three[ranking(&three, &key)[0]];
            let after = two[ranking(&two, &key)[0]];
            if before != "c" {
                assert_eq!(before, after, "tenant {key} moved although its node stayed");
            }
        }
    }
}
