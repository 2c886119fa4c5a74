//! The outbound-HTTP capability: `rulebox.http_request` and
//! `rulebox.http_response_read`.
//!
//! Fencing, in the order a request meets it:
//! * the call's request budget (`max_requests`, redirects included);
//! * the tenant's allow-list, by host (and port) of the URL and of every
//!   redirect target — redirects are followed here, one hop at a time, so each
//!   is checked like the first request;
//! * addresses: an IP literal in the URL that is loopback, private,
//!   link-local, unspecified or cloud metadata is refused unless the
//!   allow-list names that literal; a host *name* is resolved by a resolver
//!   that drops every such address, so the connection can only go to a public
//!   IP (DNS rebinding cannot point an allowed name at the metadata service);
//! * time: each request's timeout is cut to the call's deadline, and the call
//!   gives up its core while it waits on the network.
//!
//! A refusal ends the call with `capability_denied` naming what was refused;
//! a network failure (refused connection, timeout, oversized body) is an
//! ordinary error the guest sees and may handle.
//!
//! Three parts, each testable alone: [`policy`] decides what may be reached
//! (a value handed to the capability per call, read from no globals),
//! [`transport`] reaches it (resolution, connection, redirects), and [`glue`]
//! is the ABI (guest memory in, JSON out).

mod glue;
mod policy;
mod transport;

use super::capability::{CallContext, Capability, StepStart};
use super::guest::GuestMemory;
use crate::admission::CoreHold;
use policy::OutboundPolicy;
use rulebox_abi::imports;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Instant;
use wasmtime::Linker;

/// Per-call state of the capability.
pub(crate) struct OutboundState {
    policy: OutboundPolicy,
    /// The current step's deadline; no request outlives it.
    deadline: Instant,
    /// Requests made in the current step, redirects included.
    requests: u32,
    /// The last answer, until the guest reads it.
    response: Vec<u8>,
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
    method: String,
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<String>,
}

fn get() -> String {
    "GET".into()
}

impl Capability for OutboundState {
    const NAME: &'static str = "http";
    const IMPORTS: &'static [&'static str] = &[imports::HTTP_REQUEST, imports::HTTP_RESPONSE_READ];

    /// The policy is the tenant's, resolved into the call's limits.
    fn arm(call: &CallContext<'_>) -> Self {
        Self::new(
            OutboundPolicy::new(call.limits.outbound.clone()),
            call.deadline,
        )
    }

    /// Each step gets the whole request budget again, up to its own deadline.
    fn next_step(&mut self, step: &StepStart) {
        self.deadline = step.deadline;
        self.requests = 0;
    }

    fn add_to_linker(linker: &mut Linker<super::HostState>) -> wasmtime::Result<()> {
        glue::add_to_linker(linker)
    }
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
