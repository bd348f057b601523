//! The media node dispatcher: which node gets a new call.
//!
//! Sans-IO: it holds the node list (configured nodes merged with the ones announced on the bus),
//! each node's health as fed by OPTIONS check results, and picks a node for a call by weighted
//! rendezvous hashing of its Call-ID. The choice depends only on the Call-ID and the eligible
//! nodes, so every edge node picks the same media node for a retransmitted INVITE without
//! sharing any state. The shell resolves names, sends the checks, forwards announcements and
//! reports outcomes; nothing here touches a socket or a clock.

use crate::medianode::{
    MediaNodeAnnouncement, MediaNodeStatus, ANNOUNCE_EVERY, MISSED_BEFORE_EXPIRY,
};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use voxbin_core::config::MediaNodeEntry;

/// Index of a node in the dispatcher's list (stable: expired nodes keep their slot).
pub type NodeId = usize;

/// Whether a node answers its health checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Answers (also the state before the first check, so calls flow at once).
    Up,
    /// Out of rotation after consecutive failed checks.
    Down,
}

/// Where a node came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `sip.media_nodes`; never expires.
    Configured,
    /// Announced on the bus; gone when its announcements stop.
    Announced,
}

/// One media node.
#[derive(Debug, Clone)]
pub struct Node {
    /// `host:port` as configured or announced.
    pub name: String,
    /// Host name or IP address.
    pub host: String,
    /// SIP port.
    pub port: u16,
    /// Resolved address; `None` until the name resolves.
    pub addr: Option<SocketAddr>,
    /// Share of new calls.
    pub weight: u32,
    /// Current health from the OPTIONS checks.
    pub health: Health,
    /// What the node last announced about itself (`Up` for a configured node never announced).
    pub status: MediaNodeStatus,
    /// Configured or announced.
    pub origin: Origin,
    /// The id of its announcements, once it announced itself.
    pub announced_id: Option<String>,
    /// An announced node whose announcements stopped: out of rotation, unchecked, slot reusable.
    pub expired: bool,
    /// Rendezvous key of `name`.
    key: u64,
    /// When the announcements are considered to have stopped.
    announced_until: Option<Instant>,
    failures: u32,
    next_check: Option<Instant>,
    in_flight: Option<(u64, Instant)>,
}

impl Node {
    fn new(
        name: String,
        host: String,
        port: u16,
        addr: Option<SocketAddr>,
        weight: u32,
        origin: Origin,
    ) -> Node {
        Node {
            key: fnv1a(name.as_bytes()),
            name,
            host,
            port,
            addr,
            weight: weight.max(1),
            health: Health::Up,
            status: MediaNodeStatus::Up,
            origin,
            announced_id: None,
            expired: false,
            announced_until: None,
            failures: 0,
            next_check: None,
            in_flight: None,
        }
    }

    /// Whether the node may get a new call now.
    pub fn eligible(&self) -> bool {
        !self.expired
            && self.health == Health::Up
            && self.status == MediaNodeStatus::Up
            && self.addr.is_some()
    }

    /// Whether the node counts as a media node at all (trusted source, health checked).
    fn live(&self) -> bool {
        !self.expired
    }
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

/// Weighted rendezvous choice over eligible nodes, with OPTIONS-fed health.
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

    /// Adds a configured node (idempotent by `host:port`); returns its id.
    pub fn add(&mut self, e: &MediaNodeEntry) -> NodeId {
        let name = if e.host.contains(':') {
            format!("[{}]:{}", e.host, e.port)
        } else {
            format!("{}:{}", e.host, e.port)
        };
        if let Some(i) = self.nodes.iter().position(|n| n.name == name) {
            self.nodes[i].weight = e.weight.max(1);
            self.nodes[i].origin = Origin::Configured;
            self.nodes[i].expired = false;
            return i;
        }
        let addr = e
            .host
            .parse::<std::net::IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, e.port));
        let node = Node::new(
            name,
            e.host.clone(),
            e.port,
            addr,
            e.weight,
            Origin::Configured,
        );
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// Merges a node's announcement received at `now`: a configured node at the same address
    /// takes the announced status (its configured weight stays); another node is added, or
    /// updated when it announced itself before. Returns the node and, for a node new to the
    /// rotation, its health (for the metrics); `Err` names what is wrong with the address.
    pub fn announce(
        &mut self,
        a: &MediaNodeAnnouncement,
        now: Instant,
    ) -> Result<(NodeId, Option<HealthChange>), String> {
        let addr = a.socket_addr()?;
        let until = now + ANNOUNCE_EVERY * MISSED_BEFORE_EXPIRY;
        let found = self
            .nodes
            .iter()
            .position(|n| n.announced_id.as_deref() == Some(a.id.as_str()) && !n.expired)
            .or_else(|| self.nodes.iter().position(|n| n.addr == Some(addr)))
            .or_else(|| self.nodes.iter().position(|n| n.expired));
        let name = addr.to_string();
        let (i, fresh) = match found {
            Some(i) => {
                let n = &mut self.nodes[i];
                let fresh = n.expired;
                if n.origin == Origin::Announced && (n.expired || n.name != name) {
                    *n = Node::new(
                        name,
                        addr.ip().to_string(),
                        addr.port(),
                        Some(addr),
                        a.weight,
                        Origin::Announced,
                    );
                } else if n.origin == Origin::Announced {
                    n.weight = a.weight.max(1);
                }
                (i, fresh)
            }
            None => {
                let node = Node::new(
                    name,
                    addr.ip().to_string(),
                    addr.port(),
                    Some(addr),
                    a.weight,
                    Origin::Announced,
                );
                self.nodes.push(node);
                (self.nodes.len() - 1, true)
            }
        };
        let n = &mut self.nodes[i];
        if fresh {
            // Checked at once rather than a check interval from now.
            n.next_check = Some(now);
        }
        n.announced_id = Some(a.id.clone());
        n.status = a.status;
        n.announced_until = Some(until);
        let change = fresh.then_some(HealthChange {
            node: i,
            health: n.health,
        });
        Ok((i, change))
    }

    /// The nodes, for metrics and name resolution (expired ones included, see [`Node::expired`]).
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
        self.nodes
            .iter()
            .position(|n| n.live() && n.addr == Some(addr))
    }

    /// Whether `ip` is the address of any media node.
    pub fn is_node_ip(&self, ip: std::net::IpAddr) -> bool {
        self.nodes
            .iter()
            .any(|n| n.live() && n.addr.map(|a| a.ip()) == Some(ip))
    }

    /// Picks the node for the call `call_id`: the eligible node with the highest weighted
    /// rendezvous score, so every edge node with the same view picks the same one, and a node
    /// leaving moves only its own calls; `None` when no node is eligible.
    pub fn pick(&self, call_id: &str) -> Option<(NodeId, SocketAddr)> {
        let call = fnv1a(call_id.as_bytes());
        let mut best: Option<(f64, NodeId, SocketAddr)> = None;
        for (i, n) in self.nodes.iter().enumerate() {
            let Some(addr) = n.addr.filter(|_| n.eligible()) else {
                continue;
            };
            let score = rendezvous_score(call, n.key, n.weight);
            if best.is_none_or(|(s, _, _)| score > s) {
                best = Some((score, i, addr));
            }
        }
        best.map(|(_, i, a)| (i, a))
    }

    /// The checks due at `now`; each node's next check is scheduled one interval later.
    /// Draining and down nodes are still checked, expired ones are not.
    pub fn due_checks(&mut self, now: Instant) -> Vec<Check> {
        let mut out = Vec::new();
        for (i, n) in self.nodes.iter_mut().enumerate() {
            let due = n.next_check.is_none_or(|t| t <= now);
            if !n.live() || !due || n.in_flight.is_some() {
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

    /// Fails the checks whose time ran out by `now` and forgets announced nodes whose
    /// announcements stopped (reported as down); a configured node whose announcements
    /// stopped is back to its configured self.
    pub fn expire_checks(&mut self, now: Instant) -> Vec<HealthChange> {
        let down_after = self.down_after;
        let mut out = Vec::new();
        for (i, n) in self.nodes.iter_mut().enumerate() {
            if matches!(n.in_flight, Some((_, deadline)) if deadline <= now) {
                n.in_flight = None;
                out.extend(Self::fail(i, n, down_after));
            }
            if n.announced_until.is_some_and(|t| t <= now) {
                n.announced_until = None;
                n.status = MediaNodeStatus::Up;
                if n.origin == Origin::Announced {
                    n.expired = true;
                    n.in_flight = None;
                    n.next_check = None;
                    out.push(HealthChange {
                        node: i,
                        health: Health::Down,
                    });
                }
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

    /// The earliest time something is due (a check to send or expire, an announcement to
    /// expire).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.nodes
            .iter()
            .flat_map(|n| {
                let check = if n.live() { n.next_check } else { None };
                [check, n.in_flight.map(|(_, d)| d), n.announced_until]
            })
            .flatten()
            .min()
    }
}

/// 64-bit FNV-1a: fixed, so every edge node (whatever its build) hashes alike.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Weighted rendezvous score of a node for a call: `weight / -ln(u)` with `u` uniform in
/// (0, 1) from the pair's hash, so a node wins a share of calls proportional to its weight.
fn rendezvous_score(call: u64, node: u64, weight: u32) -> f64 {
    // splitmix64's finaliser spreads the combined hashes over all 64 bits.
    let mut z = call ^ node.rotate_left(32).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    let u = ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    f64::from(weight) / -u.ln()
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

    fn call(i: usize) -> String {
        format!("{i:08x}-a84b4c76e66710@198.51.100.9")
    }

    fn shares(d: &Dispatcher, calls: usize) -> Vec<usize> {
        let mut count = vec![0; d.nodes().len()];
        for i in 0..calls {
            count[d.pick(&call(i)).unwrap().0] += 1;
        }
        count
    }

    fn announcement(address: &str, status: MediaNodeStatus) -> MediaNodeAnnouncement {
        MediaNodeAnnouncement {
            id: format!("media-{address}"),
            address: address.into(),
            transport: "udp".into(),
            weight: 1,
            status,
            tm_update: "2026-12-07T03:00:00Z".into(),
        }
    }

    #[test]
    fn weights_share_calls() {
        let s = shares(&dispatcher(&[3, 1]), 20_000);
        // 75 % expected; the hash is fixed, so this is exact for these Call-IDs.
        assert!((14_500..15_500).contains(&s[0]), "{s:?}");
        let s = shares(&dispatcher(&[1, 1, 1]), 30_000);
        assert!(s.iter().all(|n| (9_400..10_600).contains(n)), "{s:?}");
    }

    #[test]
    fn every_edge_node_picks_the_same_node_for_a_call_whatever_its_order_or_history() {
        let a = dispatcher(&[1, 2, 1]);
        // Another edge node, configured in another order and having picked for other calls.
        let entries = [entry(5082, 1), entry(5080, 1), entry(5081, 2)];
        let b = Dispatcher::new(&entries, Duration::from_secs(5), Duration::from_secs(2), 2);
        for i in 0..50 {
            b.pick(&call(i + 1000));
        }
        for i in 0..2_000 {
            let (na, aa) = a.pick(&call(i)).unwrap();
            let (_, ab) = b.pick(&call(i)).unwrap();
            assert_eq!(aa, ab, "call {i}");
            // And the same edge node again (a retransmission).
            assert_eq!(a.pick(&call(i)).unwrap().0, na);
        }
    }

    #[test]
    fn a_node_leaving_moves_only_its_own_calls() {
        let t0 = Instant::now();
        let mut d = dispatcher(&[1, 1, 1]);
        let before: Vec<_> = (0..3_000).map(|i| d.pick(&call(i)).unwrap().0).collect();
        // Node 2 goes down (two failed checks).
        for k in 0..2u32 {
            let t = t0 + Duration::from_secs(5 * u64::from(k));
            for c in d.due_checks(t).iter().filter(|c| c.node != 2) {
                d.check_result(c.token, true);
            }
            d.expire_checks(t + Duration::from_secs(2));
        }
        assert_eq!(d.nodes()[2].health, Health::Down);
        for (i, was) in before.iter().enumerate() {
            let now = d.pick(&call(i)).unwrap().0;
            if *was != 2 {
                assert_eq!(now, *was, "call {i} moved");
            } else {
                assert_ne!(now, 2);
            }
        }
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
        assert_eq!(shares(&d, 100).iter().filter(|n| **n > 0).count(), 2);
        let checks = d.due_checks(t0 + Duration::from_secs(5));
        assert_eq!(checks.len(), 2);
        assert_eq!(
            d.expire_checks(t0 + Duration::from_secs(7)),
            vec![HealthChange {
                node: 1,
                health: Health::Down
            }]
        );
        assert_eq!(shares(&d, 100), vec![100, 0]);
        let checks = d.due_checks(t0 + Duration::from_secs(10));
        let back = checks.iter().find(|c| c.node == 1).unwrap();
        assert_eq!(
            d.check_result(back.token, true),
            Some(HealthChange {
                node: 1,
                health: Health::Up
            })
        );
        assert!(shares(&d, 100)[1] > 0);
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
        assert_eq!(d.pick("c1"), None);
        // A repeated answer for a finished check changes nothing.
        assert_eq!(d.check_result(c.token, true), None);
    }

    #[test]
    fn no_nodes_or_unresolved_names_mean_no_pick() {
        let mut d = Dispatcher::new(&[], Duration::from_secs(1), Duration::from_secs(1), 1);
        assert_eq!(d.pick("c1"), None);
        let id = d.add(&MediaNodeEntry {
            host: "media.example".into(),
            port: 5080,
            weight: 1,
        });
        assert_eq!(d.pick("c1"), None);
        assert!(d.due_checks(Instant::now()).is_empty());
        d.set_addr(id, "10.0.0.9:5080".parse().unwrap());
        assert_eq!(d.pick("c1").map(|p| p.0), Some(id));
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

    #[test]
    fn announced_nodes_join_leave_after_missed_heartbeats_and_come_back() {
        let t0 = Instant::now();
        let mut d = dispatcher(&[1]);
        let a = announcement("10.0.0.7:5080", MediaNodeStatus::Up);
        let (id, change) = d.announce(&a, t0).unwrap();
        assert_eq!(id, 1);
        assert_eq!(
            change,
            Some(HealthChange {
                node: 1,
                health: Health::Up
            })
        );
        assert_eq!(d.nodes()[1].origin, Origin::Announced);
        assert!(d.is_node_ip("10.0.0.7".parse().unwrap()));
        assert!(shares(&d, 200)[1] > 0);
        // It is checked like a configured node.
        assert!(d.due_checks(t0).iter().any(|c| c.node == 1));
        // Heartbeats at 5 and 10 s keep it; none after that: gone at 10 + 15 s.
        for s in [5, 10] {
            let (again, change) = d.announce(&a, t0 + Duration::from_secs(s)).unwrap();
            assert_eq!((again, change), (1, None));
        }
        assert!(!d
            .expire_checks(t0 + Duration::from_secs(24))
            .iter()
            .any(|c| c.node == 1));
        assert_eq!(
            d.next_deadline().map(|t| t <= t0 + Duration::from_secs(25)),
            Some(true)
        );
        let gone = d.expire_checks(t0 + Duration::from_secs(25));
        assert!(gone.contains(&HealthChange {
            node: 1,
            health: Health::Down
        }));
        assert!(d.nodes()[1].expired);
        assert_eq!(shares(&d, 200), vec![200, 0]);
        assert!(!d.is_node_ip("10.0.0.7".parse().unwrap()));
        assert!(!d
            .due_checks(t0 + Duration::from_secs(60))
            .iter()
            .any(|c| c.node == 1));
        // Another node announcing itself takes the free slot.
        let b = announcement("10.0.0.8:5080", MediaNodeStatus::Up);
        assert_eq!(d.announce(&b, t0 + Duration::from_secs(30)).unwrap().0, 1);
        assert_eq!(d.nodes()[1].name, "10.0.0.8:5080");
        assert!(!d.nodes()[1].expired);
        assert!(d
            .announce(&announcement("media1:5080", MediaNodeStatus::Up), t0)
            .is_err());
    }

    #[test]
    fn draining_or_down_nodes_get_no_new_calls_but_are_still_checked() {
        let t0 = Instant::now();
        let mut d = dispatcher(&[1]);
        // The configured node announces itself draining: merged, not added.
        let (id, change) = d
            .announce(
                &announcement("127.0.0.1:5080", MediaNodeStatus::Draining),
                t0,
            )
            .unwrap();
        assert_eq!((id, change), (0, None));
        assert_eq!(d.nodes().len(), 1);
        assert_eq!(d.pick("c1"), None);
        assert_eq!(d.due_checks(t0).len(), 1);
        let (down, _) = d
            .announce(&announcement("10.0.0.9:5080", MediaNodeStatus::Down), t0)
            .unwrap();
        assert_eq!(d.pick("c1"), None);
        assert!(d.due_checks(t0).iter().any(|c| c.node == down));
        d.announce(&announcement("127.0.0.1:5080", MediaNodeStatus::Up), t0)
            .unwrap();
        assert_eq!(d.pick("c1").map(|p| p.0), Some(0));
        // The configured node's announcements stop: it stays, as configured.
        d.expire_checks(t0 + Duration::from_secs(16));
        assert!(!d.nodes()[0].expired);
        assert!(d.nodes()[1].expired);
        assert_eq!(d.pick("c1").map(|p| p.0), Some(0));
    }
}
