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
