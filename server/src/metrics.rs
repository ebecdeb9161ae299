//! Prometheus metrics of the sync server, rendered at `/metrics` in the text format.
//!
//! Names follow Prometheus conventions (`_total` counters, `_seconds` histograms, `_bytes`
//! sizes). Labels are closed sets (transport, outcome, refusal code), never ids, so cardinality
//! stays fixed.
//!
//! Leaves out: HTTP request metrics of the supervisor API (the access log covers those).

use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

/// Every metric the server exports, registered in its own registry (no globals).
#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Registry,
    /// Live WebSocket sync sessions.
    pub connections: IntGauge,
    /// Sync rounds by transport (`ws`, `http`, `fanout`) and outcome (`ok`, `refused`, `error`).
    pub rounds: IntCounterVec,
    /// Sync frame bytes by direction (`in`, `out`).
    pub bytes: IntCounterVec,
    /// Refused frames and documents by refusal code.
    pub refusals: IntCounterVec,
    /// Round latency from frame received to reply ready, by transport.
    pub round_seconds: HistogramVec,
}

impl Metrics {
    /// A fresh set of metrics.
    pub fn new() -> Self {
        let registry = Registry::new();
        let connections = IntGauge::new("kefu_ws_connections", "Live WebSocket sync sessions").expect("valid metric");
        let rounds = IntCounterVec::new(
            Opts::new("kefu_sync_rounds_total", "Sync rounds by transport and outcome"),
            &["transport", "outcome"],
        )
        .expect("valid metric");
        let bytes = IntCounterVec::new(Opts::new("kefu_sync_bytes_total", "Sync frame bytes"), &["direction"])
            .expect("valid metric");
        let refusals = IntCounterVec::new(
            Opts::new("kefu_sync_refusals_total", "Refused sync frames and documents by code"),
            &["code"],
        )
        .expect("valid metric");
        let round_seconds = HistogramVec::new(
            HistogramOpts::new("kefu_sync_round_seconds", "Sync round latency")
                .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
            &["transport"],
        )
        .expect("valid metric");
        for collector in [
            Box::new(connections.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(rounds.clone()),
            Box::new(bytes.clone()),
            Box::new(refusals.clone()),
            Box::new(round_seconds.clone()),
        ] {
            registry.register(collector).expect("metric names are unique");
        }
        Metrics { registry, connections, rounds, bytes, refusals, round_seconds }
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out).expect("text encoding does not fail");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_show_up_in_the_exposition() {
        let metrics = Metrics::new();
        metrics.rounds.with_label_values(&["ws", "ok"]).inc();
        metrics.refusals.with_label_values(&["auth.revoked"]).inc_by(2);
        let text = metrics.render();
        assert!(text.contains("kefu_sync_rounds_total{outcome=\"ok\",transport=\"ws\"} 1"), "{text}");
        assert!(text.contains("kefu_sync_refusals_total{code=\"auth.revoked\"} 2"), "{text}");
        assert!(text.contains("kefu_ws_connections 0"), "{text}");
    }
}
