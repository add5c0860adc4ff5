//! Writing to customers: a message from staff to one, a selection, or a
//! whole audience, queued in the outbox in one transaction.

use super::input::Fields;
use super::{Action, Actor, App, AppResult, Audience, ManualOutcome};

/// The longest subject and body accepted.
pub const MAX_SUBJECT_CHARS: usize = 200;
pub const MAX_BODY_CHARS: usize = 20_000;

impl App {
    pub async fn send_message(
        &self,
        actor: &Actor,
        audience: &Audience,
        subject: &str,
        body: &str,
    ) -> AppResult<ManualOutcome> {
        self.authorize(actor, Action::SendMessage)?;
        let mut f = Fields::default();
        let subject = subject.trim();
        if subject.is_empty()
            || subject.chars().count() > MAX_SUBJECT_CHARS
            || subject.chars().any(char::is_control)
        {
            f.fail(
                "subject",
                format!("must be 1 to {MAX_SUBJECT_CHARS} characters on one line"),
            );
        }
        let body = body.trim();
        if body.is_empty() || body.chars().count() > MAX_BODY_CHARS {
            f.fail("body", format!("must be 1 to {MAX_BODY_CHARS} characters"));
        }
        f.finish(Some(()))?;
        Ok(self
            .store
            .queue_manual(&actor.label(), audience, subject, body, self.today())
            .await?)
    }
}
