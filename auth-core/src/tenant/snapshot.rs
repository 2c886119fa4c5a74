//! What one user's login reads of its tenant's configuration, read once, at
//! the start of the login's flow: the client, the connection, the post-login
//! Actions and Rules, and the signing keys (the client's ID-token algorithm
//! among them). The flow and the tokens then read this value instead of going
//! back to the configuration cache at several points, so a login sees one
//! consistent configuration from its first Action to its tokens.

use super::{ClientEntry, FlowPlan, RuleSet, TenantKeys};
use crate::store::{Client, Connection};
use std::sync::Arc;

/// One login's view of its tenant's configuration.
#[derive(Clone)]
pub struct LoginSnapshot {
    pub client: Arc<ClientEntry>,
    pub conn: Arc<Connection>,
    /// The post-login trigger's bound, deployed Actions.
    pub plan: FlowPlan,
    /// The tenant's enabled Rules.
    pub rules: Arc<RuleSet>,
    /// The keys the tokens are signed with.
    pub keys: Arc<TenantKeys>,
}

impl LoginSnapshot {
    pub fn client(&self) -> &Client {
        &self.client.client
    }
}
