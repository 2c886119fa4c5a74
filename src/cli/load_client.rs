//! The load generator's HTTP client: one HTTP/1.1 keep-alive connection per
//! simulated client, straight on hyper.
//!
//! The generator shares the two cores with the server it measures, so every
//! microsecond it spends is one the server does not get. reqwest's pool,
//! redirect policy and per-request URL parsing cost ~2x what a bare hyper
//! connection does per request, which showed up as 6% of all CPU in the
//! refresh-token profile.

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{SendRequest, handshake};
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;

/// `POST {path}` with a JSON body, over one kept-alive connection.
pub struct JsonPoster {
    sender: SendRequest<Full<Bytes>>,
    path: String,
    host: HeaderValue,
}

impl JsonPoster {
    /// Connects to the host of `url` (`http://host:port/path...`); requests go to its path.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let uri: Uri = url.parse().with_context(|| format!("bad URL {url}"))?;
        if uri.scheme_str() != Some("http") {
            bail!("the load generator speaks plain http only: {url}");
        }
        let authority = uri.authority().context("URL without host")?.clone();
        let stream = tokio::net::TcpStream::connect(authority.as_str()).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            // Ends when the sender is dropped or the server closes the connection;
            // a broken connection surfaces as the next request's error.
            let _ = conn.await;
        });
        Ok(Self {
            sender,
            path: uri.path().trim_end_matches('/').to_owned(),
            host: HeaderValue::from_str(authority.as_str())?,
        })
    }

    /// Sends `body` to `{path}{suffix}`; the status and the whole answer.
    pub async fn post(
        &mut self,
        suffix: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        self.sender.ready().await?;
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("{}{suffix}", self.path))
            .header(HOST, self.host.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(Full::new(Bytes::from(body)))?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let answer = response.into_body().collect().await?.to_bytes();
        Ok((status, answer))
    }
}
