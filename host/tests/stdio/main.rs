//! Local servers over stdio: cleanup on every exit, misbehaving and hostile servers, the session
//! over an in-memory pipe, both protocol eras, and the conformance suite's server scenarios.

#[macro_use]
#[path = "../support/mod.rs"]
mod support;

mod bounded_lists;
mod conformance;
mod discover_cleanup;
mod discover_misbehaving;
mod hostile;
mod protocol_eras;
mod session_duplex;
