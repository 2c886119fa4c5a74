//! The process's Prometheus recorder: installed once by each service
//! subcommand, rendered at `GET /metrics`.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use rulebox_runtime_api::MetricsRender;
use std::sync::Arc;

/// Installs the recorder; `None` (and a warning) if one is already installed.
pub fn install() -> Option<MetricsRender> {
    let seconds = [
        0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
        0.5, 1.0, 2.5, 5.0,
    ];
    let fuel = [1e4, 1e5, 1e6, 3e6, 1e7, 1e8, 1e9];
    let bytes = [
        65_536.0,
        1_048_576.0,
        4_194_304.0,
        10_485_760.0,
        67_108_864.0,
        134_217_728.0,
    ];
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &seconds)
        .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_fuel".into()), &fuel))
        .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_bytes".into()), &bytes));
    match builder.and_then(|b| b.install_recorder()) {
        Ok(handle) => Some(Arc::new(move || handle.render())),
        Err(e) => {
            tracing::warn!(error = %e, "metrics are disabled");
            None
        }
    }
}
