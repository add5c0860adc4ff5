//! A payment's JSON body and its fields as the API and the forms read
//! them: never a panic, only a value or a refusal.
#![no_main]

use chrono::NaiveDate;
use duetrack::app::input::PaymentInput;
use duetrack::domain::fields::PaymentMethod;
use duetrack::domain::money::Currency;
use duetrack::http::extract::parse_json;
use duetrack::http::ledger::CreatePayment;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_json::<CreatePayment>(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.split('\u{1f}').map(str::to_string);
    let input = PaymentInput {
        amount: parts.next().unwrap_or_default(),
        method: parts.next(),
        reference: parts.next(),
        date: parts.next(),
        advance: text.len() % 2 == 0,
        key: parts.next(),
        check_repeat: false,
    };
    let currency = Currency::parse("INR").expect("a known currency");
    let today = NaiveDate::from_ymd_opt(2030, 1, 13).expect("a date");
    if let Ok(p) = input.parse(currency, today, PaymentMethod::Cash) {
        assert!(p.amount.is_positive());
        assert!(p.paid_on <= today);
    }
});
