//! The machinery that the roster search (`improve`) and the NRP search (`nrp::solve`) share: a
//! seeded random generator, a clock that hands out shares of a time limit, and the adaptive
//! choice of large neighbourhoods (which shape to solve next, and how large).
//!
//! Both searches fix most of an incumbent, let HiGHS re-solve the free part with the incumbent as
//! its start, and keep what is at least as good. What is free, and how a result is judged, is each
//! search's own: the NRP's evaluator and the roster's validator stay apart.

use std::time::{Duration, Instant};

/// A small deterministic generator (splitmix64): the same seed gives the same search.
pub(crate) struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in [0, n) (0 when n is 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// A number in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A time limit and when it started: phases are given shares of it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    pub started: Instant,
    /// Seconds.
    pub limit: f64,
}

impl Clock {
    /// A clock for `limit` seconds, starting now.
    pub(crate) fn start(limit: f64) -> Self {
        Clock { started: Instant::now(), limit }
    }

    /// Seconds since the start.
    pub(crate) fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Share of the limit spent so far.
    pub(crate) fn spent(&self) -> f64 {
        self.elapsed() / self.limit
    }

    /// Seconds left until `share` of the limit.
    pub(crate) fn left(&self, share: f64) -> f64 {
        self.limit * share - self.elapsed()
    }

    /// The instant at which `share` of the limit is spent.
    pub(crate) fn deadline(&self, share: f64) -> Instant {
        self.started + Duration::from_secs_f64((self.limit * share).max(0.0))
    }
}

/// The choice among `K` shapes of neighbourhood: each is picked in proportion to its recent gain
/// per unit of effort (seconds for the NRP; rounds for the roster, whose search must repeat
/// itself on a loaded machine), plus half the mean so that none falls below about a third of its share, and each
/// has its own size (in whatever unit the search frees: cells, days, people), grown when HiGHS
/// proved its last sub-problem (too easy) and shrunk when it did not (too hard).
pub(crate) struct Neighbourhoods<const K: usize> {
    /// Gain per unit of effort, a moving average per shape; equal to start with.
    rate: [f64; K],
    /// Current size per shape.
    size: [f64; K],
    /// Sizes stay within these.
    range: (f64, f64),
}

impl<const K: usize> Neighbourhoods<K> {
    /// Every shape at size `first` (clamped to `range`).
    pub(crate) fn new(first: f64, range: (f64, f64)) -> Self {
        Neighbourhoods { rate: [1.0; K], size: [first.clamp(range.0, range.1); K], range }
    }

    /// The next shape to try.
    pub(crate) fn pick(&self, rng: &mut Rng) -> usize {
        let total: f64 = self.rate.iter().sum();
        let floor = 0.5 * total / K as f64 + 1e-9;
        let mut pick = rng.unit() * (total + K as f64 * floor);
        (0..K)
            .find(|&k| {
                pick -= self.rate[k] + floor;
                pick < 0.0
            })
            .unwrap_or(K - 1)
    }

    /// The size of shape `kind`.
    pub(crate) fn size(&self, kind: usize) -> f64 {
        self.size[kind]
    }

    /// Records a sub-problem of shape `kind` and size `size`: its gain in objective, the effort
    /// it took, and whether HiGHS proved it.
    pub(crate) fn record(&mut self, kind: usize, size: f64, gain: f64, effort: f64, proven: bool) {
        self.rate[kind] = 0.8 * self.rate[kind] + 0.2 * gain / effort.max(1e-3);
        let factor = if proven { 1.15 } else { 0.85 };
        self.size[kind] = (size * factor).clamp(self.range.0, self.range.1);
    }
}
