//! `deploy`: the instructions that bring a cluster to the state a config describes —
//! `initialize_protocol` unless the protocol exists, then `add_market` for every market
//! not listed yet, in file order (market indices follow that order), then `launch` if the
//! config asks for it and the protocol is not launched yet. Markets are listed directly
//! only during the setup phase: after launch a new market needs a ListMarket proposal
//! (`ballast-cli propose-change`), so the plan refuses.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use ballast_client::ix;

use crate::config::DeployConfig;

/// One transaction of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub label: String,
    pub instruction: Instruction,
}

/// What already exists on the cluster, as far as the plan cares.
pub trait Chain {
    fn exists(&self, account: &Pubkey) -> bool;
}

impl<F: Fn(&Pubkey) -> bool> Chain for F {
    fn exists(&self, account: &Pubkey) -> bool {
        self(account)
    }
}

/// Accounts whose existence decides the plan: the protocol, then each market.
pub fn watched_accounts(config: &DeployConfig) -> Vec<Pubkey> {
    std::iter::once(ix::protocol_pda()).chain(config.markets.iter().map(|m| ix::market_pda(&m.mint))).collect()
}

/// The steps, given what exists and whether the protocol is already `launched`.
pub fn plan(config: &DeployConfig, admin: Pubkey, chain: &impl Chain, launched: bool) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    if !chain.exists(&ix::protocol_pda()) {
        steps.push(Step {
            label: format!("initialize_protocol (admin {admin}, native mint {})", config.native_mint),
            instruction: ix::initialize_protocol(
                admin,
                config.native_mint,
                config.native_oracle,
                config.protocol_config,
            ),
        });
    }
    for m in &config.markets {
        let market = ix::market_pda(&m.mint);
        if chain.exists(&market) {
            continue;
        }
        if launched {
            return Err(format!(
                "market {} is not listed and the protocol is launched: list it through a ListMarket proposal \
                 (ballast-cli propose-change), then add-market",
                m.name
            ));
        }
        steps.push(Step {
            label: format!("add_market {} (mint {}, {}) -> {market}", m.name, m.mint, m.oracle),
            instruction: ix::add_market(admin, m.mint, m.oracle, m.config),
        });
    }
    if config.launch && !launched {
        steps.push(Step {
            label: "launch (ends the setup phase for good: loosening changes and listings then wait in the timelock)"
                .to_string(),
            instruction: ix::launch(admin),
        });
    }
    Ok(steps)
}

/// A step as `--dry-run` prints it: label, program, accounts with roles, data in hex.
pub fn describe(step: &Step) -> String {
    let mut out = format!("{}\n  program {}\n", step.label, step.instruction.program_id);
    for meta in &step.instruction.accounts {
        let role = match (meta.is_signer, meta.is_writable) {
            (true, true) => "signer, writable",
            (true, false) => "signer",
            (false, true) => "writable",
            (false, false) => "readonly",
        };
        out.push_str(&format!("  {} ({role})\n", meta.pubkey));
    }
    let data: String = step.instruction.data.iter().map(|b| format!("{b:02x}")).collect();
    out.push_str(&format!("  data {data}\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use anchor_lang::{Discriminator, InstructionData};
    use std::collections::HashSet;

    fn example() -> DeployConfig {
        DeployConfig::parse(include_str!("../../../migrations/deploy.example.json")).unwrap()
    }

    #[test]
    fn a_fresh_cluster_gets_the_protocol_then_every_market_in_order() {
        let config = example();
        let admin = Pubkey::new_unique();
        let steps = plan(&config, admin, &|_: &Pubkey| false, false).unwrap();
        assert_eq!(steps.len(), 3);
        assert_eq!(
            steps[0].instruction,
            ix::initialize_protocol(admin, config.native_mint, config.native_oracle, config.protocol_config)
        );
        assert_eq!(&steps[0].instruction.data[..8], ballast::instruction::InitializeProtocol::DISCRIMINATOR);
        for (step, m) in steps[1..].iter().zip(&config.markets) {
            assert_eq!(step.instruction, ix::add_market(admin, m.mint, m.oracle, m.config));
            let expected = ballast::instruction::AddMarket { config: m.config, oracle_source: m.oracle }.data();
            assert_eq!(step.instruction.data, expected);
            // The example lists push feeds, which the program accepts as they are written.
            assert_eq!(m.oracle.kind().unwrap(), ballast::OracleKind::PythPriceUpdateV2);
            m.oracle.validate_for_listing().unwrap();
            assert!(step.label.contains(&m.name));
        }
        // Pyth's sponsored SOL/USD push feed (shard 0), as a price pusher keeps it fresh.
        let sol = config.markets.iter().find(|m| m.name == "SOL").unwrap();
        assert_eq!(sol.oracle.address.to_string(), "7UVimffxr9ow1uXYxsr4LHAcV58mLzhmwaeKvJ1pjLiE");
    }

    #[test]
    fn what_exists_is_skipped() {
        let config = example();
        let done: HashSet<Pubkey> = [ix::protocol_pda(), ix::market_pda(&config.markets[0].mint)].into();
        let steps = plan(&config, Pubkey::new_unique(), &|k: &Pubkey| done.contains(k), false).unwrap();
        assert_eq!(steps.len(), 1);
        assert!(steps[0].label.starts_with("add_market SOL"), "{}", steps[0].label);
        let all: HashSet<Pubkey> = watched_accounts(&config).into_iter().collect();
        assert_eq!(all.len(), 3);
        assert!(plan(&config, Pubkey::new_unique(), &|k: &Pubkey| all.contains(k), false).unwrap().is_empty());
    }

    #[test]
    fn launch_comes_last_and_once() {
        let config = DeployConfig { launch: true, ..example() };
        let admin = Pubkey::new_unique();
        let steps = plan(&config, admin, &|_: &Pubkey| false, false).unwrap();
        assert_eq!(steps.len(), 4);
        assert_eq!(steps[3].instruction, ix::launch(admin));
        let all: HashSet<Pubkey> = watched_accounts(&config).into_iter().collect();
        assert!(plan(&config, admin, &|k: &Pubkey| all.contains(k), true).unwrap().is_empty());
        // After launch a missing market cannot be listed directly.
        let err = plan(&config, admin, &|k: &Pubkey| *k == ix::protocol_pda(), true).unwrap_err();
        assert!(err.contains("market USDC is not listed and the protocol is launched"), "{err}");
    }

    #[test]
    fn dry_run_lists_accounts_and_data() {
        let config = example();
        let steps = plan(&config, Pubkey::new_unique(), &|_: &Pubkey| false, false).unwrap();
        let text = describe(&steps[1]);
        assert!(text.contains(&ix::market_pda(&config.markets[0].mint).to_string()));
        assert!(text.contains("(signer, writable)"));
        assert!(text.contains("  data 2989b97e458bfe37"), "{text}");
    }
}
