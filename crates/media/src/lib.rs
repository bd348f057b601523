//! Media for Voxbin: the sans-IO media core. Every module turns input bytes, samples and
//! caller-supplied time into output bytes, samples and events, without sockets or clocks, so
//! the `media` and `rtp-relay` roles wrap them in a thin tokio shell. Hot paths (RTP parse and
//! write, G.711, jitter buffer, mixer) work on preallocated buffers and do not allocate.

pub mod dtmf;
#[cfg(feature = "runtime")]
pub mod engine;
pub mod g711;
pub mod jitter;
pub mod mixer;
pub mod player;
pub mod recorder;
pub mod relay;
pub mod rtp;
pub mod sdp;
pub mod srtp;
pub mod stream;
pub mod tone;
pub mod tts;
pub mod wav;
