//! The logs staff read: activity, sign-ins and email.

use super::{
    Action, ActivityEntry, ActivityFilter, Actor, App, AppError, AppResult, Email, EmailFilter,
    SigninAttempt, SigninFilter,
};

impl App {
    /// The activity log, newest first.
    pub async fn activity(
        &self,
        actor: &Actor,
        filter: &ActivityFilter,
        limit: i64,
        offset: i64,
    ) -> AppResult<(Vec<ActivityEntry>, i64)> {
        self.authorize(actor, Action::ViewActivity)?;
        Ok(self.store.list_activity(filter, limit, offset).await?)
    }

    /// The sign-in log, newest first.
    pub async fn signins(
        &self,
        actor: &Actor,
        filter: &SigninFilter,
        limit: i64,
        offset: i64,
    ) -> AppResult<(Vec<SigninAttempt>, i64)> {
        self.authorize(actor, Action::ViewSignins)?;
        Ok(self.store.list_signins(filter, limit, offset).await?)
    }

    /// The email log, newest first.
    pub async fn emails(
        &self,
        actor: &Actor,
        filter: &EmailFilter,
        limit: i64,
        offset: i64,
    ) -> AppResult<(Vec<Email>, i64)> {
        self.authorize(actor, Action::ViewEmails)?;
        Ok(self.store.list_emails(filter, limit, offset).await?)
    }
}

/// A bound of a log's date range as stored UTC text. An RFC 3339 time is
/// taken as it is; a plain date means the start of that day (or of the next
/// day, for an inclusive `end`) in the time zone `tz`.
pub fn time_bound(
    tz: chrono_tz::Tz,
    field: &'static str,
    raw: &str,
    end: bool,
) -> AppResult<String> {
    use crate::store::timestamp_text;
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(raw.trim()) {
        return Ok(timestamp_text(at.with_timezone(&chrono::Utc)));
    }
    let not_a_date = || {
        AppError::bad_request(
            "invalid_date",
            field,
            format!("'{raw}' is neither a date YYYY-MM-DD nor an RFC 3339 time"),
        )
    };
    let date = crate::domain::fields::parse_date(raw).map_err(|_| not_a_date())?;
    let day = if end {
        date.succ_opt().unwrap_or(date)
    } else {
        date
    };
    let local = day
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(tz).earliest())
        .ok_or_else(|| {
            AppError::bad_request(
                "invalid_date",
                field,
                format!("'{raw}' has no midnight in the shop's time zone"),
            )
        })?;
    Ok(timestamp_text(local.with_timezone(&chrono::Utc)))
}
