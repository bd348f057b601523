//! Events this service publishes: `flow_created|updated|deleted` and
//! `activeflow_created|updated`, each carrying the resource's public JSON.
//!
//! Publishing is best effort for now: the request already succeeded in the database, so a
//! failed publish is logged, not returned. (Durable delivery through an outbox comes with the
//! bus's outbox in a later issue.)

pub(crate) use voxbin_svc_kit::publish;
