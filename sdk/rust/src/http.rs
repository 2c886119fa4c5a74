//! Outbound HTTP through the host capability (`docs/abi.md`, "Capability:
//! outbound HTTP"): the Rust counterpart of JavaScript's `fetch`.
//!
//! ```no_run
//! use rulebox_sdk::http::Request;
//!
//! let res = Request::get("https://api.example.com/profile")
//!     .header("Authorization", "Bearer ...")
//!     .send()?;
//! if res.status == 200 {
//!     let profile: rulebox_sdk::Value = res.json()?;
//! }
//! # Ok::<(), rulebox_sdk::http::Error>(())
//! ```
//!
//! Only hosts on the tenant's allow-list are reachable; a request outside it
//! ends the call with `capability_denied` (it does not return). Network
//! failures return [`Error`].

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Request {
    pub method: String,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Response {
    pub status: u16,
    /// After redirects.
    pub url: String,
    /// Lower-case names.
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

/// A request that produced no response: refused connection, timeout, a body
/// over the size limit, or (on the host, in unit tests) no sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl Request {
    pub fn new(method: &str, url: &str) -> Self {
        Self {
            method: method.to_owned(),
            url: url.to_owned(),
            headers: BTreeMap::new(),
            body: None,
        }
    }

    pub fn get(url: &str) -> Self {
        Self::new("GET", url)
    }

    /// A POST with a JSON body.
    pub fn post_json(url: &str, body: &serde_json::Value) -> Self {
        Self::new("POST", url)
            .header("content-type", "application/json")
            .body(body.to_string())
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.insert(name.to_owned(), value.to_owned());
        self
    }

    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }

    pub fn send(&self) -> Result<Response, Error> {
        let request = serde_json::to_string(self).map_err(|e| Error(e.to_string()))?;
        let answer = transport(&request)?;
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Answer {
            Ok(Response),
            Failed { error: String },
        }
        match serde_json::from_str::<Answer>(&answer) {
            Ok(Answer::Ok(r)) => Ok(r),
            Ok(Answer::Failed { error }) => Err(Error(error)),
            Err(e) => Err(Error(format!("unreadable answer from the host: {e}"))),
        }
    }
}

impl Response {
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_str(&self.body).map_err(|e| Error(format!("response body: {e}")))
    }
}

#[cfg(target_arch = "wasm32")]
fn transport(request: &str) -> Result<String, Error> {
    // SAFETY: pointer and length describe live buffers; the answer buffer is
    // sized from the length the host reported.
    unsafe {
        let n = crate::sys::http_request(request.as_ptr(), request.len() as i32);
        let len = usize::try_from(n).unwrap_or(0);
        let mut buf = vec![0u8; len];
        let read = crate::sys::http_response_read(buf.as_mut_ptr(), len as i32);
        buf.truncate(usize::try_from(read).unwrap_or(0));
        String::from_utf8(buf).map_err(|e| Error(e.to_string()))
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn transport(_request: &str) -> Result<String, Error> {
    Err(Error(
        "outbound HTTP exists only inside the rulebox sandbox".into(),
    ))
}
