//! Any bytes as a spreadsheet of customers: never a panic; either
//! customers or problems, and every problem placed on a line of the file.
#![no_main]

use duetrack::domain::money::Currency;
use duetrack::import::spreadsheet::parse_customers_bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let currency = Currency::parse("INR").expect("a known currency");
    // Line ends as people's files have them: LF, CRLF or a lone CR.
    let lines = data
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && data.get(i + 1) != Some(&b'\n')))
        .count()
        + 1;
    match parse_customers_bytes(data, "sheet.csv", currency) {
        Ok(customers) => {
            for c in customers {
                assert!(c.line >= 2 && c.line <= lines, "line {} of {lines}", c.line);
                assert!(!c.balance.is_negative());
            }
        }
        Err(refused) => {
            assert!(!refused.problems.is_empty());
            for p in refused.problems {
                assert!(p.line <= lines, "problem on line {} of {lines}", p.line);
            }
        }
    }
});
