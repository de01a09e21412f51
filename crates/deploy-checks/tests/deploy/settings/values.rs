//! Every setting the deployment files give the service is one the binary reads, with a value
//! it accepts.

use clap::Parser;

use super::*;

#[test]
fn every_setting_in_the_manifests_is_one_the_binary_reads() {
    let settings = binary_settings();
    assert!(settings.contains_key("ORDER_MANAGER_BIND"), "{settings:?}");
    let mut unknown = Vec::new();
    for env in service_envs() {
        for name in env.vars.keys() {
            if name != RUST_LOG && !settings.contains_key(name) {
                unknown.push(format!("{}: {name}", env.origin));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "settings the binary does not read (see `order-manager --help`): {unknown:#?}"
    );
}

#[test]
fn every_value_in_the_manifests_is_accepted_by_the_binary() {
    let settings = binary_settings();
    for env in service_envs() {
        // The arguments the container runs with, plus every setting as its flag: clap's own
        // value parsers (addresses, numbers and their ranges, CIDR lists, enums) judge them.
        let mut argv = vec!["order-manager".to_owned()];
        argv.extend(env.args.iter().cloned());
        for (name, value) in &env.vars {
            if name == RUST_LOG {
                continue;
            }
            let Some(arg) = settings.get(name) else {
                continue; // reported by the test above
            };
            let long = arg.get_long().expect("every setting has a long flag");
            if arg.get_action().takes_values() {
                argv.push(format!("--{long}={value}"));
            } else if !matches!(value.as_str(), "" | "0" | "false" | "no" | "off") {
                argv.push(format!("--{long}"));
            }
        }
        if let Err(err) = Cli::try_parse_from(&argv) {
            panic!("{}: the binary refuses {argv:?}:\n{err}", env.origin);
        }
    }
}

#[test]
fn rust_log_is_read_by_the_binary_and_every_value_is_a_valid_filter() {
    assert_eq!(tracing_subscriber::EnvFilter::DEFAULT_ENV, RUST_LOG);
    let telemetry = read("crates/server/src/telemetry.rs");
    assert!(
        telemetry.contains("EnvFilter::try_from_default_env()"),
        "the server no longer reads RUST_LOG through EnvFilter::try_from_default_env"
    );
    for env in service_envs() {
        if let Some(filter) = env.vars.get(RUST_LOG) {
            tracing_subscriber::EnvFilter::try_new(filter)
                .unwrap_or_else(|e| panic!("{}: RUST_LOG={filter}: {e}", env.origin));
        }
    }
}
