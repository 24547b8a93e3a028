//! Runs of parameterised queries on a data source that binds: what the job carries, the hash
//! that keeps results of different values apart, and results that still find their query.

use axum::http::Method;
use dashi_core::BoundValue;
use dashi_testkit::TestDb;
use serde_json::{Value, json};

use crate::support::Env;

/// Plays the worker for a queued run: claims the job, stores `rows` of one text column `value`
/// as the result, and finishes the job with it. Returns the result id.
pub async fn complete_run(env: &Env, job_id: &str, rows: &[&str]) -> i64 {
    use dashi_core::{Cell, Column, ColumnType, RowSink};
    let store = env.app.store();
    let now = chrono::Utc::now();
    let id = dashi_store::JobId(job_id.to_owned());
    let dashi_store::Claim::Claimed(job) = dashi_store::claim(store, &id, "test-worker", now + chrono::Duration::minutes(1), now).await.unwrap() else {
        panic!("job {job_id} was not claimable");
    };
    let org = job.org_id.expect("run jobs belong to an org");
    let mut writer = env.app.results().unwrap().writer(org, dashi_results::WriterOptions::default());
    let column = Column { name: "value".into(), friendly_name: "value".into(), column_type: ColumnType::String };
    writer.columns(std::slice::from_ref(&column)).unwrap();
    for row in rows {
        writer.row(&[Cell::Text((*row).to_owned())]).unwrap();
    }
    let stored = writer.finish().await.unwrap();
    let dashi_results::Storage::Inline(bytes) = stored.storage else { panic!("a tiny result stays inline") };
    let result = dashi_store::NewQueryResult {
        org_id: org,
        data_source_id: job.data_source_id.expect("run jobs have a data source"),
        query_hash: job.query_hash.clone().expect("run jobs have a hash"),
        query: job.payload["query"].as_str().unwrap_or_default().to_owned(),
        runtime: 0.01,
        retrieved_at: now,
        row_count: stored.row_count as i64,
        byte_size: stored.byte_size as i64,
        storage: "inline".into(),
        location: None,
        inline_data: Some(bytes),
        columns: json!([{"name": "value", "friendly_name": "value", "type": "string"}]),
    };
    dashi_store::complete_job_with_result(store, &job.id, job.fence, &result, now).await.unwrap().expect("the claim is ours")
}

async fn job_of(env: &Env, reply: &Value) -> dashi_store::Job {
    let id = reply["job"]["id"].as_str().expect("a job");
    dashi_store::job_by_id(env.app.store(), &dashi_store::JobId(id.to_owned())).await.unwrap().expect("the job exists")
}

dashi_testkit::backend_tests! {
    async fn bound_runs_carry_typed_values_and_find_their_query(db: TestDb) {
        let settings = dashi_api::ApiSettings { job_wait: std::time::Duration::from_millis(10), ..Default::default() };
        let env = Env::start_with(db, settings).await;
        let source = env.data_source("Shop").await;
        let definitions = json!([{"name": "n", "type": "number", "value": 5}, {"name": "who", "type": "text", "value": "ada"}]);
        let body = json!({"data_source_id": source, "name": "Orders",
            "query": "select * from orders where id = {{n}} and who = {{who}} and note = '{{who}}'",
            "options": {"parameters": definitions}});
        let created = env.call(Method::POST, "/api/queries", &env.admin(), Some(body)).await;
        assert_eq!(created.status.as_u16(), 200, "{}", created.text);
        let id = created.json["id"].as_i64().unwrap();
        let run = |parameters: Value| {
            let env = &env;
            async move {
                let path = format!("/api/queries/{id}/results");
                let reply = env.call(Method::POST, &path, &env.member(), Some(json!({"parameters": parameters, "max_age": 0}))).await;
                assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
                job_of(env, &reply.json).await
            }
        };

        let job = run(json!({"n": "5", "who": "ada"})).await;
        assert_eq!(job.payload["query"], "select * from orders where id = $1 and who = $2 and note = 'ada'");
        let binds: Vec<BoundValue> = serde_json::from_value(job.payload["binds"].clone()).unwrap();
        assert_eq!(binds, [BoundValue::Int(5), BoundValue::Text("ada".into())]);
        assert_eq!(job.query_hash.as_deref(), created.json["query_hash"].as_str(), "a run with the defaults hashes as its query");

        // A value that renders the same text without spaces still gets its own hash and job.
        let spaced = run(json!({"n": 5, "who": "a da"})).await;
        let squeezed = run(json!({"n": 5, "who": "ada "})).await;
        assert_ne!(spaced.query_hash, job.query_hash);
        assert_ne!(spaced.query_hash, squeezed.query_hash);
        assert_ne!(spaced.id, squeezed.id, "different values never share a run");

        let hostile = "x'; DROP TABLE orders; --";
        let attack = run(json!({"n": 5, "who": hostile})).await;
        let binds: Vec<BoundValue> = serde_json::from_value(attack.payload["binds"].clone()).unwrap();
        assert_eq!(binds[1], BoundValue::Text(hostile.into()), "the unquoted use is bound");

        let result = complete_run(&env, &job.id.0, &["row"]).await;
        let latest = env.call(Method::GET, &format!("/api/queries/{id}/results"), &env.member(), None).await;
        assert_eq!(latest.status.as_u16(), 200, "{}", latest.text);
        assert_eq!(latest.json["query_result"]["id"], result);
    }
}
