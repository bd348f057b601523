//! Media for Voxbin: RTP/RTCP, G.711, DTMF, jitter buffer, players, recorder and mixer. The
//! media engine issue fills this crate; the `media` and `rtp-relay` roles are already listed
//! by `voxbin roles` but carry no media yet.
