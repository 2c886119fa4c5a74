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
//! is the ABI (guest memory in, JSON out). The per-call state they share is
//! in `state`.

mod glue;
mod policy;
mod state;
mod transport;

pub(crate) use state::{OutboundCtx, OutboundState, OutboundView};

use super::capability::{CallContext, Capability, StepStart};
use policy::OutboundPolicy;
use rulebox_abi::imports;
use wasmtime::Linker;

impl<T: OutboundView + 'static> Capability<T> for OutboundState {
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

    fn add_to_linker(linker: &mut Linker<T>) -> wasmtime::Result<()> {
        glue::add_to_linker(linker)
    }
}
