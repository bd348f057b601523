//! SIP user agent for call legs (B2BUA endpoints): a tokio shell over voxbin-sip transactions and dialogs.
