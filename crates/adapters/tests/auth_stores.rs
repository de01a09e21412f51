//! The user and API key stores' contract, run against SQLite (a temporary file) and MariaDB/MySQL
//! (a database with a random name on the server whose URL `cargo xtask ci` passes in
//! `ORDER_MANAGER_TEST_MYSQL_URL`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic: that is how they fail

mod support;

use adapters::sql::{SqlApiKeyStore, SqlUserStore};
use application::ports::{
    AddUserError, ApiKeyRecord, ApiKeyStore, PasswordHash, UserRecord, UserStore,
};
use domain::{Scope, Scopes, Username};
use sea_orm::DatabaseConnection;

/// Both stores on one database.
type Stores = (SqlUserStore, SqlApiKeyStore);

fn stores(db: &DatabaseConnection) -> Stores {
    (
        SqlUserStore::new(db.clone()),
        SqlApiKeyStore::new(db.clone()),
    )
}

contract!(
    crate::stores;
    an_added_user_is_found_with_its_hash_and_scopes,
    an_unknown_user_is_not_found,
    a_taken_username_cannot_be_added_again,
    usernames_are_compared_exactly,
    users_are_listed_disabled_enabled_and_given_new_passwords,
    the_user_count_follows_every_add,
    an_inserted_key_is_found_by_its_digest,
    an_unknown_digest_is_not_found,
    a_key_is_revoked_once,
    revoking_an_unknown_prefix_changes_nothing,
    keys_are_listed_by_creation_time_then_prefix,
    usage_is_recorded_for_the_listed_keys_only,
    recording_no_usage_is_fine,
);

const T0: u64 = 1_637_245_070_513;

const HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA";

fn username(name: &str) -> Username {
    Username::parse(name).unwrap()
}

fn user(name: &str, hash: &str, scopes: &[Scope]) -> UserRecord {
    UserRecord {
        username: username(name),
        password_hash: PasswordHash::new(hash),
        scopes: Scopes::new(scopes.iter().copied()),
        disabled: false,
    }
}

/// A key with the prefix `omk_<tag>` (`tag` of 8 characters) and a digest derived from it.
fn key(tag: &str, name: &str, created_at: u64, scopes: &[Scope]) -> ApiKeyRecord {
    ApiKeyRecord {
        prefix: format!("omk_{tag}"),
        digest: digest(tag),
        name: name.to_owned(),
        scopes: Scopes::new(scopes.iter().copied()),
        created_at,
        revoked_at: None,
        last_used_at: None,
    }
}

/// A 64-character lowercase hex string, distinct for each `tag`.
fn digest(tag: &str) -> String {
    let hex: String = tag.bytes().map(|b| format!("{b:02x}")).collect();
    format!("{hex:0>64}")
}

mod cases {
    use super::*;

    pub async fn an_added_user_is_found_with_its_hash_and_scopes((users, _): Stores) {
        let alice = user(
            "alice.o-brien@shop",
            HASH,
            &[Scope::OrdersWrite, Scope::CustomersRead],
        );
        users.add(&alice).await.unwrap();
        let found = users.find(&alice.username).await.unwrap().expect("found");
        assert_eq!(found.username.as_str(), "alice.o-brien@shop");
        assert_eq!(found.password_hash.as_str(), HASH);
        assert_eq!(found.scopes.to_string(), "orders:write customers:read");
        assert_eq!(found, alice);
    }

    pub async fn an_unknown_user_is_not_found((users, _): Stores) {
        assert_eq!(users.find(&username("nobody")).await.unwrap(), None);
        users.add(&user("alice", HASH, &[])).await.unwrap();
        assert_eq!(users.find(&username("nobody")).await.unwrap(), None);
    }

    pub async fn a_taken_username_cannot_be_added_again((users, _): Stores) {
        users
            .add(&user("alice", HASH, &[Scope::Admin]))
            .await
            .unwrap();
        let again = users
            .add(&user("alice", "$argon2id$other", &[Scope::OrdersWrite]))
            .await;
        assert_eq!(again, Err(AddUserError::AlreadyExists));
        let kept = users.find(&username("alice")).await.unwrap().unwrap();
        assert_eq!(kept.password_hash.as_str(), HASH);
        assert_eq!(kept.scopes, Scopes::new([Scope::Admin]));
        assert_eq!(users.count().await.unwrap(), 1);
    }

    pub async fn users_are_listed_disabled_enabled_and_given_new_passwords((users, _): Stores) {
        users
            .add(&user("bob", HASH, &[Scope::OrdersWrite]))
            .await
            .unwrap();
        users
            .add(&user("alice", HASH, &[Scope::Admin]))
            .await
            .unwrap();
        let listed = users.list().await.unwrap();
        let names: Vec<&str> = listed.iter().map(|u| u.username.as_str()).collect();
        assert_eq!(names, ["alice", "bob"]);
        assert!(
            listed
                .iter()
                .all(|u| u.disabled_at.is_none() && u.created_at > 0)
        );
        assert_eq!(listed[0].scopes, Scopes::new([Scope::Admin]));

        assert!(
            users
                .set_disabled(&username("bob"), Some(1_700_000_000_123))
                .await
                .unwrap()
        );
        let bob = users.find(&username("bob")).await.unwrap().unwrap();
        assert!(bob.disabled);
        assert_eq!(
            users.list().await.unwrap()[1].disabled_at,
            Some(1_700_000_000_123)
        );
        assert!(
            !users
                .find(&username("alice"))
                .await
                .unwrap()
                .unwrap()
                .disabled
        );
        assert!(users.set_disabled(&username("bob"), None).await.unwrap());
        assert!(
            !users
                .find(&username("bob"))
                .await
                .unwrap()
                .unwrap()
                .disabled
        );

        let new_hash = PasswordHash::new("$argon2id$new");
        assert!(
            users
                .set_password_hash(&username("bob"), &new_hash)
                .await
                .unwrap()
        );
        assert_eq!(
            users
                .find(&username("bob"))
                .await
                .unwrap()
                .unwrap()
                .password_hash,
            new_hash
        );
        // Nobody of that name: nothing changes, and the caller is told.
        assert!(
            !users
                .set_disabled(&username("nobody"), Some(1))
                .await
                .unwrap()
        );
        assert!(
            !users
                .set_password_hash(&username("nobody"), &new_hash)
                .await
                .unwrap()
        );
        assert!(!users.set_disabled(&username("Bob"), Some(1)).await.unwrap());
    }

    pub async fn usernames_are_compared_exactly((users, _): Stores) {
        users
            .add(&user("alice", "$argon2id$lower", &[Scope::OrdersWrite]))
            .await
            .unwrap();
        users
            .add(&user("Alice", "$argon2id$upper", &[Scope::CustomersRead]))
            .await
            .unwrap();
        let lower = users.find(&username("alice")).await.unwrap().unwrap();
        let upper = users.find(&username("Alice")).await.unwrap().unwrap();
        assert_eq!(lower.username.as_str(), "alice");
        assert_eq!(lower.password_hash.as_str(), "$argon2id$lower");
        assert_eq!(lower.scopes, Scopes::new([Scope::OrdersWrite]));
        assert_eq!(upper.username.as_str(), "Alice");
        assert_eq!(upper.password_hash.as_str(), "$argon2id$upper");
        assert_eq!(upper.scopes, Scopes::new([Scope::CustomersRead]));
        assert_eq!(users.find(&username("ALICE")).await.unwrap(), None);
        assert_eq!(users.count().await.unwrap(), 2);
    }

    pub async fn the_user_count_follows_every_add((users, _): Stores) {
        assert_eq!(users.count().await.unwrap(), 0);
        users.add(&user("alice", HASH, &[])).await.unwrap();
        assert_eq!(users.count().await.unwrap(), 1);
        users.add(&user("bob", HASH, &[])).await.unwrap();
        assert_eq!(users.count().await.unwrap(), 2);
    }

    pub async fn an_inserted_key_is_found_by_its_digest((_, keys): Stores) {
        let shop = key(
            "abcd1234",
            "shop frontend",
            T0,
            &[Scope::OrdersWrite, Scope::CustomersRead],
        );
        keys.insert(&shop).await.unwrap();
        let found = keys
            .find_by_digest(&digest("abcd1234"))
            .await
            .unwrap()
            .expect("found");
        assert_eq!(found.prefix, "omk_abcd1234");
        assert_eq!(found.digest, digest("abcd1234"));
        assert_eq!(found.name, "shop frontend");
        assert_eq!(found.scopes.to_string(), "orders:write customers:read");
        assert_eq!(found.created_at, T0);
        assert_eq!(found.revoked_at, None);
        assert_eq!(found.last_used_at, None);
        assert_eq!(found, shop);
    }

    pub async fn an_unknown_digest_is_not_found((_, keys): Stores) {
        assert_eq!(keys.find_by_digest(&digest("nothere")).await.unwrap(), None);
        keys.insert(&key("abcd1234", "k", T0, &[Scope::Admin]))
            .await
            .unwrap();
        assert_eq!(keys.find_by_digest(&digest("nothere")).await.unwrap(), None);
        assert_eq!(
            keys.find_by_digest(&digest("ABCD1234")).await.unwrap(),
            None
        );
    }

    pub async fn a_key_is_revoked_once((_, keys): Stores) {
        keys.insert(&key("abcd1234", "k", T0, &[Scope::Admin]))
            .await
            .unwrap();
        assert!(keys.revoke("omk_abcd1234", T0 + 10).await.unwrap());
        let revoked = keys
            .find_by_digest(&digest("abcd1234"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(revoked.revoked_at, Some(T0 + 10));
        assert!(!keys.revoke("omk_abcd1234", T0 + 20).await.unwrap());
        let still = keys
            .find_by_digest(&digest("abcd1234"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(still.revoked_at, Some(T0 + 10));
    }

    pub async fn revoking_an_unknown_prefix_changes_nothing((_, keys): Stores) {
        assert!(!keys.revoke("omk_nothere", T0).await.unwrap());
        keys.insert(&key("abcd1234", "k", T0, &[Scope::Admin]))
            .await
            .unwrap();
        assert!(!keys.revoke("omk_nothere", T0).await.unwrap());
        assert!(!keys.revoke("omk_ABCD1234", T0).await.unwrap());
        let untouched = keys
            .find_by_digest(&digest("abcd1234"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(untouched.revoked_at, None);
    }

    pub async fn keys_are_listed_by_creation_time_then_prefix((_, keys): Stores) {
        assert!(keys.list().await.unwrap().is_empty());
        for k in [
            key("cccc0000", "late", T0 + 5, &[Scope::Admin]),
            key("bbbb0000", "same time b", T0, &[Scope::OrdersWrite]),
            key("zzzz0000", "earliest", T0 - 1, &[Scope::CustomersRead]),
            key("aaaa0000", "same time a", T0, &[Scope::OrdersWrite]),
        ] {
            keys.insert(&k).await.unwrap();
        }
        let listed = keys.list().await.unwrap();
        let shown: Vec<(&str, &str, u64)> = listed
            .iter()
            .map(|k| (k.prefix.as_str(), k.name.as_str(), k.created_at))
            .collect();
        assert_eq!(
            shown,
            vec![
                ("omk_zzzz0000", "earliest", T0 - 1),
                ("omk_aaaa0000", "same time a", T0),
                ("omk_bbbb0000", "same time b", T0),
                ("omk_cccc0000", "late", T0 + 5),
            ]
        );
        assert_eq!(listed[0].digest, digest("zzzz0000"));
        assert_eq!(listed[0].scopes, Scopes::new([Scope::CustomersRead]));
    }

    pub async fn usage_is_recorded_for_the_listed_keys_only((_, keys): Stores) {
        for tag in ["aaaa0000", "bbbb0000", "cccc0000"] {
            keys.insert(&key(tag, tag, T0, &[Scope::OrdersWrite]))
                .await
                .unwrap();
        }
        keys.record_usage(&[
            ("omk_aaaa0000".to_owned(), T0 + 100),
            ("omk_cccc0000".to_owned(), T0 + 300),
        ])
        .await
        .unwrap();
        let used: Vec<(String, Option<u64>)> = keys
            .list()
            .await
            .unwrap()
            .into_iter()
            .map(|k| (k.prefix, k.last_used_at))
            .collect();
        assert_eq!(
            used,
            vec![
                ("omk_aaaa0000".to_owned(), Some(T0 + 100)),
                ("omk_bbbb0000".to_owned(), None),
                ("omk_cccc0000".to_owned(), Some(T0 + 300)),
            ]
        );
        keys.record_usage(&[("omk_aaaa0000".to_owned(), T0 + 400)])
            .await
            .unwrap();
        let again = keys
            .find_by_digest(&digest("aaaa0000"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.last_used_at, Some(T0 + 400));
        assert_eq!(again.revoked_at, None);
    }

    pub async fn recording_no_usage_is_fine((_, keys): Stores) {
        keys.record_usage(&[]).await.unwrap();
        keys.insert(&key("abcd1234", "k", T0, &[Scope::Admin]))
            .await
            .unwrap();
        keys.record_usage(&[]).await.unwrap();
        let found = keys
            .find_by_digest(&digest("abcd1234"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.last_used_at, None);
    }
}
