//! The media role: call legs answered and originated over SIP, media operations, bridges and conferences, controlled over the bus.
