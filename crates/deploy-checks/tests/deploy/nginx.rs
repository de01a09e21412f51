//! deploy/nginx passes `nginx -t` as docker-compose and as a local nginx use it, with
//! Mozilla's intermediate TLS settings.

use deploy_checks::{nginx, repo_root};

#[test]
fn the_nginx_configuration_passes_nginx_t() -> anyhow::Result<()> {
    nginx::check(&repo_root())
}
