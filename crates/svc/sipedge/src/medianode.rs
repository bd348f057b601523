//! Media nodes announcing themselves on the bus (`medianode_updated`), shared with the media role.
//!
//! Every media node publishes one announcement every [`ANNOUNCE_EVERY`]; each edge node merges
//! them into its dispatcher next to the configured nodes and forgets a node that missed
//! [`MISSED_BEFORE_EXPIRY`] announcements in a row.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::time::Duration;
use voxbin_bus::Event;

/// The event type of an announcement.
pub const MEDIANODE_UPDATED: &str = "medianode_updated";

/// The publisher of announcements (the media role's bus name).
pub const MEDIANODE_PUBLISHER: &str = "media-manager";

/// How often a media node announces itself.
pub const ANNOUNCE_EVERY: Duration = Duration::from_secs(5);

/// Announcements a node may miss before the edge forgets it.
pub const MISSED_BEFORE_EXPIRY: u32 = 3;

/// What a media node says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaNodeStatus {
    /// Takes new calls.
    Up,
    /// Finishes its calls, takes no new ones.
    Draining,
    /// Takes nothing.
    Down,
}

/// The data of a `medianode_updated` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaNodeAnnouncement {
    /// The node's identity, stable across its announcements (a UUID or another name: the media
    /// role sends its node id).
    pub id: String,
    /// `ip:port` where the node takes SIP (IPv6 in brackets).
    pub address: String,
    /// SIP transport at that address (`udp`).
    pub transport: String,
    /// Share of new calls relative to the other nodes.
    pub weight: u32,
    /// Whether it takes new calls.
    pub status: MediaNodeStatus,
    /// When the node sent this, RFC 3339.
    pub tm_update: String,
}

impl MediaNodeAnnouncement {
    /// The event to publish for this announcement.
    pub fn event(&self) -> Event {
        let data = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        Event::new(MEDIANODE_UPDATED, MEDIANODE_PUBLISHER, data)
    }

    /// Reads an announcement out of an event; the error says what is wrong with it.
    pub fn from_event(event: &Event) -> Result<MediaNodeAnnouncement, String> {
        if event.event_type != MEDIANODE_UPDATED {
            return Err(format!(
                "event type {:?} is not {MEDIANODE_UPDATED}",
                event.event_type
            ));
        }
        let data = event.data.clone().ok_or("announcement without data")?;
        let a: MediaNodeAnnouncement =
            serde_json::from_value(data).map_err(|e| format!("announcement data: {e}"))?;
        a.socket_addr()?;
        if a.id.is_empty() {
            return Err("announcement without an id".into());
        }
        if !a.transport.eq_ignore_ascii_case("udp") {
            return Err(format!("transport {:?} is not udp", a.transport));
        }
        Ok(a)
    }

    /// The announced address, which must be an IP address and a port.
    pub fn socket_addr(&self) -> Result<SocketAddr, String> {
        self.address
            .parse::<SocketAddr>()
            .ok()
            .filter(|a| a.port() != 0)
            .ok_or_else(|| format!("address {:?} is not ip:port", self.address))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn announcements_round_trip_through_events_and_bad_ones_are_named() {
        let a = MediaNodeAnnouncement {
            id: "media-7".into(),
            address: "10.0.0.7:5080".into(),
            transport: "udp".into(),
            weight: 2,
            status: MediaNodeStatus::Draining,
            tm_update: "2026-12-07T03:00:00Z".into(),
        };
        let e = a.event();
        assert_eq!(e.publisher, MEDIANODE_PUBLISHER);
        assert_eq!(e.data.as_ref().unwrap()["status"], "draining");
        assert_eq!(MediaNodeAnnouncement::from_event(&e), Ok(a.clone()));

        let mut bad = e.clone();
        bad.data = Some(
            json!({"id": "media-7", "address": "media1:5080", "transport": "udp",
            "weight": 1, "status": "up", "tm_update": "x"}),
        );
        let err = MediaNodeAnnouncement::from_event(&bad).unwrap_err();
        assert!(err.contains("media1:5080"), "{err}");
        bad.data = Some(json!({"id": "media-7"}));
        assert!(MediaNodeAnnouncement::from_event(&bad).is_err());
        // What the media role sends: its node name as id, and more fields than these.
        let mut role = e.clone();
        role.data = Some(json!({"id": "media-host-1", "address": "10.0.0.7:5080",
            "transport": "udp", "weight": 1, "status": "up", "legs": 3,
            "tm_update": "2026-12-07T03:00:00.000000Z"}));
        let parsed = MediaNodeAnnouncement::from_event(&role).unwrap();
        assert_eq!(
            (parsed.id.as_str(), parsed.status),
            ("media-host-1", MediaNodeStatus::Up)
        );
        let mut tcp = a;
        tcp.transport = "tcp".into();
        assert!(MediaNodeAnnouncement::from_event(&tcp.event())
            .unwrap_err()
            .contains("tcp"));
    }
}
