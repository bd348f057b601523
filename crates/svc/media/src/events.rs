//! Engine reports to bus events: digits, collections, playbacks, recordings, sent digits,
//! echo and external media endings; an RTP timeout hangs the leg up.

use std::sync::Arc;

use serde_json::{json, Map};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use voxbin_media::engine::{CollectReason, EngineEvent, EventKind, PlaybackReason, RecordReason};
use voxbin_sipua::HangupCause;

use crate::state::NodeState;

/// Publishes engine events until `stop`.
pub async fn pump(state: Arc<NodeState>, stop: CancellationToken) {
    let mut rx = state.engine.subscribe();
    loop {
        let ev = tokio::select! {
            ev = rx.recv() => ev,
            _ = stop.cancelled() => return,
        };
        match ev {
            Ok(ev) => publish(&state, ev).await,
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "media events dropped (slow publisher)")
            }
            Err(RecvError::Closed) => return,
        }
    }
}

/// One engine event as a bus event.
async fn publish(state: &NodeState, ev: EngineEvent) {
    let mut data = Map::new();
    let at: chrono::DateTime<chrono::Utc> = ev.at.into();
    data.insert("tm_event".into(), json!(voxbin_core::clock::format(at)));
    if let Some(op) = ev.op {
        data.insert("op_id".into(), json!(op.0));
    }
    if let Some(c) = ev.conference {
        data.insert("conference_id".into(), json!(c.0));
    }
    let leg = ev.leg.map(|l| l.0);
    let kind = match ev.kind {
        EventKind::DtmfReceived { digit, duration_ms } => {
            data.insert("digit".into(), json!(digit.to_string()));
            data.insert("duration".into(), json!(duration_ms));
            "dtmf_received"
        }
        EventKind::DigitsCollected { digits, reason } => {
            data.insert("digits".into(), json!(digits));
            let (why, key) = match reason {
                CollectReason::MaxDigits => ("max_digits", None),
                CollectReason::Terminator(c) => ("terminator", Some(c)),
                CollectReason::InterDigitTimeout => ("inter_digit_timeout", None),
                CollectReason::TotalTimeout => ("total_timeout", None),
                CollectReason::Stopped => ("stopped", None),
            };
            data.insert("reason".into(), json!(why));
            if let Some(k) = key {
                data.insert("terminator".into(), json!(k.to_string()));
            }
            "digits_collected"
        }
        EventKind::DigitsSent { digits } => {
            data.insert("digits".into(), json!(digits));
            "digits_sent"
        }
        EventKind::PlaybackFinished {
            reason,
            position_ms,
        } => {
            let why = match reason {
                PlaybackReason::Completed => "completed",
                PlaybackReason::Stopped => "stopped",
            };
            data.insert("reason".into(), json!(why));
            data.insert("position_ms".into(), json!(position_ms));
            "playback_finished"
        }
        EventKind::RecordingFinished {
            path,
            duration_ms,
            reason,
        } => {
            let why = match reason {
                RecordReason::Silence => "silence".to_string(),
                RecordReason::Key(k) => format!("key:{k}"),
                RecordReason::MaxDuration => "max_duration".into(),
                RecordReason::Stopped => "stopped".into(),
                RecordReason::Failed(e) => format!("failed: {e}"),
            };
            data.insert("path".into(), json!(path.display().to_string()));
            data.insert("duration_ms".into(), json!(duration_ms));
            data.insert("reason".into(), json!(why));
            "recording_finished"
        }
        EventKind::EchoFinished => "echo_finished",
        EventKind::ExternalMediaFinished { reason } => {
            data.insert("reason".into(), json!(reason));
            "external_media_finished"
        }
        EventKind::RtpTimeout => {
            // no media for the configured time: the peer is gone
            if let Some(entry) = leg.and_then(|id| state.leg(id)) {
                let _ = entry.call.hangup(HangupCause::Timeout).await;
            }
            "leg_rtp_timeout"
        }
        EventKind::RemoteBye | EventKind::LegStats(_) | EventKind::LegDestroyed => return,
    };
    state.publish(kind, leg, data).await;
}
