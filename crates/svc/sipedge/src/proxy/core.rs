//! The edge's sans-IO core: requests and responses in, messages to send and jobs out.
//!
//! Around the transaction layer of `voxbin-sip` it decides what each request is and where it
//! goes: protection first (per-IP limits and blocks), then local answers (OPTIONS to the edge,
//! 503 while draining, 483, 400), in-dialog requests by the edge's own routes, REGISTER and
//! authenticated calls through asynchronous jobs (registrar and credential lookups run in the
//! shell, their results come back as inputs), and new calls to a media node picked by the
//! dispatcher, record-routed. Responses go back upstream through the server transaction, or
//! statelessly by Via when another node (or a finished transaction) forwarded the request.
//! The dispatcher's OPTIONS checks are sent and matched here too.

use super::branch::{branch_for, probe_branch, probe_token, top_branch};
use super::flow::FlowSigner;
use super::reply::reply;
use super::route::{loose_route, record_route, uri_flow, Identity, NextHop, RouteError};
use crate::auth::Verdict;
use crate::dispatcher::{Dispatcher, Health};
use crate::guard::{Guard, Verdict as GuardVerdict};
use crate::medianode::MediaNodeAnnouncement;
use crate::metrics::{edge_metrics, Tally};
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;
use uuid::Uuid;
use voxbin_sip::transaction::{
    Input as TxInput, Output as TxOutput, Side, TimerConfig, Transactions, TxEvent, TxKey,
};
use voxbin_sip::{
    HeaderName, Host, Message, Method, Request, Response, Target, Transport, Uri, Via,
};

/// A randomly seeded fast hash for tables keyed by what peers send (SipHash showed in profiles).
type Seeded = foldhash::fast::RandomState;

/// Timer C of RFC 3261 16.6: a ringing INVITE is given up after 3 minutes without news.
const TIMER_C: std::time::Duration = std::time::Duration::from_secs(180);

/// Flow tokens kept for reuse; the cache starts over when full (a token is cheap to sign again).
const FLOW_TOKENS_KEPT: usize = 4096;

/// Live transactions the table holds before it first grows: 1,000 calls/s keep ~100,000
/// alive (UDP transactions linger 32 s). Only touched pages cost memory.
const TX_CAPACITY: usize = 1 << 17;

/// How often idle sources are swept from the guard.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// How often per-message counts are moved into the metrics registry.
const METRICS_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Seconds a client is told to wait in a 503 (draining, no media node, dependency down).
pub const RETRY_AFTER_SECS: u32 = 5;

/// Something that happened.
#[derive(Debug)]
pub enum Input {
    /// A message arrived.
    Received {
        /// The message (the shell already stamped `received`/`rport` on a request's Via).
        msg: Message,
        /// Where it came from.
        from: Target,
    },
    /// An asynchronous job finished.
    JobDone(JobResult),
    /// Sending to this target failed (refused, reset, unreachable).
    SendFailed(Target),
    /// Time passed.
    Tick,
    /// Shutdown began: refuse new work.
    Drain,
    /// A media node announced itself on the bus.
    MediaNode(MediaNodeAnnouncement),
}

/// Something the shell must do.
#[derive(Debug)]
pub enum Output {
    /// Send a message.
    Send {
        /// Destination.
        target: Target,
        /// Message.
        msg: Message,
    },
    /// Run a job and feed its result back with [`Input::JobDone`].
    Job(Job),
}

/// Work that needs the bus or the cache.
#[derive(Debug, Clone)]
pub enum Job {
    /// Handle a REGISTER.
    Register {
        /// Its server transaction.
        key: TxKey,
        /// The request.
        req: Request,
        /// Where it came from.
        source: Target,
    },
    /// Authenticate a request before it is dispatched.
    Authorize {
        /// Its server transaction.
        key: TxKey,
        /// The request.
        req: Request,
        /// Where it came from.
        source: Target,
        /// Who it claims to be.
        claim: Claim,
    },
}

/// Who a request claims to come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// An extension `user` of `customer_id` in `realm`.
    Extension {
        /// The realm (`<customer_id>.registrar.<domain>`).
        realm: String,
        /// The customer.
        customer_id: Uuid,
        /// The extension.
        user: String,
    },
    /// A request for the trunk `domain`.
    Trunk {
        /// `<name>.trunk.<domain>`.
        domain: String,
    },
}

/// The result of a [`Job`].
#[derive(Debug)]
pub enum JobResult {
    /// A REGISTER was handled.
    Registered {
        /// Its server transaction.
        key: TxKey,
        /// The response to send.
        response: Response,
        /// Where it came from.
        source: IpAddr,
        /// A wrong password or unknown user was presented.
        failed_attempt: bool,
    },
    /// A request was authenticated (or not).
    Authorized {
        /// Its server transaction.
        key: TxKey,
        /// Where it came from.
        source: IpAddr,
        /// The outcome; `Err` when a dependency failed.
        verdict: Result<Verdict, String>,
    },
}

/// Settings of the core.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// The edge's address in Via and Record-Route, and its aliases.
    pub identity: Identity,
    /// The platform domain (`sip.domain`).
    pub domain: String,
    /// Transaction timers.
    pub timers: TimerConfig,
}

/// One request the edge is relaying, by its server transaction.
#[derive(Debug)]
struct Leg {
    /// The client transaction downstream, once forwarded.
    client: Option<TxKey>,
    /// The request as received (kept while a job runs, and for INVITE to build its CANCEL).
    req: Option<Request>,
    /// Where it was sent.
    target: Option<Target>,
    /// Where it came from.
    source: Target,
    /// A provisional response came back (a CANCEL may be sent).
    provisional: bool,
    /// A CANCEL arrived before any provisional response; send it when one comes.
    cancel_waiting: Option<Request>,
    /// A final response went upstream.
    answered: bool,
    /// Timer C (RFC 3261 16.6): when a ringing INVITE is given up.
    timer_c: Option<Instant>,
}

/// The record-routing proxy core of one edge node.
pub struct EdgeCore {
    txs: Transactions,
    cfg: CoreConfig,
    registrar_suffix: String,
    trunk_suffix: String,
    signer: FlowSigner,
    dispatcher: Dispatcher,
    guard: Guard,
    draining: bool,
    legs: HashMap<TxKey, Leg, Seeded>,
    by_client: HashMap<TxKey, TxKey, Seeded>,
    out: VecDeque<Output>,
    timer: Option<Instant>,
    /// Random per process, so health checks of a restarted node never reuse a Call-ID.
    instance: u32,
    tally: Tally,
    flushed: Option<Instant>,
    /// Timer C deadlines, sorted: one entry per forwarded INVITE (pushed as now + TIMER_C),
    /// moved to the leg's later deadline when a provisional response reset it meanwhile.
    timer_c: VecDeque<(Instant, TxKey)>,
    swept: Option<Instant>,
    /// Flow tokens of recent sources: a token is an HMAC, and callers call again and again.
    flow_tokens: HashMap<Target, String, Seeded>,
}

impl EdgeCore {
    /// A core with its dispatcher, guard and cluster flow signer.
    pub fn new(cfg: CoreConfig, dispatcher: Dispatcher, guard: Guard, signer: FlowSigner) -> Self {
        let domain = cfg.domain.to_ascii_lowercase();
        let m = edge_metrics();
        for n in dispatcher.nodes() {
            m.media_node_up
                .set(&[&n.name], i64::from(n.health == Health::Up));
        }
        EdgeCore {
            txs: Transactions::with_capacity(cfg.timers, TX_CAPACITY),
            registrar_suffix: format!(".registrar.{domain}"),
            trunk_suffix: format!(".trunk.{domain}"),
            cfg,
            signer,
            dispatcher,
            guard,
            draining: false,
            legs: HashMap::default(),
            by_client: HashMap::default(),
            out: VecDeque::new(),
            timer: None,
            instance: rand::random(),
            tally: Tally::default(),
            flushed: None,
            timer_c: VecDeque::new(),
            swept: None,
            flow_tokens: HashMap::default(),
        }
    }

    /// The dispatcher (for name resolution by the shell).
    pub fn dispatcher_mut(&mut self) -> &mut Dispatcher {
        &mut self.dispatcher
    }

    /// Replaces the flow signer (the cluster secret became known).
    pub fn set_signer(&mut self, signer: FlowSigner) {
        self.signer = signer;
        self.flow_tokens.clear();
    }

    /// The flow token of `source`, from the cache when it signed one lately.
    fn flow_token(&mut self, source: Target) -> String {
        if let Some(t) = self.flow_tokens.get(&source) {
            return t.clone();
        }
        if self.flow_tokens.len() >= FLOW_TOKENS_KEPT {
            self.flow_tokens.clear();
        }
        let token = self.signer.encode(source);
        self.flow_tokens.insert(source, token.clone());
        token
    }

    /// Live transactions.
    pub fn transactions(&self) -> usize {
        self.txs.len()
    }

    /// Requests waiting for a job or a downstream answer.
    pub fn pending(&self) -> usize {
        self.legs.len()
    }

    /// Moves the per-message counts into the metrics registry.
    pub fn flush_metrics(&mut self, now: Instant) {
        self.flushed = Some(now);
        self.tally.flush();
        edge_metrics().transactions.set(&[], self.txs.len() as i64);
    }

    /// Relayed or authenticating requests still without a final answer (drain waits for 0).
    pub fn unanswered(&self) -> usize {
        self.legs.values().filter(|l| !l.answered).count()
    }

    /// The next output to carry out.
    pub fn poll(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When to feed [`Input::Tick`] next.
    pub fn next_timeout(&self) -> Option<Instant> {
        [
            self.timer,
            self.dispatcher.next_deadline(),
            self.timer_c.front().map(|(at, _)| *at),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Feeds one input at `now` (monotonic) and `unix` (wall clock seconds, for nonces).
    pub fn handle(&mut self, input: Input, now: Instant) {
        match input {
            Input::Received { msg, from } => self.received(msg, from, now),
            Input::JobDone(result) => self.job_done(result, now),
            Input::Tick => {
                self.tx(TxInput::Tick, now);
                self.health_checks(now);
                self.timer_c(now);
                if self
                    .swept
                    .is_none_or(|t| now.saturating_duration_since(t) >= SWEEP_EVERY)
                {
                    self.swept = Some(now);
                    self.guard.sweep(now);
                }
            }
            Input::SendFailed(target) => self.tx(TxInput::TransportError { target }, now),
            Input::Drain => self.draining = true,
            Input::MediaNode(a) => match self.dispatcher.announce(&a, now) {
                Ok((_, Some(change))) => self.health_changed(change.node, change.health),
                Ok((_, None)) => {}
                Err(e) => {
                    tracing::debug!(node = %a.id, error = %e, "media node announcement ignored")
                }
            },
        }
        if self
            .flushed
            .is_none_or(|t| now.saturating_duration_since(t) >= METRICS_EVERY)
        {
            self.flush_metrics(now);
        }
    }

    /// Whether a message from `from` that did not parse may be answered: the per-IP limits
    /// and blocks apply first, so a flood of garbage is dropped rather than answered.
    pub fn admit_malformed(&mut self, from: Target, now: Instant) -> bool {
        if self.dispatcher.is_node_ip(from.addr.ip()) {
            return true;
        }
        let verdict = self.guard.check(from.addr.ip(), None, now);
        if verdict != GuardVerdict::Pass {
            edge_metrics().dropped.inc(&[verdict.label()]);
            return false;
        }
        true
    }

    fn received(&mut self, msg: Message, from: Target, now: Instant) {
        match &msg {
            Message::Request(req) => {
                let trusted = self.dispatcher.is_node_ip(from.addr.ip());
                if !trusted {
                    let ua = req.headers.get(&HeaderName::UserAgent);
                    let verdict = self.guard.check(from.addr.ip(), ua, now);
                    if verdict != GuardVerdict::Pass {
                        edge_metrics().dropped.inc(&[verdict.label()]);
                        return;
                    }
                }
                self.tally.request(req.method.as_str());
            }
            Message::Response(resp) => {
                // From the Via's text: every response passes here, few are health checks.
                if let Some(token) = top_branch(&resp.headers).and_then(probe_token) {
                    // 2xx-4xx: the node processes SIP; 5xx/6xx (overload, draining) does not.
                    if resp.status >= 200 {
                        let alive = resp.status < 500 && resp.status != 408;
                        if let Some(change) = self.dispatcher.check_result(token, alive) {
                            self.health_changed(change.node, change.health);
                        }
                    }
                    return;
                }
            }
        }
        self.tx(TxInput::Received { msg, from }, now);
    }

    /// Feeds the transaction layer and works through what it says.
    fn tx(&mut self, input: TxInput, now: Instant) {
        if let Err(e) = self.txs.handle(input, now) {
            tracing::debug!(error = %e, "transaction layer refused a command");
        }
        self.drain_tx(now);
    }

    fn drain_tx(&mut self, now: Instant) {
        while let Some(o) = self.txs.poll() {
            match o {
                TxOutput::Send { target, msg } => self.emit(target, msg),
                TxOutput::Timer(at) => self.timer = Some(at),
                TxOutput::Event(ev) => self.event(ev, now),
            }
        }
    }

    fn emit(&mut self, target: Target, msg: Message) {
        if let Message::Response(r) = &msg {
            let method = r
                .headers
                .get(&HeaderName::CSeq)
                .and_then(|v| v.split_whitespace().nth(1))
                .unwrap_or("OTHER");
            self.tally.response(method, r.status);
        }
        self.out.push_back(Output::Send { target, msg });
    }

    fn event(&mut self, ev: TxEvent, now: Instant) {
        match ev {
            TxEvent::Request {
                key,
                req,
                from,
                cancels,
            } => {
                self.tally.server_tx();
                if req.method == Method::Cancel {
                    self.cancel(key, req, from, cancels.map(|k| *k), now);
                } else {
                    self.request(key, req, from, now);
                }
            }
            TxEvent::Ack { req, from } => self.relay_stateless(req, from, now),
            TxEvent::Response { key, resp } => self.response(key, resp, now),
            TxEvent::StrayResponse { resp, .. } => self.stray_response(resp, now),
            TxEvent::Timeout { key } => self.downstream_failed(&key, 408, "Request Timeout", now),
            TxEvent::TransportFailed { key } => {
                self.downstream_failed(&key, 503, "Service Unavailable", now)
            }
            TxEvent::NoTransaction { resp } => self.stray_response(resp, now),
            TxEvent::Invalid { msg, from, error } => {
                if let Message::Request(req) = msg {
                    if req.method != Method::Ack {
                        let resp = reply(&req, error.status(), error.reason());
                        self.send_stateless(resp.into(), from, now);
                    }
                } else {
                    edge_metrics().dropped.inc(&["malformed"]);
                }
            }
            TxEvent::Terminated { key } => {
                if key.side == Side::Client {
                    if let Some(server) = self.by_client.remove(&key) {
                        if let Some(leg) = self.legs.get(&server) {
                            if leg.answered {
                                self.legs.remove(&server);
                            }
                        }
                    }
                } else if let Some(leg) = self.legs.remove(&key) {
                    if let Some(c) = leg.client {
                        self.by_client.remove(&c);
                    }
                }
            }
        }
    }

    fn send_stateless(&mut self, msg: Message, target: Target, now: Instant) {
        self.tx(TxInput::SendStateless { msg, target }, now);
    }

    /// Answers a server transaction with a response the edge wrote itself.
    fn respond(&mut self, key: &TxKey, resp: Response, now: Instant) {
        if resp.status >= 200 {
            if let Some(leg) = self.legs.get_mut(key) {
                leg.answered = true;
            }
        }
        let key = key.clone();
        self.tx(TxInput::SendResponseFor { key, resp }, now);
    }

    fn request(&mut self, key: TxKey, mut req: Request, from: Target, now: Instant) {
        let has_to_tag = req
            .headers
            .get(&HeaderName::To)
            .is_some_and(super::reply::has_tag);
        if self.draining && !has_to_tag {
            let mut resp = reply(&req, 503, "Service Unavailable");
            resp.headers
                .push(HeaderName::RetryAfter, RETRY_AFTER_SECS.to_string());
            return self.respond(&key, resp, now);
        }
        if let Err(e) = req.validate() {
            return self.respond(&key, reply(&req, e.status(), e.reason()), now);
        }
        let max_forwards = match req.headers.max_forwards() {
            Ok(m) => m,
            Err(e) => return self.respond(&key, reply(&req, 400, e.reason()), now),
        };
        let to_me = self.addressed_to_edge(&req);
        if req.method == Method::Options && (to_me || max_forwards == Some(0)) && !has_to_tag {
            return self.respond(&key, self.options_answer(&req), now);
        }
        if max_forwards == Some(0) {
            return self.respond(&key, reply(&req, 483, "Too Many Hops"), now);
        }
        let routed_here = req
            .headers
            .get(&HeaderName::Route)
            .is_some_and(|_| self.top_route_is_ours(&req))
            || (self.cfg.identity.is_ours(&req.uri) && req.uri.is_loose_route());
        if routed_here {
            return match loose_route(&mut req, &self.cfg.identity, &self.signer) {
                Ok(hop) => {
                    if !has_to_tag {
                        // A new call along a binding's path (registrar::path).
                        let node = self.dispatcher.node_at(from.addr).is_some();
                        let (me, signer) = (&self.cfg.identity, &self.signer);
                        crate::registrar::path::initial_request_on_path(
                            &mut req, &hop, node, me, signer,
                        );
                    }
                    self.forward_in_dialog(key, req, from, hop, now)
                }
                Err(RouteError::ForgedToken) => {
                    self.respond(&key, reply(&req, 403, "Forbidden"), now)
                }
                Err(_) => self.respond(&key, reply(&req, 400, "Bad Route"), now),
            };
        }
        if has_to_tag || req.headers.contains(&HeaderName::Route) {
            // Not on a dialog this edge record-routed: nobody may steer the edge elsewhere.
            return self.respond(
                &key,
                reply(&req, 481, "Call/Transaction Does Not Exist"),
                now,
            );
        }
        match req.method {
            Method::Register => {
                self.legs.insert(key.clone(), Leg::new(from));
                self.out.push_back(Output::Job(Job::Register {
                    key,
                    req,
                    source: from,
                }));
            }
            Method::Invite | Method::Message
                if self.dispatcher.node_at(from.addr).is_some()
                    && !self.cfg.identity.is_ours(&req.uri) =>
            {
                // A media node calling out (to a phone or a carrier): to the Request-URI.
                let Some(target) = self.resolve(&req.uri) else {
                    return self.respond(&key, reply(&req, 502, "Bad Gateway"), now);
                };
                if req.method == Method::Invite {
                    let token = self.flow_token(from);
                    record_route(&mut req, &self.cfg.identity, &token);
                }
                self.forward(key, req, from, target, now);
            }
            Method::Invite | Method::Message => {
                // Calls from the outside world carry no identity we vouch for.
                req.headers.remove_all(&HeaderName::PAssertedIdentity);
                match self.claim(&req) {
                    Some(claim) => {
                        let mut leg = Leg::new(from);
                        leg.req = Some(req.clone());
                        self.legs.insert(key.clone(), leg);
                        self.out.push_back(Output::Job(Job::Authorize {
                            key,
                            req,
                            source: from,
                            claim,
                        }));
                    }
                    None => self.dispatch(key, req, from, None, now),
                }
            }
            Method::Options => self.respond(&key, self.options_answer(&req), now),
            _ => {
                let mut resp = reply(&req, 405, "Method Not Allowed");
                resp.headers.push(HeaderName::Allow, ALLOW);
                self.respond(&key, resp, now)
            }
        }
    }

    /// Whether the Request-URI names the edge itself (no user part, or the edge's address).
    fn addressed_to_edge(&self, req: &Request) -> bool {
        req.uri.user.is_none() || self.cfg.identity.is_ours(&req.uri)
    }

    fn top_route_is_ours(&self, req: &Request) -> bool {
        let Some(top) = req.headers.get(&HeaderName::Route) else {
            return false;
        };
        let me = &self.cfg.identity;
        me.own_route_text(top).is_some()
            || voxbin_sip::NameAddr::parse(top).is_ok_and(|r| me.is_ours(&r.uri))
    }

    fn options_answer(&self, req: &Request) -> Response {
        let mut resp = reply(req, 200, "OK");
        resp.headers.push(HeaderName::Allow, ALLOW);
        resp.headers.push(HeaderName::Accept, "application/sdp");
        resp
    }

    /// Who a new request claims to be, when that claim must be proven.
    fn claim(&self, req: &Request) -> Option<Claim> {
        if self.claims_registrar_in_from(req) {
            let from = req.headers.from_hdr().ok()?;
            let from_host = from.uri.host.to_string().to_ascii_lowercase();
            if let Some(customer) = from_host.strip_suffix(&self.registrar_suffix) {
                // A malformed customer id still claims the registrar domain: it must fail auth.
                let customer_id = Uuid::parse_str(customer).unwrap_or(Uuid::nil());
                return Some(Claim::Extension {
                    realm: from_host.clone(),
                    customer_id,
                    user: from.uri.user.clone().unwrap_or_default(),
                });
            }
        }
        let Host::Domain(to_host) = &req.uri.host else {
            return None;
        };
        let to_host = to_host.to_ascii_lowercase();
        to_host
            .ends_with(&self.trunk_suffix)
            .then_some(Claim::Trunk { domain: to_host })
    }

    /// Whether the From header's text mentions the registrar domain at all: most new calls
    /// (from carriers and media nodes) do not, and need no From parse.
    fn claims_registrar_in_from(&self, req: &Request) -> bool {
        let needle = self.registrar_suffix.as_bytes();
        req.headers.get(&HeaderName::From).is_some_and(|f| {
            f.as_bytes()
                .windows(needle.len())
                .any(|w| w.eq_ignore_ascii_case(needle))
        })
    }

    fn job_done(&mut self, result: JobResult, now: Instant) {
        match result {
            JobResult::Registered {
                key,
                response,
                source,
                failed_attempt,
            } => {
                self.auth_result(source, failed_attempt, response.status);
                self.respond(&key, response, now);
            }
            JobResult::Authorized {
                key,
                source,
                verdict,
            } => {
                let Some(leg) = self.legs.get_mut(&key) else {
                    return;
                };
                if leg.answered {
                    return; // cancelled while the lookup ran
                }
                let Some(req) = leg.req.take() else { return };
                let from = leg.source;
                match verdict {
                    Err(e) => {
                        tracing::warn!(error = %e, "credentials lookup failed");
                        let mut resp = reply(&req, 503, "Service Unavailable");
                        resp.headers
                            .push(HeaderName::RetryAfter, RETRY_AFTER_SECS.to_string());
                        self.respond(&key, resp, now);
                    }
                    Ok(Verdict::Extension(ext)) => {
                        self.auth_result(source, false, 200);
                        let pai = format!("<sip:{}@{}>", ext.extension, ext.realm);
                        self.dispatch(key, req, from, Some(pai), now);
                    }
                    Ok(Verdict::Trunk(_)) => {
                        self.auth_result(source, false, 200);
                        self.dispatch(key, req, from, None, now);
                    }
                    Ok(other) => {
                        let failed = matches!(
                            other,
                            Verdict::Refused {
                                failed_attempt: true,
                                ..
                            }
                        );
                        let resp = other
                            .response(&req)
                            .unwrap_or_else(|| reply(&req, 403, "Forbidden"));
                        self.auth_result(source, failed, resp.status);
                        self.respond(&key, resp, now);
                    }
                }
            }
        }
    }

    fn auth_result(&mut self, source: IpAddr, failed: bool, status: u16) {
        let label = match (failed, status) {
            (true, _) => "failed",
            (false, 401 | 407) => "challenge",
            (false, 200..=299) => "ok",
            _ => "refused",
        };
        edge_metrics().auth.inc(&[label]);
        if failed {
            if self.guard.auth_failed(source, Instant::now()) {
                tracing::warn!(%source, "blocking a source after repeated authentication failures");
            }
        } else if label == "ok" {
            self.guard.auth_succeeded(source);
        }
    }

    /// Sends a new request to a media node, record-routed for INVITE.
    fn dispatch(
        &mut self,
        key: TxKey,
        mut req: Request,
        from: Target,
        asserted: Option<String>,
        now: Instant,
    ) {
        // By Call-ID: a retransmission reaching another edge node goes to the same media node.
        let picked = req
            .headers
            .get(&HeaderName::CallId)
            .and_then(|call_id| self.dispatcher.pick(call_id));
        let Some((_, addr)) = picked else {
            let mut resp = reply(&req, 503, "No Media Node Available");
            resp.headers
                .push(HeaderName::RetryAfter, RETRY_AFTER_SECS.to_string());
            return self.respond(&key, resp, now);
        };
        if let Some(pai) = asserted {
            req.headers.set(HeaderName::PAssertedIdentity, pai);
        }
        if req.method == Method::Invite {
            let token = self.flow_token(from);
            record_route(&mut req, &self.cfg.identity, &token);
        }
        let target = Target::new(Transport::Udp, addr);
        self.forward(key, req, from, target, now);
    }

    fn forward_in_dialog(
        &mut self,
        key: TxKey,
        req: Request,
        from: Target,
        hop: NextHop,
        now: Instant,
    ) {
        let target = match hop {
            NextHop::Flow(t) => Some(t),
            NextHop::Uri(uri) => self.resolve(&uri),
        };
        let Some(target) = target else {
            return self.respond(&key, reply(&req, 502, "Bad Gateway"), now);
        };
        self.forward(key, req, from, target, now);
    }

    /// A URI's target: IP hosts directly, media node names through the dispatcher.
    fn resolve(&self, uri: &Uri) -> Option<Target> {
        if let Some(t) = uri_flow(uri) {
            return Some(t);
        }
        let Host::Domain(name) = &uri.host else {
            return None;
        };
        let port = uri.port.unwrap_or(5060);
        self.dispatcher
            .nodes()
            .iter()
            .find(|n| n.host.eq_ignore_ascii_case(name) && n.port == port)
            .and_then(|n| n.addr)
            .map(|a| Target::new(Transport::Udp, a))
    }

    /// Adds the edge's Via, lowers Max-Forwards and starts the client transaction.
    fn forward(
        &mut self,
        key: TxKey,
        mut req: Request,
        from: Target,
        target: Target,
        now: Instant,
    ) {
        let Some(branch) = branch_for(&req) else {
            return self.respond(&key, reply(&req, 400, "Bad Via"), now);
        };
        let mf = req.headers.max_forwards().ok().flatten().unwrap_or(70);
        req.headers
            .set(HeaderName::MaxForwards, mf.saturating_sub(1).to_string());
        // Kept to answer 408/503 upstream if the downstream never answers.
        let kept = transaction_stub(&req);
        let via = self.via(target.transport, &branch);
        req.headers.insert_first(HeaderName::Via, via);
        let client = TxKey {
            side: Side::Client,
            branch: branch.into(),
            method: req.method.clone(),
            sent_by: Default::default(),
        };
        let leg = self
            .legs
            .entry(key.clone())
            .or_insert_with(|| Leg::new(from));
        leg.client = Some(client.clone());
        leg.target = Some(target);
        leg.req = Some(kept);
        if req.method == Method::Invite {
            let at = now + TIMER_C;
            leg.timer_c = Some(at);
            self.timer_c.push_back((at, key.clone()));
        }
        self.by_client.insert(client, key);
        self.tally.client_tx();
        self.tx(TxInput::SendRequest { req, target }, now);
    }

    /// The edge's Via value for a request sent over `transport` with `branch`.
    fn via(&self, transport: Transport, branch: &str) -> String {
        let name = transport.via_name();
        let hostport = self.cfg.identity.hostport();
        let mut via = String::with_capacity(24 + name.len() + hostport.len() + branch.len());
        via.push_str("SIP/2.0/");
        via.push_str(name);
        via.push(' ');
        via.push_str(hostport);
        via.push_str(";branch=");
        via.push_str(branch);
        via.push_str(";rport");
        via
    }

    fn cancel(
        &mut self,
        key: TxKey,
        req: Request,
        _from: Target,
        cancels: Option<TxKey>,
        now: Instant,
    ) {
        if cancels.as_ref().is_some_and(|k| !self.legs.contains_key(k)) {
            // The INVITE here was answered already: the CANCEL has nothing left to do.
            return self.respond(&key, reply(&req, 200, "OK"), now);
        }
        let inv = cancels.and_then(|k| self.legs.get(&k).map(|_| k));
        let Some(inv) = inv else {
            // The INVITE went through another edge node (or is gone): the media nodes sort
            // it out, since only the one holding the INVITE matches the CANCEL.
            if self
                .dispatcher
                .nodes()
                .iter()
                .all(|n| n.health != Health::Up)
            {
                return self.respond(
                    &key,
                    reply(&req, 481, "Call/Transaction Does Not Exist"),
                    now,
                );
            }
            self.respond(&key, reply(&req, 200, "OK"), now);
            let targets: Vec<SocketAddr> = self
                .dispatcher
                .nodes()
                .iter()
                .filter(|n| n.health == Health::Up)
                .filter_map(|n| n.addr)
                .collect();
            if let Some(fwd) = self.cancel_copy(&req) {
                for addr in targets {
                    let target = Target::new(Transport::Udp, addr);
                    self.send_stateless(fwd.clone().into(), target, now);
                }
            }
            return;
        };
        self.respond(&key, reply(&req, 200, "OK"), now);
        let leg = self.legs.get_mut(&inv).expect("checked above");
        if leg.answered {
            return;
        }
        match (leg.client.is_some(), leg.provisional) {
            // Still authenticating: nothing went downstream yet.
            (false, _) => {
                leg.req = None;
                let resp = reply(&req_as_invite(&req), 487, "Request Terminated");
                self.respond(&inv, resp, now);
            }
            (true, true) => {
                let target = leg.target;
                if let (Some(fwd), Some(target)) = (self.cancel_copy(&req), target) {
                    self.start_cancel(fwd, target, now);
                }
            }
            (true, false) => leg.cancel_waiting = Some(req),
        }
    }

    /// The edge's CANCEL for a received one: the same request with the edge's Via, whose
    /// branch equals the one the INVITE was forwarded with.
    fn cancel_copy(&self, req: &Request) -> Option<Request> {
        let branch = branch_for(req)?;
        let mut fwd = req.clone();
        fwd.headers.set(HeaderName::MaxForwards, "70");
        fwd.headers
            .insert_first(HeaderName::Via, self.via(Transport::Udp, &branch));
        Some(fwd)
    }

    fn start_cancel(&mut self, cancel: Request, target: Target, now: Instant) {
        self.tally.client_tx();
        self.tx(
            TxInput::SendRequest {
                req: cancel,
                target,
            },
            now,
        );
    }

    /// Relays an ACK for a 2xx along the edge's routes, without a transaction (RFC 3261 16.11:
    /// its branch is derived from the ACK, so a retransmission gets the same one).
    fn relay_stateless(&mut self, mut req: Request, from: Target, now: Instant) {
        let is_ack = req.method == Method::Ack;
        // ACKs are never answered; other requests get their error statelessly.
        let refuse = |core: &mut Self, req: &Request, status: u16, reason: &str| {
            if is_ack {
                edge_metrics().dropped.inc(&["stray_ack"]);
            } else {
                core.send_stateless(reply(req, status, reason).into(), from, now);
            }
        };
        if !self.top_route_is_ours(&req) {
            return refuse(self, &req, 481, "Call/Transaction Does Not Exist");
        }
        let mf = req.headers.max_forwards().ok().flatten().unwrap_or(70);
        if mf == 0 {
            return refuse(self, &req, 483, "Too Many Hops");
        }
        let hop = match loose_route(&mut req, &self.cfg.identity, &self.signer) {
            Ok(h) => h,
            Err(RouteError::ForgedToken) => return refuse(self, &req, 403, "Forbidden"),
            Err(_) => return refuse(self, &req, 400, "Bad Route"),
        };
        let target = match hop {
            NextHop::Flow(t) => Some(t),
            NextHop::Uri(uri) => self.resolve(&uri),
        };
        let Some(target) = target else {
            return refuse(self, &req, 502, "Bad Gateway");
        };
        let Some(branch) = branch_for(&req) else {
            return refuse(self, &req, 400, "Bad Via");
        };
        req.headers
            .set(HeaderName::MaxForwards, (mf - 1).to_string());
        let via = self.via(target.transport, &branch);
        req.headers.insert_first(HeaderName::Via, via);
        self.send_stateless(Message::Request(req), target, now);
    }

    fn response(&mut self, client: TxKey, mut resp: Response, now: Instant) {
        let Some(server) = self.by_client.get(&client).cloned() else {
            // A repeated 2xx after the relay was settled goes up by Via; answers to the
            // edge's own CANCELs are dropped there.
            return self.stray_response(resp, now);
        };
        resp.headers.remove_first(&HeaderName::Via);
        if resp.headers.get(&HeaderName::Via).is_none() {
            return;
        }
        let mut cancel = None;
        if let Some(leg) = self.legs.get_mut(&server) {
            if resp.status < 200 {
                leg.provisional = true;
                cancel = leg.cancel_waiting.take().zip(leg.target);
                if resp.status > 100 && leg.timer_c.is_some() {
                    // No new entry: the leg's entry moves itself when it comes due (timer_c).
                    leg.timer_c = Some(now + TIMER_C);
                }
            }
        }
        if resp.status >= 200 {
            // Settled: the transactions absorb repeats; nothing else needs the relay, and
            // keeping it until they end (32 s) would only grow the tables.
            self.legs.remove(&server);
            self.by_client.remove(&client);
        }
        if let Some((req, target)) = cancel {
            if let Some(fwd) = self.cancel_copy(&req) {
                self.start_cancel(fwd, target, now);
            }
        }
        if resp.status == 100 {
            return; // hop by hop: the edge sent its own
        }
        self.tx(TxInput::SendResponseFor { key: server, resp }, now);
    }

    /// A response no transaction here waits for: forward it by Via if the top Via is ours.
    fn stray_response(&mut self, mut resp: Response, now: Instant) {
        let Ok(top) = resp.headers.top_via() else {
            return edge_metrics().dropped.inc(&["stray_response"]);
        };
        let ours = self
            .cfg
            .identity
            .is_ours(&Uri::sip(None, top.host.clone(), top.port));
        let cancel = resp
            .headers
            .cseq()
            .map(|c| c.method == Method::Cancel)
            .unwrap_or(false);
        if ours {
            if cancel {
                return; // answers to the edge's own CANCELs
            }
            resp.headers.remove_first(&HeaderName::Via);
        }
        let Ok(next) = resp.headers.top_via() else {
            return edge_metrics().dropped.inc(&["stray_response"]);
        };
        if resp.status == 100 {
            return;
        }
        let Some(target) = via_target(&next) else {
            return edge_metrics().dropped.inc(&["stray_response"]);
        };
        self.send_stateless(resp.into(), target, now);
    }

    fn downstream_failed(&mut self, key: &TxKey, status: u16, reason: &str, now: Instant) {
        if key.side != Side::Client {
            return;
        }
        let Some(server) = self.by_client.get(key).cloned() else {
            return;
        };
        let Some(leg) = self.legs.get_mut(&server) else {
            return;
        };
        if leg.answered {
            return;
        }
        leg.answered = true;
        let Some(upstream) = leg.req.take() else {
            return;
        };
        self.tx(
            TxInput::SendResponseFor {
                key: server,
                resp: reply(&upstream, status, reason),
            },
            now,
        );
    }

    /// Gives up ringing INVITEs whose Timer C ran out: CANCEL downstream, 408 upstream.
    fn timer_c(&mut self, now: Instant) {
        while self.timer_c.front().is_some_and(|(at, _)| *at <= now) {
            let Some((at, key)) = self.timer_c.pop_front() else {
                break;
            };
            let Some(leg) = self.legs.get_mut(&key) else {
                continue;
            };
            if leg.answered {
                continue;
            }
            match leg.timer_c {
                Some(deadline) if deadline == at => {}
                // Reset by a provisional response since: wait again, in deadline order.
                Some(later) if later > at => {
                    let i = self.timer_c.partition_point(|(t, _)| *t <= later);
                    self.timer_c.insert(i, (later, key));
                    continue;
                }
                _ => continue,
            }
            leg.answered = true;
            leg.timer_c = None;
            let (Some(stub), Some(target)) = (leg.req.take(), leg.target) else {
                continue;
            };
            if leg.provisional {
                if let Some(branch) = branch_for(&stub) {
                    let mut cancel = voxbin_sip::dialog::cancel_for(&stub);
                    cancel
                        .headers
                        .set(HeaderName::Via, self.via(target.transport, &branch));
                    self.start_cancel(cancel, target, now);
                }
            }
            let resp = reply(&stub, 408, "Request Timeout");
            self.tx(TxInput::SendResponseFor { key, resp }, now);
        }
    }

    fn health_checks(&mut self, now: Instant) {
        for change in self.dispatcher.expire_checks(now) {
            self.health_changed(change.node, change.health);
        }
        for check in self.dispatcher.due_checks(now) {
            let req = self.probe(check.addr, check.token);
            let target = Target::new(Transport::Udp, check.addr);
            self.tx(
                TxInput::SendStateless {
                    msg: req.into(),
                    target,
                },
                now,
            );
        }
    }

    fn probe(&self, addr: SocketAddr, token: u64) -> Request {
        let id = &self.cfg.identity;
        let uri = Uri::sip(None, Host::from(addr.ip()), Some(addr.port()));
        let mut req = Request::new(Method::Options, uri.clone());
        let h = &mut req.headers;
        h.push(
            HeaderName::Via,
            self.via(Transport::Udp, &probe_branch(token)),
        );
        let me = Uri::sip(Some("edge"), id.host().clone(), Some(id.port()));
        h.push(HeaderName::From, format!("<{me}>;tag=vxprobe"));
        h.push(HeaderName::To, format!("<{uri}>"));
        h.push(
            HeaderName::CallId,
            format!("vxprobe-{token}-{}@{}", self.instance, id.host()),
        );
        h.push(HeaderName::CSeq, "1 OPTIONS");
        h.push(HeaderName::MaxForwards, "70");
        h.push(HeaderName::UserAgent, super::reply::SERVER);
        req
    }

    fn health_changed(&mut self, node: usize, health: Health) {
        if let Some(n) = self.dispatcher.nodes().get(node) {
            let up = health == Health::Up;
            tracing::info!(node = %n.name, up, "media node health changed");
            edge_metrics().media_node_up.set(&[&n.name], i64::from(up));
        }
    }
}

/// Methods the edge handles, for `Allow`.
const ALLOW: &str =
    "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, INFO, UPDATE, PRACK, MESSAGE, REFER, NOTIFY";

impl Leg {
    fn new(source: Target) -> Leg {
        Leg {
            client: None,
            req: None,
            target: None,
            source,
            provisional: false,
            cancel_waiting: None,
            answered: false,
            timer_c: None,
        }
    }
}

/// The part of a request a response is built from (Via, From, To, Call-ID, CSeq).
fn transaction_stub(req: &Request) -> Request {
    let mut stub = Request::new(req.method.clone(), req.uri.clone());
    for h in req.headers.iter() {
        if matches!(
            h.name,
            HeaderName::Via
                | HeaderName::From
                | HeaderName::To
                | HeaderName::CallId
                | HeaderName::CSeq
        ) {
            stub.headers.push(h.name.clone(), h.value.clone());
        }
    }
    stub
}

/// The INVITE a CANCEL refers to, as far as a response needs it (same Via, From, To, Call-ID
/// and CSeq number).
fn req_as_invite(cancel: &Request) -> Request {
    let mut inv = cancel.clone();
    inv.method = Method::Invite;
    let seq = cancel.headers.cseq().map(|c| c.seq).unwrap_or(0);
    inv.headers.set(HeaderName::CSeq, format!("{seq} INVITE"));
    inv
}

/// Where a response goes by its (now top) Via: `received`/`rport` first, then sent-by.
fn via_target(via: &Via) -> Option<Target> {
    let transport = Transport::parse(&via.transport).ok()?;
    let ip: IpAddr = match via.received().and_then(|r| r.parse().ok()) {
        Some(ip) => ip,
        None => via.host.ip()?,
    };
    let port = via
        .rport()
        .flatten()
        .or(via.port)
        .unwrap_or(if transport == Transport::Tls {
            5061
        } else {
            5060
        });
    Some(Target::new(transport, SocketAddr::new(ip, port)))
}
