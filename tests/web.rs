//! The web UI over HTTP on both stores: who may see what, CSRF, escaping,
//! sign-in and sessions.

mod common;

use llm_ledger::app::{App, CatalogFile};
use llm_ledger::domain::Role;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use common::{TestDb, TestServer, csrf_of, sign_in, sign_in_header, with_catalog};

const PAGES: [&str; 9] = [
    "/analytics",
    "/analytics?range=90d",
    "/providers",
    "/models",
    "/configurations",
    "/tasks",
    "/users",
    "/tokens",
    "/models/gpt-4o",
];

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Posts a form as the session `cookie`; redirects are not followed.
async fn post(
    server: &TestServer,
    path: &str,
    cookie: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client()
        .post(server.url(path))
        .header(COOKIE, cookie)
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn get(
    server: &TestServer,
    path: &str,
    cookie: Option<&str>,
) -> (StatusCode, String, String) {
    let mut request = client().get(server.url(path));
    if let Some(c) = cookie {
        request = request.header(COOKIE, c);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get(LOCATION)
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, location, response.text().await.unwrap())
}

async fn setup(db: &TestDb) -> App {
    let app = db.open("UTC").await;
    with_catalog(&app).await;
    app.create_user("root", Some("Root"), Role::Admin, Some("admin-password"))
        .await
        .unwrap();
    app.create_user("mia", Some("Mia"), Role::Member, Some("member-password"))
        .await
        .unwrap();
    app
}

async fn every_page_answers_admins_members_and_strangers(db: &TestDb) {
    let app = setup(db).await;
    app.create_user("demoted", None, Role::Admin, Some("demoted-password"))
        .await
        .unwrap();
    let server = TestServer::start(app).await;

    let (status, admin) = sign_in(&server, "root", "admin-password").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let admin = admin.expect("a session cookie");
    // A member cannot sign in: 403 with an explanation, no session.
    let (status, none) = sign_in(&server, "mia", "member-password").await;
    assert_eq!((status, none), (StatusCode::FORBIDDEN, None));
    let (status, none) = sign_in(&server, "root", "wrong-password").await;
    assert_eq!((status, none), (StatusCode::UNAUTHORIZED, None));
    // An administrator demoted to member loses the session.
    let (_, demoted) = sign_in(&server, "demoted", "demoted-password").await;
    let demoted = demoted.unwrap();
    server.app.set_role("demoted", Role::Member).await.unwrap();
    let (_, location, _) = get(&server, "/analytics", Some(&demoted)).await;
    assert_eq!(location, "/login", "a demoted user's session ended");
    // A member has no way to a session, so one is written to the store (as
    // an edited database might hold): it opens nothing.
    let store = llm_ledger::store::connect(&db.url).await.unwrap();
    let hour = chrono::Duration::hours(1);
    store
        .create_session(
            &llm_ledger::secrets::token_hash("llmledger_member"),
            "mia",
            "csrf",
            chrono::Utc::now() + hour,
        )
        .await
        .unwrap();
    let member = "llm_ledger_session=llmledger_member".to_string();

    // Every response carries the security headers.
    let response = client()
        .get(server.url("/analytics"))
        .header(COOKIE, &admin)
        .send()
        .await
        .unwrap();
    let headers = response.headers();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(
        !csp.contains("script-src"),
        "no script is allowed at all: {csp}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "same-origin");
    assert_eq!(headers["x-frame-options"], "DENY");
    let base = format!("http://{}", server.addr);
    let cookie_flags = sign_in_header(&base, "root", "admin-password", false)
        .await
        .1
        .unwrap();
    assert!(
        cookie_flags.contains("HttpOnly") && cookie_flags.contains("SameSite=Lax"),
        "{cookie_flags}"
    );
    assert!(!cookie_flags.contains("Secure"), "{cookie_flags}");
    // Behind a TLS-terminating proxy the cookies are for HTTPS only.
    let cookie_flags = sign_in_header(&base, "root", "admin-password", true)
        .await
        .1
        .unwrap();
    assert!(cookie_flags.ends_with("; Secure"), "{cookie_flags}");
    // The first proxy's word counts (the one nearest the browser).
    for (header, value, secure) in [
        ("x-forwarded-proto", "https", true),
        ("x-forwarded-proto", "HTTPS, http", true),
        ("forwarded", "for=192.0.2.1;proto=https, proto=http", true),
        ("x-forwarded-proto", "http", false),
        ("forwarded", "proto=http, proto=https", false),
    ] {
        let login = client()
            .get(server.url("/login"))
            .header(header, value)
            .send()
            .await
            .unwrap();
        let flags = login.headers()[SET_COOKIE].to_str().unwrap();
        if secure {
            assert!(flags.ends_with("; Secure"), "{header}: {value}: {flags}");
        } else {
            assert!(!flags.contains("Secure"), "{header}: {value}: {flags}");
        }
    }

    for path in PAGES.iter().copied().chain(["/users/mia"]) {
        let (status, _, body) = get(&server, path, Some(&admin)).await;
        assert_eq!(status, StatusCode::OK, "{path} for an admin");
        assert!(body.contains("Sign out"), "{path}");
        // Only API tokens carry the prefix secret scanners look for; the
        // CSRF token in every page does not.
        assert!(!body.contains("llmledger_"), "{path}");
        let (status, _, body) = get(&server, path, Some(&member)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path} for a member");
        assert!(body.contains("Only administrators"), "{path}: {body}");
        for cookie in [
            None,
            Some("llm_ledger_session=forged"),
            Some("llm_ledger_session="),
        ] {
            let (status, location, _) = get(&server, path, cookie).await;
            assert_eq!(
                (status, location.as_str()),
                (StatusCode::SEE_OTHER, "/login"),
                "{path} with {cookie:?}"
            );
        }
    }
    // The analytics API accepts an administrator's session too.
    let (status, _, body) = get(&server, "/api/v1/analytics", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("\"range\":\"30d\""));
    assert_eq!(
        get(&server, "/api/v1/analytics", Some(&member)).await.0,
        StatusCode::FORBIDDEN
    );
}

async fn forms_without_their_csrf_token_change_nothing(db: &TestDb) {
    let app = setup(db).await;
    let server = TestServer::start(app).await;
    let (_, admin) = sign_in(&server, "root", "admin-password").await;
    let admin = admin.unwrap();
    let (_, _, html) = get(&server, "/providers", Some(&admin)).await;
    let csrf = csrf_of(&html);
    let fields = [
        ("identifier", "mistral"),
        ("name", "Mistral"),
        ("adapter_type", "mistral"),
        ("active", "true"),
    ];
    for token in [None, Some("forged")] {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        if let Some(t) = token {
            form.push(("csrf", t));
        }
        let response = post(&server, "/providers", &admin, &form).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{token:?}");
    }
    let response = post(&server, "/logout", &admin, &[("csrf", "x")]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        server
            .app
            .providers()
            .await
            .unwrap()
            .iter()
            .all(|p| p.item.identifier != "mistral")
    );

    // With the token it works.
    let mut form = fields.to_vec();
    form.push(("csrf", &csrf));
    let response = post(&server, "/providers", &admin, &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        server
            .app
            .providers()
            .await
            .unwrap()
            .iter()
            .any(|p| p.item.identifier == "mistral")
    );

    // A bad value is shown beside its field and nothing is saved.
    let bad = [
        ("csrf", csrf.as_str()),
        ("identifier", "bad-model"),
        ("name", "Bad"),
        ("provider", "openai-prod"),
        ("model_id", "bad"),
        ("input_price", "1.23456"),
        ("output_price", "1"),
    ];
    let response = post(&server, "/models", &admin, &bad).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(html.contains("field invalid"), "{html}");
    assert!(html.contains("more than 4 fractional digits"));
    // On the edit form too, which still shows the record's identifier.
    let bad_edit = [
        ("csrf", csrf.as_str()),
        ("name", "GPT-4o"),
        ("provider", "openai-prod"),
        ("model_id", "gpt-4o"),
        ("input_price", "x"),
        ("output_price", "1000"),
    ];
    let response = post(&server, "/models/gpt-4o", &admin, &bad_edit).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(
        html.contains(r#"name="identifier" value="gpt-4o""#),
        "{html}"
    );
    // A price left out is required, beside its field.
    let response = post(&server, "/models/gpt-4o", &admin, &bad_edit[..4]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert_eq!(html.matches("field invalid").count(), 2, "{html}");
    assert_eq!(html.matches("is required").count(), 2, "{html}");

    // Every bad field of a form is shown at once.
    let bad = [
        ("csrf", csrf.as_str()),
        ("identifier", "Bad Slug"),
        ("name", "Bad"),
        ("provider", "openai-prod"),
        ("model_id", "bad"),
        ("input_price", "-1"),
        ("output_price", "1.23456"),
    ];
    let response = post(&server, "/models", &admin, &bad).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert_eq!(html.matches("field invalid").count(), 3, "{html}");
    assert!(html.contains("must be a slug"), "{html}");
    // A number that cannot be read does not hide the other fields' errors.
    let bad = [
        ("csrf", csrf.as_str()),
        ("identifier", "c9"),
        ("name", ""),
        ("model", "nope"),
        ("max_requests_per_day", "-5"),
        ("max_tokens_per_day", "abc"),
        ("max_cost_per_day", "-1"),
    ];
    let response = post(&server, "/configurations", &admin, &bad).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert_eq!(html.matches("field invalid").count(), 5, "{html}");
    assert!(
        server
            .app
            .configurations()
            .await
            .unwrap()
            .iter()
            .all(|c| c.item.identifier != "c9")
    );
    for (form, errors) in [
        (
            vec![("max_requests_per_day", "x"), ("max_cost_per_day", "abc")],
            2,
        ),
        (
            vec![("max_tokens_per_day", "-1"), ("max_cost_per_month", "-2")],
            2,
        ),
    ] {
        let mut form = form;
        form.push(("csrf", csrf.as_str()));
        let response = post(&server, "/users/mia/budget", &admin, &form).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let html = response.text().await.unwrap();
        assert_eq!(
            html.matches("field invalid").count(),
            errors,
            "{form:?}: {html}"
        );
    }
    assert!(server.app.budget("mia").await.unwrap().is_none());
    assert!(
        server
            .app
            .models()
            .await
            .unwrap()
            .iter()
            .all(|m| m.item.identifier != "bad-model")
    );

    // The edit form of a record that does not exist creates nothing.
    let ghost = [
        ("csrf", csrf.as_str()),
        ("name", "Ghost"),
        ("provider", "openai-prod"),
        ("model_id", "ghost"),
        ("input_price", "1"),
        ("output_price", "1"),
    ];
    let response = post(&server, "/models/ghost", &admin, &ghost).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(
        server
            .app
            .models()
            .await
            .unwrap()
            .iter()
            .all(|m| m.item.identifier != "ghost")
    );

    // Signing out ends the session.
    let response = post(&server, "/logout", &admin, &[("csrf", csrf.as_str())]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        get(&server, "/analytics", Some(&admin)).await.0,
        StatusCode::SEE_OTHER
    );
}

async fn names_are_text_everywhere(db: &TestDb) {
    let app = setup(db).await;
    let evil = "<script>alert(1)</script>";
    let file = format!(
        r#"
[[model]]
identifier = "evil"
name = "{evil}"
provider = "openai-prod"
model_id = "evil"
input_price = "100"
output_price = "100"
"#
    );
    app.apply_catalog(&CatalogFile::parse(&file).unwrap())
        .await
        .unwrap();
    let mut r = llm_ledger::domain::UsageRecord::new(llm_ledger::domain::ServiceType::Chat);
    r.model = Some("evil".into());
    r.source = Some(evil.into());
    r.user = Some(evil.into());
    r.counts.prompt_tokens = 1000;
    app.record(vec![r]).await.unwrap();
    let server = TestServer::start(app).await;
    let (_, admin) = sign_in(&server, "root", "admin-password").await;
    let admin = admin.unwrap();
    for path in [
        "/analytics",
        "/models",
        "/models/evil",
        "/users",
        "/configurations",
    ] {
        let (status, _, body) = get(&server, path, Some(&admin)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!body.contains(evil), "{path} contains the raw script tag");
        if path != "/configurations" {
            assert!(
                body.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
                    || body.contains("&#60;script&#62;"),
                "{path} shows the name as text"
            );
        }
    }
}

async fn expired_sessions_open_nothing(db: &TestDb) {
    let app = setup(db).await;
    drop(app);
    let store = llm_ledger::store::connect(&db.url).await.unwrap();
    let secret = "llmledger_expired-session-secret";
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    store
        .create_session(
            &llm_ledger::secrets::token_hash(secret),
            "root",
            "csrf",
            past,
        )
        .await
        .unwrap();
    let server = TestServer::start(db.open("UTC").await).await;
    let cookie = format!("llm_ledger_session={secret}");
    let (status, location, _) = get(&server, "/analytics", Some(&cookie)).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/login")
    );
}

async fn an_empty_ledger_explains_how_to_start(db: &TestDb) {
    let app = db.open("UTC").await;
    app.create_user("root", None, Role::Admin, Some("admin-password"))
        .await
        .unwrap();
    let server = TestServer::start(app).await;
    let (_, admin) = sign_in(&server, "root", "admin-password").await;
    let (status, _, body) = get(&server, "/analytics", admin.as_deref()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("No usage recorded yet")
            && body.contains("seed-usage")
            && body.contains("/api/v1/usage")
    );
}

async fn sign_in_is_throttled_per_account(db: &TestDb) {
    let app = setup(db).await;
    let server = TestServer::start(app).await;
    for _ in 0..5 {
        assert_eq!(
            sign_in(&server, "root", "guess").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    // Now even the right password waits, so guessing gains nothing.
    let (status, session) = sign_in(&server, "root", "admin-password").await;
    assert_eq!((status, session), (StatusCode::TOO_MANY_REQUESTS, None));
    // Other accounts from the same address are not locked out yet.
    app_admin(&server).await;
    let (status, session) = sign_in(&server, "other", "other-password").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(session.is_some());
}

async fn app_admin(server: &TestServer) {
    server
        .app
        .create_user("other", None, Role::Admin, Some("other-password"))
        .await
        .unwrap();
}

/// The profile form: a new display name shows everywhere; a deactivated
/// administrator's session stops working and it cannot sign in again; no
/// one deactivates themselves.
async fn deactivated_users_lose_their_sessions(db: &TestDb) {
    let app = setup(db).await;
    app.create_user("ops", None, Role::Admin, Some("ops-password"))
        .await
        .unwrap();
    let server = TestServer::start(app).await;
    let root = sign_in(&server, "root", "admin-password").await.1.unwrap();
    let ops = sign_in(&server, "ops", "ops-password").await.1.unwrap();
    assert_eq!(
        get(&server, "/analytics", Some(&ops)).await.0,
        StatusCode::OK
    );
    let (_, _, html) = get(&server, "/users/ops", Some(&root)).await;
    assert!(html.contains("/users/ops/profile"), "{html}");
    let csrf = csrf_of(&html);
    let status = post(
        &server,
        "/users/ops/profile",
        &root,
        &[("csrf", &csrf), ("display_name", "Ops Team")],
    )
    .await
    .status();
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, location, _) = get(&server, "/analytics", Some(&ops)).await;
    assert_eq!(location, "/login", "the session of an inactive user ends");
    assert_eq!(
        sign_in(&server, "ops", "ops-password").await.1,
        None,
        "an inactive user cannot sign in"
    );
    let (_, _, users) = get(&server, "/users", Some(&root)).await;
    assert!(
        users.contains("Ops Team") && users.contains("inactive"),
        "{users}"
    );

    let status = post(
        &server,
        "/users/root/profile",
        &root,
        &[("csrf", &csrf), ("display_name", "Root")],
    )
    .await
    .status();
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let too_long = "x".repeat(129);
    let status = post(
        &server,
        "/users/ops/profile",
        &root,
        &[
            ("csrf", &csrf),
            ("display_name", &too_long),
            ("active", "true"),
        ],
    )
    .await
    .status();
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let root_user = server.app.users().await.unwrap();
    assert!(root_user.iter().any(|u| u.username == "root" && u.active));
    assert!(root_user.iter().any(|u| u.username == "ops" && !u.active));

    // The ended session does not come back with the user; nor does one
    // opened before a demotion or a new password.
    server
        .app
        .set_profile("ops", "Ops Team", true)
        .await
        .unwrap();
    let (_, location, _) = get(&server, "/analytics", Some(&ops)).await;
    assert_eq!(
        location, "/login",
        "a reactivated user's old session came back"
    );
    for change in ["demote", "password"] {
        let ops = sign_in(&server, "ops", "ops-password").await.1.unwrap();
        assert_eq!(
            get(&server, "/analytics", Some(&ops)).await.0,
            StatusCode::OK
        );
        match change {
            "demote" => {
                server.app.set_role("ops", Role::Member).await.unwrap();
                server.app.set_role("ops", Role::Admin).await.unwrap();
            }
            _ => server
                .app
                .set_password("ops", "ops-password")
                .await
                .unwrap(),
        }
        let (_, location, _) = get(&server, "/analytics", Some(&ops)).await;
        assert_eq!(location, "/login", "a session outlived a {change}");
    }
}

/// With more users than the table shows: the top 50 by cost and a link to
/// all of them; the full list keeps its view across ranges and links back;
/// each user's name opens the user's page.
async fn many_users_show_the_top_and_link_to_all(db: &TestDb) {
    let app = setup(db).await;
    let records: Vec<_> = (0..60)
        .map(|i| {
            let mut r = llm_ledger::domain::UsageRecord::new(llm_ledger::domain::ServiceType::Chat);
            r.provider = Some("openai-prod".into());
            r.user = Some(format!("user-{i:02}"));
            r.cost_usd = Some(llm_ledger::domain::Money::parse_usd(&format!("{}", i + 1)).unwrap());
            r
        })
        .collect();
    app.record(records).await.unwrap();
    let server = TestServer::start(app).await;
    let admin = sign_in(&server, "root", "admin-password").await.1.unwrap();
    let rows = |html: &str| html.matches("href=\"/users/user-").count();

    let (_, _, top) = get(&server, "/analytics?range=7d", Some(&admin)).await;
    assert_eq!(rows(&top), 50, "the top 50 users, each a link");
    assert!(
        top.contains("href=\"/users/user-59\""),
        "the costliest is shown"
    );
    assert!(
        !top.contains("href=\"/users/user-00\""),
        "the cheapest is not"
    );
    assert!(
        top.contains("Showing the top 50 of 60 users by cost."),
        "{top}"
    );
    assert!(
        top.contains("href=\"/analytics?range=7d&#38;users=all\""),
        "{top}"
    );

    let (_, _, all) = get(&server, "/analytics?range=7d&users=all", Some(&admin)).await;
    assert_eq!(rows(&all), 60);
    assert!(all.contains("Showing all 60 users."));
    assert!(
        all.contains("href=\"/analytics?range=30d&#38;users=all\""),
        "ranges keep the view"
    );
    assert!(
        all.contains("href=\"/analytics?range=7d\""),
        "a link back to the top 50"
    );
}

/// Usage on a model without a price is flagged, and the notice does not
/// claim that a cost the record named itself counts as $0.
async fn unpriced_usage_is_flagged(db: &TestDb) {
    let app = setup(db).await;
    let server = TestServer::start(app).await;
    let admin = sign_in(&server, "root", "admin-password").await.1.unwrap();
    let (_, _, html) = get(&server, "/analytics", Some(&admin)).await;
    assert!(!html.contains("without a price"), "no usage, no notice");

    let mut r = llm_ledger::domain::UsageRecord::new(llm_ledger::domain::ServiceType::Chat);
    r.provider = Some("ollama".into());
    r.model = Some("llama3".into());
    r.counts.prompt_tokens = 100;
    server.app.record(vec![r]).await.unwrap();
    let (_, _, html) = get(&server, "/analytics", Some(&admin)).await;
    assert!(
        html.contains(
            "1 request in this window ran on models without a price: \
             unless a record named its own cost, it counts as $0."
        ),
        "{html}"
    );
    assert!(html.contains("href=\"/models\">Set their prices"), "{html}");
}

/// Unknown paths and wrong methods get a real answer: a page for the web
/// UI, JSON under /api/.
async fn unknown_paths_and_methods_are_explained(db: &TestDb) {
    let app = setup(db).await;
    let server = TestServer::start(app).await;
    let (status, _, html) = get(&server, "/nonexistent", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        html.contains("<html") && html.contains("does not exist"),
        "{html}"
    );
    let (status, _, body) = get(&server, "/api/v1/nonexistent", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("does not exist"),
        "{body}"
    );
    let root = sign_in(&server, "root", "admin-password").await.1.unwrap();
    let (status, _, html) = get(&server, "/providers/%FF", Some(&root)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("<html") && html.contains("path"), "{html}");
    let (status, _, html) = get(&server, "/logout", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(html.contains("<html") && html.contains("/logout"), "{html}");
    let response = client()
        .put(server.url("/api/v1/usage"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["field"], "PUT", "{body}");
}

both_stores!(
    unknown_paths_and_methods_are_explained,
    unpriced_usage_is_flagged,
    many_users_show_the_top_and_link_to_all,
    deactivated_users_lose_their_sessions,
    sign_in_is_throttled_per_account,
    every_page_answers_admins_members_and_strangers,
    forms_without_their_csrf_token_change_nothing,
    names_are_text_everywhere,
    expired_sessions_open_nothing,
    an_empty_ledger_explains_how_to_start,
);
