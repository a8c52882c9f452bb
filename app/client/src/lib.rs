//! What every off-chain Ballast tool needs: PDA derivations, instruction builders and
//! zero-copy views of account bytes. No network and no runtime in here.

pub mod decode;
pub mod health_accounts;
pub mod ix;
pub mod lookup_table;
