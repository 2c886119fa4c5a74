//! The tenant a request is for, once resolved: who it is and the issuer its
//! tokens carry. Resolving it from a request (`Host`, `/t/{id}`) is HTTP's
//! job (`http::tenancy`); everything below HTTP only reads this.

use crate::store::Tenant;
use std::sync::Arc;

/// The resolved tenant of a request, with the issuer URL its tokens carry.
#[derive(Debug, Clone)]
pub struct TenantCtx {
    pub tenant: Arc<Tenant>,
    /// `http://localhost:8080/t/acme/` or `https://login.example.com/`; always ends in `/`.
    pub issuer: String,
}

impl TenantCtx {
    pub fn id(&self) -> &str {
        &self.tenant.id
    }

    /// The issuer without its trailing slash, for building endpoint URLs.
    pub fn base(&self) -> &str {
        self.issuer.trim_end_matches('/')
    }

    /// The Management API audience of this tenant.
    pub fn management_audience(&self) -> String {
        format!("{}api/v2/", self.issuer)
    }
}
