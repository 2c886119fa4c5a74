//! What a trigger runs for a tenant: its bound, deployed Actions in order.

use crate::store::{Action, ActionVersion};
use std::sync::Arc;

/// One trigger's bound, deployed Actions with their secrets, in order.
pub type FlowPlan = Arc<
    Vec<(
        Action,
        ActionVersion,
        serde_json::Map<String, serde_json::Value>,
    )>,
>;
