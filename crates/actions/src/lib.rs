//! The flow action language: what a flow may say, and the check that a flow says it right.
//!
//! A flow is a JSON list of actions `{id, next_id, type, option}` (the contract's
//! `FlowManagerAction`). This crate owns the 40 [`ActionType`]s, one typed option struct per
//! type (unknown keys refused), how each type is handled ([`Handling`]: the flow engine, the call
//! service, or refused for now), and [`validate_actions`], which `POST /flows` and `PUT /flows/{id}` apply so that a
//! bad flow is refused with a 400 naming the action index and the field (option values the call
//! service could not honour included; `docs/flow-actions.md` lists them). The flow engine reads
//! the normalised actions back with [`Action::typed_option`]. No I/O happens here.

#![warn(missing_docs)]

pub mod action;
#[cfg(test)]
mod contract_coverage;
mod de;
pub mod option;
pub mod types;
pub mod validate;

pub use action::{Action, ID_EMPTY, ID_FINISH, ID_NEXT, ID_START};
pub use option::{ActionOption, IdRef};
pub use types::{ActionType, Handling};
pub use validate::{
    validate_action, validate_actions, validate_actions_from, Origin, MAX_ACTIONS, MAX_NESTING,
    REASON_INVALID_ACTION,
};
