//! Queue, exchange and publisher names, as VoIPBIN spells them.
//!
//! Every service is known on the bus as `<service>-manager`; its RPC queue and its event exchange
//! derive from that name. Keeping the spelling in one place means the in-process bus and a broker
//! agree on names, and a Voxbin service can talk to a VoIPBIN one.

/// The short service name: `flow` for both `flow` and `flow-manager`.
pub fn service_name(service: &str) -> &str {
    service.strip_suffix("-manager").unwrap_or(service)
}

/// The publisher name of a service: `<service>-manager`.
pub fn publisher_name(service: &str) -> String {
    format!("{}-manager", service_name(service))
}

/// The RPC request queue of a service: `bin-manager.<service>-manager.request`.
pub fn request_queue(service: &str) -> String {
    format!("bin-manager.{}-manager.request", service_name(service))
}

/// The event exchange a service publishes to: `bin-manager.<service>-manager.event`.
pub fn event_exchange(service: &str) -> String {
    format!("bin-manager.{}-manager.event", service_name(service))
}

/// The durable queue of a subscriber: `bin-manager.<service>-manager.subscribe`.
pub fn subscribe_queue(subscriber: &str) -> String {
    format!("bin-manager.{}-manager.subscribe", service_name(subscriber))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_voipbin_spelling() {
        assert_eq!(request_queue("flow"), "bin-manager.flow-manager.request");
        assert_eq!(
            request_queue("flow-manager"),
            "bin-manager.flow-manager.request"
        );
        assert_eq!(event_exchange("call"), "bin-manager.call-manager.event");
        assert_eq!(publisher_name("call"), "call-manager");
        assert_eq!(publisher_name("call-manager"), "call-manager");
        assert_eq!(
            subscribe_queue("flow-manager"),
            "bin-manager.flow-manager.subscribe"
        );
    }
}
