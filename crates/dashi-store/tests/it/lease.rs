//! Leases on both backends: one winner per race, growing fences, renewal and release.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use dashi_store::{acquire_or_renew_lease, lease_holder, release_lease};
use dashi_testkit::TestDb;

use crate::open;

const TTL: Duration = Duration::from_secs(15);

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_790_000_000 + seconds, 0).single().expect("a valid instant")
}

dashi_testkit::backend_tests! {
    async fn racing_holders_elect_exactly_one(db: TestDb) {
        let store = open(&db).await;
        let attempts = (0..8).map(|index| {
            let store = store.clone();
            tokio::spawn(async move {
                let holder = format!("holder-{index}");
                acquire_or_renew_lease(&store, "scheduler", &holder, TTL, at(0)).await.map(|won| (holder, won))
            })
        });
        let mut winners = Vec::new();
        for attempt in attempts.collect::<Vec<_>>() {
            let (holder, won) = attempt.await.expect("task finished").expect("lease statement");
            if let Some(fence) = won {
                winners.push((holder, fence));
            }
        }
        assert_eq!(winners.len(), 1, "{winners:?}");
        let lease = lease_holder(&store, "scheduler").await.expect("read lease").expect("lease row");
        assert_eq!((lease.holder, lease.fence), winners[0].clone());
    }

    async fn holder_renews_and_keeps_its_fence(db: TestDb) {
        let store = open(&db).await;
        let fence = acquire_or_renew_lease(&store, "scheduler", "a", TTL, at(0)).await.expect("acquire");
        let renewed = acquire_or_renew_lease(&store, "scheduler", "a", TTL, at(5)).await.expect("renew");
        assert!(fence.is_some());
        assert_eq!(renewed, fence);
        let lease = lease_holder(&store, "scheduler").await.expect("read lease").expect("lease row");
        assert_eq!(lease.expires_at, at(20));
        assert!(lease.is_live(at(19)) && !lease.is_live(at(21)));
    }

    async fn live_lease_keeps_others_out_and_expired_one_is_taken_with_a_larger_fence(db: TestDb) {
        let store = open(&db).await;
        let first = acquire_or_renew_lease(&store, "scheduler", "a", TTL, at(0)).await.expect("acquire");
        let first = first.expect("a free lease is won");
        let early = acquire_or_renew_lease(&store, "scheduler", "b", TTL, at(10)).await.expect("try");
        assert_eq!(early, None);
        let taken = acquire_or_renew_lease(&store, "scheduler", "b", TTL, at(16)).await.expect("take over");
        let taken = taken.expect("an expired lease is taken over");
        assert!(taken > first, "{taken} > {first}");
        let stale = acquire_or_renew_lease(&store, "scheduler", "a", TTL, at(17)).await.expect("stale renew");
        assert_eq!(stale, None, "the old holder must not renew a lease it lost");
        let other = acquire_or_renew_lease(&store, "janitor", "a", TTL, at(17)).await.expect("other lease");
        assert!(other.is_some(), "leases with other names are independent");
    }

    async fn release_hands_the_lease_over_at_once(db: TestDb) {
        let store = open(&db).await;
        let first = acquire_or_renew_lease(&store, "scheduler", "a", TTL, at(0)).await.expect("acquire");
        let first = first.expect("a free lease is won");
        assert!(!release_lease(&store, "scheduler", "b").await.expect("release by a stranger"));
        assert!(release_lease(&store, "scheduler", "a").await.expect("release by the holder"));
        let lease = lease_holder(&store, "scheduler").await.expect("read lease").expect("the row stays");
        assert!(!lease.is_live(at(1)));
        let next = acquire_or_renew_lease(&store, "scheduler", "b", TTL, at(1)).await.expect("acquire");
        assert!(next.expect("a released lease is free") > first);
        assert_eq!(lease_holder(&store, "nobody").await.expect("read lease"), None);
    }
}
