//! Any bytes as the body of `POST /api/v1/usage`: parsing and validation
//! must return records or a refusal, never panic, and accepted records must
//! satisfy every rule.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llm_ledger::domain::record::{MAX_RECORDS, parse_body};

fuzz_target!(|data: &[u8]| {
    let now = chrono::Utc::now();
    if let Ok(records) = parse_body(data, now) {
        assert!(!records.is_empty() && records.len() <= MAX_RECORDS);
        for record in &records {
            assert!(record.validate(now).is_empty(), "an accepted record breaks a rule");
        }
    }
});
