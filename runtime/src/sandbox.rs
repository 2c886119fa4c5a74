//! The runtime as the [`Sandbox`] auth-core and the proxy call: the async
//! seam in front of [`Runtime`]'s synchronous, CPU-bound work.
//!
//! The runtime picks each call's thread itself. A call it knows to be short
//! ([`Runtime::invoke_now`]: a light module, no network capability, a slot
//! and a core free) runs at once on the caller's thread, which saves the
//! hand-off to a blocking thread and back (measured at about 15% of a login
//! when this choice was the caller's). Every other call, and every load,
//! runs on a blocking thread, so an async worker is never held for a
//! snapshot or a call that may run for its whole timeout.

use crate::call::Invocation;
use crate::host::Clock;
use crate::outcome::micros;
use crate::runtime::Runtime;
use rulebox_runtime_api::{
    Call, Code, LoadError, Loaded, ModuleId, Outcome, OutcomeKind, Pending, Sandbox,
};
use std::sync::Arc;
use std::time::Instant;

/// The runtime's view of a call.
fn invocation(c: &Call) -> Invocation<'_> {
    let mut inv = Invocation::new(&c.module, c.trigger, &c.input, &c.limits);
    if let Some(at) = c.now {
        inv.clock = Clock::Fixed(at);
    }
    inv.flow_timeout = c.flow_timeout_ms.map(std::time::Duration::from_millis);
    inv
}

/// The in-process sandbox: what `rulebox serve` hands the proxy.
impl Sandbox for Runtime {
    fn load_code(self: Arc<Self>, code: Code) -> Pending<Result<Loaded, LoadError>> {
        Box::pin(async move {
            let loaded = tokio::task::spawn_blocking(move || match &code {
                Code::Wasm(bytes) => self.load_handlers(bytes),
                Code::Js {
                    kind,
                    source,
                    modules,
                } => self.load_js_with(kind, source, modules),
            })
            .await;
            match loaded {
                Ok(Ok((id, handlers))) => Ok(Loaded {
                    id,
                    handlers: Some(handlers),
                }),
                Ok(Err(e)) => Err(e.into()),
                Err(e) => Err(LoadError {
                    kind: OutcomeKind::Unavailable,
                    message: format!("the load did not finish: {e}"),
                    line: None,
                    column: None,
                }),
            }
        })
    }

    fn is_loaded(&self, module: &ModuleId) -> bool {
        Runtime::is_loaded(self, module)
    }

    fn call(self: Arc<Self>, call: Call) -> Pending<Outcome> {
        if let Some(outcome) = self.invoke_now(&invocation(&call)) {
            return Box::pin(std::future::ready(outcome));
        }
        Box::pin(async move {
            let start = Instant::now();
            tokio::task::spawn_blocking(move || self.invoke(&invocation(&call)))
                .await
                .unwrap_or_else(|e| {
                    Outcome::refused(
                        OutcomeKind::Unavailable,
                        format!("the call did not finish: {e}"),
                        micros(start),
                    )
                })
        })
    }
}
