//! The ledger's rules as plain functions: which changes are refused (an
//! overpayment, a due past the credit limit), how payments and held credit
//! are allocated to dues, what state a due or payment is in, what is
//! overdue, and how a statement runs.
//! Nothing here touches storage; the store feeds these functions rows and
//! writes back what they decide.

use super::money::{Currency, Money};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a due stands once payments have been allocated to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DueStatus {
    Open,
    Partial,
    Paid,
    Void,
}

impl DueStatus {
    pub const ALL: [DueStatus; 4] = [
        DueStatus::Open,
        DueStatus::Partial,
        DueStatus::Paid,
        DueStatus::Void,
    ];

    pub fn of(amount: Money, paid: Money) -> Self {
        if !paid.is_positive() {
            DueStatus::Open
        } else if paid < amount {
            DueStatus::Partial
        } else {
            DueStatus::Paid
        }
    }

    /// Open or partly paid: something of it is still to pay.
    pub fn awaits_payment(self) -> bool {
        matches!(self, DueStatus::Open | DueStatus::Partial)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DueStatus::Open => "open",
            DueStatus::Partial => "partial",
            DueStatus::Paid => "paid",
            DueStatus::Void => "void",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for DueStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a payment stands. Staff record payments directly; one a customer
/// reports waits, pending, until staff confirm (record) or reject it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentStatus {
    Pending,
    Recorded,
    Rejected,
    Void,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 4] = [
        PaymentStatus::Pending,
        PaymentStatus::Recorded,
        PaymentStatus::Rejected,
        PaymentStatus::Void,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::Recorded => "recorded",
            PaymentStatus::Rejected => "rejected",
            PaymentStatus::Void => "void",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a statement line records: an entry, or the void of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatementLineKind {
    Due,
    Payment,
    DueVoid,
    PaymentVoid,
}

impl StatementLineKind {
    pub const ALL: [StatementLineKind; 4] = [
        StatementLineKind::Due,
        StatementLineKind::Payment,
        StatementLineKind::DueVoid,
        StatementLineKind::PaymentVoid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StatementLineKind::Due => "due",
            StatementLineKind::Payment => "payment",
            StatementLineKind::DueVoid => "due_void",
            StatementLineKind::PaymentVoid => "payment_void",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// A due or payment itself, not the void of one.
    pub fn is_entry(self) -> bool {
        matches!(self, StatementLineKind::Due | StatementLineKind::Payment)
    }
}

impl fmt::Display for StatementLineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A due that still has something left to pay, in allocation order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenDue {
    pub id: i64,
    pub outstanding: i64,
}

/// One slice of a payment applied to one due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allocation {
    pub payment_id: i64,
    pub due_id: i64,
    pub amount: i64,
}

/// The date a due is ranked by when payments are allocated: its due date, or
/// the day it was issued when it has none (payable at once).
pub fn allocation_date(issue_date: NaiveDate, due_date: Option<NaiveDate>) -> NaiveDate {
    due_date.unwrap_or(issue_date)
}

/// Spreads `amount` over `open_dues` (already in allocation order, oldest
/// first). Returns the slices per due and what is left over (an advance).
pub fn allocate(amount: i64, open_dues: &[OpenDue]) -> (Vec<(i64, i64)>, i64) {
    spread(amount, open_dues.iter().map(|d| (d.id, d.outstanding)))
}

/// Credit a customer holds: the part of a payment no due has used yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldCredit {
    pub payment_id: i64,
    pub unallocated: i64,
}

/// Pays a new due of `amount` from credit held in advance, taking the
/// credits in the order given (oldest first). Returns the slices per
/// payment and how much of the due they paid.
pub fn pay_from_credit(amount: i64, credits: &[HeldCredit]) -> (Vec<(i64, i64)>, i64) {
    let (slices, left) = spread(
        amount,
        credits.iter().map(|c| (c.payment_id, c.unallocated)),
    );
    (slices, amount - left)
}

/// Fills each (id, room) in turn with what is left of `amount`; returns
/// the (id, amount taken) slices and what is left.
fn spread(amount: i64, rooms: impl IntoIterator<Item = (i64, i64)>) -> (Vec<(i64, i64)>, i64) {
    let mut left = amount;
    let mut slices = Vec::new();
    for (id, room) in rooms {
        if left == 0 {
            break;
        }
        let take = left.min(room);
        if take > 0 {
            slices.push((id, take));
            left -= take;
        }
    }
    (slices, left)
}

/// Why the ledger refuses a change. The store decides under its lock, with
/// the balance it holds, and reports the refusal in its own terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerRefusal {
    /// The balance would go beyond what can be recorded.
    TooLarge,
    /// A payment larger than the balance, without "advance".
    Overpayment { amount: Money, owed: Money },
    /// A customer reported paying more than they owe.
    MoreThanBalance { amount: Money, owed: Money },
    /// A due that takes the balance past the credit limit, without "over limit".
    OverCreditLimit { balance_after: Money, limit: Money },
    /// A due or payment that would take the customer's total dues or total
    /// paid past [`MAX_CUSTOMER_TOTAL`].
    TotalTooLarge { limit: Money },
}

/// The most a customer's dues, or payments, may add up to over the
/// customer's life, in minor units (10^17: a thousand trillion rupees).
/// Far above any shop's needs, and far enough below the 64-bit range that
/// a customer's running totals and balance can never overflow it.
pub const MAX_CUSTOMER_TOTAL: Money = Money(100_000_000_000_000_000);

impl LedgerRefusal {
    /// The refusal in words a person can act on, amounts in `currency`.
    pub fn explain(&self, currency: &Currency) -> String {
        let money = |amount: Money| currency.format(amount);
        match *self {
            LedgerRefusal::TooLarge => {
                "this amount would take the balance beyond what can be recorded".to_string()
            }
            LedgerRefusal::Overpayment {
                owed: Money::ZERO, ..
            } => "nothing is owed; send \"advance\": true to record this payment as credit"
                .to_string(),
            LedgerRefusal::Overpayment { amount, owed } => format!(
                "the payment of {} is more than the balance of {}; pay at most the balance, or send \"advance\": true to keep the excess as credit",
                money(amount),
                money(owed)
            ),
            LedgerRefusal::MoreThanBalance { amount, owed } => format!(
                "{} is more than your balance of {}",
                money(amount),
                money(owed)
            ),
            LedgerRefusal::OverCreditLimit {
                balance_after,
                limit,
            } => format!(
                "this due would take the balance to {}, past the customer's credit limit of {}; send \"over_limit\": true to record it anyway",
                money(balance_after),
                money(limit)
            ),
            LedgerRefusal::TotalTooLarge { limit } => format!(
                "this would take the customer's total dues or total payments past {}, the most duetrack records for one customer",
                money(limit)
            ),
        }
    }
}

/// The balance after a new due of `amount`, or why it may not be recorded:
/// it must stay recordable, and within the credit limit unless `over_limit`.
pub fn check_due(
    balance: Money,
    amount: Money,
    credit_limit: Option<Money>,
    over_limit: bool,
) -> Result<Money, LedgerRefusal> {
    let balance_after = balance.checked_add(amount).ok_or(LedgerRefusal::TooLarge)?;
    match credit_limit {
        Some(limit) if balance_after > limit && !over_limit => {
            Err(LedgerRefusal::OverCreditLimit {
                balance_after,
                limit,
            })
        }
        _ => Ok(balance_after),
    }
}

/// The balance after a payment of `amount` is recorded, or why it may not
/// be: more than the balance needs `advance` (the excess is kept as credit).
pub fn check_payment(balance: Money, amount: Money, advance: bool) -> Result<Money, LedgerRefusal> {
    if !advance && amount > balance {
        return Err(LedgerRefusal::Overpayment {
            amount,
            owed: balance.max(Money::ZERO),
        });
    }
    balance.checked_sub(amount).ok_or(LedgerRefusal::TooLarge)
}

/// A customer may report paying at most what they owe; staff decide on
/// anything more when they confirm it.
pub fn check_reported_payment(balance: Money, amount: Money) -> Result<(), LedgerRefusal> {
    if amount > balance {
        return Err(LedgerRefusal::MoreThanBalance {
            amount,
            owed: balance.max(Money::ZERO),
        });
    }
    Ok(())
}

/// The balance after a payment of `amount` is voided (it rises again), or
/// `TooLarge` when that cannot be recorded.
pub fn check_payment_void(balance: Money, amount: Money) -> Result<Money, LedgerRefusal> {
    balance.checked_add(amount).ok_or(LedgerRefusal::TooLarge)
}

/// A due as the full re-allocation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueLine {
    pub id: i64,
    pub amount: i64,
    pub issue_date: NaiveDate,
    pub due_date: Option<NaiveDate>,
}

/// A payment as the full re-allocation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentLine {
    pub id: i64,
    pub amount: i64,
    pub paid_on: NaiveDate,
}

/// The outcome of allocating every live payment of a customer afresh.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reallocation {
    pub allocations: Vec<Allocation>,
    /// (due id, amount paid towards it)
    pub paid_per_due: Vec<(i64, i64)>,
    /// (payment id, amount of it not yet used by any due)
    pub unallocated_per_payment: Vec<(i64, i64)>,
}

/// Allocates all live payments, in the order they were made, to all live
/// dues, oldest first. Used after a void, when earlier allocations may no
/// longer hold.
pub fn reallocate(dues: &[DueLine], payments: &[PaymentLine]) -> Reallocation {
    let mut dues: Vec<&DueLine> = dues.iter().collect();
    dues.sort_by_key(|d| {
        (
            allocation_date(d.issue_date, d.due_date),
            d.issue_date,
            d.id,
        )
    });
    let mut payments: Vec<&PaymentLine> = payments.iter().collect();
    payments.sort_by_key(|p| (p.paid_on, p.id));

    let mut paid: Vec<i64> = vec![0; dues.len()];
    let mut result = Reallocation::default();
    let mut cursor = 0;
    for payment in payments {
        let mut left = payment.amount;
        while left > 0 && cursor < dues.len() {
            let room = dues[cursor].amount - paid[cursor];
            if room == 0 {
                cursor += 1;
                continue;
            }
            let take = left.min(room);
            paid[cursor] += take;
            left -= take;
            result.allocations.push(Allocation {
                payment_id: payment.id,
                due_id: dues[cursor].id,
                amount: take,
            });
        }
        result.unallocated_per_payment.push((payment.id, left));
    }
    result.paid_per_due = dues.iter().zip(paid).map(|(d, p)| (d.id, p)).collect();
    result
}

/// What a due contributes to the overdue amount on `today`: its unpaid part
/// once its due date has passed. A due without a due date is never overdue.
pub fn overdue_part(amount: i64, paid: i64, due_date: Option<NaiveDate>, today: NaiveDate) -> i64 {
    match due_date {
        Some(d) if d < today => (amount - paid).max(0),
        _ => 0,
    }
}

/// Days since a date, for "12 days overdue"; zero when not yet past.
pub fn days_past(date: NaiveDate, today: NaiveDate) -> i64 {
    (today - date).num_days().max(0)
}

/// One line of a statement before the running balance is added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementMovement {
    pub date: NaiveDate,
    /// Stable order among entries of the same date.
    pub sequence: (String, i64),
    /// Positive raises what the customer owes; negative lowers it.
    pub delta: Money,
}

/// Orders movements and returns, for each, the balance after it, starting
/// from `opening`.
pub fn running_balances<T>(
    opening: Money,
    mut lines: Vec<(StatementMovement, T)>,
) -> Vec<(StatementMovement, T, Money)> {
    lines.sort_by(|a, b| (a.0.date, &a.0.sequence).cmp(&(b.0.date, &b.0.sequence)));
    let mut balance = opening;
    lines
        .into_iter()
        .map(|(m, t)| {
            balance += m.delta;
            (m, t, balance)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(n.into())
    }

    #[test]
    fn a_partial_payment_fills_the_oldest_due_first() {
        let open = vec![
            OpenDue {
                id: 1,
                outstanding: 500,
            },
            OpenDue {
                id: 2,
                outstanding: 300,
            },
        ];
        let (slices, left) = allocate(600, &open);
        assert_eq!(slices, vec![(1, 500), (2, 100)]);
        assert_eq!(left, 0);
    }

    #[test]
    fn an_overpayment_leaves_an_advance() {
        let (slices, left) = allocate(
            900,
            &[OpenDue {
                id: 1,
                outstanding: 500,
            }],
        );
        assert_eq!(slices, vec![(1, 500)]);
        assert_eq!(left, 400);
    }

    #[test]
    fn statuses_read_back_as_written_and_serialize_as_their_words() {
        for v in DueStatus::ALL {
            assert_eq!(DueStatus::parse(v.as_str()), Some(v));
            assert_eq!(serde_json::to_value(v).unwrap(), v.as_str());
        }
        for v in PaymentStatus::ALL {
            assert_eq!(PaymentStatus::parse(v.as_str()), Some(v));
            assert_eq!(serde_json::to_value(v).unwrap(), v.as_str());
        }
        for v in StatementLineKind::ALL {
            assert_eq!(StatementLineKind::parse(v.as_str()), Some(v));
            assert_eq!(serde_json::to_value(v).unwrap(), v.as_str());
        }
        assert_eq!(PaymentStatus::parse("Recorded"), None);
    }

    fn inr() -> Currency {
        Currency::parse("INR").unwrap()
    }

    #[test]
    fn a_payment_above_the_balance_needs_advance() {
        assert_eq!(check_payment(Money(500), Money(300), false), Ok(Money(200)));
        assert_eq!(check_payment(Money(500), Money(500), false), Ok(Money(0)));
        let refusal = check_payment(Money(500), Money(800), false).unwrap_err();
        assert_eq!(
            refusal,
            LedgerRefusal::Overpayment {
                amount: Money(800),
                owed: Money(500)
            }
        );
        assert_eq!(
            refusal.explain(&inr()),
            "the payment of 8.00 is more than the balance of 5.00; pay at most the balance, or send \"advance\": true to keep the excess as credit"
        );
        assert_eq!(check_payment(Money(500), Money(800), true), Ok(Money(-300)));
    }

    #[test]
    fn paying_when_nothing_is_owed_says_so() {
        let refusal = check_payment(Money(-100), Money(50), false).unwrap_err();
        assert_eq!(
            refusal,
            LedgerRefusal::Overpayment {
                amount: Money(50),
                owed: Money(0)
            }
        );
        assert_eq!(
            refusal.explain(&inr()),
            "nothing is owed; send \"advance\": true to record this payment as credit"
        );
    }

    #[test]
    fn a_due_past_the_credit_limit_needs_over_limit() {
        assert_eq!(
            check_due(Money(400), Money(100), Some(Money(500)), false),
            Ok(Money(500))
        );
        assert_eq!(
            check_due(Money(400), Money(100), None, false),
            Ok(Money(500))
        );
        let refusal = check_due(Money(400), Money(200), Some(Money(500)), false).unwrap_err();
        assert_eq!(
            refusal,
            LedgerRefusal::OverCreditLimit {
                balance_after: Money(600),
                limit: Money(500)
            }
        );
        assert_eq!(
            refusal.explain(&inr()),
            "this due would take the balance to 6.00, past the customer's credit limit of 5.00; send \"over_limit\": true to record it anyway"
        );
        assert_eq!(
            check_due(Money(400), Money(200), Some(Money(500)), true),
            Ok(Money(600))
        );
    }

    #[test]
    fn a_balance_that_cannot_be_recorded_is_refused() {
        assert_eq!(
            check_due(Money(i64::MAX), Money(1), None, false),
            Err(LedgerRefusal::TooLarge)
        );
        // Too large is decided before the credit limit.
        assert_eq!(
            check_due(Money(i64::MAX), Money(1), Some(Money(0)), false),
            Err(LedgerRefusal::TooLarge)
        );
        assert_eq!(
            check_payment(Money(i64::MIN), Money(1), true),
            Err(LedgerRefusal::TooLarge)
        );
        assert_eq!(
            check_payment_void(Money(i64::MAX), Money(1)),
            Err(LedgerRefusal::TooLarge)
        );
        assert_eq!(check_payment_void(Money(100), Money(50)), Ok(Money(150)));
    }

    #[test]
    fn a_customer_may_report_at_most_the_balance() {
        assert_eq!(check_reported_payment(Money(500), Money(500)), Ok(()));
        let refusal = check_reported_payment(Money(-20), Money(10)).unwrap_err();
        assert_eq!(
            refusal,
            LedgerRefusal::MoreThanBalance {
                amount: Money(10),
                owed: Money(0)
            }
        );
        assert_eq!(
            refusal.explain(&inr()),
            "0.10 is more than your balance of 0.00"
        );
    }

    #[test]
    fn credit_pays_a_new_due_oldest_first() {
        let credits = [
            HeldCredit {
                payment_id: 7,
                unallocated: 300,
            },
            HeldCredit {
                payment_id: 9,
                unallocated: 500,
            },
        ];
        assert_eq!(
            pay_from_credit(400, &credits),
            (vec![(7, 300), (9, 100)], 400)
        );
        assert_eq!(
            pay_from_credit(1000, &credits),
            (vec![(7, 300), (9, 500)], 800)
        );
        assert_eq!(pay_from_credit(200, &[]), (vec![], 0));
    }

    #[test]
    fn due_status_follows_the_amount_paid() {
        assert_eq!(DueStatus::of(Money(100), Money(0)), DueStatus::Open);
        assert_eq!(DueStatus::of(Money(100), Money(40)), DueStatus::Partial);
        assert_eq!(DueStatus::of(Money(100), Money(100)), DueStatus::Paid);
    }

    #[test]
    fn reallocation_ranks_dues_by_due_date_then_issue_date() {
        let dues = vec![
            DueLine {
                id: 1,
                amount: 100,
                issue_date: day(0),
                due_date: Some(day(30)),
            },
            DueLine {
                id: 2,
                amount: 100,
                issue_date: day(5),
                due_date: Some(day(10)),
            },
            DueLine {
                id: 3,
                amount: 100,
                issue_date: day(1),
                due_date: None,
            },
        ];
        let payments = vec![PaymentLine {
            id: 9,
            amount: 150,
            paid_on: day(20),
        }];
        let r = reallocate(&dues, &payments);
        assert_eq!(
            r.allocations,
            vec![
                Allocation {
                    payment_id: 9,
                    due_id: 3,
                    amount: 100
                },
                Allocation {
                    payment_id: 9,
                    due_id: 2,
                    amount: 50
                },
            ]
        );
    }

    #[test]
    fn only_past_due_dates_are_overdue() {
        assert_eq!(overdue_part(100, 30, Some(day(1)), day(2)), 70);
        assert_eq!(overdue_part(100, 30, Some(day(2)), day(2)), 0);
        assert_eq!(overdue_part(100, 30, None, day(200)), 0);
    }

    #[test]
    fn the_running_balance_follows_the_dates() {
        let m = |d: u32, seq: i64, delta: i64| {
            (
                StatementMovement {
                    date: day(d),
                    sequence: ("a".into(), seq),
                    delta: Money(delta),
                },
                (),
            )
        };
        let lines = running_balances(Money::ZERO, vec![m(2, 2, -30), m(1, 1, 100), m(3, 3, 50)]);
        let balances: Vec<Money> = lines.iter().map(|l| l.2).collect();
        assert_eq!(balances, vec![Money(100), Money(70), Money(120)]);
    }

    fn dues_strategy() -> impl Strategy<Value = Vec<DueLine>> {
        prop::collection::vec((1i64..100_000, 0u32..60, prop::option::of(0u32..90)), 0..12)
            .prop_map(|v| {
                v.into_iter()
                    .enumerate()
                    .map(|(i, (amount, issue, due))| DueLine {
                        id: i as i64 + 1,
                        amount,
                        issue_date: day(issue),
                        due_date: due.map(day),
                    })
                    .collect()
            })
    }

    fn payments_strategy() -> impl Strategy<Value = Vec<PaymentLine>> {
        prop::collection::vec((1i64..150_000, 0u32..90), 0..12).prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(i, (amount, on))| PaymentLine {
                    id: i as i64 + 100,
                    amount,
                    paid_on: day(on),
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn allocation_never_exceeds_what_is_due(amount in 1i64..1_000_000, outstanding in prop::collection::vec(1i64..100_000, 0..10)) {
            let open: Vec<OpenDue> = outstanding.iter().enumerate().map(|(i, o)| OpenDue { id: i as i64, outstanding: *o }).collect();
            let (slices, left) = allocate(amount, &open);
            let used: i64 = slices.iter().map(|s| s.1).sum();
            prop_assert_eq!(used + left, amount);
            for (id, take) in slices {
                prop_assert!(take > 0 && take <= open[id as usize].outstanding);
            }
            let total_open: i64 = outstanding.iter().sum();
            prop_assert_eq!(left, (amount - total_open).max(0));
        }

        #[test]
        fn balance_is_dues_minus_payments(dues in dues_strategy(), payments in payments_strategy()) {
            let r = reallocate(&dues, &payments);
            let total_dues: i64 = dues.iter().map(|d| d.amount).sum();
            let total_payments: i64 = payments.iter().map(|p| p.amount).sum();
            let paid: i64 = r.paid_per_due.iter().map(|p| p.1).sum();
            let unallocated: i64 = r.unallocated_per_payment.iter().map(|p| p.1).sum();
            // What is still owed less what is held in advance is the balance.
            prop_assert_eq!((total_dues - paid) - unallocated, total_dues - total_payments);
            for (due_id, p) in &r.paid_per_due {
                let due = dues.iter().find(|d| d.id == *due_id).unwrap();
                prop_assert!(*p >= 0 && *p <= due.amount);
                let allocated: i64 = r.allocations.iter().filter(|a| a.due_id == *due_id).map(|a| a.amount).sum();
                prop_assert_eq!(allocated, *p);
            }
            for (payment_id, u) in &r.unallocated_per_payment {
                let payment = payments.iter().find(|p| p.id == *payment_id).unwrap();
                let allocated: i64 = r.allocations.iter().filter(|a| a.payment_id == *payment_id).map(|a| a.amount).sum();
                prop_assert!(*u >= 0);
                prop_assert_eq!(allocated + u, payment.amount);
            }
            // Money is left unallocated only when every due is fully paid.
            if unallocated > 0 {
                prop_assert_eq!(paid, total_dues);
            }
        }
    }
}
