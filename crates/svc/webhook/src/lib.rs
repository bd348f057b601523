//! The webhook service: durable, signed, retried delivery of every event to customers' webhook URIs.
