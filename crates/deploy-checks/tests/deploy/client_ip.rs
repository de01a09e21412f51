//! In every overlay, the ingress controller's `proxy-real-ip-cidr` lies within the networks the
//! service trusts, so that the service finds the real client behind the load balancer.

use deploy_checks::tools::Venv;
use deploy_checks::{client_ip, repo_root};

#[test]
fn the_service_trusts_every_network_the_controller_believes() -> anyhow::Result<()> {
    client_ip::check(&Venv::locate()?, &repo_root())
}
