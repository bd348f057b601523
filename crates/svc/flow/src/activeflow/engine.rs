//! The flow execution engine, without I/O.
//!
//! An [`Engine`] borrows one activeflow and its variables for one step. The shell feeds an
//! [`Input`] (start, "the call service finished the current action", a jump, a pushed stack,
//! stop, ...) and the engine runs control actions until it reaches an action the call service
//! must execute, a `block`, or the end of the flow. When a control action needs the outside
//! world (an HTTP fetch, another flow's actions, a synchronous webhook) the engine answers
//! [`Poll::Io`] and waits for [`Engine::resume`] with the [`Reply`]; fire-and-forget work
//! (asynchronous webhooks, the `on_complete_flow_id` flow) is collected as [`Effect`]s the shell
//! performs after the step is saved. Time comes in as a value, so `condition_datetime` and
//! `tm_execute` are deterministic under test.
//!
//! Movement: an action's `next_id` wins, else the next element of its stack; a stack that runs
//! out returns to the stack below, after the action that pushed it; the main stack running out
//! finishes the flow. Jumps (goto, branch, conditions, forwards) look for the target in the
//! current stack, then down the return chain (dropping the stacks above), then in any stack.
//!
//! Budgets: at most `max_actions_per_run` control actions per step and `max_actions_total`
//! actions over the activeflow's life; exceeding either stops the activeflow with the reason
//! recorded, never a silent cap.
//!
//! Where this engine differs from VoIPBIN's on purpose: budgets are configuration and end the
//! activeflow with a reason (not a hard 100-action stop); a call action reached by a non-call
//! activeflow ends it with a reason (not a silent skip); a `branch` that matches nothing and
//! has no default goes on to the next action (not the end of the flow); a failed `fetch` or
//! `fetch_flow` ends the activeflow with the reason; `variable_set` of a `voipbin.*` key ends
//! it with the reason (flow creation already refuses a literal one).

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde_json::{json, Value};
use uuid::Uuid;
use voxbin_actions::option::{
    Condition, HttpMethod, OptionConditionDatetime, OptionConditionVariable, ValueType,
};
use voxbin_actions::{
    validate_actions_from, Action, ActionOption, ActionType, Handling, Origin, ID_EMPTY, ID_FINISH,
    ID_NEXT, ID_START,
};
use voxbin_core::{clock, Error, Result};

use super::http::{HttpRequest, HttpResponse};
use super::model::{
    Activeflow, ActiveflowStatus, ReferenceType, Stack, MAIN_STACK_ID, MAX_EXECUTED_KEPT,
};
use super::variables::{Lookup, Variables};

/// Longest end reason kept (the column holds 1024 characters).
const MAX_REASON_BYTES: usize = 1000;
/// Deepest return chain a jump searches (VoIPBIN's bound).
const MAX_CHAIN: usize = 100;

/// The engine's budgets (`flow.*` configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Control actions one step may run.
    pub max_actions_per_run: u64,
    /// Actions one activeflow may run over its life.
    pub max_actions_total: u64,
}

impl Limits {
    /// The budgets of a configuration.
    pub fn from_config(flow: &voxbin_core::config::FlowConfig) -> Limits {
        Limits {
            max_actions_per_run: flow.max_actions_per_run,
            max_actions_total: flow.max_actions_total,
        }
    }
}

/// What happened to the activeflow from outside.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// Run from the cursor (a fresh activeflow starts; an action handed out is handed again).
    Execute,
    /// The call service finished `action_id` (the current action), with result variables
    /// (built-ins allowed, e.g. `voipbin.call.digits`).
    Next {
        /// The action the caller finished.
        action_id: Uuid,
        /// Variables to set before moving on.
        variables: BTreeMap<String, String>,
    },
    /// Jump to `action_id` when the current action finishes.
    Forward {
        /// The target action.
        action_id: Uuid,
    },
    /// A service pushes its own stack, run next; it returns after the current action.
    Push {
        /// The stack's id (the service's id).
        stack_id: Uuid,
        /// Its actions (validated).
        actions: Vec<Action>,
    },
    /// Insert actions right after the current one, in the current stack.
    Add {
        /// The actions (validated).
        actions: Vec<Action>,
    },
    /// Leave the `block` action `action_id` and run on.
    Continue {
        /// The block being left.
        action_id: Uuid,
    },
    /// A service is done with its stack: drop it; the flow goes on after the pushing action.
    PopStack {
        /// The stack to drop.
        stack_id: Uuid,
    },
    /// End the activeflow.
    Stop {
        /// Why (recorded on the activeflow).
        reason: String,
    },
}

/// Outside work the engine waits for before it goes on.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// `fetch`: get the actions to push.
    Fetch(HttpRequest),
    /// A synchronous `webhook_send`.
    Webhook(HttpRequest),
    /// `fetch_flow`: the actions of this flow (of the activeflow's customer).
    LoadFlow {
        /// The flow to load.
        flow_id: Uuid,
    },
}

/// The answer to a [`Request`].
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// The HTTP answer, or why there is none.
    Http(std::result::Result<HttpResponse, String>),
    /// The flow's actions, or why there are none.
    Flow(std::result::Result<Vec<Action>, String>),
}

/// Work for the shell once the step is saved.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// An asynchronous `webhook_send`.
    Webhook(HttpRequest),
    /// Start `flow_id` on the same reference (`on_complete_flow_id`).
    StartFlow {
        /// The flow to start.
        flow_id: Uuid,
    },
}

/// Where a step left the activeflow.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The call service must execute this action (options substituted), then call `next`.
    Execute(Action),
    /// Paused on a `block` until `continue`.
    Blocked(Action),
    /// The state changed (a jump, a stack) but nothing runs until the current action ends.
    Waiting,
    /// The activeflow ended.
    Ended {
        /// Why.
        reason: String,
    },
}

/// The engine's answer to an input or a reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Poll {
    /// Do this and [`Engine::resume`] with the answer.
    Io(Request),
    /// The step is over.
    Done(Outcome),
}

/// What a control action asks the run loop to do.
enum Flow {
    /// Go on with the next action.
    Next,
    /// Wait for outside work.
    Io(Request),
    /// Pause here.
    Block,
    /// End the activeflow.
    End(String),
}

/// One step of one activeflow: see the module documentation.
pub struct Engine<'a> {
    af: &'a mut Activeflow,
    vars: &'a mut Variables,
    limits: Limits,
    now: DateTime<Utc>,
    now_text: String,
    ran: u64,
    effects: Vec<Effect>,
    pending: Option<Request>,
    /// The action under the cursor, kept typed during the step and written back to
    /// `af.current_action` once at its end (the JSON round trip per action is the hot path).
    cursor: Option<Action>,
    cursor_dirty: bool,
}

impl<'a> Engine<'a> {
    /// An engine over `af` and `vars` at time `now`.
    pub fn new(
        af: &'a mut Activeflow,
        vars: &'a mut Variables,
        limits: Limits,
        now: DateTime<Utc>,
    ) -> Engine<'a> {
        let cursor = serde_json::from_value(af.current_action.clone()).ok();
        Engine {
            af,
            vars,
            limits,
            now,
            now_text: clock::format(now),
            ran: 0,
            effects: Vec::new(),
            pending: None,
            cursor,
            cursor_dirty: false,
        }
    }

    /// Control actions run in this step so far.
    pub fn control_actions_run(&self) -> u64 {
        self.ran
    }

    /// The effects collected so far (take them once the step is saved).
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// Feeds one input. Errors (stale action id, unknown target, ended activeflow) change
    /// nothing.
    pub fn handle(&mut self, input: Input) -> Result<Poll> {
        let poll = self.handle_input(input);
        self.flush_cursor();
        poll
    }

    /// Feeds the answer to the last [`Poll::Io`] and runs on.
    pub fn resume(&mut self, reply: Reply) -> Result<Poll> {
        let poll = self.resume_reply(reply);
        self.flush_cursor();
        poll
    }

    fn flush_cursor(&mut self) {
        if self.cursor_dirty {
            self.cursor_dirty = false;
            self.af.current_action = serde_json::to_value(&self.cursor).unwrap_or(Value::Null);
        }
    }

    fn handle_input(&mut self, input: Input) -> Result<Poll> {
        if self.pending.is_some() {
            return Err(Error::internal(
                "the engine waits for a reply, not an input",
            ));
        }
        if self.af.status == ActiveflowStatus::Ended {
            return match input {
                Input::Stop { .. } => Ok(Poll::Done(Outcome::Ended {
                    reason: self.af.end_reason.clone(),
                })),
                _ => Err(ended_error(self.af)),
            };
        }
        match input {
            Input::Execute => match self.current() {
                None => Ok(self.run()),
                Some(action) => match action.r#type.handling() {
                    Handling::Call => Ok(Poll::Done(Outcome::Execute(action))),
                    _ if action.r#type == ActionType::Block => {
                        Ok(Poll::Done(Outcome::Blocked(action)))
                    }
                    _ => Ok(self.run()),
                },
            },
            Input::Next {
                action_id,
                variables,
            } => {
                let current = self.current_id();
                if action_id != current {
                    return Err(conflict(
                        "STALE_ACTION",
                        format!(
                            "action {action_id} is not the current action ({current}); it \
                             already moved on"
                        ),
                    ));
                }
                if self
                    .current()
                    .is_some_and(|a| a.r#type == ActionType::Block)
                {
                    return Err(conflict(
                        "BLOCKED",
                        "the current action is a block; it is left with continue",
                    ));
                }
                for (key, value) in &variables {
                    self.vars
                        .set_internal(key, value)
                        .map_err(|e| Error::invalid_argument("INVALID_VARIABLE", e))?;
                }
                Ok(self.run())
            }
            Input::Forward { action_id } => {
                let (stack, id) = self.resolve(action_id).ok_or_else(|| {
                    not_found(
                        "ACTION_NOT_FOUND",
                        format!("no action {action_id} in this activeflow's stacks"),
                    )
                })?;
                self.af.forward_stack_id = stack;
                self.af.forward_action_id = id;
                Ok(Poll::Done(Outcome::Waiting))
            }
            Input::Push { stack_id, actions } => {
                if stack_id.is_nil() || self.af.stack_map.contains_key(&stack_id) {
                    return Err(conflict(
                        "STACK_EXISTS",
                        format!("stack {stack_id} is already pushed (or is reserved)"),
                    ));
                }
                if actions.is_empty() {
                    return Err(Error::invalid_argument(
                        "INVALID_ARGUMENT",
                        "actions: a pushed stack needs at least one action",
                    ));
                }
                self.push_stack(stack_id, actions);
                Ok(Poll::Done(Outcome::Waiting))
            }
            Input::Add { actions } => {
                self.add_actions(actions)?;
                Ok(Poll::Done(Outcome::Waiting))
            }
            Input::Continue { action_id } => match self.current() {
                Some(a) if a.r#type == ActionType::Block && a.id == action_id => Ok(self.run()),
                _ => Err(conflict(
                    "NOT_BLOCKED",
                    format!("the activeflow is not blocked on action {action_id}"),
                )),
            },
            Input::PopStack { stack_id } => {
                self.pop_stack(stack_id)?;
                Ok(Poll::Done(Outcome::Waiting))
            }
            Input::Stop { reason } => Ok(self.end(reason)),
        }
    }

    fn resume_reply(&mut self, reply: Reply) -> Result<Poll> {
        let Some(request) = self.pending.take() else {
            return Err(Error::internal("the engine waits for no reply"));
        };
        let flow = match (request, reply) {
            (Request::Fetch(req), Reply::Http(Ok(resp))) => self.fetched(&req, resp),
            (Request::Fetch(req), Reply::Http(Err(e))) => {
                Flow::End(format!("fetch {} failed: {e}", req.url))
            }
            (Request::LoadFlow { .. }, Reply::Flow(Ok(actions))) => {
                if !actions.is_empty() {
                    self.push_stack(voxbin_core::id::new_id(), actions);
                }
                Flow::Next
            }
            (Request::LoadFlow { flow_id }, Reply::Flow(Err(e))) => {
                Flow::End(format!("fetch_flow {flow_id} failed: {e}"))
            }
            // A synchronous webhook waits for its answer; like VoIPBIN, a failed one does not
            // stop the flow (the shell logs it).
            (Request::Webhook(_), Reply::Http(_)) => Flow::Next,
            (request, reply) => {
                return Err(Error::internal(format!(
                    "reply {reply:?} does not answer {request:?}"
                )))
            }
        };
        Ok(match flow {
            Flow::Next => self.run(),
            Flow::End(reason) => self.end(reason),
            Flow::Io(request) => {
                self.pending = Some(request.clone());
                Poll::Io(request)
            }
            Flow::Block => Poll::Done(Outcome::Blocked(self.current().unwrap_or_else(block))),
        })
    }

    /// The action under the cursor; `None` on the start action.
    fn current(&self) -> Option<Action> {
        self.cursor.clone()
    }

    fn current_id(&self) -> Uuid {
        self.cursor.as_ref().map_or(ID_START, |a| a.id)
    }

    /// Runs actions until one needs the call service, a block, outside work, or the end.
    fn run(&mut self) -> Poll {
        loop {
            let (stack_id, stored) = match self.advance() {
                Ok(Some(found)) => found,
                Ok(None) => return self.end("the flow finished".into()),
                Err(reason) => return self.end(reason),
            };
            let action = self.enter(stack_id, stored);
            if self.af.execute_count as u64 > self.limits.max_actions_total {
                return self.end(format!(
                    "action budget exhausted: {} actions executed in this activeflow's life \
                     (flow.max_actions_total = {})",
                    self.af.execute_count - 1,
                    self.limits.max_actions_total
                ));
            }
            match action.r#type.handling() {
                Handling::Call => {
                    if self.af.reference_type != ReferenceType::Call {
                        return self.end(format!(
                            "action {} ({}) needs a call, but this activeflow runs against a \
                             {} reference",
                            action.id,
                            action.r#type,
                            self.af.reference_type.as_str()
                        ));
                    }
                    return Poll::Done(Outcome::Execute(action));
                }
                Handling::Unsupported(why) => {
                    return self.end(format!(
                        "action {} ({}) is not supported: {why}",
                        action.id, action.r#type
                    ))
                }
                Handling::Control | Handling::Internal => {}
            }
            if self.ran >= self.limits.max_actions_per_run {
                return self.end(format!(
                    "runaway flow stopped: {} control actions in one run without reaching a \
                     call action (flow.max_actions_per_run = {}); last action {} ({})",
                    self.ran, self.limits.max_actions_per_run, action.id, action.r#type
                ));
            }
            self.ran += 1;
            match self.control(stack_id, &action) {
                Flow::Next => {}
                Flow::Io(request) => {
                    self.pending = Some(request.clone());
                    return Poll::Io(request);
                }
                Flow::Block => return Poll::Done(Outcome::Blocked(action)),
                Flow::End(reason) => return self.end(reason),
            }
        }
    }

    /// The next action to run (stack id, stored action), or `None` when the flow finished.
    fn advance(&mut self) -> std::result::Result<Option<(Uuid, Action)>, String> {
        let forward = (self.af.forward_stack_id, self.af.forward_action_id);
        if !forward.1.is_nil() {
            self.af.forward_stack_id = Uuid::nil();
            self.af.forward_action_id = Uuid::nil();
            if forward.1 == ID_FINISH {
                return Ok(None);
            }
            return match self.find(forward.0, forward.1) {
                Some(i) => Ok(Some((
                    forward.0,
                    self.af.stack_map[&forward.0].actions[i].clone(),
                ))),
                None => Err(format!(
                    "the jump target {} is gone from stack {}",
                    forward.1, forward.0
                )),
            };
        }
        let stack = self.af.current_stack_id;
        let (current, next_id) = match &self.cursor {
            Some(a) => (a.id, a.next_id),
            None => return Ok(self.first_of(stack)),
        };
        self.after(stack, current, next_id)
    }

    /// Where to go after action `id` (with `next_id`) of `stack`.
    fn after(
        &mut self,
        mut stack: Uuid,
        mut id: Uuid,
        mut next_id: Uuid,
    ) -> std::result::Result<Option<(Uuid, Action)>, String> {
        for _ in 0..=MAX_CHAIN {
            if next_id == ID_FINISH {
                return Ok(None);
            }
            if next_id == ID_START {
                return Ok(self.first_of(stack));
            }
            if !next_id.is_nil() && next_id != ID_NEXT {
                let (s, target) = self
                    .resolve(next_id)
                    .ok_or_else(|| format!("next_id {next_id} of action {id} points nowhere"))?;
                self.drop_above(s);
                let i = self.find(s, target).ok_or("the next action vanished")?;
                return Ok(Some((s, self.af.stack_map[&s].actions[i].clone())));
            }
            let Some(actions) = self.af.stack_map.get(&stack).map(|s| &s.actions) else {
                return Err(format!("stack {stack} is gone"));
            };
            let position = if id == ID_START {
                Some(0)
            } else {
                actions.iter().position(|a| a.id == id).map(|i| i + 1)
            };
            if let Some(action) = position.and_then(|i| actions.get(i)) {
                return Ok(Some((stack, action.clone())));
            }
            // This stack ran out: return to the one below, after the pushing action.
            if stack == MAIN_STACK_ID {
                return Ok(None);
            }
            let Some(done) = self.af.stack_map.remove(&stack) else {
                return Err(format!("stack {stack} is gone"));
            };
            stack = done.return_stack_id;
            // Jumps from here on search from the stack the flow returned to.
            self.af.current_stack_id = stack;
            id = done.return_action_id;
            next_id = self
                .af
                .stack_map
                .get(&stack)
                .and_then(|s| s.actions.iter().find(|a| a.id == id))
                .map_or(ID_EMPTY, |a| a.next_id);
        }
        Err("stacks nest deeper than 100".into())
    }

    fn first_of(&self, stack: Uuid) -> Option<(Uuid, Action)> {
        let first = self.af.stack_map.get(&stack)?.actions.first()?.clone();
        Some((stack, first))
    }

    fn find(&self, stack: Uuid, id: Uuid) -> Option<usize> {
        self.af
            .stack_map
            .get(&stack)?
            .actions
            .iter()
            .position(|a| a.id == id)
    }

    /// The stack holding `id`: the current stack, then down the return chain, then any.
    fn resolve(&self, id: Uuid) -> Option<(Uuid, Uuid)> {
        if id == ID_FINISH {
            return Some((self.af.current_stack_id, ID_FINISH));
        }
        let mut stack = self.af.current_stack_id;
        for _ in 0..MAX_CHAIN {
            if self.find(stack, id).is_some() {
                return Some((stack, id));
            }
            match self.af.stack_map.get(&stack) {
                Some(s) if !s.return_stack_id.is_nil() => stack = s.return_stack_id,
                _ => break,
            }
        }
        self.af
            .stack_map
            .iter()
            .find(|(_, s)| s.actions.iter().any(|a| a.id == id))
            .map(|(sid, _)| (*sid, id))
    }

    /// Leaving for `target` down the return chain: drop the stacks above it.
    fn drop_above(&mut self, target: Uuid) {
        let mut stack = self.af.current_stack_id;
        let mut chain = Vec::new();
        for _ in 0..MAX_CHAIN {
            if stack == target {
                for s in chain {
                    self.af.stack_map.remove(&s);
                }
                return;
            }
            match self.af.stack_map.get(&stack) {
                Some(s) if !s.return_stack_id.is_nil() => {
                    chain.push(stack);
                    stack = s.return_stack_id;
                }
                _ => return,
            }
        }
    }

    /// Puts the cursor on `stored` and returns the copy to run, options substituted.
    fn enter(&mut self, stack: Uuid, stored: Action) -> Action {
        let mut action = stored;
        let lookup = Lookup {
            af: self.af,
            vars: self.vars,
            action_id: action.id,
            now: &self.now_text,
        };
        if let Some(option) = lookup.substitute_value(&action.option) {
            action.option = option;
        }
        action.tm_execute = Some(self.now_text.clone());
        self.af.current_stack_id = stack;
        self.cursor = Some(action.clone());
        self.cursor_dirty = true;
        self.af.execute_count += 1;
        if self.af.executed_actions.len() >= MAX_EXECUTED_KEPT {
            self.af.executed_actions.remove(0);
        }
        self.af.executed_actions.push(action.clone());
        action
    }

    /// Jumps to `target` (reserved ids included) when the current action is done.
    fn jump(&mut self, target: Uuid) -> Flow {
        if target == ID_NEXT {
            return Flow::Next;
        }
        if target == ID_FINISH {
            return Flow::End("the flow finished (jump to finish)".into());
        }
        if target == ID_START {
            let stack = self.af.current_stack_id;
            return match self.first_of(stack) {
                Some((s, a)) => {
                    self.af.forward_stack_id = s;
                    self.af.forward_action_id = a.id;
                    Flow::Next
                }
                None => Flow::End("the flow finished".into()),
            };
        }
        match self.resolve(target) {
            Some((stack, id)) => {
                self.drop_above(stack);
                self.af.forward_stack_id = stack;
                self.af.forward_action_id = id;
                Flow::Next
            }
            None => Flow::End(format!("jump target {target} is in no stack")),
        }
    }

    fn push_stack(&mut self, stack_id: Uuid, actions: Vec<Action>) {
        let first = actions.first().map_or(ID_FINISH, |a| a.id);
        let stack = Stack {
            id: stack_id,
            actions,
            return_stack_id: self.af.current_stack_id,
            return_action_id: self.current_id(),
        };
        self.af.stack_map.insert(stack_id, stack);
        self.af.forward_stack_id = stack_id;
        self.af.forward_action_id = first;
    }

    fn add_actions(&mut self, actions: Vec<Action>) -> Result<()> {
        let current = self.current_id();
        let stack = self
            .af
            .stack_map
            .get_mut(&self.af.current_stack_id)
            .ok_or_else(|| Error::internal("the current stack is missing"))?;
        if let Some(dup) = actions
            .iter()
            .find(|a| stack.actions.iter().any(|b| b.id == a.id))
        {
            return Err(conflict(
                "DUPLICATE_ACTION_ID",
                format!("action id {} is already in the current stack", dup.id),
            ));
        }
        let at = if current == ID_START {
            0
        } else {
            stack
                .actions
                .iter()
                .position(|a| a.id == current)
                .map_or(stack.actions.len(), |i| i + 1)
        };
        stack.actions.splice(at..at, actions);
        Ok(())
    }

    fn pop_stack(&mut self, stack_id: Uuid) -> Result<()> {
        if stack_id == MAIN_STACK_ID {
            return Err(Error::invalid_argument(
                "INVALID_ARGUMENT",
                "the main stack cannot be popped",
            ));
        }
        let Some(stack) = self.af.stack_map.get(&stack_id).cloned() else {
            return Err(not_found(
                "STACK_NOT_FOUND",
                format!("no stack {stack_id} in this activeflow"),
            ));
        };
        // Is the cursor in this stack or in one pushed above it?
        let mut inside = false;
        let mut s = self.af.current_stack_id;
        for _ in 0..MAX_CHAIN {
            if s == stack_id {
                inside = true;
                break;
            }
            match self.af.stack_map.get(&s) {
                Some(st) if !st.return_stack_id.is_nil() => s = st.return_stack_id,
                _ => break,
            }
        }
        if inside {
            // Resume after the pushing action: computed now, taken when the current ends.
            let return_next = self
                .af
                .stack_map
                .get(&stack.return_stack_id)
                .and_then(|s| s.actions.iter().find(|a| a.id == stack.return_action_id))
                .map_or(ID_EMPTY, |a| a.next_id);
            self.drop_above(stack_id);
            self.af.stack_map.remove(&stack_id);
            self.af.current_stack_id = stack.return_stack_id;
            let target = self.after(stack.return_stack_id, stack.return_action_id, return_next);
            match target {
                Ok(Some((s, a))) => {
                    self.af.forward_stack_id = s;
                    self.af.forward_action_id = a.id;
                }
                Ok(None) => {
                    self.af.forward_stack_id = Uuid::nil();
                    self.af.forward_action_id = ID_FINISH;
                }
                Err(e) => return Err(Error::internal(e)),
            }
        } else {
            self.af.stack_map.remove(&stack_id);
            if self.af.forward_stack_id == stack_id {
                self.af.forward_stack_id = Uuid::nil();
                self.af.forward_action_id = Uuid::nil();
            }
        }
        Ok(())
    }

    /// Ends the activeflow, once; queues the `on_complete_flow_id` flow.
    fn end(&mut self, mut reason: String) -> Poll {
        if reason.len() > MAX_REASON_BYTES {
            let mut cut = MAX_REASON_BYTES;
            while !reason.is_char_boundary(cut) {
                cut -= 1;
            }
            reason.truncate(cut);
            reason.push('…');
        }
        if self.af.status != ActiveflowStatus::Ended {
            self.af.status = ActiveflowStatus::Ended;
            self.af.end_reason = reason.clone();
            self.af.forward_stack_id = Uuid::nil();
            self.af.forward_action_id = Uuid::nil();
            if !self.af.on_complete_flow_id.is_nil() {
                self.effects.push(Effect::StartFlow {
                    flow_id: self.af.on_complete_flow_id,
                });
            }
        }
        Poll::Done(Outcome::Ended {
            reason: self.af.end_reason.clone(),
        })
    }

    /// Runs one control action.
    fn control(&mut self, stack: Uuid, action: &Action) -> Flow {
        if action.r#type == ActionType::Block {
            return Flow::Block;
        }
        if action.r#type == ActionType::Empty {
            return Flow::Next;
        }
        let option = match action.typed_option() {
            Ok(option) => option,
            Err(e) => {
                return Flow::End(format!(
                    "action {} ({}) has a bad option after substitution: {}",
                    action.id, action.r#type, e.message
                ))
            }
        };
        let lookup = |vars: &Variables, af: &Activeflow, name: &str| -> String {
            Lookup {
                af,
                vars,
                action_id: action.id,
                now: &self.now_text,
            }
            .value(name)
            .into_owned()
        };
        match option {
            ActionOption::Goto(o) => {
                if o.loop_count == 0 {
                    return Flow::Next;
                }
                // The stored copy counts down, so the loop ends even across steps.
                if let Some(i) = self.find(stack, action.id) {
                    if let Some(stored) = self.af.stack_map.get_mut(&stack) {
                        if let Some(option) = stored.actions[i].option.as_object_mut() {
                            option.insert("loop_count".into(), json!(o.loop_count - 1));
                        }
                    }
                }
                self.jump(o.target_id)
            }
            ActionOption::Branch(o) => {
                let value = lookup(self.vars, self.af, &o.variable);
                // Consumed, as VoIPBIN does, so a menu loop reads fresh digits next time.
                self.vars.remove(&o.variable);
                match o.target_ids.get(&value).copied().or(o.default_target_id) {
                    Some(target) => self.jump(target),
                    None => Flow::Next,
                }
            }
            ActionOption::ConditionVariable(o) => {
                if condition_variable(&o) {
                    Flow::Next
                } else {
                    self.jump(o.false_target_id)
                }
            }
            ActionOption::ConditionDatetime(o) => {
                if condition_datetime(&o, self.now) {
                    Flow::Next
                } else {
                    self.jump(o.false_target_id)
                }
            }
            ActionOption::ConditionCallDigits(o) => {
                let digits = lookup(self.vars, self.af, "voipbin.call.digits");
                let by_length = o
                    .length
                    .is_some_and(|n| n > 0 && digits.chars().count() >= n as usize);
                let by_key = o
                    .key
                    .as_deref()
                    .is_some_and(|k| digits.chars().any(|c| k.contains(c)));
                let unconditioned = o.length.unwrap_or(0) == 0 && o.key.is_none();
                if by_length || by_key || (unconditioned && !digits.is_empty()) {
                    Flow::Next
                } else {
                    self.jump(o.false_target_id)
                }
            }
            ActionOption::ConditionCallStatus(o) => {
                let status = lookup(self.vars, self.af, "voipbin.call.status");
                let wanted = serde_json::to_value(o.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                if status == wanted {
                    Flow::Next
                } else {
                    self.jump(o.false_target_id)
                }
            }
            ActionOption::VariableSet(o) => match self.vars.set_user(&o.key, &o.value) {
                Ok(()) => Flow::Next,
                Err(e) => Flow::End(format!("variable_set {} failed: {e}", action.id)),
            },
            ActionOption::Stop(_) => Flow::End(format!("stopped by the stop action {}", action.id)),
            ActionOption::Fetch(o) => {
                let method = o.event_method.unwrap_or(HttpMethod::Get);
                let (url, body) = self.fetch_target(&o.event_url, method);
                Flow::Io(Request::Fetch(HttpRequest {
                    method,
                    url,
                    content_type: body.as_ref().map(|_| "application/json".to_owned()),
                    body,
                }))
            }
            ActionOption::FetchFlow(o) => match Uuid::parse_str(&o.flow_id.to_string()) {
                Ok(flow_id) if !flow_id.is_nil() => Flow::Io(Request::LoadFlow { flow_id }),
                _ => Flow::End(format!(
                    "fetch_flow {}: {:?} is not a flow id",
                    action.id,
                    o.flow_id.to_string()
                )),
            },
            ActionOption::WebhookSend(o) => {
                let request = HttpRequest {
                    method: o.method.unwrap_or(HttpMethod::Post),
                    url: o.uri,
                    content_type: o.data.as_ref().map(|_| {
                        o.data_type
                            .clone()
                            .unwrap_or_else(|| "application/json".to_owned())
                    }),
                    body: o.data,
                };
                if o.sync {
                    Flow::Io(Request::Webhook(request))
                } else {
                    self.effects.push(Effect::Webhook(request));
                    Flow::Next
                }
            }
            other => Flow::End(format!(
                "action {} ({}) is not a control action",
                action.id,
                other.action_type()
            )),
        }
    }

    /// A fetch's URL and body: `{activeflow_id, reference_type, reference_id}` as JSON for
    /// POST/PUT, as query parameters for GET/DELETE.
    fn fetch_target(&self, url: &str, method: HttpMethod) -> (String, Option<String>) {
        let af = &*self.af;
        match method {
            HttpMethod::Get | HttpMethod::Delete => {
                let sep = if url.contains('?') { '&' } else { '?' };
                (
                    format!(
                        "{url}{sep}activeflow_id={}&reference_type={}&reference_id={}",
                        af.id,
                        af.reference_type.as_str(),
                        af.reference_id
                    ),
                    None,
                )
            }
            HttpMethod::Post | HttpMethod::Put => (
                url.to_owned(),
                Some(
                    json!({
                        "activeflow_id": af.id,
                        "flow_id": af.flow_id,
                        "reference_type": af.reference_type.as_str(),
                        "reference_id": af.reference_id,
                    })
                    .to_string(),
                ),
            ),
        }
    }

    /// Pushes the actions a fetch returned: a JSON array of actions, or `{"actions": [...]}`,
    /// validated like a customer's flow.
    fn fetched(&mut self, req: &HttpRequest, resp: HttpResponse) -> Flow {
        if !(200..300).contains(&resp.status) {
            return Flow::End(format!("fetch {} answered HTTP {}", req.url, resp.status));
        }
        let value: Value = match serde_json::from_str(&resp.body) {
            Ok(v) => v,
            Err(e) => return Flow::End(format!("fetch {} returned no JSON: {e}", req.url)),
        };
        let list = match value {
            Value::Object(mut map) => map.remove("actions").unwrap_or(Value::Null),
            other => other,
        };
        match validate_actions_from(&list, Origin::Flow) {
            Ok(actions) => {
                if !actions.is_empty() {
                    self.push_stack(voxbin_core::id::new_id(), actions);
                }
                Flow::Next
            }
            Err(e) => Flow::End(format!(
                "fetch {} returned bad actions: {}",
                req.url, e.message
            )),
        }
    }
}

/// A `block` placeholder for the (unreachable) case of a vanished current action.
fn block() -> Action {
    Action {
        id: ID_EMPTY,
        next_id: ID_EMPTY,
        r#type: ActionType::Block,
        option: json!({}),
        tm_execute: None,
    }
}

/// A 409: the activeflow is not in a state that allows the input.
fn conflict(reason: &str, message: impl Into<String>) -> Error {
    Error::new(voxbin_core::ErrorKind::FailedPrecondition, reason, message)
}

/// A 404 for a part of the activeflow (an action, a stack).
fn not_found(reason: &str, message: impl Into<String>) -> Error {
    Error::new(voxbin_core::ErrorKind::NotFound, reason, message)
}

fn ended_error(af: &Activeflow) -> Error {
    conflict(
        "ACTIVEFLOW_ENDED",
        format!("the activeflow has ended: {}", af.end_reason),
    )
}

fn compare<T: PartialOrd>(condition: Condition, left: T, right: T) -> bool {
    match condition {
        Condition::Equal => left == right,
        Condition::NotEqual => left != right,
        Condition::Greater => left > right,
        Condition::GreaterEqual => left >= right,
        Condition::Less => left < right,
        Condition::LessEqual => left <= right,
    }
}

/// `condition_variable`: `variable` (already substituted) against the typed operand; a value
/// that is not a number never matches a number comparison.
fn condition_variable(o: &OptionConditionVariable) -> bool {
    match o.value_type {
        ValueType::String => compare(
            o.condition,
            o.variable.as_str(),
            o.value_string.as_deref().unwrap_or(""),
        ),
        ValueType::Number => match o.variable.trim().parse::<f64>() {
            Ok(n) => compare(o.condition, n, o.value_number.unwrap_or(0.0)),
            Err(_) => false,
        },
        ValueType::Length => compare(
            o.condition,
            o.variable.chars().count() as u64,
            u64::from(o.value_length.unwrap_or(0)),
        ),
    }
}

/// `condition_datetime` in UTC: the weekday must be listed (an empty list allows any day),
/// and the set fields (month, day, hour, minute, left to right) compare as one tuple, so
/// `>= 8:30` matches 9:10.
fn condition_datetime(o: &OptionConditionDatetime, now: DateTime<Utc>) -> bool {
    let weekday = now.weekday().num_days_from_sunday() as u8;
    if !o.weekdays.is_empty() && !o.weekdays.contains(&weekday) {
        return false;
    }
    let mut left = Vec::new();
    let mut right = Vec::new();
    for (set, value, actual) in [
        (o.month > 0, o.month, now.month() as i32),
        (o.day > 0, o.day, now.day() as i32),
        (o.hour >= 0, o.hour, now.hour() as i32),
        (o.minute >= 0, o.minute, now.minute() as i32),
    ] {
        if set {
            left.push(actual);
            right.push(value);
        }
    }
    compare(o.condition, left, right)
}
