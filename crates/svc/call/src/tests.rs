//! The call service over the bus, as the gateway and the media role drive it.
