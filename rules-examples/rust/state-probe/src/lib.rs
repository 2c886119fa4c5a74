//! Isolation probe: reports state that would survive between calls if the
//! sandbox reused an instance.
//!
//! Each call bumps a static counter and pushes onto a static heap vector,
//! then reports both as id-token claims `calls` and `vec_len`. In a fresh
//! instance per call, as the ABI promises, every call reports 1 and 1; any
//! other value means memory, globals or the heap leaked from an earlier call
//! (possibly another tenant's).

use rulebox_sdk::{Api, Event};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};

static CALLS: AtomicU32 = AtomicU32::new(0);
static SEEN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn on_post_login(_event: &Event, api: &mut Api) {
    let calls = CALLS.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
    let vec_len = {
        let mut seen = SEEN.lock().unwrap_or_else(PoisonError::into_inner);
        seen.push(calls);
        seen.len()
    };
    api.id_token()
        .set_custom_claim("calls", calls)
        .set_custom_claim("vec_len", vec_len);
}

rulebox_sdk::export_post_login!(on_post_login);
