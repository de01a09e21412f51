//! The data stores are reached over verified TLS, with the CA files mounted where the URLs name
//! them, in the base and every overlay.

use deploy_checks::tools::Venv;
use deploy_checks::{repo_root, store_tls};

#[test]
fn the_stores_are_reached_over_verified_tls() -> anyhow::Result<()> {
    store_tls::check(&Venv::locate()?, &repo_root())
}
