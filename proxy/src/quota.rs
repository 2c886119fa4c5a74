//! Per-tenant quotas: calls in flight and calls per second. A tenant over
//! either gets a `rate_limited` outcome at once instead of a place in a
//! queue, so one tenant's flood cannot grow every other tenant's latency.

use governor::{DefaultDirectRateLimiter, Quota as Bucket, RateLimiter};
use rulebox_runtime_api::Quota;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The platform's defaults for tenants without overrides.
#[derive(Debug, Clone, Copy)]
pub struct QuotaDefaults {
    pub concurrency: u32,
    /// `None`: no rate limit.
    pub rate_per_sec: Option<u32>,
}

impl Default for QuotaDefaults {
    fn default() -> Self {
        Self {
            concurrency: 64,
            rate_per_sec: None,
        }
    }
}

struct TenantState {
    in_flight: AtomicU32,
    /// With the rate it was built for, so a changed quota takes effect.
    bucket: Option<(u32, DefaultDirectRateLimiter)>,
}

pub struct Quotas {
    defaults: QuotaDefaults,
    tenants: moka::sync::Cache<(String, Option<u32>), Arc<TenantState>>,
}

/// Holds one unit of the tenant's concurrency until dropped.
pub struct Permit(Arc<TenantState>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Why a call was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuotaExceeded {
    #[error("tenant has {0} calls in flight, its concurrency limit")]
    Concurrency(u32),
    #[error("tenant is over its rate of {0} calls per second")]
    Rate(u32),
}

impl Quotas {
    pub fn new(defaults: QuotaDefaults) -> Self {
        Self {
            defaults,
            tenants: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(Duration::from_secs(600))
                .build(),
        }
    }

    /// The calls per second a tenant with `quota` may make, if it is limited.
    pub fn rate(&self, quota: Quota) -> Option<u32> {
        // A stored 0 would mean "no bucket": fall back to the platform's rate instead.
        quota
            .rate_per_sec
            .filter(|r| *r > 0)
            .or(self.defaults.rate_per_sec)
    }

    /// Takes a unit of `tenant`'s concurrency and a token of its rate.
    pub fn admit(&self, tenant: &str, quota: Quota) -> Result<Permit, QuotaExceeded> {
        let rate = self.rate(quota);
        let state = self.tenants.get_with((tenant.to_owned(), rate), || {
            Arc::new(TenantState {
                in_flight: AtomicU32::new(0),
                bucket: rate
                    .and_then(NonZeroU32::new)
                    .map(|r| (r.get(), RateLimiter::direct(Bucket::per_second(r)))),
            })
        });
        let limit = quota
            .concurrency
            .unwrap_or(self.defaults.concurrency)
            .max(1);
        let before = state.in_flight.fetch_add(1, Ordering::AcqRel);
        let permit = Permit(state.clone());
        if before >= limit {
            return Err(QuotaExceeded::Concurrency(limit));
        }
        if let Some((r, bucket)) = &state.bucket
            && bucket.check().is_err()
        {
            return Err(QuotaExceeded::Rate(*r));
        }
        Ok(permit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_is_per_tenant_and_released_on_drop() {
        let q = Quotas::new(QuotaDefaults {
            concurrency: 2,
            rate_per_sec: None,
        });
        let a1 = q.admit("a", Quota::default()).expect("first");
        let _a2 = q.admit("a", Quota::default()).expect("second");
        assert_eq!(
            q.admit("a", Quota::default()).err(),
            Some(QuotaExceeded::Concurrency(2))
        );
        assert!(
            q.admit("b", Quota::default()).is_ok(),
            "b has its own share"
        );
        drop(a1);
        assert!(q.admit("a", Quota::default()).is_ok(), "released on drop");
        let big = Quota {
            concurrency: Some(10),
            rate_per_sec: None,
        };
        assert!(
            q.admit("a", big).is_ok(),
            "a tenant override raises the limit"
        );
    }

    #[test]
    fn rate_is_a_token_bucket() {
        let q = Quotas::new(QuotaDefaults::default());
        let quota = Quota {
            concurrency: None,
            rate_per_sec: Some(5),
        };
        let admitted = (0..20).filter(|_| q.admit("r", quota).is_ok()).count();
        assert_eq!(admitted, 5, "a burst of one second's worth");
        assert_eq!(q.admit("r", quota).err(), Some(QuotaExceeded::Rate(5)));
        std::thread::sleep(Duration::from_millis(450));
        assert!(q.admit("r", quota).is_ok(), "tokens come back at the rate");
    }
}
