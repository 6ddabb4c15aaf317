//! The command line as scripts use it (SPEC §7), on both stores.

mod common;

use std::io::Write;

use common::{CATALOG, ServeProcess, TestDb, USAGE_ROLLUP_STATISTICS, cli, run_ok};

async fn catalog_apply_is_idempotent_and_export_round_trips(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("catalog.toml");
    std::fs::write(&file, CATALOG).unwrap();
    let out = run_ok(cli(&db.url).args(["catalog", "apply"]).arg(&file));
    assert!(out.contains("8 created, 0 updated, 0 unchanged"), "{out}");
    let out = run_ok(cli(&db.url).args(["catalog", "apply"]).arg(&file));
    assert!(out.contains("0 created, 0 updated, 8 unchanged"), "{out}");

    let exported = dir.path().join("exported.toml");
    run_ok(cli(&db.url).args(["catalog", "export"]).arg(&exported));
    let out = run_ok(cli(&db.url).args(["catalog", "apply"]).arg(&exported));
    assert!(out.contains("0 created, 0 updated, 8 unchanged"), "{out}");
    assert_eq!(
        run_ok(cli(&db.url).args(["catalog", "export"])),
        std::fs::read_to_string(&exported).unwrap()
    );

    // A bad file names the field and changes nothing.
    std::fs::write(
        &file,
        CATALOG.replace("output_price = \"60\"", "output_price = \"sixty\""),
    )
    .unwrap();
    let out = cli(&db.url)
        .args(["catalog", "apply"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("model[2].output_price"), "{stderr}");
}

async fn users_tokens_and_budgets_from_the_command_line(db: &TestDb) {
    let mut add = cli(&db.url)
        .args([
            "user",
            "add",
            "anna",
            "--admin",
            "--display-name",
            "Anna A.",
            "--password-stdin",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(b"a-long-password\n")
        .unwrap();
    assert!(add.wait().unwrap().success());
    let list = run_ok(cli(&db.url).args(["user", "list"]));
    assert!(
        list.lines()
            .any(|l| l.starts_with("anna") && l.contains("Anna A.") && l.contains("admin")),
        "{list}"
    );
    // The last active administrator is kept.
    for args in [
        vec!["user", "set-role", "anna", "member"],
        vec!["user", "set", "anna", "--active", "false"],
    ] {
        let out = cli(&db.url).args(&args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("no active administrator"), "{stderr}");
    }
    run_ok(cli(&db.url).args(["user", "add", "ops", "--admin"]));
    run_ok(cli(&db.url).args(["user", "set-role", "anna", "member"]));
    run_ok(cli(&db.url).args([
        "user",
        "set",
        "anna",
        "--display-name",
        "Anna B.",
        "--active",
        "false",
    ]));
    assert!(
        run_ok(cli(&db.url).args(["user", "list"]))
            .lines()
            .any(|l| l.starts_with("anna") && l.contains("Anna B.") && l.contains("inactive"))
    );
    run_ok(cli(&db.url).args(["user", "set", "anna", "--active", "true"]));
    let missing = cli(&db.url)
        .args(["user", "set", "nobody", "--active", "false"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(
        run_ok(cli(&db.url).args(["user", "list"]))
            .lines()
            .any(|l| l.starts_with("anna") && l.contains("member"))
    );

    let out = run_ok(cli(&db.url).args(["token", "create", "ci", "--scope", "ingest"]));
    let secret = out.lines().last().unwrap();
    assert!(
        secret.starts_with("llmledger_") && !secret.contains(' '),
        "{out}"
    );
    let list = run_ok(cli(&db.url).args(["token", "list"]));
    assert!(
        list.contains("ci") && list.contains("ingest") && !list.contains(secret),
        "{list}"
    );
    run_ok(cli(&db.url).args(["token", "revoke", "ci"]));
    assert!(run_ok(cli(&db.url).args(["token", "list"])).contains("revoked"));
    // Revoking again says so; a name that looks like an id still works.
    let again = cli(&db.url)
        .args(["token", "revoke", "1"])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("revoked already"));
    run_ok(cli(&db.url).args(["token", "create", "777", "--scope", "read"]));
    let out = run_ok(cli(&db.url).args(["token", "revoke", "777"]));
    assert!(out.contains("\"777\""), "{out}");
    let bad = cli(&db.url)
        .args(["token", "create", "x", "--scope", "root"])
        .output()
        .unwrap();
    assert!(!bad.status.success());

    run_ok(cli(&db.url).args([
        "budget",
        "set",
        "anna",
        "--max-requests-per-day",
        "100",
        "--max-cost-per-month",
        "25.50",
        "--enforced",
        "true",
    ]));
    let show = run_ok(cli(&db.url).args(["budget", "show", "anna"]));
    assert!(
        show.contains("requests per day") && show.contains("100"),
        "{show}"
    );
    assert!(show.contains("$25.500000"), "{show}");
    let missing = cli(&db.url)
        .args(["budget", "show", "nobody"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("\"nobody\" does not exist"));
    // A negative ceiling is refused as a value (not taken for a flag).
    for flag in ["--max-cost-per-day", "--max-requests-per-month"] {
        let negative = cli(&db.url)
            .args(["budget", "set", "anna", flag, "-1"])
            .output()
            .unwrap();
        assert!(!negative.status.success());
        let stderr = String::from_utf8_lossy(&negative.stderr);
        assert!(stderr.contains("must not be negative"), "{flag}: {stderr}");
    }
    assert!(run_ok(cli(&db.url).args(["budget", "show", "anna"])).contains("$25.500000"));
}

async fn import_validates_everything_first_then_records(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("usage.jsonl");
    let mut lines: Vec<String> = (0..2500)
        .map(|i| format!(r#"{{"service":"chat","provider":"p","model":"m","prompt_tokens":{i},"idempotency_key":"imp-{i}"}}"#))
        .collect();
    lines[1700] = r#"{"service":"chat","provider":"p","prompt_tokens":-1}"#.into();
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = cli(&db.url).args(["import"]).arg(&file).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("usage.jsonl:1701: prompt_tokens"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was imported"), "{stderr}");

    lines[1700] = r#"{"service":"chat","provider":"p","model":"m","prompt_tokens":1700,"idempotency_key":"imp-1700"}"#.into();
    lines.insert(10, String::new());
    // A byte-order mark before the first line, as some editors write it.
    std::fs::write(&file, format!("\u{feff}{}", lines.join("\n"))).unwrap();
    let out = run_ok(cli(&db.url).args(["import"]).arg(&file));
    assert!(
        out.contains("Imported 2500 records") && out.contains("2500 recorded"),
        "{out}"
    );
    // Re-running is safe: every record carries an idempotency key.
    let out = run_ok(cli(&db.url).args(["import"]).arg(&file));
    assert!(out.contains("0 recorded, 2500 duplicates"), "{out}");
}

/// An output that cannot be written is an error, never a panic; a secret
/// that could not be shown says how to replace it.
async fn unwritable_output_is_an_error_not_a_panic(db: &TestDb) {
    common::with_catalog(&db.open("UTC").await).await;
    let full = || std::fs::File::create("/dev/full").unwrap();
    let run = |args: &[&str]| {
        let out = cli(&db.url).args(args).stdout(full()).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = run(&["catalog", "export"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let (code, stderr) = run(&["token", "create", "lost", "--scope", "read"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("could not print the secret") && stderr.contains("token revoke"),
        "{stderr}"
    );
    let (code, stderr) = run(&["user", "add", "lost", "--admin"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("user passwd lost"), "{stderr}");
}

/// What only the ledger can check is checked per batch: a refusal names the
/// line and field, says what is stored, and `--from-line` goes on from there.
/// Lines holding batches are sent without passing 1,000 records a batch.
async fn an_import_refused_part_way_names_the_line_and_goes_on(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("usage.jsonl");
    let record = r#"{"service":"chat","provider":"p","prompt_tokens":1}"#;
    let mut lines = vec![record.to_string(); 1200];
    lines[1099] = r#"{"service":"chat","provider":"p","reservation_id":"res_bogus"}"#.into();
    let batch = format!(r#"{{"records":[{}]}}"#, vec![record; 600].join(","));
    lines.push(batch.clone());
    lines.push(batch);
    std::fs::write(&file, lines.join("\n")).unwrap();
    let requests = || {
        let out = run_ok(cli(&db.url).args(["report", "--range", "7d", "--format", "json"]));
        let report: serde_json::Value = serde_json::from_str(&out).unwrap();
        report["kpis"]["requests"].as_i64().unwrap()
    };

    let out = cli(&db.url).args(["import"]).arg(&file).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("usage.jsonl:1100: reservation_id: is not a reservation of this ledger"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the batch from line 1001 was refused")
            && stderr.contains("(1000 records)")
            && stderr.contains("--from-line 1001"),
        "{stderr}"
    );
    assert_eq!(requests(), 1000);

    lines[1099] = record.into();
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = run_ok(
        cli(&db.url)
            .args(["import", "--from-line", "1001"])
            .arg(&file),
    );
    assert!(out.contains("Imported 1400 records"), "{out}");
    assert_eq!(requests(), 2400);
}

async fn serve_creates_the_first_admin_once(db: &TestDb) {
    let first = ServeProcess::start(&db.url);
    let banner = first.banner.join("\n");
    assert!(banner.contains("\"admin\""), "{banner}");
    let password = first.banner[1].trim().to_string();
    drop(first);
    let second = ServeProcess::start(&db.url);
    assert!(second.banner.is_empty(), "{:?}", second.banner);
    let health = reqwest::get(format!("{}/healthz", second.base))
        .await
        .unwrap();
    assert!(health.status().is_success());
    let app = db.open("UTC").await;
    assert!(
        app.verify_login("admin", &password)
            .await
            .unwrap()
            .is_some()
    );
}

async fn a_time_zone_mismatch_names_the_databases_zone(db: &TestDb) {
    run_ok(cli(&db.url).args(["--timezone", "Asia/Tokyo", "migrate"]));
    let out = cli(&db.url)
        .args(["--timezone", "Europe/Berlin", "migrate"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Asia/Tokyo"), "{stderr}");
    let out = cli(&db.url)
        .env_remove("LLM_LEDGER_TIMEZONE")
        .args(["migrate"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Asia/Tokyo"));
    let bad = cli(&db.url)
        .args(["--timezone", "Mars/Base", "migrate"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&bad.stderr).contains("Mars/Base"));
}

/// `migrate` says what it did: every migration on a new database, none on
/// a migrated one.
async fn migrate_says_how_many_migrations_it_applied(db: &TestDb) {
    let version = llm_ledger::store::SCHEMA_VERSION;
    let first = run_ok(cli(&db.url).arg("migrate"));
    assert!(
        first.contains(&format!(
            "schema version {version}: {version} migrations applied"
        )),
        "{first}"
    );
    let again = run_ok(cli(&db.url).arg("migrate"));
    assert!(
        again.contains(&format!(
            "schema version {version}: no migration was needed"
        )),
        "{again}"
    );
}

async fn report_prints_tables_json_and_csv(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.toml");
    std::fs::write(&catalog, CATALOG).unwrap();
    run_ok(cli(&db.url).args(["catalog", "apply"]).arg(&catalog));
    run_ok(cli(&db.url).args(["user", "add", "anna", "--display-name", "Anna"]));
    run_ok(cli(&db.url).args(["budget", "set", "anna", "--max-cost-per-month", "0.01"]));
    let usage = dir.path().join("usage.jsonl");
    std::fs::write(
        &usage,
        concat!(
            r#"{"service":"chat","model":"gpt-4o","user":"anna","prompt_tokens":10000,"completion_tokens":1000}"#,
            "\n",
            r#"{"service":"translation","provider":"deepl","characters":1000,"source":"wiki"}"#,
        ),
    )
    .unwrap();
    run_ok(cli(&db.url).arg("import").arg(&usage));

    let csv = run_ok(cli(&db.url).args(["report", "--range", "7d", "--format", "csv"]));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 8, "{csv}");
    assert_eq!(lines[0], "date,cost_usd,requests,tokens");
    assert!(lines[7].ends_with(",0.035000,2,11000"), "{csv}");

    let json: serde_json::Value =
        serde_json::from_str(&run_ok(cli(&db.url).args(["report", "--format", "json"]))).unwrap();
    assert_eq!(json["range"], "30d");
    assert_eq!(json["kpis"]["requests"], 2);
    assert_eq!(json["users"][0]["budget"]["percent"], 350.0);

    let table = run_ok(cli(&db.url).args(["report", "--range", "month"]));
    for expected in [
        "~$0.04",
        "11,000",
        "Anna",
        "system",
        "unattributed",
        "~$0.04 of ~$0.01 (350.0%)",
        "no budget set",
        "DeepL",
    ] {
        assert!(
            table.contains(expected),
            "{expected:?} missing from:\n{table}"
        );
    }
    let bad = cli(&db.url)
        .args(["report", "--range", "week"])
        .output()
        .unwrap();
    assert!(!bad.status.success());

    // A reader that goes away (`report | head -0`) ends the report quietly.
    let mut child = cli(&db.url)
        .arg("report")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.is_empty(), "{stderr}");
}

both_stores!(
    report_prints_tables_json_and_csv,
    catalog_apply_is_idempotent_and_export_round_trips,
    users_tokens_and_budgets_from_the_command_line,
    import_validates_everything_first_then_records,
    an_import_refused_part_way_names_the_line_and_goes_on,
    unwritable_output_is_an_error_not_a_panic,
    serve_creates_the_first_admin_once,
    a_time_zone_mismatch_names_the_databases_zone,
    migrate_says_how_many_migrations_it_applied,
);

/// Commands that fail on their arguments leave nothing behind: a bad time
/// zone creates no database, a port in use creates no admin (and prints no
/// password), a day count out of range seeds nothing, a reservation
/// lifetime out of range serves nothing.
#[test]
fn failing_commands_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ledger.db");
    let url = format!("sqlite://{}", file.display());
    let out = cli(&url)
        .args(["--timezone", "Mars/Base", "migrate"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!file.exists(), "a bad time zone created the database");

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = cli(&url)
        .args(["serve", "--listen", &addr])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot listen"),
        "{out:?}"
    );
    assert!(out.stdout.is_empty(), "{out:?}");
    let users = run_ok(cli(&url).args(["user", "list"]));
    assert!(!users.contains("admin"), "{users}");

    for days in ["0", "3651"] {
        let out = cli(&url)
            .args(["seed-usage", "--days", days])
            .output()
            .unwrap();
        assert!(!out.status.success(), "--days {days}");
    }
    let users = run_ok(cli(&url).args(["user", "list"]));
    assert!(!users.contains("anna"), "{users}");

    // A reservation lifetime out of range is refused before anything runs
    // (a huge one made every reserve call panic).
    for ttl in ["0", "604801", "9000000000000000"] {
        let out = cli(&url)
            .args(["serve", "--listen", "127.0.0.1:0", "--reservation-ttl", ttl])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "--reservation-ttl {ttl}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("--reservation-ttl") && stderr.contains("1..=604800"),
            "{stderr}"
        );
    }
    let users = run_ok(cli(&url).args(["user", "list"]));
    assert!(!users.contains("admin"), "{users}");

    // An unreachable PostgreSQL says why at once (through the connection
    // pool it read "pool timed out" after 5 s).
    let out = cli("postgres://postgres@127.0.0.1:1/ledger")
        .args(["user", "list"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Connection refused"), "{stderr}");
}

/// A command that ends closes the ledger: the WAL is folded into the
/// database file, so that file alone is the whole ledger.
#[test]
fn a_finished_command_leaves_one_self_contained_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ledger.db");
    run_ok(cli(&format!("sqlite://{}", file.display())).args(["user", "add", "anna"]));
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["ledger.db"]);
    let copy = dir.path().join("copy.db");
    std::fs::copy(&file, &copy).unwrap();
    let users = run_ok(cli(&format!("sqlite://{}", copy.display())).args(["user", "list"]));
    assert!(users.contains("anna"), "{users}");
}

#[test]
fn every_argument_is_documented_in_help() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["budget", "set", "--help"],
        vec!["user", "add", "--help"],
        vec!["token", "create", "--help"],
        vec!["catalog", "apply", "--help"],
        vec!["import", "--help"],
    ] {
        let out = run_ok(cli("sqlite://unused.db").args(&args));
        assert!(out.contains("Usage:"), "{args:?}: {out}");
    }
    let help = run_ok(cli("sqlite://unused.db").args(["--help"]));
    for command in [
        "serve", "migrate", "import", "catalog", "user", "token", "budget",
    ] {
        assert!(help.contains(command), "{command} missing from --help");
    }
}

/// Ctrl-C stops an import between batches: it says what is stored and where
/// to go on, and going on from there stores every record once.
#[test]
fn an_interrupted_import_says_where_to_go_on() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("usage.jsonl");
    let lines = 60_000;
    let record = r#"{"service":"chat","provider":"p","prompt_tokens":1}"#;
    std::fs::write(&file, vec![record; lines].join("\n")).unwrap();
    let requests = || {
        let out = run_ok(cli(&db.url).args(["report", "--range", "7d", "--format", "json"]));
        let report: serde_json::Value = serde_json::from_str(&out).unwrap();
        report["kpis"]["requests"].as_i64().unwrap_or(0)
    };
    run_ok(cli(&db.url).arg("migrate"));
    let child = cli(&db.url)
        .arg("import")
        .arg(&file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt once some batches are stored.
    while requests() == 0 {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        // The whole file was stored before the signal came: nothing to go on with.
        assert_eq!(requests(), lines as i64);
        return;
    }
    assert!(stderr.contains("interrupted:"), "{stderr}");
    let from = stderr
        .split("--from-line ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("{stderr}"));
    let stored = requests();
    assert_eq!(
        from.parse::<i64>().unwrap(),
        stored + 1,
        "one record a line: {stderr}"
    );
    run_ok(
        cli(&db.url)
            .args(["import", "--from-line", from])
            .arg(&file),
    );
    assert_eq!(requests(), lines as i64);
}

/// Commands that would do nothing, or cannot start, say why.
#[test]
fn mistakes_that_would_do_nothing_say_so() {
    let db = TestDb::sqlite();
    run_ok(cli(&db.url).args(["user", "add", "anna"]));
    let fails = |cmd: &mut std::process::Command| {
        let out = cmd.output().unwrap();
        assert!(!out.status.success(), "{cmd:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let stderr = fails(cli(&db.url).args(["user", "set", "anna"]));
    assert!(stderr.contains("nothing to change"), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("usage.jsonl");
    std::fs::write(&file, r#"{"service":"chat","provider":"p"}"#).unwrap();
    let stderr = fails(cli(&db.url).args(["import", "--from-line", "5"]).arg(&file));
    assert!(stderr.contains("no record from line 5 on"), "{stderr}");

    let missing = dir.path().join("no-such-folder").join("ledger.db");
    let stderr = fails(cli(&format!("sqlite://{}", missing.display())).arg("migrate"));
    assert!(stderr.contains("folder exists"), "{stderr}");
}

/// An import into PostgreSQL leaves the planner statistics of what it
/// loaded (BENCHMARKS.md: without them the dashboard sorted on disk).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_into_postgres_is_analyzed() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let usage = dir.path().join("usage.jsonl");
    let lines: Vec<String> = (0..50)
        .map(|i| {
            format!(
                r#"{{"service":"chat","model":"m{}","user":"u{i}","prompt_tokens":10}}"#,
                i % 3
            )
        })
        .collect();
    std::fs::write(&usage, lines.join("\n")).unwrap();
    run_ok(cli(&db.url).arg("migrate"));
    assert_eq!(db.pg_value::<i64>(USAGE_ROLLUP_STATISTICS).await, 0);
    run_ok(cli(&db.url).arg("import").arg(&usage));
    assert!(db.pg_value::<i64>(USAGE_ROLLUP_STATISTICS).await > 0);
}
