//! The timeline service: per-resource event history from the event stream.
