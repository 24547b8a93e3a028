//! The audit log on both backends: newest first with the user's name, and retention that
//! deletes only what is older than the cut, in batches.

use chrono::{DateTime, TimeZone, Utc};
use dashi_core::OrgId;
use dashi_store::{NewEvent, PageRequest, list_events, prune_events, record_event};
use dashi_testkit::TestDb;

use crate::open;

fn at(days: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_790_000_000 + days * 86_400, 0).single().expect("a valid instant")
}

fn event(org: OrgId, action: &str, created_at: DateTime<Utc>) -> NewEvent {
    NewEvent {
        org_id: org,
        user_id: None,
        action: action.into(),
        object_type: "query".into(),
        object_id: Some("1".into()),
        additional_properties: serde_json::json!({"user_name": "someone"}),
        created_at,
    }
}

dashi_testkit::backend_tests! {
    async fn retention_deletes_old_events_in_batches_and_keeps_the_rest(db: TestDb) {
        let store = open(&db).await;
        let first = dashi_store::FirstOrg {
            name: "Acme".into(),
            slug: "default".into(),
            settings: serde_json::json!({}),
            admin_name: "A".into(),
            admin_email: "a@example.com".into(),
            admin_password_hash: "x".into(),
            admin_api_key: "k".repeat(40),
            admin_group_permissions: dashi_core::ADMIN_GROUP_PERMISSIONS,
            default_group_permissions: dashi_core::DEFAULT_GROUP_PERMISSIONS,
        };
        let (org, _) = dashi_store::create_org_with_admin(&store, &first, Utc::now()).await.expect("org");
        for day in 0..5 {
            record_event(&store, &event(org, &format!("old-{day}"), at(day))).await.expect("record");
        }
        record_event(&store, &event(org, "recent", at(30))).await.expect("record");

        let page = list_events(&store, org, PageRequest { page: 1, page_size: 2 }).await.expect("list");
        assert_eq!(page.count, 6);
        assert_eq!(page.items.iter().map(|event| event.action.as_str()).collect::<Vec<_>>(), ["recent", "old-4"]);

        // Two per batch: 2, 2, then 1 of the five old ones.
        assert_eq!(prune_events(&store, at(10), 2).await.expect("prune"), 2);
        assert_eq!(prune_events(&store, at(10), 2).await.expect("prune"), 2);
        assert_eq!(prune_events(&store, at(10), 2).await.expect("prune"), 1);
        assert_eq!(prune_events(&store, at(10), 2).await.expect("prune"), 0);
        let left = list_events(&store, org, PageRequest { page: 1, page_size: 10 }).await.expect("list");
        assert_eq!(left.items.iter().map(|event| event.action.as_str()).collect::<Vec<_>>(), ["recent"]);
    }
}
