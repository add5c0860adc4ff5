//! Importing the old system's folder or a spreadsheet: the records read by
//! `original` and `spreadsheet` become customers with a ledger whose
//! balance is exactly the one they had. Every payment the old files name
//! is kept as history; an opening-balance due (or, for a credit, an opening
//! credit) makes the sum come out, since neither old version kept every
//! sale. Everything is worked out here, then written by the store in one
//! transaction.

use super::original::{self, CustomerRef, DeletedBy, OriginalData, OriginalPayment, Version};
use super::run::{ImportError, ImportOptions, Imported, Source};
use super::spreadsheet::{self, SpreadsheetCustomer};
use super::{ImportRefused, LegacyPassword, Problems};
use crate::config::LiveConfig;
use crate::domain::access::hash_password;
use crate::domain::fields::PaymentMethod;
use crate::domain::ledger::{DueStatus, MAX_CUSTOMER_TOTAL};
use crate::domain::money::Money;
use crate::store::import::{
    IMPORT_ACTOR, ImportBatch, ImportCustomer, ImportDue, ImportLog, ImportPayment, ImportSignIn,
    ImportWritten,
};
use crate::store::{Store, timestamp_text};
use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;

pub async fn import(
    store: &Store,
    live: &LiveConfig,
    source: Source,
    path: &Path,
    options: &ImportOptions,
) -> Result<Imported, ImportError> {
    let config = live.get();
    let clock = Clock {
        tz: config.timezone,
        today: config.today(),
        now: timestamp_text(chrono::Utc::now()),
    };
    let mut imported = Imported::new(source, options.dry_run);
    let batch = match source {
        Source::Original => {
            let data = original::read_folder(path, config.currency)?;
            from_original(data, &clock, &mut imported.notes)?
        }
        _ => {
            let rows = spreadsheet::parse_customers(path, config.currency)?;
            from_spreadsheet(path, rows, &clock)
        }
    };
    if options.dry_run {
        let deleted = batch
            .customers
            .iter()
            .filter(|c| c.deleted.is_some())
            .count() as u64;
        imported.added = vec![
            ("customers", batch.customers.len() as u64 - deleted),
            ("deleted customers", deleted),
            (
                "dues",
                batch.customers.iter().map(|c| c.dues.len() as u64).sum(),
            ),
            (
                "payments",
                batch
                    .customers
                    .iter()
                    .map(|c| c.payments.len() as u64)
                    .sum(),
            ),
            ("log lines", batch.logs.len() as u64),
            ("sign-ins", batch.sign_ins.len() as u64),
        ];
        return Ok(imported);
    }
    let bar = bar(batch.customers.len() as u64, "writing customers");
    let written = store
        .import_batch(batch, &|done| bar.set_position(done))
        .await
        .map_err(|e| ImportError::Failed(anyhow::anyhow!("nothing was imported: {e}")))?;
    bar.finish_and_clear();
    summarise(&written, &mut imported);
    if options.invite {
        let mut invited = 0;
        for (id, has_email, has_password) in &written.added_ids {
            if *has_email
                && !*has_password
                && store
                    .invite_customer(IMPORT_ACTOR, *id)
                    .await
                    .map_err(|e| {
                        ImportError::Failed(anyhow::anyhow!("inviting customer {id}: {e}"))
                    })?
            {
                invited += 1;
            }
        }
        imported.added.push(("invitations queued", invited));
    }
    Ok(imported)
}

fn summarise(w: &ImportWritten, imported: &mut Imported) {
    imported.added = vec![
        ("customers", w.customers - w.deleted_customers),
        ("deleted customers", w.deleted_customers),
        ("dues", w.dues),
        ("payments", w.payments),
        ("log lines", w.logs),
        ("sign-ins", w.sign_ins),
    ];
    imported.already_here = vec![
        ("customers", w.customers_already),
        ("log lines", w.logs_already),
    ];
    for (origin, old, given) in &w.renamed {
        imported.notes.push(format!(
            "{origin}: the login name '{old}' is already used here; the customer signs in as '{given}'"
        ));
    }
    for (origin, email) in &w.email_dropped {
        imported.notes.push(format!(
            "{origin}: {email} already belongs to another active customer; this one was imported without an email address"
        ));
    }
}

/// A progress bar on stderr; indicatif draws nothing when stderr is not a
/// terminal, so scripts and logs see only the summary.
fn bar(len: u64, message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message);
    bar
}

/// Times in the old files are the shop's local time.
struct Clock {
    tz: Tz,
    today: NaiveDate,
    now: String,
}

impl Clock {
    fn utc(&self, local: NaiveDateTime) -> String {
        let at = self
            .tz
            .from_local_datetime(&local)
            .earliest()
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_else(|| local.and_utc());
        timestamp_text(at)
    }
}

/// A key that finds the same record on the next run, without holding the
/// record's data.
fn key(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for p in parts {
        hasher.update(p.as_bytes());
        hasher.update([0x1f]);
    }
    hex::encode(hasher.finalize())
}

/// The ledger that gives `balance` after `payments` (oldest first): one
/// opening due of the balance plus everything paid since, or, where the
/// payments do not reach a credit balance, an opening credit first.
pub(crate) struct History {
    pub dues: Vec<ImportDue>,
    pub payments: Vec<ImportPayment>,
    pub total_dues: Money,
    pub total_paid: Money,
    pub next_due_date: Option<NaiveDate>,
}

pub(crate) struct Paid {
    pub amount: Money,
    pub on: NaiveDate,
    pub at: String,
    pub method: PaymentMethod,
    pub reference: Option<String>,
}

pub(crate) fn history(
    balance: Money,
    mut paid: Vec<Paid>,
    opened_on: NaiveDate,
    opened_at: &str,
    due_date: Option<NaiveDate>,
) -> Option<History> {
    // Every sum is checked: a ledger duetrack could not add up is refused.
    let paid_total = paid
        .iter()
        .try_fold(Money::ZERO, |sum, p| sum.checked_add(p.amount))?;
    let mut opening = balance.checked_add(paid_total)?;
    let issue_date = paid
        .iter()
        .map(|p| p.on)
        .chain(due_date)
        .fold(opened_on, NaiveDate::min);
    if opening.is_negative() {
        // More credit than the payments explain: it was paid before.
        paid.insert(
            0,
            Paid {
                amount: Money::ZERO.checked_sub(opening)?,
                on: issue_date,
                at: opened_at.to_string(),
                method: PaymentMethod::Other,
                reference: Some("opening credit (imported)".into()),
            },
        );
        opening = Money::ZERO;
    }
    let mut dues = Vec::new();
    if opening.is_positive() {
        dues.push(ImportDue {
            amount: opening,
            paid: Money::ZERO,
            status: DueStatus::Open,
            issue_date,
            due_date,
            description: "Opening balance (imported)".into(),
            balance_after: opening,
            created_at: opened_at.to_string(),
        });
    }
    let mut running = opening;
    let mut total_paid = Money::ZERO;
    let mut payments = Vec::with_capacity(paid.len());
    for p in paid {
        let mut allocations = Vec::new();
        let mut left = p.amount;
        if let Some(due) = dues.first_mut() {
            let open = due.amount - due.paid;
            let take = if left < open { left } else { open };
            if take.is_positive() {
                due.paid += take;
                allocations.push((0, take));
                left -= take;
            }
        }
        running = running.checked_sub(p.amount)?;
        total_paid = total_paid.checked_add(p.amount)?;
        payments.push(ImportPayment {
            amount: p.amount,
            allocations,
            unallocated: left,
            is_advance: left.is_positive(),
            method: p.method,
            reference: p.reference,
            paid_on: p.on,
            balance_after: running,
            created_at: p.at,
        });
    }
    if opening > MAX_CUSTOMER_TOTAL || total_paid > MAX_CUSTOMER_TOTAL {
        return None;
    }
    for due in &mut dues {
        due.status = DueStatus::of(due.amount, due.paid);
    }
    let next_due_date = dues
        .iter()
        .filter(|d| d.status != DueStatus::Paid)
        .filter_map(|d| d.due_date)
        .min();
    Some(History {
        total_dues: opening,
        total_paid,
        dues,
        payments,
        next_due_date,
    })
}

/// The history, or a problem placed on the customer's line.
fn history_or_problem(
    problems: &mut Problems,
    (file, line): (&str, usize),
    balance: Money,
    paid: Vec<Paid>,
    opened: (NaiveDate, &str),
    due_date: Option<NaiveDate>,
) -> History {
    history(balance, paid, opened.0, opened.1, due_date).unwrap_or_else(|| {
        problems.add(
            file,
            line,
            None,
            format!(
                "this customer's balance and payments add up to more than {} minor units, the most duetrack records for one customer",
                MAX_CUSTOMER_TOTAL.minor()
            ),
        );
        History {
            dues: Vec::new(),
            payments: Vec::new(),
            total_dues: Money::ZERO,
            total_paid: Money::ZERO,
            next_due_date: None,
        }
    })
}

fn from_original(
    data: OriginalData,
    clock: &Clock,
    notes: &mut Vec<String>,
) -> Result<ImportBatch, ImportRefused> {
    let mut problems = Problems::default();
    let version = match data.version {
        Some(Version::V1Csv) => "v1",
        _ => "v2",
    };
    // Payments by the customer they name. A test-mode Razorpay payment
    // moved no money and one that did not succeed paid nothing.
    let mut by_ref: HashMap<CustomerRef, Vec<&OriginalPayment>> = HashMap::new();
    let mut passed_over = 0;
    for p in &data.payments {
        let test = p
            .mode
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("test"));
        let failed = p
            .status
            .as_deref()
            .is_some_and(|s| !s.is_empty() && !s.eq_ignore_ascii_case("success"));
        if test || failed {
            passed_over += 1;
            continue;
        }
        by_ref.entry(normal(&p.customer)).or_default().push(p);
    }
    if passed_over > 0 {
        notes.push(format!(
            "{passed_over} payment(s) in test mode or not successful were not imported as payments (they moved no money); balances are as the old system had them"
        ));
    }
    let passwords = hash_plain_passwords(&data);
    let mut customers = Vec::new();
    let mut taken_refs = std::collections::HashSet::new();
    for (i, c) in data.customers.iter().enumerate() {
        let refs: Vec<CustomerRef> =
            c.id.map(CustomerRef::Id)
                .into_iter()
                .chain(
                    c.username
                        .as_ref()
                        .map(|u| CustomerRef::Username(u.to_lowercase())),
                )
                .collect();
        let paid = payments_of(&refs, &mut by_ref, clock, &mut taken_refs);
        let opened_at = c
            .added_at
            .map_or_else(|| clock.now.clone(), |t| clock.utc(t));
        let opened_on = c.added_at.map_or(clock.today, |t| t.date());
        let h = history_or_problem(
            &mut problems,
            ("customers.csv", c.line),
            c.due,
            paid,
            (opened_on, &opened_at),
            c.due_date,
        );
        let identity = c
            .username
            .as_ref()
            .map(|u| u.to_lowercase())
            .unwrap_or_else(|| format!("id {:?} {}", c.id, c.name.as_str()));
        customers.push(ImportCustomer {
            key: key(&["original", "customer", &identity]),
            wanted_id: c.id,
            username: c.username.clone(),
            name: c.name.clone(),
            phone: c.phone.clone(),
            email: c.email.clone(),
            address: c.address.clone(),
            category: c.category.clone(),
            password_hash: passwords[i].clone(),
            created_at: opened_at,
            deleted: None,
            balance: c.due,
            total_dues: h.total_dues,
            total_paid: h.total_paid,
            next_due_date: h.next_due_date,
            dues: h.dues,
            payments: h.payments,
            origin: format!("customers.csv line {}", c.line),
        });
    }
    for d in &data.deleted {
        let refs: Vec<CustomerRef> =
            d.id.map(CustomerRef::Id)
                .into_iter()
                .chain(
                    d.username
                        .as_ref()
                        .map(|u| CustomerRef::Username(u.to_lowercase())),
                )
                .collect();
        // A payment naming a reused id belongs to the customer who has it now.
        let paid = payments_of(&refs, &mut by_ref, clock, &mut taken_refs);
        let deleted_at = d
            .deleted_at
            .map_or_else(|| clock.now.clone(), |t| clock.utc(t));
        let on = d.deleted_at.map_or(clock.today, |t| t.date());
        let balance = d.due.unwrap_or(Money::ZERO);
        let h = history_or_problem(
            &mut problems,
            (&d.file, d.line),
            balance,
            paid,
            (on, &deleted_at),
            None,
        );
        let why = match d.deleted_by {
            DeletedBy::Admin => "deleted in the old system",
            DeletedBy::Customer => "account closed by the customer in the old system",
        };
        let reason = d
            .reason
            .clone()
            .map_or_else(|| why.to_string(), |r| format!("{why}: {r}"));
        customers.push(ImportCustomer {
            key: key(&[
                "original",
                "deleted",
                &d.file,
                &format!("{:?}", d.id),
                d.username.as_deref().unwrap_or(""),
                d.name.as_str(),
                &deleted_at,
            ]),
            wanted_id: None,
            username: d.username.clone(),
            name: d.name.clone(),
            phone: d.phone.clone(),
            email: d.email.clone(),
            address: d.address.clone(),
            category: None,
            password_hash: None,
            created_at: deleted_at.clone(),
            deleted: Some((deleted_at, reason)),
            balance,
            total_dues: h.total_dues,
            total_paid: h.total_paid,
            next_due_date: None,
            dues: h.dues,
            payments: h.payments,
            origin: format!("{} line {}", d.file, d.line),
        });
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    let logs = data
        .logs
        .iter()
        .map(|l| {
            let at = clock.utc(l.at);
            let content = format!("{}|{}|{}|{}", l.file, at, l.action, l.detail);
            let n = seen.entry(content.clone()).or_default();
            *n += 1;
            ImportLog {
                key: key(&["original", "log", &content, &n.to_string()]),
                original_at: at,
                action: l.action.clone(),
                detail: l.detail.clone(),
                origin: format!("{} line {}", l.file, l.line),
            }
        })
        .collect();
    let username_of_id: HashMap<i64, &str> = data
        .customers
        .iter()
        .filter_map(|c| Some((c.id?, c.username.as_deref()?)))
        .collect();
    let sign_ins = data
        .sign_ins
        .iter()
        .filter_map(|s| {
            let username = s
                .username
                .clone()
                .or_else(|| {
                    s.customer_id
                        .and_then(|id| username_of_id.get(&id).map(|u| u.to_string()))
                })
                .or_else(|| s.name.clone())?;
            Some(ImportSignIn {
                at: clock.utc(s.at),
                username,
            })
        })
        .collect();
    problems.finish(ImportBatch {
        source: format!("original {version} folder"),
        customers,
        logs,
        sign_ins,
    })
}

fn normal(r: &CustomerRef) -> CustomerRef {
    match r {
        CustomerRef::Username(u) => CustomerRef::Username(u.to_lowercase()),
        id => id.clone(),
    }
}

/// The payments naming any of `refs` not yet given to another customer,
/// oldest first.
fn payments_of(
    refs: &[CustomerRef],
    by_ref: &mut HashMap<CustomerRef, Vec<&OriginalPayment>>,
    clock: &Clock,
    taken: &mut std::collections::HashSet<CustomerRef>,
) -> Vec<Paid> {
    let mut found: Vec<&OriginalPayment> = Vec::new();
    for r in refs {
        if taken.insert(r.clone())
            && let Some(list) = by_ref.remove(r)
        {
            found.extend(list);
        }
    }
    found.sort_by_key(|p| (p.paid_at, p.line));
    found
        .into_iter()
        .map(|p| Paid {
            amount: p.amount,
            on: p.paid_at.date(),
            at: clock.utc(p.paid_at),
            method: p.method.unwrap_or(match p.source {
                original::PaymentSource::Razorpay | original::PaymentSource::Portal => {
                    PaymentMethod::Upi
                }
                original::PaymentSource::AdminPartial => PaymentMethod::Cash,
            }),
            reference: p.reference.clone(),
        })
        .collect()
}

/// The hash to store for each customer, in order: werkzeug hashes as they
/// are (upgraded on first sign-in), plain-text passwords of the older
/// version hashed with Argon2id on every core, since each takes a while.
fn hash_plain_passwords(data: &OriginalData) -> Vec<Option<String>> {
    let accounts: HashMap<String, &LegacyPassword> = data
        .accounts
        .iter()
        .filter_map(|a| Some((a.username.to_lowercase(), a.password.as_ref()?)))
        .collect();
    let wanted: Vec<Option<&LegacyPassword>> = data
        .customers
        .iter()
        .map(|c| {
            c.password.as_ref().or_else(|| {
                c.username
                    .as_ref()
                    .and_then(|u| accounts.get(&u.to_lowercase()).copied())
            })
        })
        .collect();
    let plain = wanted
        .iter()
        .filter(|p| p.is_some_and(|p| p.is_plain_text()))
        .count();
    let bar = bar(plain as u64, "hashing plain-text passwords");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = wanted.len().div_ceil(threads).max(1);
    let out: Vec<Option<String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = wanted
            .chunks(chunk)
            .map(|part| {
                let bar = bar.clone();
                scope.spawn(move || {
                    part.iter()
                        .map(|p| match p {
                            Some(LegacyPassword::WerkzeugHash(h)) => Some(h.clone()),
                            Some(LegacyPassword::PlainText(text)) => {
                                bar.inc(1);
                                Some(hash_password(text))
                            }
                            None => None,
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    bar.finish_and_clear();
    out
}

fn from_spreadsheet(path: &Path, rows: Vec<SpreadsheetCustomer>, clock: &Clock) -> ImportBatch {
    let file = path.file_name().map_or_else(
        || path.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    );
    let mut seen: HashMap<String, usize> = HashMap::new();
    let customers = rows
        .into_iter()
        .map(|r| {
            let identity = format!(
                "{}|{}|{}",
                r.name.as_str().to_lowercase(),
                r.phone.as_ref().map_or("", |p| p.as_str()),
                r.email.as_ref().map_or("", |e| e.as_str())
            );
            let n = seen.entry(identity.clone()).or_default();
            *n += 1;
            // One amount read from the sheet always fits.
            let h = history(r.balance, Vec::new(), clock.today, &clock.now, r.due_date)
                .unwrap_or_else(|| unreachable!("a single parsed amount fits"));
            ImportCustomer {
                key: key(&["spreadsheet", &identity, &n.to_string()]),
                wanted_id: None,
                username: None,
                name: r.name,
                phone: r.phone,
                email: r.email,
                address: r.address,
                category: r.category,
                password_hash: None,
                created_at: clock.now.clone(),
                deleted: None,
                balance: r.balance,
                total_dues: h.total_dues,
                total_paid: h.total_paid,
                next_due_date: h.next_due_date,
                dues: h.dues,
                payments: h.payments,
                origin: format!("{file} line {}", r.line),
            }
        })
        .collect();
    ImportBatch {
        source: format!("spreadsheet {file}"),
        customers,
        logs: Vec::new(),
        sign_ins: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, d).unwrap()
    }

    fn paid(minor: i64, d: u32) -> Paid {
        Paid {
            amount: Money(minor),
            on: day(d),
            at: format!("2026-01-{d:02}T10:00:00Z"),
            method: PaymentMethod::Upi,
            reference: None,
        }
    }

    fn check(h: &History, balance: i64) {
        assert_eq!(h.total_dues - h.total_paid, Money(balance));
        let dues: i64 = h.dues.iter().map(|d| d.amount.minor()).sum();
        let paid: i64 = h.payments.iter().map(|p| p.amount.minor()).sum();
        assert_eq!(dues - paid, balance);
        for p in &h.payments {
            let allocated: i64 = p.allocations.iter().map(|(_, m)| m.minor()).sum();
            assert_eq!(allocated + p.unallocated.minor(), p.amount.minor());
        }
        for d in &h.dues {
            assert_eq!(d.status, DueStatus::of(d.amount, d.paid));
        }
        if let Some(last) = h.payments.last() {
            assert_eq!(last.balance_after, Money(balance));
        }
    }

    #[test]
    fn an_opening_due_makes_the_payments_come_out_at_the_balance() {
        let h = history(
            Money(50_000),
            vec![paid(20_000, 3), paid(10_000, 5)],
            day(10),
            "t",
            None,
        )
        .unwrap();
        check(&h, 50_000);
        assert_eq!(h.dues.len(), 1);
        assert_eq!(h.dues[0].amount, Money(80_000));
        assert_eq!(h.dues[0].paid, Money(30_000));
        assert_eq!(h.dues[0].status, DueStatus::Partial);
        assert_eq!(
            h.dues[0].issue_date,
            day(3),
            "the due opens before the first payment"
        );
        assert_eq!(h.payments[0].balance_after, Money(60_000));
    }

    #[test]
    fn a_credit_balance_is_kept_as_an_unallocated_payment() {
        let h = history(Money(-5_000), vec![paid(20_000, 3)], day(1), "t", None).unwrap();
        check(&h, -5_000);
        assert_eq!(h.dues[0].amount, Money(15_000));
        assert_eq!(h.payments[0].unallocated, Money(5_000));

        let h = history(Money(-5_000), Vec::new(), day(1), "t", None).unwrap();
        check(&h, -5_000);
        assert!(h.dues.is_empty());
        assert_eq!(h.payments.len(), 1, "an opening credit");
    }

    #[test]
    fn nothing_owed_and_nothing_paid_is_an_empty_ledger() {
        let h = history(Money::ZERO, Vec::new(), day(1), "t", Some(day(2))).unwrap();
        check(&h, 0);
        assert!(h.dues.is_empty() && h.payments.is_empty());
        assert_eq!(h.next_due_date, None);
    }

    #[test]
    fn a_due_date_shows_as_the_next_due_while_something_is_owed() {
        let h = history(Money(100), Vec::new(), day(9), "t", Some(day(4))).unwrap();
        assert_eq!(h.next_due_date, Some(day(4)));
        assert_eq!(h.dues[0].issue_date, day(4));
    }

    #[test]
    fn sums_past_the_64_bit_range_are_refused_not_wrapped() {
        let huge = vec![
            paid(i64::MAX / 2, 1),
            paid(i64::MAX / 2, 2),
            paid(i64::MAX / 2, 3),
        ];
        assert!(history(Money(1), huge, day(4), "t", None).is_none());
    }

    #[test]
    fn keys_do_not_collide_across_field_boundaries() {
        assert_ne!(key(&["ab", "c"]), key(&["a", "bc"]));
    }
}
