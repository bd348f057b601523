//! The rtp-relay role: RTP relay for NAT traversal, controlled over the bus and rtpengine's ng protocol.
