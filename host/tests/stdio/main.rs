//! Local servers over stdio: cleanup on every exit, misbehaving and hostile servers, the session
//! over an in-memory pipe, both protocol eras, and the conformance suite's server scenarios.

#[macro_use]
#[path = "../support/mod.rs"]
mod support;

mod bounded_lists;
mod bounded_text;
mod conformance;
mod crash_causes;
mod discover_cleanup;
mod discover_misbehaving;
mod hostile;
mod lone_surrogates;
mod protocol_eras;
mod session_duplex;
mod spawn_path;
