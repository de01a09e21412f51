//! Admin subcommands: `user add`, `api-key create|revoke|list`. They work on SQLite and MySQL
//! alike. Secrets go to stdout only when they are the command's product (a new key).

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::Scope;
use rand::RngCore;

use crate::cli::{ApiKeyCommand, ServeArgs, SessionsCommand, UserCommand};
use crate::database;
use crate::wiring::{Stores, password_hasher};

pub(crate) async fn stores(settings: &ServeArgs) -> anyhow::Result<Stores> {
    let db = database::open(&settings.database).await?;
    database::prepare_schema(&db, &settings.database.url, settings.migrate).await?;
    Ok(Stores::new(&db, database::resilience(&settings.database)))
}

pub async fn user(settings: &ServeArgs, command: UserCommand) -> anyhow::Result<()> {
    if let UserCommand::Add { username, scopes } = command {
        let password = read_password()?;
        let stores = stores(settings).await?;
        stores
            .add_user(password_hasher()?)
            .execute(&username, &password, &scopes)
            .await?;
        eprintln!(
            "added user `{username}` with scopes {}",
            scope_list(&scopes)
        );
        return Ok(());
    }
    let stores = stores(settings).await?;
    let sessions = crate::wiring::sessions_for_admin(&settings.auth)?;
    let lifecycle = stores.user_lifecycle(password_hasher()?, sessions);
    let ended = |count: u64| {
        let place = if settings.auth.redis_url.is_some() {
            "in Redis, on every replica"
        } else {
            "none reached: without REDIS_URL sessions live in the server's memory, and end \
             when it restarts or their tokens expire"
        };
        format!("{count} session(s) ended ({place})")
    };
    match command {
        UserCommand::Add { .. } => {}
        UserCommand::List => {
            let mut out = std::io::stdout();
            writeln!(out, "USERNAME\tSCOPES\tCREATED_MS\tDISABLED_MS")?;
            for user in lifecycle.list().await? {
                let disabled = user.disabled_at.map_or("-".to_owned(), |at| at.to_string());
                writeln!(
                    out,
                    "{}\t{}\t{}\t{disabled}",
                    user.username, user.scopes, user.created_at
                )?;
            }
        }
        UserCommand::Disable { username } => {
            let count = lifecycle.disable(&username).await?;
            eprintln!("disabled user `{username}`; {}", ended(count));
        }
        UserCommand::Enable { username } => {
            lifecycle.enable(&username).await?;
            eprintln!("enabled user `{username}`");
        }
        UserCommand::Passwd { username } => {
            let password = read_password()?;
            let count = lifecycle.change_password(&username, &password).await?;
            eprintln!("changed the password of `{username}`; {}", ended(count));
        }
        UserCommand::Sessions {
            command: SessionsCommand::Revoke { username },
        } => {
            let count = lifecycle.revoke_sessions(&username).await?;
            eprintln!("{}", ended(count));
        }
    }
    Ok(())
}

pub async fn api_key(settings: &ServeArgs, command: ApiKeyCommand) -> anyhow::Result<()> {
    let stores = stores(settings).await?;
    match command {
        ApiKeyCommand::Create { name, scopes } => {
            let created = create_api_key(&stores, &name, &scopes).await?;
            eprintln!(
                "created API key {} `{name}` with scopes {} (shown once; send it as X-API-Key)",
                created.1,
                scope_list(&scopes)
            );
            let mut stdout = std::io::stdout();
            writeln!(stdout, "{}", created.0)?;
        }
        ApiKeyCommand::Revoke { prefix } => {
            stores.revoke_api_key().execute(&prefix).await?;
            eprintln!("revoked API key {prefix}");
        }
        ApiKeyCommand::List => {
            let mut out = std::io::stdout();
            writeln!(
                out,
                "PREFIX\tNAME\tSCOPES\tCREATED_MS\tLAST_USED_MS\tREVOKED_MS"
            )?;
            for key in stores.list_api_keys().execute().await? {
                let or_dash = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    key.prefix,
                    key.name,
                    key.scopes,
                    key.created_at,
                    or_dash(key.last_used_at),
                    or_dash(key.revoked_at)
                )?;
            }
        }
    }
    Ok(())
}

/// Creates a key; returns the key and its public prefix.
pub async fn create_api_key(
    stores: &Stores,
    name: &str,
    scopes: &[Scope],
) -> anyhow::Result<(String, String)> {
    let created = stores.create_api_key().execute(name, scopes).await?;
    Ok((created.key, created.record.prefix))
}

/// The embedded default's first start: with no user at all, create `admin` with a random
/// password and show it once. Never done on a shared database.
pub async fn bootstrap_admin(stores: &Stores, bind: std::net::SocketAddr) -> anyhow::Result<()> {
    let add_user = stores.add_user(password_hasher()?);
    if add_user.any_user_exists().await? {
        return Ok(());
    }
    let mut bytes = [0u8; 18];
    rand::rng().fill_bytes(&mut bytes);
    let password = URL_SAFE_NO_PAD.encode(bytes);
    add_user
        .execute("admin", &password, &[Scope::Admin])
        .await?;
    eprintln!(
        "\nCreated the user `admin` with the password `{password}` (shown only this once).\n\
         Log in with:\n  curl -s -X POST http://{bind}/auth/login -H 'Content-Type: application/json' \
         -d '{{\"username\":\"admin\",\"password\":\"{password}\"}}'\n"
    );
    Ok(())
}

fn read_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("password (at least 12 characters): ");
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        bail!(
            "no password on standard input (pipe it in: `echo \"$PASSWORD\" | order-manager user add ...`)"
        );
    }
    Ok(password)
}

fn scope_list(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}
