//! The session store contract, run against the in-memory store and the Redis store (on the
//! private Redis whose URL `cargo xtask ci` passes in `ORDER_MANAGER_TEST_REDIS_URL`), then what
//! only Redis has: sharing between replicas, the key layout, and failing fast, never hanging,
//! while Redis is down or stuck, and recovering when it is back (on a redis-server of its own).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic: that is how they fail

use std::time::{Duration, Instant};

use adapters::memory::InMemorySessionStore;
use adapters::redis::{RedisSessionStore, RedisSettings};
use application::ports::SessionStore;
use futures_util::future::join_all;
use testkit::ports::free_port_or_panic as free_port;
use testkit::process::Signal;
use testkit::redis::Redis;

use testkit::stores::redis_url;

fn redis_store_at(url: &str, timeout: Duration) -> RedisSessionStore {
    RedisSessionStore::connect(&RedisSettings {
        url: url.to_owned(),
        pool_size: 4,
        timeout,
    })
    .expect("connect builds the pool without needing Redis")
}

fn redis_store() -> RedisSessionStore {
    redis_store_at(&redis_url(), Duration::from_secs(5))
}

/// A session id no other test (or earlier run on the same Redis) uses.
fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

mod cases {
    use super::*;

    pub async fn created_session_exists_until_deleted(store: &dyn SessionStore) {
        let id = new_id();
        assert!(!store.exists(&id).await.unwrap());
        store
            .create(&id, "user-1", Duration::from_secs(60))
            .await
            .unwrap();
        assert!(store.exists(&id).await.unwrap());
        store.delete(&id).await.unwrap();
        assert!(!store.exists(&id).await.unwrap());
    }

    pub async fn deleting_an_unknown_session_is_ok(store: &dyn SessionStore) {
        let id = new_id();
        store.delete(&id).await.unwrap();
        store.delete(&id).await.unwrap();
        assert!(!store.exists(&id).await.unwrap());
    }

    pub async fn sessions_are_independent(store: &dyn SessionStore) {
        let (first, second) = (new_id(), new_id());
        let ttl = Duration::from_secs(60);
        store.create(&first, "user-1", ttl).await.unwrap();
        store.create(&second, "user-1", ttl).await.unwrap();
        store.delete(&first).await.unwrap();
        assert!(!store.exists(&first).await.unwrap());
        assert!(store.exists(&second).await.unwrap());
        store.delete(&second).await.unwrap();
    }

    pub async fn creating_again_replaces_the_session(store: &dyn SessionStore) {
        let id = new_id();
        store
            .create(&id, "user-1", Duration::from_secs(1))
            .await
            .unwrap();
        store
            .create(&id, "user-2", Duration::from_secs(60))
            .await
            .unwrap();
        // The second TTL applies: still there after the first would have expired.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(store.exists(&id).await.unwrap());
        store.delete(&id).await.unwrap();
    }

    pub async fn session_expires_after_its_ttl(store: &dyn SessionStore) {
        let id = new_id();
        let created = Instant::now();
        store
            .create(&id, "user-1", Duration::from_secs(1))
            .await
            .unwrap();
        assert!(store.exists(&id).await.unwrap());
        while store.exists(&id).await.unwrap() {
            assert!(
                created.elapsed() < Duration::from_secs(4),
                "a 1-second session still exists after 4 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let lived = created.elapsed();
        assert!(
            lived >= Duration::from_millis(900),
            "a 1-second session was gone after {lived:?}"
        );
        // Deleting an expired session is fine too.
        store.delete(&id).await.unwrap();
    }

    pub async fn sub_second_ttl_lasts_at_least_a_second(store: &dyn SessionStore) {
        let id = new_id();
        store
            .create(&id, "user-1", Duration::from_millis(10))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(store.exists(&id).await.unwrap());
        store.delete(&id).await.unwrap();
    }

    pub async fn ping_answers(store: &dyn SessionStore) {
        store.ping().await.unwrap();
    }

    pub async fn all_sessions_of_a_subject_end_at_once_and_no_other(store: &dyn SessionStore) {
        // Subjects of their own: the Redis store is shared by every test.
        let (alice, bob) = (format!("alice-{}", new_id()), format!("bob-{}", new_id()));
        let ttl = Duration::from_secs(60);
        let hers = [new_id(), new_id(), new_id()];
        for id in &hers {
            store.create(id, &alice, ttl).await.unwrap();
        }
        let his = new_id();
        store.create(&his, &bob, ttl).await.unwrap();
        // One of hers ended already: it is not counted again.
        store.delete(&hers[0]).await.unwrap();

        assert_eq!(store.delete_all_of(&alice).await.unwrap(), 2);
        for id in &hers {
            assert!(!store.exists(id).await.unwrap());
        }
        assert!(
            store.exists(&his).await.unwrap(),
            "another subject's session"
        );
        // Nothing left: a second time ends nothing; a new session afterwards works.
        assert_eq!(store.delete_all_of(&alice).await.unwrap(), 0);
        let again = new_id();
        store.create(&again, &alice, ttl).await.unwrap();
        assert!(store.exists(&again).await.unwrap());
        assert_eq!(store.delete_all_of(&alice).await.unwrap(), 1);
        store.delete(&his).await.unwrap();
    }
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $case() {
                    let store = super::InMemorySessionStore::new();
                    super::cases::$case(&store).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test]
                async fn $case() {
                    let store = super::redis_store();
                    super::cases::$case(&store).await;
                }
            )*
        }
    };
}

contract!(
    created_session_exists_until_deleted,
    deleting_an_unknown_session_is_ok,
    sessions_are_independent,
    creating_again_replaces_the_session,
    session_expires_after_its_ttl,
    sub_second_ttl_lasts_at_least_a_second,
    ping_answers,
    all_sessions_of_a_subject_end_at_once_and_no_other,
);

// ---------------------------------------------------------------------------------------------
// In-memory store only

#[tokio::test]
async fn memory_store_keeps_the_subject() {
    let store = InMemorySessionStore::default();
    let id = new_id();
    store
        .create(&id, "user-7", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(store.subject_of(&id).as_deref(), Some("user-7"));
    assert_eq!(store.subject_of(&new_id()), None);
}

#[tokio::test]
async fn memory_store_refuses_new_sessions_when_full_but_still_replaces() {
    let store = InMemorySessionStore::with_capacity(2);
    let ttl = Duration::from_secs(60);
    let (a, b, c) = (new_id(), new_id(), new_id());
    store.create(&a, "user-1", ttl).await.unwrap();
    store.create(&b, "user-2", ttl).await.unwrap();
    let refused = store.create(&c, "user-3", ttl).await.unwrap_err();
    assert!(refused.to_string().contains("full"), "{refused}");
    assert!(!store.exists(&c).await.unwrap());
    // Existing sessions are untouched, and may be renewed.
    assert!(store.exists(&a).await.unwrap());
    store.create(&b, "user-2", ttl).await.unwrap();
    // Ending one makes room.
    store.delete(&a).await.unwrap();
    store.create(&c, "user-3", ttl).await.unwrap();
    assert!(store.exists(&c).await.unwrap());
}

#[tokio::test]
async fn memory_store_prunes_expired_sessions_to_make_room() {
    let store = InMemorySessionStore::with_capacity(2);
    let (a, b, c) = (new_id(), new_id(), new_id());
    store
        .create(&a, "user-1", Duration::from_secs(1))
        .await
        .unwrap();
    store
        .create(&b, "user-2", Duration::from_secs(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Full of expired sessions only, which are not looked up again: pruned by create.
    assert_eq!(store.len(), 2);
    store
        .create(&c, "user-3", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(store.len(), 1);
    assert!(store.exists(&c).await.unwrap());
}

#[tokio::test]
async fn memory_store_debug_shows_no_session_id() {
    let store = InMemorySessionStore::new();
    let id = new_id();
    store
        .create(&id, "user-1", Duration::from_secs(60))
        .await
        .unwrap();
    let shown = format!("{store:?}");
    assert!(!shown.contains(&id), "{shown}");
}

// ---------------------------------------------------------------------------------------------
// Redis store only

#[tokio::test]
async fn every_replica_sees_the_same_sessions() {
    let url = redis_url();
    let timeout = Duration::from_secs(5);
    let (replica_a, replica_b) = (redis_store_at(&url, timeout), redis_store_at(&url, timeout));
    let id = new_id();
    replica_a
        .create(&id, "user-1", Duration::from_secs(60))
        .await
        .unwrap();
    assert!(replica_b.exists(&id).await.unwrap());
    // Logout on one replica ends the session on every replica.
    replica_b.delete(&id).await.unwrap();
    assert!(!replica_a.exists(&id).await.unwrap());
}

#[tokio::test]
async fn redis_keeps_the_subject_under_a_prefixed_key_that_expires() {
    use deadpool_redis::redis;

    let url = redis_url();
    let store = redis_store_at(&url, Duration::from_secs(5));
    let id = new_id();
    store
        .create(&id, "user-9", Duration::from_secs(3600))
        .await
        .unwrap();

    let client = adapters::redis::open_client(&url).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("om:session:{id}");
    assert_eq!(adapters::redis::session_key(&id), key);
    let value: Option<String> = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(value.as_deref(), Some("user-9"));
    let ttl: i64 = redis::cmd("TTL")
        .arg(&key)
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!((3590..=3600).contains(&ttl), "TTL {ttl}");

    store.delete(&id).await.unwrap();
    let exists: i64 = redis::cmd("EXISTS")
        .arg(&key)
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(exists, 0);
}

/// The per-subject index holds live sessions only and expires with the last of them, so a user
/// who logs in all day does not grow it without end.
#[tokio::test]
async fn redis_indexes_live_sessions_only() {
    use deadpool_redis::redis;

    let url = redis_url();
    let store = redis_store_at(&url, Duration::from_secs(5));
    let subject = format!("carol-{}", new_id());
    for _ in 0..3 {
        store
            .create(&new_id(), &subject, Duration::from_secs(1))
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let long = new_id();
    store
        .create(&long, &subject, Duration::from_secs(600))
        .await
        .unwrap();

    let client = adapters::redis::open_client(&url).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let index = adapters::redis::user_sessions_key(&subject);
    let members: Vec<String> = redis::cmd("ZRANGE")
        .arg(&index)
        .arg(0)
        .arg(-1)
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(members, [long], "the expired ones were dropped");
    let ttl: i64 = redis::cmd("TTL")
        .arg(&index)
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!((590..=600).contains(&ttl), "TTL {ttl}");
    assert_eq!(store.delete_all_of(&subject).await.unwrap(), 1);
}

#[test]
fn redis_settings_and_store_debug_hide_the_password() {
    let settings = RedisSettings {
        url: "redis://user:s3cret-pw@127.0.0.1:6379/0".to_owned(),
        pool_size: 2,
        timeout: Duration::from_secs(1),
    };
    let shown = format!("{settings:?}");
    assert!(!shown.contains("s3cret-pw"), "{shown}");
    assert!(shown.contains("127.0.0.1:6379"), "{shown}");
    let store = RedisSessionStore::connect(&settings).unwrap();
    let shown = format!("{store:?}");
    assert!(!shown.contains("s3cret-pw"), "{shown}");
    assert!(shown.contains("127.0.0.1:6379"), "{shown}");
}

#[test]
fn redis_settings_that_cannot_work_are_refused() {
    let settings = |url: &str, pool_size, timeout| RedisSettings {
        url: url.to_owned(),
        pool_size,
        timeout,
    };
    let second = Duration::from_secs(1);
    for bad in [
        settings("not a url", 2, second),
        settings("http://127.0.0.1:6379", 2, second),
        settings("redis://127.0.0.1:6379", 0, second),
        settings("redis://127.0.0.1:6379", 2, Duration::ZERO),
    ] {
        assert!(
            RedisSessionStore::connect(&bad).is_err(),
            "{bad:?} was accepted"
        );
    }
}

/// A short timeout, and how long any call may take with it: a bound on hanging, not a
/// performance figure (slow CI machines get plenty of slack).
const SHORT_TIMEOUT: Duration = Duration::from_millis(300);
const FAIL_FAST_BOUND: Duration = Duration::from_secs(3);

/// Asserts that every operation of `store` fails, each within `FAIL_FAST_BOUND`.
async fn assert_every_call_fails_fast(store: &RedisSessionStore) {
    let id = new_id();
    let started = Instant::now();
    let err = store
        .create(&id, "user-1", Duration::from_secs(60))
        .await
        .unwrap_err();
    assert_fast(started, "create", &err.to_string());
    let started = Instant::now();
    let err = store.exists(&id).await.unwrap_err();
    assert_fast(started, "exists", &err.to_string());
    let started = Instant::now();
    let err = store.delete(&id).await.unwrap_err();
    assert_fast(started, "delete", &err.to_string());
    let started = Instant::now();
    let err = store.ping().await.unwrap_err();
    assert_fast(started, "ping", &err.to_string());
}

fn assert_fast(started: Instant, operation: &str, error: &str) {
    let elapsed = started.elapsed();
    assert!(
        elapsed < FAIL_FAST_BOUND,
        "{operation} took {elapsed:?} to fail ({error})"
    );
}

#[tokio::test]
async fn redis_down_at_start_fails_fast_on_every_call() {
    // A port nothing listens on: connections are refused.
    let port = free_port();
    let store = redis_store_at(&format!("redis://127.0.0.1:{port}"), SHORT_TIMEOUT);
    assert_every_call_fails_fast(&store).await;
    // And again, now that the pool has tried (and failed) before.
    assert_every_call_fails_fast(&store).await;
}

#[tokio::test]
async fn redis_that_never_answers_times_out() {
    // Accepts connections (the kernel completes the handshake) but never says a word: the
    // worst case, a hung server or a black-holed network, that only timeouts end.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let store = redis_store_at(&format!("redis://127.0.0.1:{port}"), SHORT_TIMEOUT);
    assert_every_call_fails_fast(&store).await;

    // Many callers at once on a pool of 4: the ones waiting for a connection time out too.
    let started = Instant::now();
    let ids: Vec<String> = (0..12).map(|_| new_id()).collect();
    let calls = ids.iter().map(|id| store.exists(id));
    let results = join_all(calls).await;
    assert!(results.iter().all(Result::is_err), "{results:?}");
    assert_fast(started, "12 concurrent exists", "");
    drop(listener);
}

#[tokio::test]
async fn redis_store_recovers_when_redis_comes_back() {
    let mut server = Redis::start_plain(None).unwrap();
    let store = RedisSessionStore::connect(&RedisSettings {
        url: server.url(),
        pool_size: 4,
        timeout: SHORT_TIMEOUT,
    })
    .unwrap();

    // Several connections in the pool (concurrent calls each take one).
    let ids: Vec<String> = (0..4).map(|_| new_id()).collect();
    let ttl = Duration::from_secs(60);
    let created = join_all(ids.iter().map(|id| store.create(id, "user-1", ttl))).await;
    assert!(created.iter().all(Result::is_ok), "{created:?}");
    assert!(store.exists(&ids[0]).await.unwrap());

    // Redis dies: every call fails, fast.
    server.kill().unwrap();
    assert_every_call_fails_fast(&store).await;
    assert_every_call_fails_fast(&store).await;

    // Redis is back on the same port (empty: it keeps no data): the very next calls succeed,
    // with the same store object.
    server.restart().unwrap();
    store.ping().await.unwrap();
    assert!(!store.exists(&ids[0]).await.unwrap());
    store.create(&ids[0], "user-1", ttl).await.unwrap();
    assert!(store.exists(&ids[0]).await.unwrap());

    // Now with connections that were alive in the pool when Redis died, and no call between
    // the crash and the restart: the pool must throw those away instead of failing with them.
    let filled = join_all(ids.iter().map(|id| store.create(id, "user-1", ttl))).await;
    assert!(filled.iter().all(Result::is_ok), "{filled:?}");
    server.kill().unwrap();
    server.restart().unwrap();
    let after = join_all(ids.iter().map(|id| store.create(id, "user-2", ttl))).await;
    assert!(after.iter().all(Result::is_ok), "{after:?}");
    for id in &ids {
        assert!(store.exists(id).await.unwrap());
    }

    // Redis hangs (stopped, like a paused VM) with live connections in the pool: calls time
    // out instead of waiting, and work again once it resumes.
    server.signal(Signal::SIGSTOP).unwrap();
    assert_every_call_fails_fast(&store).await;
    server.signal(Signal::SIGCONT).unwrap();
    store.ping().await.unwrap();
    assert!(store.exists(&ids[0]).await.unwrap());
}
