//! The WASI context a guest gets: nothing that grants authority.

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{HostWallClock, WasiCtxBuilder};

/// The wall clock a guest reads. `Fixed` makes time-dependent rules
/// reproducible (tests, replays, `rulebox run --now`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Clock {
    #[default]
    System,
    Fixed(SystemTime),
}

struct FixedClock(Duration);

impl HostWallClock for FixedClock {
    fn resolution(&self) -> Duration {
        Duration::from_millis(1)
    }

    fn now(&self) -> Duration {
        self.0
    }
}

/// No preopens, env or args; stdin closed; stdout/stderr discarded (guests
/// log through `rulebox.log`, which is bounded and attributed).
pub(crate) fn build_wasi(clock: Clock, random_seed: Option<u64>) -> WasiP1Ctx {
    let mut b = WasiCtxBuilder::new();
    if let Clock::Fixed(at) = clock {
        let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
        b.wall_clock(FixedClock(since));
    }
    if let Some(seed) = random_seed {
        b.insecure_random_seed(u128::from(seed));
        b.secure_random(SeededRng::new(seed));
    }
    b.build_p1()
}

/// splitmix64: deterministic bytes for replayable runs; never used unless a
/// caller explicitly asks for a seed.
struct SeededRng(u64);

impl SeededRng {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn step(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl rand_core::TryRng for SeededRng {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok((self.step() >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(self.step())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(8) {
            let v = self.step().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        Ok(())
    }
}
