//! Fills a database with N customers and about M ledger entries (dues and
//! payments, each payment allocated to its customer's oldest open dues),
//! straight through SQL in large transactions, with balances, next due
//! dates and the maintained figures consistent, so that `duetrack serve`
//! and `duetrack verify` accept it. No activity entries are written.
//!
//! ```sh
//! cargo build --release --example gen_data
//! DATABASE_URL=sqlite:///tmp/big.db ./target/release/examples/gen_data --customers 1000000 --entries 10000000
//! ```
//!
//! The schema comes from the library's own migrations (as `serve` runs
//! them). The figure triggers are dropped for the load and the figures
//! rebuilt at the end with `store::figures`, as a bulk import does.

use chrono::{Days, NaiveDate};
use duetrack::config::{Config, RawSettings};
use duetrack::domain::fields::{CustomerName, search_terms};
use duetrack::store::db::{Arg, Backend};
use duetrack::store::figures;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Instant;

const FIRST: &[&str] = &[
    "Aarav", "Vivaan", "Aditya", "Vihaan", "Arjun", "Sai", "Reyansh", "Ayaan", "Krishna", "Ishaan",
    "Ananya", "Diya", "Aadhya", "Saanvi", "Pari", "Anika", "Navya", "Myra", "Sara", "Ira",
    "Ramesh", "Suresh", "Mahesh", "Priya", "Lakshmi", "Kavya", "Rohan", "Karan", "Neha", "Pooja",
    "Amit", "Sunita", "Ravi", "Meena", "Vijay", "Geeta", "Anil", "Rekha", "Manoj", "Seema",
];
const LAST: &[&str] = &[
    "Sharma", "Verma", "Gupta", "Kumar", "Singh", "Patel", "Reddy", "Nair", "Iyer", "Rao", "Das",
    "Bose", "Mehta", "Shah", "Joshi", "Kulkarni", "Desai", "Pillai", "Menon", "Chopra", "Malhotra",
    "Kapoor", "Agarwal", "Jain", "Bansal", "Mishra", "Pandey", "Tiwari", "Yadav", "Chauhan",
];
const CATEGORIES: &[&str] = &["retail", "wholesale", "regular", "staff", "family"];

/// Customers written per transaction.
const CHUNK: usize = 20_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut customers: usize = 1000;
    let mut entries: usize = 10_000;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| anyhow::anyhow!("{a} needs a value"))?;
        match a.as_str() {
            "--customers" => customers = value.parse()?,
            "--entries" => entries = value.parse()?,
            other => anyhow::bail!("unknown argument {other}; use --customers N --entries M"),
        }
    }
    let database_url = std::env::var("DATABASE_URL")
        .map_err(|_| anyhow::anyhow!("set DATABASE_URL to the database to fill"))?;
    let config = Config::from_raw(&RawSettings {
        database_url: Some(database_url),
        ..Default::default()
    })?;
    let started = Instant::now();
    let (store, _) = duetrack::startup::open_store(&config).await?;
    let db = &store.db;
    let backend = db.backend();

    let mut tx = db.write().await?;
    let first_id = tx
        .scalar("SELECT COALESCE(MAX(id), 0) FROM customers", &[])
        .await?
        + 1;
    let mut due_id = tx
        .scalar("SELECT COALESCE(MAX(id), 0) FROM dues", &[])
        .await?
        + 1;
    let mut payment_id = tx
        .scalar("SELECT COALESCE(MAX(id), 0) FROM payments", &[])
        .await?
        + 1;
    figures::drop_triggers(&mut tx).await?;
    tx.commit().await?;

    let today = chrono::Utc::now().date_naive();
    let mut rng = StdRng::seed_from_u64(11);
    let per_customer = entries as f64 / customers.max(1) as f64;
    let mut written_entries = 0usize;
    let mut start = 0usize;
    while start < customers {
        let end = (start + CHUNK).min(customers);
        let mut batch = Batch::default();
        for n in start..end {
            let id = first_id + n as i64;
            // Spread the entries: whole part for everyone, the fraction by chance.
            let mut k = per_customer.floor() as usize;
            if rng.gen_bool(per_customer.fract().clamp(0.0, 1.0)) {
                k += 1;
            }
            written_entries += k;
            customer(
                &mut rng,
                &mut batch,
                id,
                k,
                today,
                &mut due_id,
                &mut payment_id,
            )?;
        }
        let mut tx = db.write().await?;
        batch.write(&mut tx).await?;
        tx.commit().await?;
        start = end;
        eprintln!(
            "{end} customers, {written_entries} entries, {:.0?}",
            started.elapsed()
        );
    }

    let mut tx = db.write().await?;
    if backend == Backend::Postgres {
        for table in ["customers", "dues", "payments"] {
            tx.execute(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
                ),
                &[],
            )
            .await?;
        }
    }
    figures::rebuild_aggregates(&mut tx).await?;
    figures::create_triggers(&mut tx).await?;
    tx.commit().await?;
    eprintln!("figures rebuilt, {:.0?}", started.elapsed());
    if backend == Backend::Sqlite {
        let mut tx = db.write().await?;
        tx.execute("ANALYZE", &[]).await.ok();
        tx.commit().await?;
    } else {
        let mut tx = db.write().await?;
        tx.execute("ANALYZE", &[]).await?;
        tx.commit().await?;
    }
    println!(
        "{customers} customers, {written_entries} ledger entries in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[derive(Default)]
struct Batch {
    customers: Vec<Vec<Arg>>,
    terms: Vec<Vec<Arg>>,
    dues: Vec<Vec<Arg>>,
    payments: Vec<Vec<Arg>>,
    allocations: Vec<Vec<Arg>>,
}

impl Batch {
    async fn write(self, tx: &mut duetrack::store::db::Tx) -> anyhow::Result<()> {
        tx.insert_many(
            "customers",
            &[
                "id",
                "username",
                "name",
                "name_key",
                "phone",
                "category",
                "status",
                "balance",
                "total_dues",
                "total_paid",
                "next_due_date",
                "created_at",
                "updated_at",
                "deleted_at",
            ],
            &self.customers,
            "",
        )
        .await?;
        tx.insert_many(
            "customer_search_terms",
            &["term", "customer_id"],
            &self.terms,
            "",
        )
        .await?;
        tx.insert_many(
            "dues",
            &[
                "id",
                "customer_id",
                "amount",
                "paid",
                "description",
                "issue_date",
                "due_date",
                "status",
                "balance_after",
                "created_by",
                "created_at",
            ],
            &self.dues,
            "",
        )
        .await?;
        tx.insert_many(
            "payments",
            &[
                "id",
                "customer_id",
                "amount",
                "unallocated",
                "method",
                "reference",
                "paid_on",
                "is_advance",
                "status",
                "balance_after",
                "recorded_by",
                "created_at",
            ],
            &self.payments,
            "",
        )
        .await?;
        tx.insert_many(
            "allocations",
            &["payment_id", "due_id", "amount"],
            &self.allocations,
            "",
        )
        .await?;
        Ok(())
    }
}

fn stamp(day: NaiveDate, seq: i64) -> String {
    format!(
        "{}T{:02}:{:02}:{:02}.{:06}Z",
        day,
        9 + (seq / 3600) % 10,
        (seq / 60) % 60,
        seq % 60,
        seq % 1_000_000
    )
}

struct OpenDue {
    id: i64,
    amount: i64,
    paid: i64,
    due_date: NaiveDate,
    row: usize,
}

/// One customer and `k` ledger entries in date order: about three dues
/// for every two payments; a payment never exceeds what is open, so
/// balances stay at or above zero and every payment is fully allocated.
fn customer(
    rng: &mut StdRng,
    batch: &mut Batch,
    id: i64,
    k: usize,
    today: NaiveDate,
    due_id: &mut i64,
    payment_id: &mut i64,
) -> anyhow::Result<()> {
    let name = format!(
        "{} {}",
        FIRST[rng.gen_range(0..FIRST.len())],
        LAST[rng.gen_range(0..LAST.len())]
    );
    let parsed = CustomerName::parse(&name).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let username = format!("c{id}");
    let phone = format!("9{:09}", id % 1_000_000_000);
    for term in search_terms(&parsed, None, None) {
        batch.terms.push(vec![term.into(), id.into()]);
    }
    batch.terms.push(vec![phone.clone().into(), id.into()]);

    // Entry dates spread over the last two years, oldest first.
    let mut days: Vec<u64> = (0..k).map(|_| rng.gen_range(0..730)).collect();
    days.sort_unstable_by(|a, b| b.cmp(a));
    let mut open: Vec<OpenDue> = Vec::new();
    let (mut total_dues, mut total_paid) = (0i64, 0i64);
    let first_due_row = batch.dues.len();
    let mut seq = 0i64;
    for back in days {
        let day = today - Days::new(back);
        seq += 1;
        let owed = total_dues - total_paid;
        if owed == 0 || rng.gen_range(0..5) < 3 {
            let amount = rng.gen_range(1..=500) * 100 + rng.gen_range(0..100);
            let due_date = day + Days::new(30);
            total_dues += amount;
            open.push(OpenDue {
                id: *due_id,
                amount,
                paid: 0,
                due_date,
                row: batch.dues.len(),
            });
            batch.dues.push(vec![
                (*due_id).into(),
                id.into(),
                amount.into(),
                0i64.into(),
                Some(format!("Invoice {}", *due_id)).into(),
                day.into(),
                Some(due_date).into(),
                "open".into(),
                (total_dues - total_paid).into(),
                "gen".into(),
                stamp(day, seq).into(),
            ]);
            *due_id += 1;
        } else {
            let amount = rng.gen_range(1..=owed);
            total_paid += amount;
            let mut left = amount;
            for due in open.iter_mut().filter(|d| d.paid < d.amount) {
                if left == 0 {
                    break;
                }
                let take = left.min(due.amount - due.paid);
                due.paid += take;
                left -= take;
                batch
                    .allocations
                    .push(vec![(*payment_id).into(), due.id.into(), take.into()]);
            }
            batch.payments.push(vec![
                (*payment_id).into(),
                id.into(),
                amount.into(),
                0i64.into(),
                ["cash", "upi", "card", "bank"][rng.gen_range(0..4)].into(),
                None::<String>.into(),
                day.into(),
                0i64.into(),
                "recorded".into(),
                (total_dues - total_paid).into(),
                "gen".into(),
                stamp(day, seq).into(),
            ]);
            *payment_id += 1;
        }
    }
    // The dues' final state.
    let mut next_due: Option<NaiveDate> = None;
    for due in &open {
        let row = &mut batch.dues[due.row];
        row[3] = due.paid.into();
        let status = if due.paid == 0 {
            "open"
        } else if due.paid < due.amount {
            "partial"
        } else {
            "paid"
        };
        row[7] = status.into();
        if due.paid < due.amount {
            next_due = Some(next_due.map_or(due.due_date, |d: NaiveDate| d.min(due.due_date)));
        }
    }
    debug_assert!(batch.dues.len() >= first_due_row);
    let deleted = rng.gen_range(0..100) == 0;
    let created = stamp(today - Days::new(731), id % 86_400);
    batch.customers.push(vec![
        id.into(),
        username.into(),
        name.clone().into(),
        parsed.sort_key().into(),
        Some(phone).into(),
        Some(CATEGORIES[rng.gen_range(0..CATEGORIES.len())].to_string()).into(),
        if deleted { "deleted" } else { "active" }.into(),
        (total_dues - total_paid).into(),
        total_dues.into(),
        total_paid.into(),
        next_due.into(),
        created.clone().into(),
        created.clone().into(),
        if deleted { Some(created) } else { None }.into(),
    ]);
    Ok(())
}
