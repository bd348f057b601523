//! The media node dispatcher: which node gets the next new call.
//!
//! Sans-IO: it holds the node list, each node's health as fed by OPTIONS check results, and
//! picks nodes by smooth weighted round robin (a node of weight 3 gets three calls for every one
//! of a node of weight 1, interleaved rather than in runs). The shell resolves names, sends the
//! checks and reports their outcome; nothing here touches a socket or a clock.

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use voxbin_core::config::MediaNodeEntry;

/// Index of a node in the dispatcher's list.
pub type NodeId = usize;

/// Whether a node takes new calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// In rotation (also the state before the first check, so calls flow at once).
    Up,
    /// Out of rotation after consecutive failed checks.
    Down,
}

/// One media node.
#[derive(Debug, Clone)]
pub struct Node {
    /// `host:port` as configured.
    pub name: String,
    /// Host name or IP address.
    pub host: String,
    /// SIP port.
    pub port: u16,
    /// Resolved address; `None` until the name resolves.
    pub addr: Option<SocketAddr>,
    /// Share of new calls.
    pub weight: u32,
    /// Current health.
    pub health: Health,
    failures: u32,
    current: i64,
    next_check: Option<Instant>,
    in_flight: Option<(u64, Instant)>,
}

/// A health check the shell should send now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The node checked.
    pub node: NodeId,
    /// Its address.
    pub addr: SocketAddr,
    /// Token to hand back with the result (goes into the OPTIONS branch).
    pub token: u64,
}

/// A change of a node's health, for logs and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthChange {
    /// The node.
    pub node: NodeId,
    /// Its new health.
    pub health: Health,
}

/// Weighted round robin over healthy nodes, with OPTIONS-fed health.
#[derive(Debug)]
pub struct Dispatcher {
    nodes: Vec<Node>,
    interval: Duration,
    timeout: Duration,
    down_after: u32,
    next_token: u64,
}

impl Dispatcher {
    /// A dispatcher over `entries`; checks every `interval`, each may take `timeout`, and
    /// `down_after` consecutive failures take a node out.
    pub fn new(
        entries: &[MediaNodeEntry],
        interval: Duration,
        timeout: Duration,
        down_after: u32,
    ) -> Dispatcher {
        let mut d = Dispatcher {
            nodes: Vec::new(),
            interval,
            timeout,
            down_after: down_after.max(1),
            next_token: 1,
        };
        for e in entries {
            d.add(e);
        }
        d
    }

    /// Adds a node (idempotent by `host:port`); returns its id.
    pub fn add(&mut self, e: &MediaNodeEntry) -> NodeId {
        let name = if e.host.contains(':') {
            format!("[{}]:{}", e.host, e.port)
        } else {
            format!("{}:{}", e.host, e.port)
        };
        if let Some(i) = self.nodes.iter().position(|n| n.name == name) {
            self.nodes[i].weight = e.weight.max(1);
            return i;
        }
        let addr = e
            .host
            .parse::<std::net::IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, e.port));
        self.nodes.push(Node {
            name,
            host: e.host.clone(),
            port: e.port,
            addr,
            weight: e.weight.max(1),
            health: Health::Up,
            failures: 0,
            current: 0,
            next_check: None,
            in_flight: None,
        });
        self.nodes.len() - 1
    }

    /// The nodes, for metrics and name resolution.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Records a resolved address for a node named by host.
    pub fn set_addr(&mut self, node: NodeId, addr: SocketAddr) {
        if let Some(n) = self.nodes.get_mut(node) {
            n.addr = Some(addr);
        }
    }

    /// The node whose address is `addr`, if any (media nodes are trusted peers).
    pub fn node_at(&self, addr: SocketAddr) -> Option<NodeId> {
        self.nodes.iter().position(|n| n.addr == Some(addr))
    }

    /// Whether `ip` is the address of any media node.
    pub fn is_node_ip(&self, ip: std::net::IpAddr) -> bool {
        self.nodes
            .iter()
            .any(|n| n.addr.map(|a| a.ip()) == Some(ip))
    }

    /// Picks the node for a new call: smooth weighted round robin over nodes that are up and
    /// resolved; `None` when there is none.
    pub fn pick(&mut self) -> Option<(NodeId, SocketAddr)> {
        let mut total: i64 = 0;
        let mut best: Option<NodeId> = None;
        for i in 0..self.nodes.len() {
            let n = &mut self.nodes[i];
            if n.health != Health::Up || n.addr.is_none() {
                continue;
            }
            n.current += i64::from(n.weight);
            total += i64::from(n.weight);
            let current = n.current;
            // Ties go to the earliest node.
            if best.is_none_or(|b| self.nodes[b].current < current) {
                best = Some(i);
            }
        }
        let b = best?;
        let n = &mut self.nodes[b];
        n.current -= total;
        n.addr.map(|a| (b, a))
    }

    /// The checks due at `now`; each node's next check is scheduled one interval later.
    pub fn due_checks(&mut self, now: Instant) -> Vec<Check> {
        let mut out = Vec::new();
        for (i, n) in self.nodes.iter_mut().enumerate() {
            let due = n.next_check.is_none_or(|t| t <= now);
            if !due || n.in_flight.is_some() {
                continue;
            }
            n.next_check = Some(now + self.interval);
            let Some(addr) = n.addr else { continue };
            let token = self.next_token;
            self.next_token += 1;
            n.in_flight = Some((token, now + self.timeout));
            out.push(Check {
                node: i,
                addr,
                token,
            });
        }
        out
    }

    /// Feeds a check's answer: `alive` when the node answered with a status that shows it can
    /// take calls. A token that is not in flight (late or forged) is ignored.
    pub fn check_result(&mut self, token: u64, alive: bool) -> Option<HealthChange> {
        let (i, n) = self
            .nodes
            .iter_mut()
            .enumerate()
            .find(|(_, n)| n.in_flight.map(|(t, _)| t) == Some(token))?;
        n.in_flight = None;
        if alive {
            n.failures = 0;
            if n.health == Health::Down {
                n.health = Health::Up;
                n.current = 0;
                return Some(HealthChange {
                    node: i,
                    health: Health::Up,
                });
            }
            None
        } else {
            Self::fail(i, n, self.down_after)
        }
    }

    /// Fails the checks whose time ran out by `now`.
    pub fn expire_checks(&mut self, now: Instant) -> Vec<HealthChange> {
        let down_after = self.down_after;
        let mut out = Vec::new();
        for (i, n) in self.nodes.iter_mut().enumerate() {
            if matches!(n.in_flight, Some((_, deadline)) if deadline <= now) {
                n.in_flight = None;
                out.extend(Self::fail(i, n, down_after));
            }
        }
        out
    }

    fn fail(i: NodeId, n: &mut Node, down_after: u32) -> Option<HealthChange> {
        n.failures = n.failures.saturating_add(1);
        if n.failures >= down_after && n.health == Health::Up {
            n.health = Health::Down;
            return Some(HealthChange {
                node: i,
                health: Health::Down,
            });
        }
        None
    }

    /// The earliest time something is due (a check to send or one to expire).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.nodes
            .iter()
            .flat_map(|n| [n.next_check, n.in_flight.map(|(_, d)| d)])
            .flatten()
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(port: u16, weight: u32) -> MediaNodeEntry {
        MediaNodeEntry {
            host: "127.0.0.1".into(),
            port,
            weight,
        }
    }

    fn dispatcher(weights: &[u32]) -> Dispatcher {
        let entries: Vec<_> = weights
            .iter()
            .enumerate()
            .map(|(i, w)| entry(5080 + i as u16, *w))
            .collect();
        Dispatcher::new(&entries, Duration::from_secs(5), Duration::from_secs(2), 2)
    }

    fn picks(d: &mut Dispatcher, n: usize) -> Vec<NodeId> {
        (0..n).map(|_| d.pick().unwrap().0).collect()
    }

    #[test]
    fn weights_share_calls_interleaved() {
        let mut d = dispatcher(&[3, 1]);
        let p = picks(&mut d, 8);
        assert_eq!(p.iter().filter(|&&n| n == 0).count(), 6);
        assert_eq!(p.iter().filter(|&&n| n == 1).count(), 2);
        // Smooth: node 1 is not left to the end of the cycle.
        assert_eq!(&p[..4], &[0, 0, 1, 0]);
        let mut equal = dispatcher(&[1, 1, 1]);
        assert_eq!(picks(&mut equal, 6), vec![0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn failed_checks_take_a_node_out_and_an_answer_brings_it_back() {
        let t0 = Instant::now();
        let mut d = dispatcher(&[1, 1]);
        let checks = d.due_checks(t0);
        assert_eq!(checks.len(), 2);
        assert_eq!(d.check_result(checks[0].token, true), None);
        // Node 1 does not answer: one timeout is not enough (down_after = 2).
        assert!(d.expire_checks(t0 + Duration::from_secs(2)).is_empty());
        assert_eq!(picks(&mut d, 2).len(), 2);
        let checks = d.due_checks(t0 + Duration::from_secs(5));
        assert_eq!(checks.len(), 2);
        assert_eq!(
            d.expire_checks(t0 + Duration::from_secs(7)),
            vec![HealthChange {
                node: 1,
                health: Health::Down
            }]
        );
        assert_eq!(picks(&mut d, 4), vec![0, 0, 0, 0]);
        let checks = d.due_checks(t0 + Duration::from_secs(10));
        let back = checks.iter().find(|c| c.node == 1).unwrap();
        assert_eq!(
            d.check_result(back.token, true),
            Some(HealthChange {
                node: 1,
                health: Health::Up
            })
        );
        assert!(picks(&mut d, 2).contains(&1));
    }

    #[test]
    fn an_error_answer_counts_as_a_failure_and_stale_tokens_are_ignored() {
        let t0 = Instant::now();
        let mut d = dispatcher(&[1]);
        let c = d.due_checks(t0).remove(0);
        assert_eq!(d.check_result(c.token + 100, true), None);
        assert_eq!(d.check_result(c.token, false), None);
        let c = d.due_checks(t0 + Duration::from_secs(5)).remove(0);
        assert_eq!(
            d.check_result(c.token, false).map(|h| h.health),
            Some(Health::Down)
        );
        assert_eq!(d.pick(), None);
        // A repeated answer for a finished check changes nothing.
        assert_eq!(d.check_result(c.token, true), None);
    }

    #[test]
    fn no_nodes_or_unresolved_names_mean_no_pick() {
        let mut d = Dispatcher::new(&[], Duration::from_secs(1), Duration::from_secs(1), 1);
        assert_eq!(d.pick(), None);
        let id = d.add(&MediaNodeEntry {
            host: "media.example".into(),
            port: 5080,
            weight: 1,
        });
        assert_eq!(d.pick(), None);
        assert!(d.due_checks(Instant::now()).is_empty());
        d.set_addr(id, "10.0.0.9:5080".parse().unwrap());
        assert_eq!(d.pick().map(|p| p.0), Some(id));
        assert_eq!(d.add(&entry(5080, 2)), 1);
        assert_eq!(d.node_at("127.0.0.1:5080".parse().unwrap()), Some(1));
    }

    #[test]
    fn deadlines_cover_checks_and_timeouts() {
        let t0 = Instant::now();
        let mut d = dispatcher(&[1]);
        assert_eq!(d.next_deadline(), None);
        d.due_checks(t0);
        assert_eq!(d.next_deadline(), Some(t0 + Duration::from_secs(2)));
    }
}
