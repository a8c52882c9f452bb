//! Priority fees from recent fees, with a cap, and which RPC errors are worth a retry.

use solana_rpc_client_api::client_error::{Error as ClientError, ErrorKind};
use solana_rpc_client_api::request::RpcError;
#[cfg(test)]
use solana_rpc_client_api::request::RpcResponseErrorData;

/// The 75th percentile of recent priority fees (micro-lamports per CU), capped at `cap`.
pub fn priority_fee(recent: &[u64], cap: u64) -> u64 {
    if recent.is_empty() {
        return 0;
    }
    let mut fees = recent.to_vec();
    fees.sort_unstable();
    let index = (fees.len() * 3).div_ceil(4).saturating_sub(1);
    fees[index].min(cap)
}

/// Headroom over a simulation's compute units: the chain's state may move a little between
/// the simulation and the landing (one more market to accrue, an account one balance longer).
pub const COMPUTE_UNIT_MARGIN_BPS: u64 = 2_000;
pub const COMPUTE_UNIT_MARGIN_MIN: u64 = 5_000;

/// The compute-unit limit to send with, from the units the simulation consumed: 20%
/// more and at least 5,000 more, never above `cap` (the configured limit, also the one
/// simulated with); `cap` when the simulation did not say. A tight limit is what the
/// priority fee is paid on, and what block packing favours.
pub fn compute_unit_limit(consumed: Option<u64>, cap: u32) -> u32 {
    let Some(consumed) = consumed else { return cap };
    let margin = (consumed.saturating_mul(COMPUTE_UNIT_MARGIN_BPS) / 10_000).max(COMPUTE_UNIT_MARGIN_MIN);
    u32::try_from(consumed.saturating_add(margin)).unwrap_or(u32::MAX).min(cap)
}

/// Network and node-side hiccups are transient; a transaction the program rejects is not.
pub fn is_transient(error: &ClientError) -> bool {
    match error.kind() {
        ErrorKind::Io(_) | ErrorKind::Reqwest(_) => true,
        ErrorKind::RpcError(RpcError::RpcRequestError(_)) => true,
        // -32004 block not available, -32005 node unhealthy, -32014 status not available.
        ErrorKind::RpcError(RpcError::RpcResponseError { code, .. }) => matches!(code, -32004 | -32005 | -32014),
        _ => false,
    }
}

/// Delay before retry `attempt` (0-based): 200 ms doubling, at most 5 s.
pub fn backoff_ms(attempt: u32) -> u64 {
    (200u64 << attempt.min(5)).min(5_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_is_the_75th_percentile_capped() {
        assert_eq!(priority_fee(&[], 1_000), 0);
        assert_eq!(priority_fee(&[10, 40, 20, 30], 1_000), 30);
        assert_eq!(priority_fee(&[5], 1_000), 5);
        assert_eq!(priority_fee(&[10, 5_000, 9_000, 20_000], 1_000), 1_000);
    }

    #[test]
    fn the_limit_is_the_simulated_units_plus_a_margin_capped() {
        // 20% over a large simulation, at least 5,000 over a small one.
        assert_eq!(compute_unit_limit(Some(100_000), 400_000), 120_000);
        assert_eq!(compute_unit_limit(Some(10_000), 400_000), 15_000);
        // Never over the configured cap; the cap when the simulation did not say.
        assert_eq!(compute_unit_limit(Some(390_000), 400_000), 400_000);
        assert_eq!(compute_unit_limit(None, 400_000), 400_000);
        assert_eq!(compute_unit_limit(Some(u64::MAX), 1_400_000), 1_400_000);
    }

    #[test]
    fn backoff_doubles_up_to_a_ceiling() {
        assert_eq!((backoff_ms(0), backoff_ms(1), backoff_ms(3)), (200, 400, 1_600));
        assert_eq!(backoff_ms(10), 5_000);
    }

    #[test]
    fn program_errors_are_not_retried() {
        let io: ClientError = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset").into();
        assert!(is_transient(&io));
        let unhealthy: ClientError =
            RpcError::RpcResponseError { code: -32005, message: "unhealthy".into(), data: RpcResponseErrorData::Empty }
                .into();
        assert!(is_transient(&unhealthy));
        let rejected: ClientError = RpcError::ForUser("custom program error: 0x179b".into()).into();
        assert!(!is_transient(&rejected));
    }
}
