//! Gradual moves of a bps setting, so that a regime change never jumps a weight.
//!
//! When the regime changes the native token's collateral-weight multiplier, accounts
//! near their limit get `ramp_secs` to react instead of being made liquidatable in one
//! slot. The ramp is linear in time and always rounds the multiplier down: it rises a
//! little late and falls a little early, which is the side against the borrower.

use crate::BPS;

/// Linear move from `from_bps` at `start_ts` to `to_bps` at `start_ts + ramp_secs`,
/// rounded down. Exactly `from_bps` at (or before) the start, exactly `to_bps` from the
/// end on, monotone in `now` either way; `ramp_secs = 0` jumps at once.
pub fn ramped_bps(from_bps: u32, to_bps: u32, start_ts: i64, now: i64, ramp_secs: u32) -> u32 {
    let elapsed = i128::from(now) - i128::from(start_ts);
    if elapsed >= i128::from(ramp_secs) {
        return to_bps;
    }
    if elapsed <= 0 {
        return from_bps;
    }
    // 0 < elapsed < ramp_secs, so the products fit in u64 and the quotient in u32.
    let (elapsed, span) = (elapsed as u64, u64::from(ramp_secs));
    if to_bps >= from_bps {
        let step = u64::from(to_bps - from_bps) * elapsed / span;
        from_bps + step as u32
    } else {
        let step = (u64::from(from_bps - to_bps) * elapsed).div_ceil(span);
        from_bps - step as u32
    }
}

/// An asset weight scaled by a regime multiplier, rounded down. A multiplier above 1.0
/// counts as 1.0: the regime only ever lowers a weight.
pub fn scale_weight(weight_bps: u32, multiplier_bps: u32) -> u32 {
    let multiplier = u64::from(multiplier_bps).min(BPS as u64);
    // weight * multiplier / BPS <= weight, so it fits in u32.
    (u64::from(weight_bps) * multiplier / BPS as u64) as u32
}

/// A ramp in progress, as stored: the value at `start_ts` and the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ramp {
    pub from_bps: u32,
    pub to_bps: u32,
    pub start_ts: i64,
}

impl Ramp {
    /// A ramp already at `bps`.
    pub fn settled(bps: u32, now: i64) -> Ramp {
        Ramp { from_bps: bps, to_bps: bps, start_ts: now }
    }

    /// The value at `now`.
    pub fn current(&self, now: i64, ramp_secs: u32) -> u32 {
        ramped_bps(self.from_bps, self.to_bps, self.start_ts, now, ramp_secs)
    }

    /// A new ramp toward `to_bps` starting at `now` from wherever this one has got to,
    /// so that a regime change in mid-ramp does not jump either. Retargeting to the same
    /// target leaves the ramp as it is.
    pub fn retarget(&self, to_bps: u32, now: i64, ramp_secs: u32) -> Ramp {
        if to_bps == self.to_bps {
            return *self;
        }
        Ramp { from_bps: self.current(now, ramp_secs), to_bps, start_ts: now }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T0: i64 = 1_750_000_000;

    #[test]
    fn ramps_are_exact_at_the_ends_and_round_down_between() {
        assert_eq!(ramped_bps(10_000, 7_000, T0, T0 - 5, 100), 10_000);
        assert_eq!(ramped_bps(10_000, 7_000, T0, T0, 100), 10_000);
        assert_eq!(ramped_bps(10_000, 7_000, T0, T0 + 100, 100), 7_000);
        assert_eq!(ramped_bps(10_000, 7_000, T0, i64::MAX, 100), 7_000);
        // Falling 3_000 over 7 s: after 1 s, 428.57 off -> 429 off (down).
        assert_eq!(ramped_bps(10_000, 7_000, T0, T0 + 1, 7), 9_571);
        // Rising: 428.57 on -> 428 on (down).
        assert_eq!(ramped_bps(7_000, 10_000, T0, T0 + 1, 7), 7_428);
        assert_eq!(ramped_bps(7_000, 10_000, T0, T0, 0), 10_000);
        assert_eq!(ramped_bps(7_000, 10_000, i64::MAX, i64::MIN, 100), 7_000);
    }

    #[test]
    fn weights_scale_down() {
        assert_eq!(scale_weight(8_000, 7_500), 6_000);
        assert_eq!(scale_weight(8_001, 7_500), 6_000); // 6000.75 down
        assert_eq!(scale_weight(8_000, 20_000), 8_000);
        assert_eq!(scale_weight(u32::MAX, u32::MAX), u32::MAX);
    }

    #[test]
    fn retargeting_mid_ramp_starts_from_where_it_got() {
        let r = Ramp::settled(10_000, T0).retarget(5_000, T0, 1_000);
        assert_eq!(r.current(T0 + 500, 1_000), 7_500);
        let back = r.retarget(10_000, T0 + 500, 1_000);
        assert_eq!(back, Ramp { from_bps: 7_500, to_bps: 10_000, start_ts: T0 + 500 });
        assert_eq!(back.current(T0 + 500, 1_000), 7_500);
        assert_eq!(back.current(T0 + 1_500, 1_000), 10_000);
        assert_eq!(back.retarget(10_000, T0 + 900, 1_000), back);
    }

    proptest! {
        #[test]
        fn ramp_is_monotone_and_bounded(from: u32, to: u32, ramp_secs in 0u32..10_000, t1 in -100i64..20_000, t2 in -100i64..20_000) {
            let (early, late) = if t1 <= t2 { (t1, t2) } else { (t2, t1) };
            let a = ramped_bps(from, to, 0, early, ramp_secs);
            let b = ramped_bps(from, to, 0, late, ramp_secs);
            let (lo, hi) = (from.min(to), from.max(to));
            prop_assert!(lo <= a && a <= hi && lo <= b && b <= hi);
            if to >= from { prop_assert!(a <= b) } else { prop_assert!(a >= b) }
        }

        #[test]
        fn scaled_weight_never_exceeds_the_weight(w: u32, m: u32) {
            prop_assert!(scale_weight(w, m) <= w);
        }
    }
}
