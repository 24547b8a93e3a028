//! Dashboards, widgets, share keys and object grants in the store, on both backends.

use chrono::Utc;
use dashi_core::{OrgId, UserId};
use dashi_store::{
    AclObject, DashboardFields, NewWidget, Store, VisualizationId, dashboard_by_slug, insert_dashboard,
    update_dashboard,
};
use dashi_testkit::TestDb;
use serde_json::json;

use crate::open;

async fn org_and_user(store: &Store) -> (OrgId, UserId) {
    let first = dashi_store::FirstOrg {
        name: "Acme".into(),
        slug: "default".into(),
        settings: json!({}),
        admin_name: "Ada".into(),
        admin_email: "ada@example.com".into(),
        admin_password_hash: "unused".into(),
        admin_api_key: "k".repeat(40),
        admin_group_permissions: dashi_core::ADMIN_GROUP_PERMISSIONS,
        default_group_permissions: dashi_core::DEFAULT_GROUP_PERMISSIONS,
    };
    dashi_store::create_org_with_admin(store, &first, Utc::now()).await.expect("org")
}

dashi_testkit::backend_tests! {
    async fn slugs_stay_unique_and_stale_writes_are_refused(db: TestDb) {
        let store = open(&db).await;
        let (org, user) = org_and_user(&store).await;
        let now = Utc::now();
        let fields = DashboardFields::new_draft("Sales 100%");
        let first = insert_dashboard(&store, org, user, &fields, now).await.unwrap();
        let second = insert_dashboard(&store, org, user, &fields, now).await.unwrap();
        let third = insert_dashboard(&store, org, user, &fields, now).await.unwrap();
        assert_eq!([first.slug.as_str(), second.slug.as_str(), third.slug.as_str()], ["sales-100-", "sales-100-_1", "sales-100-_2"]);
        assert_eq!(dashboard_by_slug(&store, org, "sales-100-_1").await.unwrap().unwrap().id, second.id);

        let renamed = DashboardFields { name: "Renamed".into(), tags: vec!["b".into(), "a".into(), "b".into(), "".into()], ..fields.clone() };
        let updated = update_dashboard(&store, &first, &renamed, now).await.unwrap();
        assert_eq!((updated.version, updated.fields.tags.clone()), (2, vec!["a".to_owned(), "b".to_owned()]));
        let stale = update_dashboard(&store, &first, &fields, now).await;
        assert!(matches!(stale, Err(dashi_store::Error::VersionConflict { .. })), "{stale:?}");
        assert_eq!(dashi_store::dashboard_by_id(&store, org, first.id).await.unwrap().unwrap().fields.name, "Renamed");
    }

    async fn forks_copy_widgets_and_share_keys_and_grants_follow_their_object(db: TestDb) {
        let store = open(&db).await;
        let (org, user) = org_and_user(&store).await;
        let now = Utc::now();
        let board = insert_dashboard(&store, org, user, &DashboardFields::new_draft("Board"), now).await.unwrap();
        for text in ["one", "two"] {
            let widget = NewWidget { dashboard_id: board.id, visualization_id: None, text: Some(text.into()), width: 1, options: json!({"position": {"col": 1}}) };
            dashi_store::insert_widget(&store, &widget, now).await.unwrap();
        }
        let fork = dashi_store::fork_dashboard(&store, &board, user, "Copy", now).await.unwrap();
        let copied = dashi_store::widgets_of(&store, fork.id).await.unwrap();
        assert_eq!(copied.iter().map(|widget| widget.text.clone().unwrap()).collect::<Vec<_>>(), ["one", "two"]);
        assert_eq!(copied[0].options, json!({"position": {"col": 1}}));
        assert_eq!(dashi_store::widgets_of(&store, board.id).await.unwrap().len(), 2, "the original keeps its widgets");
        let missing = dashi_store::visualization_by_id(&store, org, VisualizationId(1)).await.unwrap();
        assert!(missing.is_none());

        assert!(dashi_store::share_key_of(&store, board.id).await.unwrap().is_none());
        let key = dashi_store::insert_share_key(&store, org, board.id, user, &"s".repeat(40), now).await.unwrap();
        assert_eq!(dashi_store::share_key_by_token(&store, &key.api_key).await.unwrap(), Some(key.clone()));
        dashi_store::deactivate_share_keys(&store, board.id, now).await.unwrap();
        assert!(dashi_store::share_key_by_token(&store, &key.api_key).await.unwrap().is_none());
        assert!(dashi_store::share_key_of(&store, board.id).await.unwrap().is_none());

        let object = AclObject::Dashboard(board.id.0);
        assert!(!dashi_store::has_access_grant(&store, object, user, "modify").await.unwrap());
        let grant = dashi_store::grant_access(&store, object, "modify", user, user, now).await.unwrap();
        assert_eq!(dashi_store::grant_access(&store, object, "modify", user, user, now).await.unwrap(), grant);
        assert!(dashi_store::has_access_grant(&store, object, user, "modify").await.unwrap());
        assert!(!dashi_store::has_access_grant(&store, AclObject::Query(board.id.0), user, "modify").await.unwrap());
        assert_eq!(dashi_store::access_grants(&store, object).await.unwrap(), vec![grant]);
        dashi_store::revoke_access(&store, object, "modify", user).await.unwrap();
        assert!(dashi_store::access_grants(&store, object).await.unwrap().is_empty());
    }
}
