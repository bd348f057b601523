//! Re-exported so the binary and the services share one definition.

pub use voxbin_svc_kit::Deps;
