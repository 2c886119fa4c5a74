//! The WASI capability: the WASI preview 1 context a guest gets, with
//! nothing in it that grants authority.
//!
//! Guests compiled for wasm32-wasip1 (the JavaScript engine among them)
//! import WASI for clocks and random numbers; this module decides what those
//! return and that nothing else (files, env, sockets) is there.

use super::capability::{CallContext, Capability, Clock, StepStart};
use std::time::{Duration, UNIX_EPOCH};
use wasmtime::Linker;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{HostWallClock, WasiCtxBuilder};

/// Per-call state: the WASI context.
pub(crate) struct Wasi(WasiP1Ctx);

/// The projection of store data wasmtime-wasi's host functions see.
pub(crate) trait WasiView {
    fn wasi(&mut self) -> &mut Wasi;
}

impl<T: WasiView + Send + 'static> Capability<T> for Wasi {
    const NAME: &'static str = "wasi";
    /// WASI defines `wasi_snapshot_preview1`, none of `rulebox`.
    const IMPORTS: &'static [&'static str] = &[];

    fn arm(call: &CallContext<'_>) -> Self {
        Self(build_wasi(call.clock, call.random_seed))
    }

    /// Clocks and random numbers carry on across steps.
    fn next_step(&mut self, _: &StepStart) {}

    fn add_to_linker(linker: &mut Linker<T>) -> wasmtime::Result<()> {
        wasmtime_wasi::p1::add_to_linker_sync(linker, |s: &mut T| &mut s.wasi().0)
    }
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
fn build_wasi(clock: Clock, random_seed: Option<u64>) -> WasiP1Ctx {
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
