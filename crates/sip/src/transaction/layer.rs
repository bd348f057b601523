//! The transaction table: matches inputs to client and server transactions, keeps their
//! timers in one deadline queue, and queues outputs for `poll`.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use crate::message::{Message, Request, Response};
use crate::method::Method;
use crate::target::Target;
use crate::transaction::client::ClientTx;
use crate::transaction::config::TimerConfig;
use crate::transaction::ending::Ending;
use crate::transaction::key::{
    client_key, response_client_key, response_server_key, server_key, TxKey,
};
use crate::transaction::queue::DeadlineQueue;
use crate::transaction::server::ServerTx;
use crate::transaction::timer::Deadlines;
use crate::transaction::{Input, Output, TxError, TxEvent};

/// Hashes the table's own sequential ids (never chosen by a peer, so no keyed hash needed).
#[derive(Debug, Clone, Copy, Default)]
struct IdHash;

impl std::hash::BuildHasher for IdHash {
    type Hasher = IdHasher;
    fn build_hasher(&self) -> IdHasher {
        IdHasher(0)
    }
}

/// A multiplicative hash of one `u64`.
#[derive(Debug)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// One live transaction.
#[derive(Debug)]
enum Tx {
    Client(Box<ClientTx>),
    Server(Box<ServerTx>),
}

impl Tx {
    /// Armed deadlines.
    fn deadlines(&self) -> Deadlines {
        match self {
            Tx::Client(c) => c.deadlines,
            Tx::Server(s) => s.deadlines,
        }
    }

    /// True once finished.
    fn is_terminated(&self) -> bool {
        match self {
            Tx::Client(c) => c.is_terminated(),
            Tx::Server(s) => s.is_terminated(),
        }
    }
}

/// The client and server transactions of one SIP endpoint or proxy.
#[derive(Debug)]
pub struct Transactions {
    cfg: TimerConfig,
    /// Keys come from peers' branches: a seeded hash, but not SipHash (it showed in profiles).
    ids: HashMap<TxKey, u64, foldhash::fast::RandomState>,
    txs: HashMap<u64, Tx, IdHash>,
    next_id: u64,
    deadlines: DeadlineQueue,
    /// The time of the input being handled (deadlines are filed by their delay from it).
    now: Option<Instant>,
    out: VecDeque<Output>,
    scratch: Vec<Output>,
    reported: Option<Instant>,
}

impl Transactions {
    /// An empty table with the given timers.
    pub fn new(cfg: TimerConfig) -> Transactions {
        Self::with_capacity(cfg, 0)
    }

    /// An empty table with room for `n` live transactions before it grows. Growing a table of
    /// 100 000 transactions copies and rehashes all of them at once, a pause of the loop that
    /// calls `handle`, so a busy proxy sizes it up front.
    pub fn with_capacity(cfg: TimerConfig, n: usize) -> Transactions {
        Transactions {
            cfg,
            ids: HashMap::with_capacity_and_hasher(n, Default::default()),
            txs: HashMap::with_capacity_and_hasher(n, IdHash),
            next_id: 0,
            deadlines: DeadlineQueue::default(),
            now: None,
            out: VecDeque::new(),
            scratch: Vec::new(),
            reported: None,
        }
    }

    /// Number of live transactions.
    pub fn len(&self) -> usize {
        self.txs.len()
    }

    /// True when no transaction is live.
    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    /// True when the transaction is live.
    pub fn contains(&self, key: &TxKey) -> bool {
        self.ids.contains_key(key)
    }

    /// The earliest time `handle(Input::Tick, ..)` has work to do.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.deadlines.peek().map(|(at, _, _)| at)
    }

    /// The next thing to do, if any.
    pub fn poll(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// Feeds one input at time `now`; fires every timer due by `now` first.
    pub fn handle(&mut self, input: Input, now: Instant) -> Result<(), TxError> {
        self.now = Some(now);
        self.fire_timers(now);
        let result = match input {
            Input::Received { msg, from } => {
                match msg {
                    Message::Request(req) => self.on_request(req, from, now),
                    Message::Response(resp) => self.on_response(resp, from, now),
                }
                Ok(())
            }
            Input::SendRequest { req, target } => self.send_request(req, target, now),
            Input::SendResponse { resp } => match response_server_key(&resp) {
                Ok(key) => self.send_response(key, resp, now),
                Err(e) => Err(e.into()),
            },
            Input::SendResponseFor { key, resp } => {
                // The same Via; the CSeq method may differ when the request's was wrong.
                debug_assert_eq!(
                    response_server_key(&resp).ok().map(|k| k.branch),
                    Some(key.branch.clone())
                );
                self.send_response(key, resp, now)
            }
            Input::SendStateless { msg, target } => {
                self.out.push_back(Output::Send { target, msg });
                Ok(())
            }
            Input::TransportError { target } => {
                self.transport_error(target);
                Ok(())
            }
            Input::Tick => Ok(()),
        };
        self.report_timer();
        result
    }

    /// Runs every due timer.
    fn fire_timers(&mut self, now: Instant) {
        while let Some((at, id, kind)) = self.deadlines.pop_due(now) {
            let cfg = self.cfg;
            self.with_tx(id, |tx, out| {
                // stale entries (re-armed or disarmed timers) are skipped
                if tx.deadlines().get(kind) != Some(at) {
                    return;
                }
                match tx {
                    Tx::Client(c) => c.on_timer(kind, now, &cfg, out),
                    Tx::Server(s) => s.on_timer(kind, now, &cfg, out),
                }
            });
        }
    }

    /// Emits `Output::Timer` when the earliest deadline moved.
    fn report_timer(&mut self) {
        let next = self.next_timeout();
        if next != self.reported {
            self.reported = next;
            if let Some(at) = next {
                self.out.push_back(Output::Timer(at));
            }
        }
    }

    /// Runs `f` on a transaction, then re-arms its timers or forgets it when terminated.
    fn with_tx(&mut self, id: u64, f: impl FnOnce(&mut Tx, &mut Vec<Output>)) {
        let Some(tx) = self.txs.get_mut(&id) else {
            return;
        };
        let before = tx.deadlines();
        let mut out = std::mem::take(&mut self.scratch);
        f(tx, &mut out);
        let after = tx.deadlines();
        let terminated = tx.is_terminated();
        self.out.extend(out.drain(..));
        self.scratch = out;
        if terminated {
            self.forget(id);
        } else {
            self.arm_changed(id, before, after);
        }
    }

    /// Queues the deadlines armed or moved since `before`.
    fn arm_changed(&mut self, id: u64, before: Deadlines, after: Deadlines) {
        for (kind, at) in after.armed() {
            if before.get(kind) != Some(at) {
                let now = self.now.unwrap_or(at);
                self.deadlines.push((at, id, kind), now);
            }
        }
    }

    /// Removes a transaction and tells the TU.
    fn forget(&mut self, id: u64) {
        if let Some(tx) = self.txs.remove(&id) {
            let key = match tx {
                Tx::Client(c) => c.key,
                Tx::Server(s) => s.key,
            };
            self.ids.remove(&key);
            self.out
                .push_back(Output::Event(TxEvent::Terminated { key }));
        }
    }

    /// Registers a new transaction.
    fn insert(&mut self, key: TxKey, tx: Tx) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let deadlines = tx.deadlines();
        let terminated = tx.is_terminated();
        self.ids.insert(key, id);
        self.txs.insert(id, tx);
        if terminated {
            self.forget(id);
        } else {
            self.arm_changed(id, Deadlines::default(), deadlines);
        }
        id
    }

    /// A request from the network.
    fn on_request(&mut self, req: Request, from: Target, now: Instant) {
        let key = match server_key(&req) {
            Ok(k) => k,
            Err(error) => {
                self.out.push_back(Output::Event(TxEvent::Invalid {
                    msg: Message::Request(req),
                    from,
                    error,
                }));
                return;
            }
        };
        let existing = self.ids.get(&key).copied();
        if req.method == Method::Ack {
            let cfg = self.cfg;
            let mut passed = Some(req);
            if let Some(id) = existing {
                let ack = passed.take();
                self.with_tx(id, |tx, _| {
                    if let (Tx::Server(s), Some(ack)) = (tx, ack) {
                        passed = s.on_ack(ack, now, &cfg);
                    }
                });
            }
            if let Some(req) = passed {
                self.out
                    .push_back(Output::Event(TxEvent::Ack { req, from }));
            }
            return;
        }
        if let Some(id) = existing {
            self.with_tx(id, |tx, out| {
                if let Tx::Server(s) = tx {
                    s.on_retransmission(out);
                }
            });
            return;
        }
        let cancels = if req.method == Method::Cancel {
            let invite_key = TxKey {
                method: Method::Invite,
                ..key.clone()
            };
            self.ids
                .contains_key(&invite_key)
                .then(|| Box::new(invite_key))
        } else {
            None
        };
        let mut out = std::mem::take(&mut self.scratch);
        let tx = ServerTx::start(key.clone(), &req, from, &self.cfg, &mut out);
        // the TU hears of the request before the automatic 100 goes out
        self.out.push_back(Output::Event(TxEvent::Request {
            key: key.clone(),
            req,
            from,
            cancels,
        }));
        self.out.extend(out.drain(..));
        self.scratch = out;
        self.insert(key, Tx::Server(Box::new(tx)));
    }

    /// A response from the network.
    fn on_response(&mut self, resp: Response, from: Target, now: Instant) {
        let key = match response_client_key(&resp) {
            Ok(k) => k,
            Err(error) => {
                self.out.push_back(Output::Event(TxEvent::Invalid {
                    msg: Message::Response(resp),
                    from,
                    error,
                }));
                return;
            }
        };
        match self.ids.get(&key).copied() {
            Some(id) => {
                let cfg = self.cfg;
                self.with_tx(id, |tx, out| {
                    if let Tx::Client(c) = tx {
                        c.on_response(resp, now, &cfg, out);
                    }
                });
            }
            None => self
                .out
                .push_back(Output::Event(TxEvent::StrayResponse { resp, from })),
        }
    }

    /// Starts a client transaction (or sends an ACK as is).
    fn send_request(&mut self, req: Request, target: Target, now: Instant) -> Result<(), TxError> {
        if req.method == Method::Ack {
            self.out.push_back(Output::Send {
                target,
                msg: Message::Request(req),
            });
            return Ok(());
        }
        let key = client_key(&req)?;
        if self.ids.contains_key(&key) {
            return Err(TxError::Duplicate(key));
        }
        let mut out = std::mem::take(&mut self.scratch);
        let tx = ClientTx::start(key.clone(), req, target, now, &self.cfg, &mut out);
        self.out.extend(out.drain(..));
        self.scratch = out;
        self.insert(key, Tx::Client(Box::new(tx)));
        Ok(())
    }

    /// Hands a response to its server transaction.
    fn send_response(&mut self, key: TxKey, resp: Response, now: Instant) -> Result<(), TxError> {
        match self.ids.get(&key).copied() {
            Some(id) => {
                let cfg = self.cfg;
                self.with_tx(id, |tx, out| {
                    if let Tx::Server(s) = tx {
                        s.on_send_response(resp, now, &cfg, out);
                    }
                });
            }
            None => self
                .out
                .push_back(Output::Event(TxEvent::NoTransaction { resp })),
        }
        Ok(())
    }

    /// Fails every transaction talking to `target`.
    fn transport_error(&mut self, target: Target) {
        let hit: Vec<u64> = self
            .txs
            .iter()
            .filter(|(_, tx)| match tx {
                Tx::Client(c) => c.target == target,
                Tx::Server(s) => s.from == target,
            })
            .map(|(id, _)| *id)
            .collect();
        for id in hit {
            self.with_tx(id, |tx, out| match tx {
                Tx::Client(c) => c.transport_failed(out),
                Tx::Server(s) => s.transport_failed(out),
            });
        }
    }
}
