//! The ring logic of a group call, without I/O: what to dial first, what an answer does to
//! the other calls, what the group does when one of its calls ends, and which reason the
//! calls it hangs up get. The async shell ([`super::run`]) applies these decisions after the
//! store's guarded writes (answer claimed once, live count decremented atomically), so racing
//! events of different calls still come to one outcome.

use uuid::Uuid;

use super::model::{AnswerMethod, GroupStatus, Groupcall, RingMethod};
use crate::model::{HangupReason, Status};

/// The destinations dialled when a group call starts, by index: all of them for ring_all,
/// the first for linear.
pub fn first_dials(method: RingMethod, destinations: usize) -> Vec<usize> {
    match method {
        RingMethod::RingAll => (0..destinations).collect(),
        RingMethod::Linear => (0..destinations.min(1)).collect(),
    }
}

/// What becomes of a call of the group that answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnAnswer {
    /// It runs the flow; with `hang_up_others`, the group's other live calls are hung up.
    Run {
        /// Whether the others are hung up.
        hang_up_others: bool,
    },
    /// It is hung up: another call answered first (hangup_others), or the group is ending.
    HangUp,
}

/// What call answering does, given the group as read after trying to claim the answer
/// (`claimed`: this call became `answer_call_id`).
pub fn on_answer(gc: &Groupcall, claimed: bool) -> OnAnswer {
    if claimed {
        return OnAnswer::Run {
            hang_up_others: gc.answer_method == AnswerMethod::HangupOthers,
        };
    }
    if gc.status != GroupStatus::Progressing || gc.answer_method == AnswerMethod::HangupOthers {
        return OnAnswer::HangUp;
    }
    OnAnswer::Run {
        hang_up_others: false,
    }
}

/// What the group does after one of its calls ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterEnd {
    /// Nothing yet: other calls are live (or the group is over already).
    Wait,
    /// Dial destination `index` next (linear, nobody answered yet).
    Dial(usize),
    /// The group is over.
    Finish,
}

/// The group's next step, given the group as read after its live count dropped.
pub fn after_call_ended(gc: &Groupcall) -> AfterEnd {
    if gc.is_over() || gc.call_count > 0 {
        return AfterEnd::Wait;
    }
    let next = usize::try_from(gc.dial_index).unwrap_or(0) + 1;
    if gc.status == GroupStatus::Progressing
        && !gc.is_answered()
        && gc.ring_method == RingMethod::Linear
        && next < gc.destinations.len()
    {
        return AfterEnd::Dial(next);
    }
    AfterEnd::Finish
}

/// The reason a call hung up by its group gets: cancel before it answered, normal after.
pub fn hangup_reason(status: Status) -> HangupReason {
    match status {
        Status::Dialing | Status::Ringing => HangupReason::Cancel,
        _ => HangupReason::Normal,
    }
}

/// The calls of `calls` (id, status) the group hangs up, with their reasons: the live ones
/// other than `except`.
pub fn to_hang_up(calls: &[(Uuid, Status)], except: Uuid) -> Vec<(Uuid, HangupReason)> {
    calls
        .iter()
        .filter(|(id, status)| *id != except && !matches!(status, Status::Hangup))
        .map(|(id, status)| (*id, hangup_reason(*status)))
        .collect()
}

/// Whether a call in `status` when its ring timeout fires is hung up (it never answered).
pub fn ring_timed_out(status: Status) -> bool {
    matches!(status, Status::Dialing | Status::Ringing)
}

#[cfg(test)]
mod unit {
    use super::*;
    use crate::model::Address;

    fn group(method: RingMethod, answer: AnswerMethod, destinations: usize) -> Groupcall {
        Groupcall {
            id: Uuid::now_v7(),
            customer_id: Uuid::now_v7(),
            owner_type: String::new(),
            owner_id: Uuid::nil(),
            status: GroupStatus::Progressing,
            flow_id: Uuid::now_v7(),
            source: Address::default(),
            destinations: (0..destinations)
                .map(|i| Address::new("sip", format!("sip:u{i}@example.com")))
                .collect(),
            master_call_id: Uuid::nil(),
            master_groupcall_id: Uuid::nil(),
            ring_method: method,
            answer_method: answer,
            answer_call_id: Uuid::nil(),
            call_ids: Vec::new(),
            answer_groupcall_id: Uuid::nil(),
            groupcall_ids: Vec::new(),
            call_count: first_dials(method, destinations).len() as i64,
            groupcall_count: 0,
            dial_index: 0,
            variables: Default::default(),
            tm_create: "2026-01-01T00:00:00.000000Z".into(),
            tm_update: None,
            tm_delete: None,
        }
    }

    #[test]
    fn ring_all_dials_everyone_and_linear_the_first() {
        assert_eq!(first_dials(RingMethod::RingAll, 3), vec![0, 1, 2]);
        assert_eq!(first_dials(RingMethod::Linear, 3), vec![0]);
        assert_eq!(first_dials(RingMethod::Linear, 0), Vec::<usize>::new());
    }

    #[test]
    fn the_first_answer_wins_and_the_others_are_hung_up() {
        let mut gc = group(RingMethod::RingAll, AnswerMethod::HangupOthers, 2);
        gc.answer_call_id = Uuid::now_v7();
        assert_eq!(
            on_answer(&gc, true),
            OnAnswer::Run {
                hang_up_others: true
            }
        );
        // the second to answer, a moment later
        assert_eq!(on_answer(&gc, false), OnAnswer::HangUp);
        // without hangup_others, it runs the flow too
        gc.answer_method = AnswerMethod::None;
        assert_eq!(
            on_answer(&gc, false),
            OnAnswer::Run {
                hang_up_others: false
            }
        );
        // a group being hung up takes no answer
        gc.status = GroupStatus::Hangingup;
        assert_eq!(on_answer(&gc, false), OnAnswer::HangUp);
    }

    #[test]
    fn ring_all_ends_when_its_last_call_ends() {
        let mut gc = group(RingMethod::RingAll, AnswerMethod::HangupOthers, 2);
        gc.call_count = 1;
        assert_eq!(after_call_ended(&gc), AfterEnd::Wait);
        gc.call_count = 0;
        assert_eq!(after_call_ended(&gc), AfterEnd::Finish);
        gc.status = GroupStatus::Hangup;
        assert_eq!(after_call_ended(&gc), AfterEnd::Wait);
    }

    #[test]
    fn linear_dials_the_next_until_one_answers_or_none_is_left() {
        let mut gc = group(RingMethod::Linear, AnswerMethod::HangupOthers, 3);
        gc.call_count = 0;
        assert_eq!(after_call_ended(&gc), AfterEnd::Dial(1));
        gc.dial_index = 1;
        assert_eq!(after_call_ended(&gc), AfterEnd::Dial(2));
        gc.dial_index = 2;
        assert_eq!(after_call_ended(&gc), AfterEnd::Finish);
        // answered: the answered call's end ends the group
        gc.dial_index = 0;
        gc.answer_call_id = Uuid::now_v7();
        assert_eq!(after_call_ended(&gc), AfterEnd::Finish);
        // hung up through the API: no further destination is dialled
        gc.answer_call_id = Uuid::nil();
        gc.status = GroupStatus::Hangingup;
        assert_eq!(after_call_ended(&gc), AfterEnd::Finish);
    }

    #[test]
    fn calls_hung_up_by_the_group_are_cancelled_before_answer() {
        let (a, b, c, d) = (
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
        );
        let calls = [
            (a, Status::Progressing),
            (b, Status::Ringing),
            (c, Status::Hangup),
            (d, Status::Dialing),
        ];
        assert_eq!(
            to_hang_up(&calls, a),
            vec![(b, HangupReason::Cancel), (d, HangupReason::Cancel)]
        );
        assert_eq!(
            to_hang_up(&calls, Uuid::nil())[0],
            (a, HangupReason::Normal)
        );
        assert!(ring_timed_out(Status::Ringing));
        assert!(ring_timed_out(Status::Dialing));
        assert!(!ring_timed_out(Status::Progressing));
        assert!(!ring_timed_out(Status::Hangup));
    }
}
