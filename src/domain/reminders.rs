//! When a customer is reminded, as a plain function of the day, the
//! customer's open dues and when they were last reminded. Nothing here
//! remembers a "next send date", so downtime or an import cannot make
//! reminders silently stop.

use chrono::NaiveDate;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderPolicy {
    /// `days_before` a due date, on the due date, then every `repeat_days`
    /// while anything is overdue. Dues without a due date are not reminded.
    Schedule { days_before: u32, repeat_days: u32 },
    /// Every day while a balance is open, as the original system did.
    Daily,
}

impl ReminderPolicy {
    pub const DEFAULT: ReminderPolicy = ReminderPolicy::Schedule {
        days_before: 3,
        repeat_days: 7,
    };

    /// `default`, `daily`, or `schedule:BEFORE:REPEAT` such as `schedule:2:5`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim().to_ascii_lowercase();
        match text.as_str() {
            "default" | "" => Ok(Self::DEFAULT),
            "daily" => Ok(ReminderPolicy::Daily),
            other => {
                let parts: Vec<&str> = other.split(':').collect();
                match parts.as_slice() {
                    ["schedule", before, repeat] => {
                        let days_before = before.parse::<u32>().ok().filter(|d| *d <= 60);
                        let repeat_days =
                            repeat.parse::<u32>().ok().filter(|d| (1..=90).contains(d));
                        match (days_before, repeat_days) {
                            (Some(days_before), Some(repeat_days)) => {
                                Ok(ReminderPolicy::Schedule {
                                    days_before,
                                    repeat_days,
                                })
                            }
                            _ => Err(format!(
                                "'{other}': use schedule:DAYS_BEFORE:REPEAT_DAYS with 0–60 and 1–90"
                            )),
                        }
                    }
                    _ => Err(format!(
                        "'{other}' is not a reminder policy; use default, daily or schedule:3:7"
                    )),
                }
            }
        }
    }
}

/// An unpaid due as the policy sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenDueDate {
    pub due_date: Option<NaiveDate>,
    pub outstanding: i64,
}

/// Why a customer should be reminded on `today`, or `None`.
pub fn reminder_reason(
    policy: ReminderPolicy,
    today: NaiveDate,
    balance: i64,
    last_reminded: Option<NaiveDate>,
    dues: &[OpenDueDate],
) -> Option<String> {
    if balance <= 0 || last_reminded == Some(today) {
        return None;
    }
    match policy {
        ReminderPolicy::Daily => Some("daily reminder while a balance is open".to_string()),
        ReminderPolicy::Schedule {
            days_before,
            repeat_days,
        } => {
            let dated: Vec<NaiveDate> = dues
                .iter()
                .filter(|d| d.outstanding > 0)
                .filter_map(|d| d.due_date)
                .collect();
            let oldest_overdue = dated.iter().filter(|d| **d < today).min();
            if let Some(due) = oldest_overdue {
                let since_last = last_reminded.map(|l| (today - l).num_days());
                if since_last.is_none_or(|days| days >= i64::from(repeat_days)) {
                    let days = (today - *due).num_days();
                    return Some(format!(
                        "overdue by {days} day{} (due {due})",
                        if days == 1 { "" } else { "s" }
                    ));
                }
            }
            if let Some(due) = dated.iter().find(|d| **d == today) {
                return Some(format!("due today ({due})"));
            }
            let ahead = today + chrono::Days::new(u64::from(days_before));
            if days_before > 0
                && let Some(due) = dated.iter().find(|d| **d == ahead)
            {
                return Some(format!(
                    "due in {days_before} day{} ({due})",
                    if days_before == 1 { "" } else { "s" }
                ));
            }
            None
        }
    }
}

/// What a daily run is, which decides whether it reminds customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    /// The scheduler's run for today, or `duetrack remind`.
    OnTheDay,
    /// The scheduler's run for a day missed while the service was down.
    /// It sends the owner's digest for that day but reminds nobody: a
    /// reminder worked out for a past day would be stale, and today's run
    /// sends whatever is still due.
    CatchUp,
}

impl RunKind {
    pub fn reminds_customers(self) -> bool {
        self == RunKind::OnTheDay
    }
}

/// Whether the scheduler may catch up on `day`, missed while the service
/// was down: only when the installation existed on that day.
pub fn may_catch_up(day: NaiveDate, first_day: Option<NaiveDate>) -> bool {
    first_day.is_some_and(|first| day >= first)
}

/// Whether the owner's digest of the run on `day`, which covers the day
/// before, covers a day the installation existed.
pub fn digest_covers_a_known_day(day: NaiveDate, first_day: Option<NaiveDate>) -> bool {
    let covered = day.pred_opt().unwrap_or(day);
    first_day.is_some_and(|first| covered >= first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, day).unwrap()
    }

    fn due(day: u32) -> OpenDueDate {
        OpenDueDate {
            due_date: Some(d(day)),
            outstanding: 100,
        }
    }

    fn reason(today: u32, last: Option<u32>, dues: &[OpenDueDate]) -> Option<String> {
        reminder_reason(ReminderPolicy::DEFAULT, d(today), 100, last.map(d), dues)
    }

    #[test]
    fn the_default_policy_reminds_before_on_and_weekly_after_the_due_date() {
        let dues = [due(10)];
        let sent: Vec<u32> = (1..=31)
            .scan(None, |last: &mut Option<u32>, day| {
                let r = reason(day, *last, &dues);
                if r.is_some() {
                    *last = Some(day);
                }
                Some((day, r))
            })
            .filter_map(|(day, r)| r.map(|_| day))
            .collect();
        assert_eq!(sent, vec![7, 10, 17, 24, 31]);
    }

    #[test]
    fn nothing_is_sent_without_a_due_date_a_balance_or_twice_a_day() {
        let undated = [OpenDueDate {
            due_date: None,
            outstanding: 100,
        }];
        assert_eq!(reason(10, None, &undated), None);
        assert_eq!(
            reminder_reason(ReminderPolicy::DEFAULT, d(10), 0, None, &[due(10)]),
            None
        );
        assert_eq!(reason(10, Some(10), &[due(10)]), None);
        assert_eq!(
            reason(
                10,
                None,
                &[OpenDueDate {
                    due_date: Some(d(10)),
                    outstanding: 0
                }]
            ),
            None
        );
    }

    #[test]
    fn a_long_overdue_customer_never_reminded_is_reminded_at_once() {
        let r = reason(20, None, &[due(1)]).unwrap();
        assert_eq!(r, "overdue by 19 days (due 2026-03-01)");
    }

    #[test]
    fn a_missed_weekly_reminder_is_sent_on_the_next_run() {
        // Last reminded on the 10th; the run on the 17th was missed.
        assert!(reason(18, Some(10), &[due(10)]).is_some());
    }

    #[test]
    fn the_daily_policy_reminds_every_day_while_a_balance_is_open() {
        let undated = [OpenDueDate {
            due_date: None,
            outstanding: 100,
        }];
        assert!(reminder_reason(ReminderPolicy::Daily, d(5), 100, Some(d(4)), &undated).is_some());
        assert!(reminder_reason(ReminderPolicy::Daily, d(5), 0, Some(d(4)), &undated).is_none());
    }

    #[test]
    fn policies_parse_from_configuration() {
        assert_eq!(ReminderPolicy::parse("daily"), Ok(ReminderPolicy::Daily));
        assert_eq!(
            ReminderPolicy::parse("schedule:2:5"),
            Ok(ReminderPolicy::Schedule {
                days_before: 2,
                repeat_days: 5
            })
        );
        assert!(ReminderPolicy::parse("weekly").is_err());
        assert!(ReminderPolicy::parse("schedule:2:0").is_err());
    }

    #[test]
    fn nothing_before_the_installation_is_caught_up_or_digested() {
        assert!(!may_catch_up(d(9), None));
        assert!(!may_catch_up(d(9), Some(d(10))));
        assert!(may_catch_up(d(10), Some(d(10))));
        assert!(may_catch_up(d(11), Some(d(10))));
        // The run on the first day covers the day before it: no digest.
        assert!(!digest_covers_a_known_day(d(10), Some(d(10))));
        assert!(digest_covers_a_known_day(d(11), Some(d(10))));
        assert!(!digest_covers_a_known_day(d(11), None));
        assert!(RunKind::OnTheDay.reminds_customers());
        assert!(!RunKind::CatchUp.reminds_customers());
    }
}
