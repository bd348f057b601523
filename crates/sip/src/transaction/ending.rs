//! How client and server transactions end alike: the give-up timer (B, F, H), the linger
//! timer (D, I, J, K) and a failed transport.

use crate::transaction::key::TxKey;
use crate::transaction::timer::TimerKind;
use crate::transaction::{Output, TxEvent};

/// The ending shared by both sides of a transaction.
pub(crate) trait Ending {
    /// The transaction's key, for the events told to the TU.
    fn key(&self) -> &TxKey;

    /// True once finished.
    fn is_terminated(&self) -> bool;

    /// Moves to Terminated and disarms every timer.
    fn terminate(&mut self);

    /// The give-up or linger timer fired: ends the transaction, telling the TU of a timeout
    /// when `report` (the side still waited for an answer).
    fn timer_ended(&mut self, kind: TimerKind, report: bool, out: &mut Vec<Output>) {
        if kind == TimerKind::Timeout && report {
            out.push(Output::Event(TxEvent::Timeout {
                key: self.key().clone(),
            }));
        }
        self.terminate();
    }

    /// The transport toward the peer failed: the TU hears of it once, and the transaction ends.
    fn transport_failed(&mut self, out: &mut Vec<Output>) {
        if !self.is_terminated() {
            out.push(Output::Event(TxEvent::TransportFailed {
                key: self.key().clone(),
            }));
            self.terminate();
        }
    }
}
