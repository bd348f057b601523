//! A worker thread: owns legs and conferences and runs their 20 ms clock. The loop sleeps to
//! absolute deadlines (`deadline += 20 ms`), so lateness of one tick never shifts the next;
//! commands are drained at the start of each tick without blocking. A tick sends the packets
//! prepared by the previous one first, then receives, mixes and prepares the next packets.

pub(crate) mod collect;
pub(crate) mod command;
pub(crate) mod conference;
pub(crate) mod leg;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

use crate::g711::Frame;
use crate::player::Source;

use super::event::{EngineEvent, EventKind};
use super::ids::{ConferenceId, LegId};
use command::Command;
use conference::Conference;
use leg::{emit, Leg, TickCtx, SILENCE};

/// The media clock.
const TICK: Duration = Duration::from_millis(20);
/// Behind by more than this, the clock restarts from now instead of sending bursts.
const MAX_LAG: Duration = Duration::from_millis(200);
/// Largest datagram read.
const SCRATCH: usize = 2048;

/// What a worker starts with.
pub(crate) struct WorkerSetup {
    pub commands: Receiver<Command>,
    pub peers: Arc<[Sender<Command>]>,
    pub events: broadcast::Sender<EngineEvent>,
    pub music_on_hold: Source,
    pub rtp_timeout: Option<Duration>,
    pub realtime_priority: Option<u8>,
}

/// Puts the calling thread under `SCHED_FIFO` at `priority`.
pub(crate) fn set_realtime(priority: u8) -> std::io::Result<()> {
    let param = libc::sched_param {
        sched_priority: i32::from(priority),
    };
    // SAFETY: pid 0 is the calling thread; `param` is a valid sched_param for the call
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// One worker.
pub(crate) struct Worker {
    setup: WorkerSetup,
    legs: Vec<Option<Box<Leg>>>,
    free: Vec<usize>,
    by_id: HashMap<LegId, usize>,
    conferences: HashMap<ConferenceId, Conference>,
    expected: HashSet<LegId>,
    deferred: VecDeque<Command>,
    epoch: Instant,
    tick: u64,
    scratch: Box<[u8]>,
}

impl Worker {
    /// A worker with no legs.
    pub fn new(setup: WorkerSetup) -> Self {
        Worker {
            setup,
            legs: Vec::new(),
            free: Vec::new(),
            by_id: HashMap::new(),
            conferences: HashMap::new(),
            expected: HashSet::new(),
            deferred: VecDeque::new(),
            epoch: Instant::now(),
            tick: 0,
            scratch: vec![0u8; SCRATCH].into_boxed_slice(),
        }
    }

    /// Runs until `Shutdown` (or the engine handle is gone).
    pub fn run(mut self) {
        if let Some(p) = self.setup.realtime_priority {
            if let Err(e) = set_realtime(p) {
                tracing::warn!(priority = p, error = %e, "media worker stays at normal priority");
            }
        }
        let mut deadline = Instant::now();
        loop {
            // last tick's packets go out before anything else can take time
            for leg in self.legs.iter_mut().flatten() {
                leg.flush();
            }
            if !self.drain() {
                self.close_all();
                return;
            }
            let now = self.epoch.elapsed();
            self.run_tick(now);
            self.tick += 1;
            deadline += TICK;
            let after = Instant::now();
            if deadline > after {
                std::thread::sleep(deadline - after);
            } else if after - deadline > MAX_LAG {
                deadline = after;
            }
        }
    }

    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// Handles queued commands; false when the worker must stop.
    fn drain(&mut self) -> bool {
        loop {
            match self.setup.commands.try_recv() {
                Ok(Command::Shutdown) => return false,
                Ok(c) => self.dispatch(c),
                Err(TryRecvError::Empty) => return true,
                Err(TryRecvError::Disconnected) => return false,
            }
        }
    }

    fn insert(&mut self, mut leg: Box<Leg>) {
        leg.arm(self.now());
        let id = leg.id;
        let slot = match self.free.pop() {
            Some(s) => {
                self.legs[s] = Some(leg);
                s
            }
            None => {
                self.legs.push(Some(leg));
                self.legs.len() - 1
            }
        };
        self.by_id.insert(id, slot);
    }

    fn take(&mut self, id: LegId) -> Option<Box<Leg>> {
        let slot = self.by_id.remove(&id)?;
        self.free.push(slot);
        self.legs[slot].take()
    }

    fn leg(&mut self, id: LegId) -> Option<&mut Leg> {
        let slot = *self.by_id.get(&id)?;
        self.legs[slot].as_deref_mut()
    }

    /// Takes a leg out of its bridge and conference.
    fn detach(&mut self, id: LegId) {
        let Some(leg) = self.leg(id) else { return };
        let bridge = leg.bridge.take();
        let conference = leg.conference.take();
        if let Some((peer, _)) = bridge {
            if let Some(p) = self.leg(peer) {
                p.bridge = None;
            }
        }
        if let Some((cid, pid)) = conference {
            if let Some(c) = self.conferences.get_mut(&cid) {
                c.leave(pid);
            }
        }
    }

    fn dispatch(&mut self, command: Command) {
        if command
            .legs()
            .iter()
            .flatten()
            .any(|l| self.expected.contains(l))
        {
            self.deferred.push_back(command);
            return;
        }
        let now = self.now();
        let events = self.setup.events.clone();
        let events = &events;
        match command {
            Command::AddLeg(leg) => self.insert(leg),
            Command::Expect(id) => {
                self.expected.insert(id);
            }
            Command::Adopt(leg) => {
                self.expected.remove(&leg.id);
                self.insert(leg);
                // commands that waited for this leg run now, in their order
                let waiting = std::mem::take(&mut self.deferred);
                for c in waiting {
                    self.dispatch(c);
                }
            }
            Command::Migrate { leg, to } => {
                self.detach(leg);
                if let Some(l) = self.take(leg) {
                    if let Some(peer) = self.setup.peers.get(to) {
                        let _ = peer.send(Command::Adopt(l));
                    }
                }
            }
            Command::Update {
                leg,
                negotiated,
                srtp,
            } => {
                if let Some(l) = self.leg(leg) {
                    l.update(&negotiated, srtp.map(|s| *s), now);
                }
            }
            Command::Destroy(leg) => {
                self.detach(leg);
                if let Some(mut l) = self.take(leg) {
                    l.close(now, &mut self.scratch, events);
                }
            }
            Command::Play { leg, op, source } => {
                if let Some(l) = self.leg(leg) {
                    l.play(Some(op), source, events);
                }
            }
            Command::StopPlayback(leg) => {
                if let Some(l) = self.leg(leg) {
                    l.stop_playback(events);
                }
            }
            Command::Echo { leg, op, on } => {
                if let Some(l) = self.leg(leg) {
                    l.echo(op, on, events);
                }
            }
            Command::Collect { leg, op, spec } => {
                if let Some(l) = self.leg(leg) {
                    l.collect(op, spec, now, events);
                }
            }
            Command::StopCollect(leg) => {
                if let Some(l) = self.leg(leg) {
                    l.stop_collect(events);
                }
            }
            Command::SendDigits {
                leg,
                op,
                digits,
                duration_ms,
            } => {
                if let Some(l) = self.leg(leg) {
                    l.send_digits(op, digits, duration_ms, events);
                }
            }
            Command::Record {
                leg,
                op,
                spec,
                file,
                path,
            } => {
                if let Some(l) = self.leg(leg) {
                    l.record(op, spec, file, path, events);
                }
            }
            Command::StopRecord(leg) => {
                if let Some(l) = self.leg(leg) {
                    l.stop_record(events);
                }
            }
            Command::Hold { leg, on } => {
                let music = self.setup.music_on_hold.clone();
                if let Some(l) = self.leg(leg) {
                    l.hold(on, &music);
                }
            }
            Command::Mute { leg, direction, on } => {
                if let Some(l) = self.leg(leg) {
                    l.mute(direction, on);
                }
            }
            Command::Sending { leg, on } => {
                if let Some(l) = self.leg(leg) {
                    l.set_sending(on);
                }
            }
            Command::Bridge { a, b } => {
                let (Some(&sa), Some(&sb)) = (self.by_id.get(&a), self.by_id.get(&b)) else {
                    return;
                };
                if let Some(l) = self.legs[sa].as_deref_mut() {
                    l.bridge = Some((b, sb));
                }
                if let Some(l) = self.legs[sb].as_deref_mut() {
                    l.bridge = Some((a, sa));
                }
            }
            Command::Unbridge(leg) => {
                let peer = self.leg(leg).and_then(|l| l.bridge.take());
                if let Some((p, _)) = peer {
                    if let Some(l) = self.leg(p) {
                        l.bridge = None;
                    }
                }
            }
            Command::ConferenceCreate { conference, tones } => {
                self.conferences
                    .insert(conference, Conference::new(conference, tones));
            }
            Command::ConferenceDestroy(conference) => {
                if let Some(mut c) = self.conferences.remove(&conference) {
                    c.stop_record(events);
                    for l in self.legs.iter_mut().flatten() {
                        if l.conference.is_some_and(|(id, _)| id == conference) {
                            l.conference = None;
                        }
                    }
                }
            }
            Command::Join {
                conference,
                leg,
                muted,
            } => {
                let Some(c) = self.conferences.get_mut(&conference) else {
                    return;
                };
                let Some(&slot) = self.by_id.get(&leg) else {
                    return;
                };
                if let Some(l) = self.legs[slot].as_deref_mut() {
                    if l.conference.is_none() {
                        l.conference = Some((conference, c.join(muted)));
                    }
                }
            }
            Command::Leave(leg) => {
                let membership = self.leg(leg).and_then(|l| l.conference.take());
                if let Some((cid, pid)) = membership {
                    if let Some(c) = self.conferences.get_mut(&cid) {
                        c.leave(pid);
                    }
                }
            }
            Command::ConferenceRecord {
                conference,
                op,
                spec,
                file,
                path,
            } => {
                let Some(c) = self.conferences.get_mut(&conference) else {
                    return;
                };
                c.stop_record(events);
                match leg::Recording::start(op, &spec, file, path.clone()) {
                    Ok(r) => c.recording = Some(r),
                    Err(e) => emit(
                        events,
                        None,
                        Some(conference),
                        Some(op),
                        EventKind::RecordingFinished {
                            path,
                            duration_ms: 0,
                            reason: super::event::RecordReason::Failed(e),
                        },
                    ),
                }
            }
            Command::ConferenceStopRecord(conference) => {
                if let Some(c) = self.conferences.get_mut(&conference) {
                    c.stop_record(events);
                }
            }
            Command::External { leg, op, link } => {
                if let Some(l) = self.leg(leg) {
                    l.external(op, link);
                }
            }
            Command::StopExternal(leg) => {
                if let Some(l) = self.leg(leg) {
                    l.stop_external();
                }
            }
            Command::Stats(leg) => {
                if let Some(l) = self.leg(leg) {
                    let stats = l.stats();
                    emit(events, Some(leg), None, None, EventKind::LegStats(stats));
                }
            }
            Command::Shutdown => {}
        }
    }

    /// One 20 ms tick of every leg and conference.
    fn run_tick(&mut self, now: Duration) {
        let Worker {
            setup,
            legs,
            conferences,
            scratch,
            tick,
            ..
        } = self;
        let mut ctx = TickCtx {
            now,
            tick: *tick,
            scratch,
            events: &setup.events,
            rtp_timeout: setup.rtp_timeout,
        };
        for (slot, leg) in legs.iter_mut().enumerate() {
            if let Some(leg) = leg {
                leg.receive(&mut ctx, slot);
            }
        }
        if !conferences.is_empty() {
            for leg in legs.iter().flatten() {
                if let Some((cid, pid)) = leg.conference {
                    if let Some(c) = conferences.get_mut(&cid) {
                        let _ = c.mixer.push(pid, leg.contribution());
                    }
                }
            }
            for c in conferences.values_mut() {
                c.mix(ctx.events);
            }
        }
        let mut heard: Frame = SILENCE;
        for slot in 0..legs.len() {
            let Some(leg) = legs[slot].as_deref() else {
                continue;
            };
            let source = if let Some((_, peer)) = leg.bridge {
                match legs.get(peer).and_then(|l| l.as_deref()) {
                    Some(p) => {
                        heard = *p.contribution();
                        true
                    }
                    None => false,
                }
            } else if let Some((cid, pid)) = leg.conference {
                match conferences.get(&cid) {
                    Some(c) => {
                        c.heard(pid, &mut heard);
                        true
                    }
                    None => false,
                }
            } else {
                false
            };
            if let Some(leg) = legs[slot].as_deref_mut() {
                leg.send(source.then_some(&heard), &mut ctx);
            }
        }
    }

    /// Ends everything (shutdown).
    fn close_all(&mut self) {
        let now = self.now();
        let events = self.setup.events.clone();
        for c in self.conferences.values_mut() {
            c.stop_record(&events);
        }
        for leg in self.legs.iter_mut().flatten() {
            leg.close(now, &mut self.scratch, &events);
        }
        self.legs.clear();
        self.by_id.clear();
    }
}
