//! Demo data (`seed-usage`, `demo`): a realistic, deterministic history
//! written through the same recording core as real usage, so every cost is
//! a real priced cost. Everything it creates is marked as demo data.

use chrono::{TimeZone, Utc};

use super::{App, AppError, AppResult, CatalogFile};
use crate::domain::record::MAX_TOKENS;
use crate::domain::{Budget, Day, Money, Role, ServiceType, UsageRecord};
use crate::rng::Rng;
use crate::store::{DemoMarks, Dimension, PreparedRecord};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// A lively small organisation: a few thousand calls.
    Small,
    /// Benchmark size: 2,000 users, 40 models, 200 configurations, 500 tasks,
    /// 20 sources and at least 10 million aggregate rows over 365 days.
    Large,
}

#[derive(Clone, Copy, Debug)]
pub struct SeedOptions {
    pub days: u32,
    pub seed: u64,
    pub scale: Scale,
    pub replace: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeedSummary {
    pub days: u32,
    pub records: u64,
}

/// One kind of call the demo organisation makes.
struct Template {
    service: ServiceType,
    provider: &'static str,
    model: Option<&'static str>,
    configuration: Option<&'static str>,
    task: Option<&'static str>,
    weight: u64,
    prompt: (i64, i64),
    completion: (i64, i64),
    /// Per mille of the prompt read from the provider's cache, at most.
    cache_read: i64,
    cache_write: i64,
    units: (i64, i64),
}

/// A chat call; templates override what differs.
const CHAT: Template = Template {
    service: ServiceType::Chat,
    provider: "demo-openai",
    model: None,
    configuration: None,
    task: None,
    weight: 1,
    prompt: (0, 0),
    completion: (0, 0),
    cache_read: 0,
    cache_write: 0,
    units: (0, 0),
};

const TEMPLATES: &[Template] = &[
    Template {
        model: Some("gpt-4o"),
        configuration: Some("chat-default"),
        task: Some("draft-reply"),
        weight: 14,
        prompt: (800, 4000),
        completion: (200, 900),
        cache_read: 400,
        ..CHAT
    },
    Template {
        model: Some("gpt-4o-mini"),
        configuration: Some("chat-fast"),
        task: Some("classify-ticket"),
        weight: 22,
        prompt: (300, 1500),
        completion: (10, 80),
        ..CHAT
    },
    Template {
        provider: "demo-anthropic",
        model: Some("claude-3-5-sonnet"),
        configuration: Some("coder"),
        task: Some("code-review"),
        weight: 9,
        prompt: (2000, 12000),
        completion: (300, 2000),
        cache_read: 600,
        cache_write: 80,
        ..CHAT
    },
    Template {
        provider: "demo-anthropic",
        model: Some("claude-3-5-haiku"),
        configuration: Some("summarizer"),
        task: Some("summarize-page"),
        weight: 14,
        prompt: (1500, 6000),
        completion: (150, 400),
        cache_read: 200,
        ..CHAT
    },
    Template {
        service: ServiceType::Completion,
        provider: "demo-google",
        model: Some("gemini-1.5-flash"),
        task: Some("extract-keywords"),
        weight: 10,
        prompt: (500, 2000),
        completion: (20, 100),
        ..CHAT
    },
    Template {
        provider: "demo-google",
        model: Some("gemini-1.5-pro"),
        weight: 3,
        prompt: (3000, 20000),
        completion: (500, 1500),
        ..CHAT
    },
    Template {
        provider: "demo-ollama",
        model: Some("llama3.1:8b"),
        configuration: Some("local-assistant"),
        weight: 10,
        prompt: (300, 2000),
        completion: (100, 600),
        ..CHAT
    },
    Template {
        service: ServiceType::Embedding,
        model: Some("text-embedding-3-small"),
        weight: 12,
        prompt: (200, 8000),
        ..CHAT
    },
    Template {
        service: ServiceType::Vision,
        model: Some("gpt-4o"),
        configuration: Some("chat-default"),
        task: Some("generate-alt-text"),
        weight: 4,
        prompt: (1000, 2000),
        completion: (30, 80),
        ..CHAT
    },
    Template {
        service: ServiceType::Translation,
        provider: "demo-deepl",
        task: Some("translate-page"),
        weight: 8,
        units: (500, 8000),
        ..CHAT
    },
    Template {
        service: ServiceType::Speech,
        model: Some("whisper-1"),
        weight: 3,
        units: (10, 600),
        ..CHAT
    },
    Template {
        service: ServiceType::Image,
        model: Some("dall-e-3"),
        task: Some("generate-alt-text"),
        weight: 2,
        units: (1, 4),
        ..CHAT
    },
];

/// The demo organisation's catalog, with real-world list prices.
const CATALOG: &str = r#"
[[provider]]
identifier = "demo-openai"
name = "Demo OpenAI"
adapter_type = "openai"

[[provider]]
identifier = "demo-anthropic"
name = "Demo Anthropic"
adapter_type = "anthropic"

[[provider]]
identifier = "demo-google"
name = "Demo Google"
adapter_type = "google"

[[provider]]
identifier = "demo-ollama"
name = "Demo Ollama (local)"
adapter_type = "ollama"

[[provider]]
identifier = "demo-deepl"
name = "Demo DeepL"
adapter_type = "deepl"

[[model]]
identifier = "gpt-4o"
name = "GPT-4o"
provider = "demo-openai"
model_id = "gpt-4o"
input_price = "250"
output_price = "1000"
cache_read_price = "125"

[[model]]
identifier = "gpt-4o-mini"
name = "GPT-4o mini"
provider = "demo-openai"
model_id = "gpt-4o-mini"
input_price = "15"
output_price = "60"
cache_read_price = "7.5"

[[model]]
identifier = "text-embedding-3-small"
name = "text-embedding-3-small"
provider = "demo-openai"
model_id = "text-embedding-3-small"
input_price = "2"
output_price = "0"

[[model]]
identifier = "whisper-1"
name = "Whisper"
provider = "demo-openai"
model_id = "whisper-1"
input_price = "0"
output_price = "0"

[[model]]
identifier = "dall-e-3"
name = "DALL·E 3"
provider = "demo-openai"
model_id = "dall-e-3"
input_price = "0"
output_price = "0"

[[model]]
identifier = "claude-3-5-sonnet"
name = "Claude 3.5 Sonnet"
provider = "demo-anthropic"
model_id = "claude-3-5-sonnet-20241022"
input_price = "300"
output_price = "1500"
cache_read_price = "30"
cache_write_price = "375"

[[model]]
identifier = "claude-3-5-haiku"
name = "Claude 3.5 Haiku"
provider = "demo-anthropic"
model_id = "claude-3-5-haiku-20241022"
input_price = "80"
output_price = "400"
cache_read_price = "8"
cache_write_price = "100"

[[model]]
identifier = "gemini-1.5-flash"
name = "Gemini 1.5 Flash"
provider = "demo-google"
model_id = "gemini-1.5-flash"
input_price = "7.5"
output_price = "30"

[[model]]
identifier = "gemini-1.5-pro"
name = "Gemini 1.5 Pro"
provider = "demo-google"
model_id = "gemini-1.5-pro"
input_price = "125"
output_price = "500"

[[model]]
identifier = "llama3.1:8b"
name = "Llama 3.1 8B (local)"
provider = "demo-ollama"
model_id = "llama3.1:8b"
input_price = "0"
output_price = "0"

[[configuration]]
identifier = "chat-default"
name = "Default chat"
model = "gpt-4o"

[[configuration]]
identifier = "chat-fast"
name = "Fast chat"
model = "gpt-4o-mini"
max_requests_per_day = 5000

[[configuration]]
identifier = "coder"
name = "Coding assistant"
model = "claude-3-5-sonnet"
max_cost_per_day = "50"

[[configuration]]
identifier = "summarizer"
name = "Summarizer"
model = "claude-3-5-haiku"

[[configuration]]
identifier = "local-assistant"
name = "Local assistant"
model = "llama3.1:8b"

[[task]]
identifier = "summarize-page"
name = "Summarize a page"
configuration = "summarizer"

[[task]]
identifier = "translate-page"
name = "Translate a page"

[[task]]
identifier = "draft-reply"
name = "Draft a reply"
configuration = "chat-default"

[[task]]
identifier = "classify-ticket"
name = "Classify a ticket"
configuration = "chat-fast"

[[task]]
identifier = "extract-keywords"
name = "Extract keywords"

[[task]]
identifier = "generate-alt-text"
name = "Generate alt text"
configuration = "chat-default"

[[task]]
identifier = "code-review"
name = "Review code"
configuration = "coder"
"#;

/// (username, display name, relative activity).
const USERS: &[(&str, &str, u64)] = &[
    ("anna", "Anna Schmidt", 30),
    ("ben", "Ben Okafor", 22),
    ("chloe", "Chloé Martin", 18),
    ("david", "David Cohen", 12),
    ("emma", "Emma Larsen", 9),
    ("farid", "Farid Haddad", 6),
];
/// Share of calls without a user (the system: schedulers, CLI).
const SYSTEM_WEIGHT: u64 = 25;
/// Sources by weight; `None` = unattributed.
const SOURCES: &[(Option<&str>, u64)] = &[
    (Some("wiki"), 35),
    (Some("helpdesk"), 25),
    (Some("cms-editor"), 20),
    (Some("api-gateway"), 10),
    (None, 10),
];

impl App {
    /// Refuses a ledger that `demo` may not take over (it resets `admin`'s
    /// password): one with real usage, or one with users and no usage yet
    /// (a ledger set up for real use). A new ledger or a demo one is fine.
    pub async fn check_demo_ledger(&self) -> AppResult<()> {
        let refuse = |why: &str| {
            AppError::invalid(
                "database",
                format!("{why}; demo only runs on a new or demo ledger (use serve for this one)"),
            )
        };
        if self.store.has_real_usage().await? {
            return Err(refuse("this ledger holds usage that is not demo data"));
        }
        if !self.store.has_usage().await? && !self.users().await?.is_empty() {
            return Err(refuse("this ledger has users but no demo data"));
        }
        Ok(())
    }

    /// Writes demo history. Refuses a ledger holding real usage, and one
    /// holding demo usage unless `replace` is set.
    pub async fn seed_usage(
        &self,
        options: SeedOptions,
        progress: impl Fn(u64, u64),
    ) -> AppResult<SeedSummary> {
        let refuse = |why: &str| AppError::invalid("database", why);
        if self.store.has_real_usage().await? {
            return Err(refuse(
                "this ledger holds usage that is not demo data; seed-usage only writes into a ledger without real usage",
            ));
        }
        if self.store.has_usage().await? {
            if !options.replace {
                return Err(refuse(
                    "this ledger holds demo data already; run seed-usage --replace to regenerate it",
                ));
            }
            self.store.delete_demo_data().await.map_err(|e| match e {
                crate::store::StoreError::Conflict(_) => {
                    refuse("this ledger holds usage that is not demo data")
                }
                other => other.into(),
            })?;
        }
        let days = options.days.max(1);
        let summary = match options.scale {
            Scale::Small => self.seed_small(days, options.seed, &progress).await?,
            Scale::Large => self.seed_large(days, options.seed, &progress).await?,
        };
        self.analyze().await?;
        Ok(summary)
    }

    /// The instant used for a seeded call on `day`: local noon, or now for
    /// today before noon. Only the day matters to the aggregate.
    fn seed_instant(&self, day: Day) -> chrono::DateTime<Utc> {
        let noon = day.date().and_hms_opt(12, 0, 0).expect("valid time");
        let instant = self
            .timezone
            .from_local_datetime(&noon)
            .earliest()
            .map(|t| t.to_utc());
        instant.unwrap_or_else(Utc::now).min(Utc::now())
    }

    /// Records one day's calls in one transaction through the recording core.
    async fn record_seeded(&self, day: Day, records: Vec<UsageRecord>) -> AppResult<u64> {
        let at = self.seed_instant(day);
        let received = Utc::now().timestamp();
        let batch: Vec<PreparedRecord> = records
            .into_iter()
            .map(|mut record| {
                record.occurred_at = Some(at);
                PreparedRecord::new(record, day, received)
            })
            .collect();
        let n = batch.len() as u64;
        match self.store.record(batch).await? {
            Ok(_) => Ok(n),
            Err(errors) => Err(AppError::Internal(format!(
                "demo data was refused: {errors:?}"
            ))),
        }
    }

    async fn seed_small(
        &self,
        days: u32,
        seed: u64,
        progress: &impl Fn(u64, u64),
    ) -> AppResult<SeedSummary> {
        self.apply_catalog(&CatalogFile::parse(CATALOG)?).await?;
        for (username, name, _) in USERS {
            self.create_user(username, Some(name), Role::Member, None)
                .await?;
        }
        let file = CatalogFile::parse(CATALOG)?;
        let marks = DemoMarks {
            providers: file
                .providers
                .iter()
                .map(|p| p.identifier.clone())
                .collect(),
            models: file.models.iter().map(|m| m.identifier.clone()).collect(),
            configurations: file
                .configurations
                .iter()
                .map(|c| c.identifier.clone())
                .collect(),
            tasks: file.tasks.iter().map(|t| t.identifier.clone()).collect(),
            users: USERS.iter().map(|u| u.0.to_string()).collect(),
            sources: SOURCES
                .iter()
                .filter_map(|s| s.0.map(str::to_string))
                .collect(),
        };
        let mut rng = Rng::new(seed);
        let today = self.today();
        let first = today.plus(1 - days as i32);
        let mut records = 0;
        let template_weights: Vec<u64> = TEMPLATES.iter().map(|t| t.weight).collect();
        let mut user_weights: Vec<u64> = USERS.iter().map(|u| u.2).collect();
        user_weights.push(SYSTEM_WEIGHT);
        let source_weights: Vec<u64> = SOURCES.iter().map(|s| s.1).collect();
        for offset in 0..days {
            let day = first.plus(offset as i32);
            let calls = daily_calls(&mut rng, day, offset, days, 120);
            let mut batch = Vec::with_capacity(calls as usize);
            for call in 0..calls {
                let t = &TEMPLATES[rng.weighted(&template_weights)];
                let mut r = call_from(t, &mut rng);
                let who = rng.weighted(&user_weights);
                // Ben works every day, so this month's budget bar is never empty.
                let who = if call == 0 { 1 } else { who };
                r.user = USERS.get(who).map(|u| u.0.to_string());
                r.source = SOURCES[rng.weighted(&source_weights)].0.map(str::to_string);
                // Agents split some work into sub-calls: tokens and cost, no request.
                if t.service == ServiceType::Chat && rng.chance(40) {
                    let mut sub = r.clone();
                    sub.counts_as_request = false;
                    batch.push(sub);
                }
                batch.push(r);
            }
            records += self.record_seeded(day, batch).await?;
            progress(u64::from(offset) + 1, u64::from(days));
        }
        self.store.mark_demo(&marks).await?;
        self.set_demo_budgets(today).await?;
        Ok(SeedSummary { days, records })
    }

    /// Anna and Chloé get roomy monthly budgets; Ben's is set so this month
    /// already uses about 87 % of it.
    async fn set_demo_budgets(&self, today: Day) -> AppResult<()> {
        let month = self
            .store
            .rollup(Dimension::User, today.month_start(), today)
            .await?;
        let labels = self.store.labels(Dimension::User).await?;
        let spent = |name: &str| {
            let id = labels.iter().find(|l| l.key == name).map(|l| l.id);
            month
                .iter()
                .find(|(i, _)| Some(*i) == id)
                .map(|(_, t)| t.cost)
                .unwrap_or(Money::ZERO)
        };
        let cents = Money::parse_usd("0.01").expect("valid");
        let ben_limit = Money::from_picos(
            i64::try_from((spent("ben").picos() * 115 / 100 / cents.picos() + 1) * cents.picos())
                .expect("a demo limit fits"),
        );
        for (user, limit) in [
            ("anna", Money::parse_usd("20").expect("valid")),
            ("ben", ben_limit),
            ("chloe", Money::parse_usd("60").expect("valid")),
        ] {
            let budget = Budget {
                max_cost_per_month: limit,
                max_requests_per_day: if user == "chloe" { 500 } else { 0 },
                enforced: true,
                ..Budget::default()
            };
            self.set_budget(user, &budget).await?;
        }
        Ok(())
    }

    async fn seed_large(
        &self,
        days: u32,
        seed: u64,
        progress: &impl Fn(u64, u64),
    ) -> AppResult<SeedSummary> {
        let catalog = large::catalog();
        self.apply_catalog(&catalog).await?;
        for i in 0..large::USERS {
            self.create_user(&large::user(i), None, Role::Member, None)
                .await?;
        }
        let marks = DemoMarks {
            providers: catalog
                .providers
                .iter()
                .map(|p| p.identifier.clone())
                .collect(),
            models: catalog
                .models
                .iter()
                .map(|m| m.identifier.clone())
                .collect(),
            configurations: catalog
                .configurations
                .iter()
                .map(|c| c.identifier.clone())
                .collect(),
            tasks: catalog.tasks.iter().map(|t| t.identifier.clone()).collect(),
            users: (0..large::USERS).map(large::user).collect(),
            sources: (0..large::SOURCES).map(large::source).collect(),
        };
        let mut rng = Rng::new(seed);
        let today = self.today();
        let first = today.plus(1 - days as i32);
        let mut records = 0;
        // The same variety every day, whatever the length of the history.
        let per_day = large::ROWS.div_ceil(365);
        for offset in 0..days {
            let day = first.plus(offset as i32);
            let batch: Vec<UsageRecord> = (0..per_day)
                .map(|_| large::call(&mut rng, &catalog))
                .collect();
            records += self.record_seeded(day, batch).await?;
            progress(u64::from(offset) + 1, u64::from(days));
        }
        self.store.mark_demo(&marks).await?;
        for (i, limit) in [(0, "500"), (1, "50"), (2, "2000")] {
            let budget = Budget {
                max_cost_per_month: Money::parse_usd(limit).expect("valid"),
                enforced: true,
                ..Budget::default()
            };
            self.set_budget(&large::user(i), &budget).await?;
        }
        Ok(SeedSummary { days, records })
    }
}

/// Calls on a day: a growth trend over the period, quiet weekends, and an
/// occasional spike.
fn daily_calls(rng: &mut Rng, day: Day, offset: u32, days: u32, base: i64) -> i64 {
    use chrono::Datelike;
    let growth = 100 + 100 * i64::from(offset) / i64::from(days.max(1));
    let weekend = matches!(
        day.date().weekday(),
        chrono::Weekday::Sat | chrono::Weekday::Sun
    );
    let rhythm = if weekend { 35 } else { 100 };
    let spike = if rng.chance(40) { 300 } else { 100 };
    let noise = rng.between(80, 120);
    (base * growth * rhythm / 100 * spike / 100 * noise / 10_000).max(1)
}

fn call_from(t: &Template, rng: &mut Rng) -> UsageRecord {
    let mut r = UsageRecord::new(t.service);
    r.provider = Some(t.provider.to_string());
    r.model = t.model.map(str::to_string);
    r.configuration = t.configuration.map(str::to_string);
    r.task = t.task.map(str::to_string);
    let c = &mut r.counts;
    c.prompt_tokens = rng.between(t.prompt.0, t.prompt.1).min(MAX_TOKENS);
    c.completion_tokens = rng.between(t.completion.0, t.completion.1);
    if t.cache_read > 0 {
        c.cache_read_tokens = c.prompt_tokens * rng.between(0, t.cache_read) / 1000;
    }
    if t.cache_write > 0 {
        c.cache_write_tokens = c.prompt_tokens * rng.between(0, t.cache_write) / 1000;
    }
    let units = rng.between(t.units.0, t.units.1);
    match t.service {
        ServiceType::Translation => c.characters = units,
        ServiceType::Speech => c.audio_seconds = units,
        ServiceType::Image => c.images = units,
        _ => {}
    }
    r
}

/// The benchmark-scale organisation.
mod large {
    use super::{CatalogFile, Rng, TEMPLATES, call_from};
    use crate::app::catalog_file::{
        ConfigurationEntry, Decimal, ModelEntry, ProviderEntry, TaskEntry,
    };
    use crate::domain::UsageRecord;

    pub const USERS: usize = 2_000;
    pub const MODELS: usize = 40;
    pub const CONFIGURATIONS: usize = 200;
    pub const TASKS: usize = 500;
    pub const SOURCES: usize = 20;
    /// Aggregate rows to aim for in 365 days; calls spread over so many keys
    /// that nearly every call is a row of its own.
    pub const ROWS: u64 = 10_200_000;
    /// Providers with models; the last one (a translation vendor) has none.
    const PROVIDERS: [(&str, &str); 6] = [
        ("demo-openai", "openai"),
        ("demo-anthropic", "anthropic"),
        ("demo-google", "google"),
        ("demo-mistral", "mistral"),
        ("demo-ollama", "ollama"),
        ("demo-deepl", "deepl"),
    ];
    const WITH_MODELS: usize = PROVIDERS.len() - 1;

    pub fn user(i: usize) -> String {
        format!("user-{i:04}")
    }

    pub fn source(i: usize) -> String {
        format!("app-{i:02}")
    }

    pub fn catalog() -> CatalogFile {
        let text = |s: String| Decimal::Text(s);
        CatalogFile {
            providers: PROVIDERS
                .iter()
                .map(|(id, adapter)| ProviderEntry {
                    identifier: id.to_string(),
                    name: format!("Demo {adapter}"),
                    adapter_type: adapter.to_string(),
                    active: true,
                    discovered: false,
                    from_usage: false,
                })
                .collect(),
            models: (0..MODELS)
                .map(|i| {
                    let (provider, adapter) = PROVIDERS[i % WITH_MODELS];
                    let free = adapter == "ollama";
                    ModelEntry {
                        identifier: format!("model-{i:02}"),
                        name: format!("Model {i:02}"),
                        provider: provider.to_string(),
                        model_id: format!("{adapter}-model-{i:02}"),
                        input_price: Some(text(if free {
                            "0".into()
                        } else {
                            format!("{}", 5 + i * 7)
                        })),
                        output_price: Some(text(if free {
                            "0".into()
                        } else {
                            format!("{}", 20 + i * 28)
                        })),
                        cache_read_price: None,
                        cache_write_price: None,
                        active: true,
                        discovered: false,
                        from_usage: false,
                    }
                })
                .collect(),
            configurations: (0..CONFIGURATIONS)
                .map(|i| ConfigurationEntry {
                    identifier: format!("config-{i:03}"),
                    name: format!("Configuration {i:03}"),
                    model: Some(format!("model-{:02}", i % MODELS)),
                    max_requests_per_day: 0,
                    max_tokens_per_day: 0,
                    max_cost_per_day: None,
                    discovered: false,
                    from_usage: false,
                })
                .collect(),
            tasks: (0..TASKS)
                .map(|i| TaskEntry {
                    identifier: format!("task-{i:03}"),
                    name: format!("Task {i:03}"),
                    configuration: Some(format!("config-{:03}", i % CONFIGURATIONS)),
                    discovered: false,
                    from_usage: false,
                })
                .collect(),
        }
    }

    pub fn call(rng: &mut Rng, catalog: &CatalogFile) -> UsageRecord {
        let t = &TEMPLATES[(rng.next_u64() % TEMPLATES.len() as u64) as usize];
        let mut r = call_from(t, rng);
        if r.model.is_some() {
            let m = &catalog.models[(rng.next_u64() % MODELS as u64) as usize];
            r.provider = Some(m.provider.clone());
            r.model = Some(m.identifier.clone());
        }
        r.configuration = Some(format!(
            "config-{:03}",
            rng.next_u64() % CONFIGURATIONS as u64
        ));
        r.task = Some(format!("task-{:03}", rng.next_u64() % TASKS as u64));
        let who = (rng.next_u64() % (USERS as u64 + 1)) as usize;
        r.user = (who < USERS).then(|| user(who));
        let src = (rng.next_u64() % (SOURCES as u64 + 1)) as usize;
        r.source = (src < SOURCES).then(|| source(src));
        r
    }
}
