//! What a `connect` does next (no I/O): given where it is and what just happened to one of its
//! calls, the [`Step`]s to take. The shell ([`super`]) claims each transition in the store
//! first (a guarded update), so of two racing answers only one is bridged.

use uuid::Uuid;

use crate::model::{HangupReason, Status};

/// Where a connect is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Its calls are ringing.
    Dialing,
    /// One answered and is bridged to the master.
    Bridged,
    /// Over (bridge ended, or nobody answered).
    Ended,
}

impl Phase {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Dialing => "dialing",
            Phase::Bridged => "bridged",
            Phase::Ended => "ended",
        }
    }

    /// The phase of a stored word (unknown words read as ended: nothing more is done).
    pub fn parse(s: &str) -> Phase {
        match s {
            "dialing" => Phase::Dialing,
            "bridged" => Phase::Bridged,
            _ => Phase::Ended,
        }
    }
}

/// A connect: the master call and the chained calls it dialled.
#[derive(Debug, Clone, PartialEq)]
pub struct Connect {
    /// Id (also the master's pending operation, so the master's flow moves on once).
    pub id: Uuid,
    /// Owner.
    pub customer_id: Uuid,
    /// The call running the flow.
    pub master: Uuid,
    /// The calls dialled, in the order of the destinations.
    pub calls: Vec<Uuid>,
    /// Where it is.
    pub phase: Phase,
    /// The call that answered first; nil before.
    pub answer: Uuid,
    /// The call whose early media the master hears; nil when none.
    pub early: Uuid,
    /// Pass early media from the destinations to the master.
    pub early_media: bool,
    /// Hang the master up with the reason of the destination's call.
    pub relay_reason: bool,
    /// Why the first of the calls that ended ended (`None` until one did).
    pub first_reason: HangupReason,
}

/// One thing to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// 180 to the (unanswered) master: the caller's phone plays ringback.
    Ring,
    /// Ringback played to the (answered) master: its phone plays none of its own.
    Ringback,
    /// Stop the ringback played to the (answered) master.
    StopRingback,
    /// 183 with SDP to the (unanswered) master, so it hears early media.
    Progress,
    /// Answer the master.
    AnswerMaster,
    /// Bridge the master with this call.
    Bridge(Uuid),
    /// Take the master out of its bridge.
    Unbridge,
    /// Hang this chained call up (the shell picks cancel or normal by its status).
    HangUp(Uuid),
    /// Hang the master up with this reason.
    HangUpMaster(HangupReason),
    /// Nobody was bridged: the master's flow goes on after the connect.
    Continue,
}

impl Connect {
    /// When the connect starts: ringback, by a 180 for a master not answered yet, played to
    /// an answered one.
    pub fn on_start(master_answered: bool) -> Vec<Step> {
        if master_answered {
            vec![Step::Ringback]
        } else {
            vec![Step::Ring]
        }
    }

    /// Whether `call`'s early media should reach the master (the shell then claims it).
    pub fn wants_early(&self, call: Uuid) -> bool {
        self.early_media
            && self.phase == Phase::Dialing
            && self.early.is_nil()
            && self.calls.contains(&call)
    }

    /// `call` (claimed as the early one) brings early media.
    pub fn on_early(&self, call: Uuid, master_answered: bool) -> Vec<Step> {
        let mut steps = Vec::new();
        if master_answered {
            steps.push(Step::StopRingback);
        } else {
            steps.push(Step::Progress);
        }
        steps.push(Step::Bridge(call));
        steps
    }

    /// `call` answered and won the claim (this is the state before it): answer the master,
    /// bridge them, drop the others.
    pub fn on_answer(&self, call: Uuid, master_answered: bool) -> Vec<Step> {
        let mut steps = Vec::new();
        if !master_answered {
            steps.push(Step::AnswerMaster);
        } else if self.early.is_nil() {
            // an early bridge stopped it already
            steps.push(Step::StopRingback);
        }
        if self.early != call {
            if !self.early.is_nil() {
                steps.push(Step::Unbridge);
            }
            steps.push(Step::Bridge(call));
        }
        steps.extend(
            self.calls
                .iter()
                .filter(|c| **c != call)
                .map(|c| Step::HangUp(*c)),
        );
        steps
    }

    /// `call` answered after another won: it goes.
    pub fn on_late_answer(&self, call: Uuid) -> Vec<Step> {
        vec![Step::HangUp(call)]
    }

    /// Chained call `call` ended with `reason`; `all_over` when none of the calls is live any
    /// more. The new phase (if it changes) and the steps.
    pub fn on_call_ended(
        &self,
        call: Uuid,
        reason: HangupReason,
        all_over: bool,
        master_answered: bool,
    ) -> (Option<Phase>, Vec<Step>) {
        match self.phase {
            Phase::Bridged if call == self.answer => {
                let why = if self.relay_reason {
                    reason
                } else {
                    HangupReason::Dialout
                };
                (Some(Phase::Ended), vec![Step::HangUpMaster(why)])
            }
            Phase::Dialing => {
                let mut steps = Vec::new();
                if call == self.early {
                    steps.push(Step::Unbridge);
                }
                if !all_over {
                    return (None, steps);
                }
                let first = match self.first_reason {
                    HangupReason::None => reason,
                    r => r,
                };
                if self.relay_reason {
                    steps.push(Step::HangUpMaster(first));
                } else {
                    if master_answered && self.early.is_nil() {
                        steps.push(Step::StopRingback);
                    }
                    steps.push(Step::Continue);
                }
                (Some(Phase::Ended), steps)
            }
            _ => (None, Vec::new()),
        }
    }

    /// The master ended: its chained calls go too.
    pub fn on_master_ended(&self) -> Vec<Step> {
        self.calls.iter().map(|c| Step::HangUp(*c)).collect()
    }
}

/// The reason to hang up a chained call that is no longer wanted: cancel before its answer,
/// normal after.
pub fn drop_reason(status: Status) -> HangupReason {
    match status {
        Status::Dialing | Status::Ringing => HangupReason::Cancel,
        _ => HangupReason::Normal,
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn connect(early_media: bool, relay_reason: bool) -> Connect {
        Connect {
            id: id(1),
            customer_id: id(2),
            master: id(3),
            calls: vec![id(10), id(11)],
            phase: Phase::Dialing,
            answer: Uuid::nil(),
            early: Uuid::nil(),
            early_media,
            relay_reason,
            first_reason: HangupReason::None,
        }
    }

    #[test]
    fn an_unanswered_caller_hears_ringback_while_dialing() {
        assert_eq!(Connect::on_start(false), vec![Step::Ring]);
        assert_eq!(Connect::on_start(true), vec![Step::Ringback]);
    }

    #[test]
    fn first_answer_answers_the_master_bridges_and_drops_the_others() {
        let c = connect(false, false);
        assert_eq!(
            c.on_answer(id(11), false),
            vec![
                Step::AnswerMaster,
                Step::Bridge(id(11)),
                Step::HangUp(id(10))
            ]
        );
        assert_eq!(
            c.on_answer(id(10), true),
            vec![
                Step::StopRingback,
                Step::Bridge(id(10)),
                Step::HangUp(id(11))
            ]
        );
        assert_eq!(c.on_late_answer(id(10)), vec![Step::HangUp(id(10))]);
    }

    #[test]
    fn early_media_is_bridged_once_and_swapped_for_the_answer() {
        let mut c = connect(true, false);
        assert!(c.wants_early(id(10)));
        assert!(!c.wants_early(id(99)));
        assert_eq!(
            c.on_early(id(10), false),
            vec![Step::Progress, Step::Bridge(id(10))]
        );
        assert_eq!(
            c.on_early(id(10), true),
            vec![Step::StopRingback, Step::Bridge(id(10))]
        );
        c.early = id(10);
        assert!(!c.wants_early(id(11)));
        // the early one answers: already bridged
        assert_eq!(
            c.on_answer(id(10), false),
            vec![Step::AnswerMaster, Step::HangUp(id(11))]
        );
        // another answers: the early bridge gives way
        assert_eq!(
            c.on_answer(id(11), true),
            vec![Step::Unbridge, Step::Bridge(id(11)), Step::HangUp(id(10))]
        );
        assert!(!connect(false, false).wants_early(id(10)));
    }

    #[test]
    fn the_bridged_call_ending_ends_the_master_with_dialout_or_its_reason() {
        let mut c = connect(false, false);
        c.phase = Phase::Bridged;
        c.answer = id(10);
        assert_eq!(
            c.on_call_ended(id(10), HangupReason::Normal, true, true),
            (
                Some(Phase::Ended),
                vec![Step::HangUpMaster(HangupReason::Dialout)]
            )
        );
        // a dropped loser ending changes nothing
        assert_eq!(
            c.on_call_ended(id(11), HangupReason::Cancel, true, true),
            (None, vec![])
        );
        c.relay_reason = true;
        assert_eq!(
            c.on_call_ended(id(10), HangupReason::Busy, true, true).1,
            vec![Step::HangUpMaster(HangupReason::Busy)]
        );
    }

    #[test]
    fn nobody_answering_lets_the_flow_go_on_or_relays_the_first_reason() {
        let c = connect(false, false);
        assert_eq!(
            c.on_call_ended(id(10), HangupReason::Busy, false, true),
            (None, vec![])
        );
        assert_eq!(
            c.on_call_ended(id(11), HangupReason::Noanswer, true, true),
            (Some(Phase::Ended), vec![Step::StopRingback, Step::Continue])
        );
        // an unanswered master had a 180, nothing to stop
        assert_eq!(
            c.on_call_ended(id(11), HangupReason::Noanswer, true, false),
            (Some(Phase::Ended), vec![Step::Continue])
        );
        let mut c = connect(true, true);
        c.first_reason = HangupReason::Busy;
        c.early = id(11);
        assert_eq!(
            c.on_call_ended(id(11), HangupReason::Noanswer, true, true),
            (
                Some(Phase::Ended),
                vec![Step::Unbridge, Step::HangUpMaster(HangupReason::Busy)]
            )
        );
        let mut ended = connect(false, false);
        ended.phase = Phase::Ended;
        assert_eq!(
            ended.on_call_ended(id(10), HangupReason::Busy, true, true),
            (None, vec![])
        );
    }

    #[test]
    fn the_master_ending_drops_every_chained_call() {
        let c = connect(false, false);
        assert_eq!(
            c.on_master_ended(),
            vec![Step::HangUp(id(10)), Step::HangUp(id(11))]
        );
        assert_eq!(drop_reason(Status::Ringing), HangupReason::Cancel);
        assert_eq!(drop_reason(Status::Progressing), HangupReason::Normal);
        assert_eq!(Phase::parse(Phase::Bridged.as_str()), Phase::Bridged);
        assert_eq!(Phase::parse("junk"), Phase::Ended);
    }
}
