//! Amounts as people and the old system write them: never a panic, and
//! whatever is accepted lies within the limit of one entry.
#![no_main]

use duetrack::domain::money::Currency;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for code in ["INR", "JPY", "KWD"] {
        let currency = Currency::parse(code).expect("a known currency");
        let max = currency.max_amount().minor();
        for parsed in [
            currency.parse_amount(text),
            currency.parse_grouped(text),
            currency.parse_float_repr(text),
        ] {
            if let Ok(m) = parsed {
                assert!(m.minor().abs() <= max, "{text:?} gave {m:?} past the limit");
            }
        }
        // What the app writes, it reads back.
        if let Ok(m) = currency.parse_amount(text) {
            let shown = currency.format(m);
            assert_eq!(currency.parse_grouped(&shown).ok(), Some(m), "{shown:?}");
        }
    }
});
