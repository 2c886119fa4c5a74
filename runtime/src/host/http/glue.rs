//! The capability's ABI: reading the guest's request out of its memory,
//! running it off core, and handing the JSON answer back.
//!
//! The only part of outbound HTTP that knows guest memory, the wire JSON and
//! how a refusal ends the call.

use super::state::{OutboundCtx, OutboundView, Request};
use super::transport::{self, RequestError, Response};
use crate::admission::CoreLost;
use crate::host::guest::{memory, oob, range};
use crate::outcome::{DeadlineExceeded, HostTrap};
use rulebox_abi::{IMPORT_MODULE, imports};
use serde::Serialize;
use std::collections::BTreeMap;
use wasmtime::{Caller, Linker};

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum GuestResponse {
    Ok {
        status: u16,
        url: String,
        headers: BTreeMap<String, String>,
        body: String,
    },
    Failed {
        error: String,
    },
}

/// The answer the guest reads: the response, or the error it may handle.
fn encode(result: Result<Response, String>) -> Vec<u8> {
    let answer = match result {
        Ok(r) => GuestResponse::Ok {
            status: r.status,
            url: r.url,
            headers: r.headers,
            body: String::from_utf8_lossy(&r.body).into_owned(),
        },
        Err(error) => GuestResponse::Failed { error },
    };
    serde_json::to_vec(&answer).unwrap_or_default()
}

pub(super) fn add_to_linker<T: OutboundView + 'static>(
    linker: &mut Linker<T>,
) -> wasmtime::Result<()> {
    // Performs a request described by JSON `{method, url, headers, body}`; returns
    // the length of the JSON answer (`{status, url, headers, body}` or `{error}`)
    // that `http_response_read` then copies out.
    linker.func_wrap(
        IMPORT_MODULE,
        imports::HTTP_REQUEST,
        |mut caller: Caller<'_, T>, ptr: i32, len: i32| -> wasmtime::Result<i32> {
            let (ptr, len) = range(ptr, len, "http_request")?;
            let mem = memory(&caller)?;
            let raw = mem
                .data(&caller)
                .get(ptr..ptr.saturating_add(len))
                .ok_or_else(|| oob("http_request", ptr, len))?
                .to_vec();
            let req: Request = serde_json::from_slice(&raw).map_err(|e| {
                wasmtime::Error::new(HostTrap::AbiViolation(format!("http_request: {e}")))
            })?;
            let OutboundCtx { state, core } = caller.data_mut().outbound();
            let deadline = state.deadline;
            let result = core
                .off_core(deadline, || {
                    transport::perform(state, req).inspect_err(|e| {
                        if let RequestError::Denied(why) = e {
                            tracing::warn!(reason = %why, "outbound request refused");
                        }
                    })
                })
                .map_err(|CoreLost| wasmtime::Error::new(DeadlineExceeded))?;
            let answer = match result {
                Ok(response) => encode(Ok(response)),
                Err(RequestError::Failed(msg)) => encode(Err(msg)),
                Err(RequestError::Denied(why)) => {
                    return Err(wasmtime::Error::new(HostTrap::CapabilityDenied(
                        why.to_string(),
                    )));
                }
            };
            let n = i32::try_from(answer.len()).unwrap_or(i32::MAX);
            state.response = answer;
            Ok(n)
        },
    )?;

    linker.func_wrap(
        IMPORT_MODULE,
        imports::HTTP_RESPONSE_READ,
        |mut caller: Caller<'_, T>, ptr: i32, len: i32| -> wasmtime::Result<i32> {
            let (ptr, len) = range(ptr, len, "http_response_read")?;
            let mem = memory(&caller)?;
            let (data, store) = mem.data_and_store_mut(&mut caller);
            let response = &store.outbound().state.response;
            let n = len.min(response.len());
            let dst = data
                .get_mut(ptr..ptr.saturating_add(n))
                .ok_or_else(|| oob("http_response_read", ptr, n))?;
            dst.copy_from_slice(&response[..n]);
            Ok(i32::try_from(n).unwrap_or(i32::MAX))
        },
    )?;
    Ok(())
}
