//! SIP for Voxbin: messages, transactions, dialogs and digest authentication, as a sans-IO
//! core with a thin tokio shell. The SIP edge issue fills this crate; the `sip-edge` role is
//! already listed by `voxbin roles` but does not handle SIP traffic yet.
