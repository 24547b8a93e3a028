//! The router's shared state.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use dashi_app::App;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};

use crate::ApiSettings;

/// Everything a handler may use. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub(crate) app: App,
    pub(crate) settings: Arc<ApiSettings>,
    pub(crate) login_limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    /// This router's Prometheus recorder: HTTP counters, and the gauges `/metrics` refreshes.
    pub(crate) metrics: Arc<PrometheusRecorder>,
}

impl AppState {
    pub fn new(app: App, settings: ApiSettings) -> AppState {
        let count = NonZeroU32::new(settings.login_throttle_count.max(1)).expect("clamped to at least one");
        let replenish_every = settings.login_throttle_period / count.get();
        let quota = Quota::with_period(replenish_every)
            .unwrap_or_else(|| Quota::per_second(count))
            .allow_burst(count);
        // Per router rather than process-wide, so several routers in one process (tests) keep
        // their own numbers.
        let metrics = Arc::new(PrometheusBuilder::new().build_recorder());
        AppState { app, settings: Arc::new(settings), login_limiter: Arc::new(RateLimiter::keyed(quota)), metrics }
    }
}
