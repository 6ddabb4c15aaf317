//! The catalog through the JSON API (SPEC §2), over real HTTP, on both stores:
//! one record at a time with `PUT`, and the whole catalog file as JSON.

mod common;

use llm_ledger::domain::Scope;
use reqwest::StatusCode;
use serde_json::{Value, json};

use common::{TestDb, TestServer, with_catalog};

struct Api {
    server: TestServer,
    client: reqwest::Client,
    admin: String,
}

impl Api {
    async fn send(&self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = request.bearer_auth(&self.admin).send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn put(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let url = self.server.url(path);
        self.send(self.client.put(url).json(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = self.send(self.client.get(self.server.url(path))).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body
    }

    async fn apply(&self, body: &Value) -> (StatusCode, Value) {
        let url = self.server.url("/api/v1/catalog");
        self.send(self.client.post(url).json(body)).await
    }
}

/// Every field an error answer names, sorted.
fn fields(answer: &Value) -> Vec<String> {
    let mut fields: Vec<String> = answer["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["field"].as_str().unwrap_or("").to_string())
        .collect();
    fields.sort();
    fields
}

fn field(answer: &Value) -> &str {
    answer["errors"][0]["field"].as_str().unwrap_or("")
}

async fn records_are_created_and_updated_one_at_a_time(db: &TestDb) {
    let app = db.open("UTC").await;
    let (_, admin) = app.create_token("admin", Scope::Admin).await.unwrap();
    let (_, read) = app.create_token("read", Scope::Read).await.unwrap();
    let api = Api {
        server: TestServer::start(app).await,
        client: reqwest::Client::new(),
        admin,
    };
    let mistral = json!({"name": "Mistral", "adapter_type": "mistral"});
    let (status, item) = api.put("/api/v1/providers/mistral", &mistral).await;
    assert_eq!(status, StatusCode::CREATED, "{item}");
    assert_eq!(item["identifier"], "mistral");
    assert_eq!(item["usage_30d"], Value::Null);
    let (status, _) = api.put("/api/v1/providers/mistral", &mistral).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the same record again changes nothing"
    );

    let model = json!({
        "name": "Mistral Large", "provider": "mistral", "model_id": "mistral-large-latest",
        "input_price": "200", "output_price": "600", "cache_read_price": "20",
    });
    let (status, item) = api.put("/api/v1/models/mistral-large", &model).await;
    assert_eq!(status, StatusCode::CREATED, "{item}");
    assert_eq!(
        (&item["input_price"], &item["cache_read_price"]),
        (&json!("200"), &json!("20"))
    );
    let mut cheaper = model.clone();
    cheaper["output_price"] = json!("550.5");
    cheaper["identifier"] = json!("mistral-large");
    let (status, item) = api.put("/api/v1/models/mistral-large", &cheaper).await;
    assert_eq!(status, StatusCode::OK, "{item}");
    assert_eq!(item["output_price"], "550.5");

    let (status, _) = api
        .put(
            "/api/v1/configurations/chat-eu",
            &json!({"name": "EU chat", "model": "mistral-large", "max_requests_per_day": 100}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, item) = api
        .put(
            "/api/v1/tasks/summarize",
            &json!({"name": "Summarize", "configuration": "chat-eu"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(item["configuration"], "chat-eu");

    // Bad input names its field and changes nothing.
    let before = api.get("/api/v1/models").await;
    let mut bad_price = model.clone();
    bad_price["input_price"] = json!("1.23456");
    let mut unknown_provider = model.clone();
    unknown_provider["provider"] = json!("nobody");
    let mut other_identifier = model.clone();
    other_identifier["identifier"] = json!("another");
    let mut unknown_field = model.clone();
    unknown_field["colour"] = json!("red");
    for (body, expected) in [
        (bad_price, "input_price"),
        (unknown_provider, "provider"),
        (other_identifier, "identifier"),
        (unknown_field, "colour"),
        (json!(["not", "an", "object"]), "body"),
    ] {
        let (status, answer) = api.put("/api/v1/models/mistral-large", &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert!(field(&answer).contains(expected), "{body}: {answer}");
    }
    // Every bad field at once, wrong types included, each by name.
    for (path, body, expected) in [
        (
            "/api/v1/configurations/c9",
            json!({"name": "", "model": "nope", "max_requests_per_day": "5",
                   "max_cost_per_day": "-1"}),
            vec!["max_cost_per_day", "max_requests_per_day", "model", "name"],
        ),
        (
            "/api/v1/providers/p9",
            json!({"name": "", "adapter_type": "Bad Type", "active": "yes", "colour": 1}),
            vec!["active", "adapter_type", "colour", "name"],
        ),
        (
            "/api/v1/models/m9",
            json!({"name": "M", "provider": "mistral", "input_price": 2.5}),
            vec!["input_price", "model_id", "output_price"],
        ),
    ] {
        let (status, answer) = api.put(path, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {answer}");
        let kind = path.split('/').nth(3).unwrap().trim_end_matches('s');
        let expected: Vec<String> = expected.iter().map(|f| format!("{kind}[0].{f}")).collect();
        assert_eq!(fields(&answer), expected, "{path}: {answer}");
    }
    let duplicate = api
        .send(
            api.client
                .put(api.server.url("/api/v1/providers/mistral"))
                .header("content-type", "application/json")
                .body(r#"{"name":"A","name":"B","adapter_type":"mistral"}"#),
        )
        .await;
    assert_eq!(duplicate.0, StatusCode::BAD_REQUEST, "{}", duplicate.1);
    let mut two_bad = model.clone();
    two_bad["input_price"] = json!("-1");
    two_bad["model_id"] = json!("");
    let (status, answer) = api.put("/api/v1/models/mistral-large", &two_bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        fields(&answer),
        ["model[0].input_price", "model[0].model_id"],
        "{answer}"
    );
    assert_eq!(api.get("/api/v1/models").await, before);

    // Only an admin token writes.
    let response = api
        .client
        .put(api.server.url("/api/v1/providers/other"))
        .bearer_auth(&read)
        .json(&mistral)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let providers = api.get("/api/v1/providers").await;
    assert_eq!(providers.as_array().unwrap().len(), 1, "{providers}");
    // Two models of one provider cannot share a model_id: usage naming it
    // could not tell them apart. Another provider may use it.
    let (status, answer) = api.put("/api/v1/models/large-copy", &model).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(fields(&answer), ["model[0].model_id"], "{answer}");
    let (status, _) = api
        .put(
            "/api/v1/providers/other-vendor",
            &json!({"name": "Other", "adapter_type": "mistral"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let mut elsewhere = model.clone();
    elsewhere["provider"] = json!("other-vendor");
    let (status, answer) = api.put("/api/v1/models/large-copy", &elsewhere).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

async fn the_whole_catalog_round_trips_as_json(db: &TestDb) {
    let app = db.open("UTC").await;
    with_catalog(&app).await;
    let (_, admin) = app.create_token("admin", Scope::Admin).await.unwrap();
    let api = Api {
        server: TestServer::start(app).await,
        client: reqwest::Client::new(),
        admin,
    };
    let catalog = api.get("/api/v1/catalog").await;
    assert_eq!(catalog["model"][0]["identifier"], "gpt-4o", "{catalog}");
    let total: usize = ["provider", "model", "configuration", "task"]
        .iter()
        .map(|kind| catalog[kind].as_array().map_or(0, Vec::len))
        .sum();
    let (status, summary) = api.apply(&catalog).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(
        summary,
        json!({"created": 0, "updated": 0, "unchanged": total})
    );

    // Checked whole: one bad record, and nothing of the file is written.
    let mut changed = catalog.clone();
    changed["provider"][0]["name"] = json!("Renamed");
    changed["model"][0]["output_price"] = json!("-1");
    let (status, answer) = api.apply(&changed).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(field(&answer).contains("output_price"), "{answer}");
    assert_eq!(api.get("/api/v1/catalog").await, catalog);

    // A whole catalog names every bad field too, wrong types included.
    let mut typed = catalog.clone();
    typed["model"][0]["input_price"] = json!(true);
    typed["provider"][0]["active"] = json!("no");
    typed["task"] = json!("not a list");
    typed["colour"] = json!([]);
    let (status, answer) = api.apply(&typed).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(
        fields(&answer),
        [
            "colour",
            "model[0].input_price",
            "provider[0].active",
            "task"
        ],
        "{answer}"
    );
    assert_eq!(api.get("/api/v1/catalog").await, catalog);

    changed["model"][0]["output_price"] = json!("900");
    let (status, summary) = api.apply(&changed).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(
        summary,
        json!({"created": 0, "updated": 2, "unchanged": total - 2})
    );
}

both_stores!(
    records_are_created_and_updated_one_at_a_time,
    the_whole_catalog_round_trips_as_json,
);
