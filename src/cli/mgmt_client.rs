//! The tenant-side commands' way in: a Management API client for one tenant,
//! authenticated with a management client's credentials.

use anyhow::{Context, bail};
use clap::Args;
use serde_json::{Value, json};

/// Where the tenant is and how to authenticate (flags or environment).
#[derive(Debug, Clone, Args)]
pub struct TenantAccess {
    /// The tenant (addressed as {server}/t/{tenant}).
    #[arg(long)]
    pub tenant: String,
    /// Where rulebox serves.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// A management client of the tenant. Ids and secrets are random
    /// base64url and may start with `-`: that is a value here, not a flag.
    #[arg(long, env = "RULEBOX_CLIENT_ID", allow_hyphen_values = true)]
    pub client_id: String,
    #[arg(
        long,
        env = "RULEBOX_CLIENT_SECRET",
        hide_env_values = true,
        allow_hyphen_values = true
    )]
    pub client_secret: String,
}

pub struct MgmtClient {
    pub base: String,
    pub http: reqwest::Client,
    pub token: String,
}

impl MgmtClient {
    pub async fn connect(a: &TenantAccess) -> anyhow::Result<Self> {
        let base = format!("{}/t/{}", a.server.trim_end_matches('/'), a.tenant);
        let http = reqwest::Client::new();
        let token: Value = http
            .post(format!("{base}/oauth/token"))
            .json(
                &json!({"grant_type": "client_credentials", "client_id": a.client_id,
                          "client_secret": a.client_secret, "audience": format!("{base}/api/v2/")}),
            )
            .send()
            .await
            .with_context(|| format!("reaching {base}"))?
            .json()
            .await?;
        let Some(token) = token["access_token"].as_str() else {
            bail!("no management token: {token}");
        };
        Ok(Self {
            base,
            http,
            token: token.to_owned(),
        })
    }

    /// A request to `/api/v2/{path}`.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}/api/v2/{path}", self.base))
            .bearer_auth(&self.token)
    }

    /// Sends a JSON body (or none); a non-2xx answer is an error carrying the server's message.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut req = self.request(method.clone(), path);
        if let Some(b) = body {
            req = req.json(&b);
        }
        Self::send(req, &method, path).await
    }

    /// `GET /api/v2/{path}` with query parameters, encoded.
    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> anyhow::Result<Value> {
        let req = self.request(reqwest::Method::GET, path).query(query);
        Self::send(req, &reqwest::Method::GET, path).await
    }

    /// Every item of an Actions API list (`{key: [...], "total"}`), page by page.
    pub async fn list_all(&self, path: &str, key: &str) -> anyhow::Result<Vec<Value>> {
        let mut all = Vec::new();
        for page in 0u32.. {
            let page = page.to_string();
            let body = self
                .get(path, &[("page", page.as_str()), ("per_page", "100")])
                .await?;
            let items = body[key].as_array().cloned().unwrap_or_default();
            let total = body["total"].as_u64().unwrap_or(0);
            let done = items.is_empty();
            all.extend(items);
            if done || all.len() as u64 >= total {
                break;
            }
        }
        Ok(all)
    }

    async fn send(
        req: reqwest::RequestBuilder,
        method: &reqwest::Method,
        path: &str,
    ) -> anyhow::Result<Value> {
        let res = req.send().await?;
        let status = res.status();
        let v: Value = res.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let msg = v["message"]
                .as_str()
                .or(v["error_description"].as_str())
                .unwrap_or("");
            bail!("{method} /api/v2/{path}: {status} {msg}");
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::TenantAccess;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        access: TenantAccess,
    }

    #[test]
    fn a_secret_starting_with_a_hyphen_is_a_value() {
        let cli = Cli::try_parse_from([
            "rulebox",
            "--tenant",
            "acme",
            "--client-id",
            "-Abc",
            "--client-secret",
            "-Cxyz_123",
        ])
        .expect("parses");
        assert_eq!(cli.access.client_id, "-Abc");
        assert_eq!(cli.access.client_secret, "-Cxyz_123");
    }
}
