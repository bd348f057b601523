//! Group calls (`call_groupcalls`): one request dials several destinations as outgoing calls
//! that each carry the group's id (`groupcall_id`), all at once (`ring_all`: the first to
//! answer wins) or one after another (`linear`: each rings for [`run::RING_TIMEOUT`] until
//! one answers). With `answer_method: hangup_others` the other calls are hung up once one
//! answers (cancelled while they ring). The answered call runs the group's flow.
//!
//! | route | does |
//! |---|---|
//! | `GET /v1/groupcalls`, `GET /v1/groupcalls/{id}` | list, read |
//! | `POST /v1/groupcalls` | create and dial |
//! | `DELETE /v1/groupcalls/{id}` | soft-delete a finished group call (409 while live) |
//! | `POST /v1/groupcalls/{id}/hangup` | hang up all its calls |
//! | `POST /v1/groupcalls/{id}/ring_timeout` | internal timer: give up a call still ringing |
//!
//! An `agent` destination of `POST /v1/calls` becomes a group call of the agent's addresses
//! ([`agent`]), returned in the answer's `groupcalls`.
//!
//! Events `groupcall_created`, `groupcall_progressing` (a call answered), `groupcall_hangup`
//! and `groupcall_deleted` go out through the outbox with the change they report. The ring
//! decisions are in [`ring`] (no I/O); [`run`] applies them; the call driver reports its
//! calls' answers and ends ([`call_answered`], [`call_ended`]).

pub mod agent;
pub mod handlers;
pub mod model;
pub mod ring;
pub mod run;
mod store;
#[cfg(test)]
mod tests;

pub use model::{AnswerMethod, GroupStatus, Groupcall, RingMethod};
pub use run::{call_answered, call_ended};
