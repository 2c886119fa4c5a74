//! The capability's per-call state and the view of store data its host
//! functions get; apart from `mod.rs` so that transport and glue import it
//! without importing the module that links them.

use super::policy::OutboundPolicy;
use crate::admission::CoreHold;
use crate::host::guest::GuestMemory;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Instant;

/// Per-call state of the capability.
pub(crate) struct OutboundState {
    pub(super) policy: OutboundPolicy,
    /// The current step's deadline; no request outlives it.
    pub(super) deadline: Instant,
    /// Requests made in the current step, redirects included.
    pub(super) requests: u32,
    /// The last answer, until the guest reads it.
    pub(super) response: Vec<u8>,
}

impl OutboundState {
    pub(crate) fn new(policy: OutboundPolicy, deadline: Instant) -> Self {
        Self {
            policy,
            deadline,
            requests: 0,
            response: Vec::new(),
        }
    }
}

/// What the capability's host functions see of store data: its own state and
/// the call's hold on a core, which it gives up while it waits.
pub(crate) struct OutboundCtx<'a> {
    pub(crate) state: &'a mut OutboundState,
    pub(crate) core: &'a mut CoreHold,
}

/// The projection of store data its host functions see.
pub(crate) trait OutboundView: GuestMemory {
    fn outbound(&mut self) -> OutboundCtx<'_>;
}

/// A request as the guest describes it (JSON `{method, url, headers, body}`).
#[derive(Debug, Deserialize)]
pub(crate) struct Request {
    #[serde(default = "get")]
    pub(super) method: String,
    pub(super) url: String,
    #[serde(default)]
    pub(super) headers: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) body: Option<String>,
}

fn get() -> String {
    "GET".into()
}

#[cfg(test)]
impl OutboundState {
    pub(crate) fn requests(&self) -> u32 {
        self.requests
    }

    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    pub(crate) fn count_request(&mut self) {
        self.requests += 1;
    }
}
