//! The guardian's time box: a fast key that may trip a breaker (tighten only), but only
//! briefly and only a few times, so a lost or hostile guardian key cannot freeze the
//! protocol. Anyone may resume once a trip has run out; the admin may resume at any time.
//!
//! Limits: each trip lasts at most `max_trip_secs`; at most `max_consecutive` trips in a
//! row, where a trip counts as following the previous one if it starts (or is extended)
//! no more than `consecutive_gap_secs` after that one ended; and at most `max_per_day`
//! trips in a day window. The day window opens at the first trip after the previous
//! window has run 86_400 s, so it is a fixed window, not a sliding one: close to a window
//! boundary up to twice `max_per_day` trips can fall within a day, still bounded by the
//! consecutive limit and the gap. What a trip pauses is the program's choice; this module
//! only keeps the count.

use crate::params::ParamError;
use crate::{RiskError, RiskResult};

/// Seconds in a guardian day window.
pub const GUARDIAN_DAY_SECS: i64 = 86_400;
/// Longest single trip governance may allow: 6 hours.
pub const MAX_GUARDIAN_TRIP_SECS: u32 = 6 * 3_600;
/// Most trips a day governance may allow.
pub const MAX_GUARDIAN_TRIPS_PER_DAY: u8 = 10;
/// Longest gap that still makes two trips consecutive: one day.
pub const MAX_CONSECUTIVE_GAP_SECS: u32 = 86_400;

/// Governance limits on the guardian.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardianParams {
    /// Longest single trip, in seconds (e.g. 1_800).
    pub max_trip_secs: u32,
    /// Most trips in a row (e.g. 2).
    pub max_consecutive: u8,
    /// Most trips in a day window (e.g. 3).
    pub max_per_day: u8,
    /// A trip starting within this many seconds of the previous one's end follows it.
    pub consecutive_gap_secs: u32,
}

/// The guardian's record. All zero: never tripped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GuardianState {
    /// The breaker is tripped while `now < paused_until_ts`; after a trip ends (or is
    /// resumed) this is when it ended.
    pub paused_until_ts: i64,
    /// Start of the current day window.
    pub day_start_ts: i64,
    /// Trips in the current day window.
    pub trips_today: u8,
    /// Length of the current run of consecutive trips (0 before the first).
    pub consecutive: u8,
}

/// `1 <= max_consecutive <= max_per_day <= MAX_GUARDIAN_TRIPS_PER_DAY`, a trip of at
/// least a second and at most [`MAX_GUARDIAN_TRIP_SECS`], a bounded gap.
pub fn validate_guardian_params(p: &GuardianParams) -> Result<(), ParamError> {
    let ok = (1..=MAX_GUARDIAN_TRIP_SECS).contains(&p.max_trip_secs)
        && 1 <= p.max_consecutive
        && p.max_consecutive <= p.max_per_day
        && p.max_per_day <= MAX_GUARDIAN_TRIPS_PER_DAY
        && p.consecutive_gap_secs <= MAX_CONSECUTIVE_GAP_SECS;
    ok.then_some(()).ok_or(ParamError::Guardian)
}

/// The guardian trips the breaker at `now` for `duration_secs`. A trip while one is
/// running extends it (never shortens it) and counts as a consecutive trip.
pub fn trip(state: &GuardianState, now: i64, duration_secs: u32, params: &GuardianParams) -> RiskResult<GuardianState> {
    if duration_secs == 0 || duration_secs > params.max_trip_secs {
        return Err(RiskError::GuardianTripTooLong);
    }
    let since_day_start = i128::from(now) - i128::from(state.day_start_ts);
    let (day_start_ts, trips_before) = if state.trips_today == 0 || since_day_start >= i128::from(GUARDIAN_DAY_SECS) {
        (now, 0)
    } else {
        (state.day_start_ts, state.trips_today)
    };
    if trips_before >= params.max_per_day {
        return Err(RiskError::GuardianDailyLimit);
    }
    let since_last_end = i128::from(now) - i128::from(state.paused_until_ts);
    let follows = state.consecutive > 0 && since_last_end <= i128::from(params.consecutive_gap_secs);
    let consecutive = if follows { state.consecutive.saturating_add(1) } else { 1 };
    if consecutive > params.max_consecutive {
        return Err(RiskError::GuardianTooManyConsecutive);
    }
    Ok(GuardianState {
        paused_until_ts: now.saturating_add(i64::from(duration_secs)).max(state.paused_until_ts),
        day_start_ts,
        trips_today: trips_before + 1,
        consecutive,
    })
}

/// Whether the guardian's breaker is tripped at `now`.
pub fn is_paused(state: &GuardianState, now: i64) -> bool {
    now < state.paused_until_ts
}

/// The admin may resume at any time; anyone else once the trip has run out.
pub fn can_resume(state: &GuardianState, now: i64, by_admin: bool) -> bool {
    by_admin || !is_paused(state, now)
}

/// Ends the trip at `now` (or leaves it ended). Check [`can_resume`] first. The counts
/// stay: a trip right after an early resume still follows this one.
pub fn resume(state: &GuardianState, now: i64) -> GuardianState {
    GuardianState { paused_until_ts: state.paused_until_ts.min(now), ..*state }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T0: i64 = 1_750_000_000;

    fn params() -> GuardianParams {
        GuardianParams { max_trip_secs: 1_800, max_consecutive: 2, max_per_day: 3, consecutive_gap_secs: 3_600 }
    }

    #[test]
    fn a_trip_pauses_for_its_duration_only() {
        let s = trip(&GuardianState::default(), T0, 1_800, &params()).unwrap();
        assert_eq!(s, GuardianState { paused_until_ts: T0 + 1_800, day_start_ts: T0, trips_today: 1, consecutive: 1 });
        assert!(is_paused(&s, T0 + 1_799));
        assert!(!is_paused(&s, T0 + 1_800));
    }

    #[test]
    fn trips_longer_than_allowed_or_empty_are_refused() {
        let s = GuardianState::default();
        assert_eq!(trip(&s, T0, 1_801, &params()), Err(RiskError::GuardianTripTooLong));
        assert_eq!(trip(&s, T0, 0, &params()), Err(RiskError::GuardianTripTooLong));
    }

    #[test]
    fn at_most_two_in_a_row() {
        let p = params();
        let s = trip(&GuardianState::default(), T0, 1_800, &p).unwrap();
        // Re-tripping at expiry: a second trip in a row.
        let s = trip(&s, T0 + 1_800, 1_800, &p).unwrap();
        assert_eq!(s.consecutive, 2);
        // A third within the gap of the second's end is refused ...
        assert_eq!(trip(&s, T0 + 3_600 + 3_600, 60, &p), Err(RiskError::GuardianTooManyConsecutive));
        // ... and so is extending a running trip.
        assert_eq!(trip(&s, T0 + 2_000, 60, &p), Err(RiskError::GuardianTooManyConsecutive));
        // After the gap, a new run starts.
        let s = trip(&s, T0 + 3_600 + 3_601, 60, &p).unwrap();
        assert_eq!((s.consecutive, s.trips_today), (1, 3));
    }

    #[test]
    fn at_most_three_a_day_then_the_window_rolls() {
        let p = GuardianParams { max_consecutive: 3, ..params() };
        let mut s = GuardianState::default();
        for i in 0..3 {
            s = trip(&s, T0 + i * 10_000, 60, &p).unwrap();
        }
        assert_eq!(trip(&s, T0 + 86_399, 60, &p), Err(RiskError::GuardianDailyLimit));
        let s = trip(&s, T0 + 86_400, 60, &p).unwrap();
        assert_eq!((s.day_start_ts, s.trips_today), (T0 + 86_400, 1));
    }

    #[test]
    fn resume_by_admin_any_time_by_anyone_after_expiry() {
        let s = trip(&GuardianState::default(), T0, 1_800, &params()).unwrap();
        assert!(!can_resume(&s, T0 + 10, false));
        assert!(can_resume(&s, T0 + 10, true));
        assert!(can_resume(&s, T0 + 1_800, false));
        let r = resume(&s, T0 + 10);
        assert!(!is_paused(&r, T0 + 10));
        assert_eq!(r.paused_until_ts, T0 + 10);
        // Resuming after expiry changes nothing; an early resume still counts the trip.
        assert_eq!(resume(&s, T0 + 5_000), s);
        let again = trip(&r, T0 + 20, 60, &params()).unwrap();
        assert_eq!(again.consecutive, 2);
    }

    #[test]
    fn bounds_are_checked() {
        assert_eq!(validate_guardian_params(&params()), Ok(()));
        for p in [
            GuardianParams { max_trip_secs: 0, ..params() },
            GuardianParams { max_trip_secs: MAX_GUARDIAN_TRIP_SECS + 1, ..params() },
            GuardianParams { max_consecutive: 0, ..params() },
            GuardianParams { max_consecutive: 4, ..params() },
            GuardianParams { max_per_day: MAX_GUARDIAN_TRIPS_PER_DAY + 1, max_consecutive: 1, ..params() },
            GuardianParams { consecutive_gap_secs: MAX_CONSECUTIVE_GAP_SECS + 1, ..params() },
        ] {
            assert_eq!(validate_guardian_params(&p), Err(ParamError::Guardian), "{p:?}");
        }
    }

    proptest! {
        #[test]
        fn no_trip_sequence_beats_the_limits(attempts in prop::collection::vec((0i64..20_000, 1u32..=1_800), 1..40)) {
            let p = params();
            let mut s = GuardianState::default();
            let mut now = T0;
            let mut accepted: Vec<i64> = Vec::new();
            for (step, duration) in attempts {
                now += step;
                if let Ok(next) = trip(&s, now, duration, &p) {
                    prop_assert!(next.paused_until_ts <= now + 1_800);
                    prop_assert!(next.paused_until_ts >= s.paused_until_ts);
                    prop_assert!(next.consecutive <= p.max_consecutive && next.trips_today <= p.max_per_day);
                    accepted.push(now);
                    s = next;
                }
            }
            // Within any day window opened by an accepted trip, at most max_per_day.
            for (i, &start) in accepted.iter().enumerate() {
                let in_day = accepted[i..].iter().take_while(|&&t| t < start + GUARDIAN_DAY_SECS).count();
                prop_assert!(in_day <= 2 * usize::from(p.max_per_day));
            }
        }

        #[test]
        fn extreme_inputs_never_panic(paused: i64, day: i64, today: u8, consecutive: u8, now: i64, duration: u32, max_trip: u32, max_c: u8, max_d: u8, gap: u32) {
            let s = GuardianState { paused_until_ts: paused, day_start_ts: day, trips_today: today, consecutive };
            let p = GuardianParams { max_trip_secs: max_trip, max_consecutive: max_c, max_per_day: max_d, consecutive_gap_secs: gap };
            let _ = trip(&s, now, duration, &p);
            let _ = resume(&s, now);
        }
    }
}
