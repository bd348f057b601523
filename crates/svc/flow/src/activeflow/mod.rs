//! Activeflows: runs of a flow against a reference such as a call (`flow_activeflows`),
//! served on `/v1/activeflows`.
//!
//! Today an activeflow is created in `running` with the flow's actions as its main stack and
//! the cursor on the start action, and can be listed, read and stopped. The execution engine
//! that moves the cursor comes in a later issue; the row already holds everything it needs
//! (stack map, current stack and action, forward target, execute count, executed actions).

pub(crate) mod handlers;
pub mod model;
pub(crate) mod store;
#[cfg(test)]
mod tests;

pub use model::{Activeflow, ActiveflowStatus, ReferenceType, Stack, MAIN_STACK_ID};
