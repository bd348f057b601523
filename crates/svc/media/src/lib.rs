//! The `media` role (Asterisk's job): call legs as SIP user agents (B2BUA endpoints) with
//! their media on the engine of `voxbin-media`, driven over the bus by the call service.
//!
//! # Bus protocol (publisher `media-manager`)
//! Requests go to the node's own queue `bin-manager.media-manager.request.<node_id>` (the
//! node id comes with every event); `POST /v1/legs` (originate) also works on the shared
//! queue `bin-manager.media-manager.request`, served by every node. Answers are
//! `{"id": <leg id>, ...}`; a media operation answers `{"id", "op_id"}` at once (pass your own
//! `op_id` or get a new one) and its completion arrives later as an event with that `op_id`.
//! Errors use the VoIPBIN error envelope (404 unknown leg, 400 bad argument or state).
//!
//! | command | uri (method POST unless noted) | body |
//! |---|---|---|
//! | originate | `/v1/legs` | `id?`, `uri`, `proxy?` (host:port of edge/trunk), `from`, `to?`, `pai?`, `headers?`, `auth_username?`, `auth_password?`, `srtp?` (RTP/SAVP offer; also for `sips:` URIs) |
//! | leg state | `GET /v1/legs/{id}` | |
//! | ringing / progress (183 + SDP) / answer | `/v1/legs/{id}/ringing`, `/progress`, `/answer` | |
//! | reject | `/v1/legs/{id}/reject` | `code` (300-699), `reason?` |
//! | hangup | `/v1/legs/{id}/hangup` | `cause?` normal, busy, noanswer, cancel, timeout, failed |
//! | play | `/v1/legs/{id}/play` | `media_urls` (http(s) WAV or file path), `op_id?` |
//! | talk | `/v1/legs/{id}/talk` | `text`, `language?`, `voice?` |
//! | beep / silence | `/v1/legs/{id}/beep`, `/silence` | `duration_ms` (silence) |
//! | ringback (until playback_stop) | `/v1/legs/{id}/ringback` | `op_id?` |
//! | playback_stop | `/v1/legs/{id}/playback_stop` | |
//! | echo | `/v1/legs/{id}/echo` | `on?` |
//! | digits_collect | `/v1/legs/{id}/digits_collect` | `max_digits?`, `terminators?`, `inter_digit_timeout_ms?`, `total_timeout_ms?`, `stop_playback?` |
//! | digits_send | `/v1/legs/{id}/digits_send` | `digits`, `duration_ms?` |
//! | record_start / record_stop | `/v1/legs/{id}/record_start`, `/record_stop` | `direction?` in/out/both, `stop_on_silence_ms?`, `stop_keys?`, `max_duration_ms?`, `beep?` |
//! | hold / unhold (music on hold + re-INVITE) | `/v1/legs/{id}/hold`, `/unhold` | |
//! | mute / unmute | `/v1/legs/{id}/mute`, `/unmute` | `direction?` in/out/both |
//! | bridge / unbridge | `/v1/legs/{id}/bridge`, `/unbridge` | `peer_id` (bridge) |
//! | external media | `/v1/legs/{id}/external_media_start`, `/external_media_stop` | `address` (audiosocket host:port; a host name is resolved) |
//! | conference create / destroy | `/v1/conferences`, `DELETE /v1/conferences/{id}` | `id?`, `tones?` |
//! | conference join / leave / mute | `/v1/conferences/{id}/join`, `/leave`, `/mute` | `leg_id`, `muted?` |
//! | recording file (chunks of a WAV this node wrote) | `GET /v1/recordings/{id}/file?offset=`, `DELETE /v1/recordings/{id}/file` | |
//! | conference record | `/v1/conferences/{id}/record_start`, `/record_stop` | as record_start |
//!
//! Events carry `id` (leg id), `node_id`, `tm_event` (and `op_id` for operations):
//! `leg_created` (`direction`, `uri`, `from`, `to`, `pai`, `sip_call_id`, `headers` with the
//! INVITE's X- headers; an incoming leg then waits for answer/reject/progress),
//! `leg_ringing`, `leg_progressing`, `leg_answered`, `leg_updated` (`remote_hold` after the
//! peer's re-INVITE, or `reinvite`: answered/failed after ours, e.g. for hold),
//! `leg_hangup` (`hangup_reason`, `hangup_by` local/remote, `sip_status`),
//! `dtmf_received` (`digit`, `duration`), `digits_collected` (`digits`, `reason`),
//! `digits_sent`, `playback_finished` (`reason` completed/stopped, `position_ms`),
//! `recording_finished` (`path`, `duration_ms`, `reason`), `echo_finished`,
//! `external_media_finished`, `leg_rtp_timeout` (the leg is then hung up with `timeout`).
//!
//! Every `heartbeat_secs` (5 s) the node publishes `medianode_updated` with
//! `{"id", "address": "<ip>:<sip port>", "transport": "udp", "weight": 1, "status":
//! "up"|"draining"|"down", "tm_update"}` for the edge's dispatcher. On shutdown it turns
//! `draining`: new INVITEs and OPTIONS get 503, calls in flight go on until the grace ends.
//! Metrics: `voxbin_media_legs` and `voxbin_media_events_total{type}`.

#![warn(missing_docs)]

mod commands;
mod events;
mod files;
mod heartbeat;
mod legs;
mod metrics;
mod node;
mod settings;
mod state;

pub use commands::SERVICE;
pub use heartbeat::node_event;
pub use node::{node_queue, MediaNode};
pub use settings::Settings;
pub use state::PUBLISHER;
