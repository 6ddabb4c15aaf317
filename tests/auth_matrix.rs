//! Every route of the router × every kind of caller, on both stores. The
//! routes come from the router's own registry, where a route cannot exist
//! without an access rule: a new route is covered here automatically.

mod common;

use llm_ledger::domain::{Role, Scope};
use llm_ledger::http::{Access, Rule, route_table};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, COOKIE, LOCATION};

use common::{TestDb, TestServer, with_catalog};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    Anonymous,
    Member,
    Admin,
    IngestToken,
    ReadToken,
    AdminToken,
    RevokedToken,
    ForgedCookie,
    ExpiredCookie,
}

const CALLERS: [Caller; 9] = [
    Caller::Anonymous,
    Caller::Member,
    Caller::Admin,
    Caller::IngestToken,
    Caller::ReadToken,
    Caller::AdminToken,
    Caller::RevokedToken,
    Caller::ForgedCookie,
    Caller::ExpiredCookie,
];

/// A path with its parameters filled with records that exist.
fn concrete(path: &str) -> String {
    path.replace("/providers/{id}", "/providers/openai-prod")
        .replace("/models/{id}", "/models/gpt-4o")
        .replace("/configurations/{id}", "/configurations/chat-default")
        .replace("/tasks/{id}", "/tasks/summarize-page")
        .replace("/tokens/{id}", "/tokens/1")
        .replace("{username}", "mia")
        .replace("{id}", "res_unknown")
}

/// What the caller must get, as a predicate with a description.
fn allowed(rule: &Rule, caller: Caller) -> bool {
    use Caller::*;
    match rule.access {
        Access::Public => true,
        Access::Ingest => matches!(caller, IngestToken | AdminToken),
        Access::Read => matches!(caller, ReadToken | AdminToken | Admin),
        Access::Admin => caller == Admin,
        Access::Manage => caller == AdminToken,
    }
}

fn check(rule: &Rule, caller: Caller, status: StatusCode, location: &str) -> Result<(), String> {
    use Caller::*;
    let ok = match (rule.access, allowed(rule, caller)) {
        // Public routes never ask who you are.
        (Access::Public, _) => status != StatusCode::UNAUTHORIZED && !location.ends_with("/login"),
        // Let through: anything but an authentication or permission refusal.
        (Access::Admin, true) if rule.method == "POST" => {
            // Forms without their CSRF token are refused, nothing else.
            status == StatusCode::FORBIDDEN
        }
        (_, true) => {
            status != StatusCode::UNAUTHORIZED
                && status != StatusCode::FORBIDDEN
                && !location.ends_with("/login")
        }
        // Pages send strangers to sign in and refuse members.
        (Access::Admin, false) => match caller {
            Member => status == StatusCode::FORBIDDEN,
            _ => status == StatusCode::SEE_OTHER && location == "/login",
        },
        // The API: 401 without valid credentials, 403 with the wrong ones.
        (_, false) => match caller {
            Anonymous | RevokedToken | ForgedCookie | ExpiredCookie => {
                status == StatusCode::UNAUTHORIZED
            }
            Member => {
                // A session is not a token: the token routes ask for one.
                status == StatusCode::FORBIDDEN
                    || (matches!(rule.access, Access::Ingest | Access::Manage)
                        && status == StatusCode::UNAUTHORIZED)
            }
            Admin => status == StatusCode::UNAUTHORIZED,
            _ => status == StatusCode::FORBIDDEN,
        },
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{} {} as {caller:?}: {status} {location}",
            rule.method, rule.path
        ))
    }
}

async fn every_route_answers_every_caller_as_specified(db: &TestDb) {
    let app = db.open("UTC").await;
    with_catalog(&app).await;
    app.create_user("root", None, Role::Admin, Some("admin-password"))
        .await
        .unwrap();
    app.create_user("mia", None, Role::Member, Some("member-password"))
        .await
        .unwrap();
    let (_, ingest) = app.create_token("ingest", Scope::Ingest).await.unwrap();
    let (_, read) = app.create_token("read", Scope::Read).await.unwrap();
    let (_, admin_token) = app.create_token("admin", Scope::Admin).await.unwrap();
    let (_, revoked) = app.create_token("revoked", Scope::Admin).await.unwrap();
    app.revoke_token("revoked").await.unwrap();
    let server = TestServer::start(app).await;
    let admin = common::sign_in(&server, "root", "admin-password")
        .await
        .1
        .unwrap();
    // A member has no way to a session (sign-in refuses it, and a demotion
    // ends the sessions a user had), so one is written to the store, as an
    // edited database might hold: the pages still refuse it.
    let store = llm_ledger::store::connect(&db.url).await.unwrap();
    let member_secret = "llmledger_member";
    store
        .create_session(
            &llm_ledger::secrets::token_hash(member_secret),
            "mia",
            "csrf",
            chrono::Utc::now() + chrono::Duration::hours(1),
        )
        .await
        .unwrap();
    let member = format!("llm_ledger_session={member_secret}");
    let expired_secret = "llmledger_expired";
    let past = chrono::Utc::now() - chrono::Duration::hours(1);
    store
        .create_session(
            &llm_ledger::secrets::token_hash(expired_secret),
            "root",
            "csrf",
            past,
        )
        .await
        .unwrap();

    let table = route_table();
    assert!(
        table.len() >= 30,
        "the registry lists every route ({} found)",
        table.len()
    );
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for rule in &table {
        for caller in CALLERS {
            let url = server.url(&concrete(&rule.path));
            let mut request = match rule.method {
                "GET" => client.get(&url),
                "POST" => client
                    .post(&url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("x=1"),
                "PUT" => client
                    .put(&url)
                    .header("content-type", "application/json")
                    .body("x=1"),
                "DELETE" => client.delete(&url),
                other => panic!("no caller for {other}"),
            };
            request = match caller {
                Caller::Anonymous => request,
                Caller::Member => request.header(COOKIE, &member),
                Caller::Admin => request.header(COOKIE, &admin),
                Caller::IngestToken => request.header(AUTHORIZATION, format!("Bearer {ingest}")),
                Caller::ReadToken => request.header(AUTHORIZATION, format!("Bearer {read}")),
                Caller::AdminToken => {
                    request.header(AUTHORIZATION, format!("Bearer {admin_token}"))
                }
                Caller::RevokedToken => request.header(AUTHORIZATION, format!("Bearer {revoked}")),
                Caller::ForgedCookie => {
                    request.header(COOKIE, "llm_ledger_session=llmledger_forged")
                }
                Caller::ExpiredCookie => {
                    request.header(COOKIE, format!("llm_ledger_session={expired_secret}"))
                }
            };
            let response = request.send().await.unwrap();
            let status = response.status();
            assert!(
                !status.is_server_error(),
                "{} {} as {caller:?}: {status}",
                rule.method,
                rule.path
            );
            let location = response
                .headers()
                .get(LOCATION)
                .map(|l| l.to_str().unwrap().to_string())
                .unwrap_or_default();
            if let Err(e) = check(rule, caller, status, &location) {
                failures.push(e);
            }
            checked += 1;
        }
    }
    println!(
        "auth matrix: {} routes × {} callers = {checked} answers checked",
        table.len(),
        CALLERS.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

both_stores!(every_route_answers_every_caller_as_specified);
