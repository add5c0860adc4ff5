//! The store's [`Letters`] written in the shop's name: each fact the store
//! hands over becomes a message through [`messages`], with the shop's name,
//! address, currency and UPI id as the live configuration has them now.

use super::messages::{self, Composed, MailContext};
use crate::config::LiveConfig;
use crate::store::letters::{
    AccountChange, CredentialLinkFacts, DigestFacts, Letter, Letters, ReceiptFacts, RejectionFacts,
    ReminderFacts,
};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::sync::Arc;

/// Letters from the shop, following settings changed while the service runs.
pub struct ShopLetters {
    live: Arc<LiveConfig>,
}

impl ShopLetters {
    pub fn new(live: Arc<LiveConfig>) -> Self {
        Self { live }
    }

    /// What a message needs to know about the shop, as configured now.
    fn context(&self) -> MailContext {
        let c = self.live.get();
        MailContext {
            shop_name: c.shop_name.clone(),
            base_url: c.base_url.clone(),
            currency: c.currency,
            upi_id: c.upi_id.clone(),
        }
    }

    /// The link, user name and expiry an invitation or reset carries.
    fn link_parts(&self, ctx: &MailContext, link: &CredentialLinkFacts<'_>) -> (String, String) {
        (
            messages::password_link(ctx, link.token),
            local_time_text(link.expires_at, self.live.get().timezone),
        )
    }
}

/// A time as people read it where the shop is: "2 Dec 2026, 09:15 (Asia/Kolkata)".
pub fn local_time_text(at: DateTime<Utc>, timezone: Tz) -> String {
    format!(
        "{} ({})",
        at.with_timezone(&timezone).format("%-d %b %Y, %H:%M"),
        timezone.name()
    )
}

fn letter(composed: Composed) -> Letter {
    Letter {
        subject: composed.subject,
        text: composed.text,
        html: composed.html,
    }
}

impl Letters for ShopLetters {
    fn invitation(&self, link: &CredentialLinkFacts<'_>) -> Letter {
        let ctx = self.context();
        let (url, expires) = self.link_parts(&ctx, link);
        letter(messages::invitation(
            &ctx,
            link.name,
            link.username,
            &url,
            &expires,
        ))
    }

    fn credential_reset(&self, link: &CredentialLinkFacts<'_>) -> Letter {
        let ctx = self.context();
        let (url, expires) = self.link_parts(&ctx, link);
        letter(messages::credential_reset(
            &ctx,
            link.name,
            link.username,
            &url,
            &expires,
        ))
    }

    fn receipt(&self, r: &ReceiptFacts<'_>) -> Letter {
        letter(messages::receipt(
            &self.context(),
            &messages::ReceiptFacts {
                name: r.name,
                payment_id: r.payment_id,
                amount: r.amount,
                method: r.method.as_str(),
                reference: r.reference,
                paid_on: r.paid_on,
                balance_after: r.balance_after,
            },
        ))
    }

    fn payment_rejected(&self, r: &RejectionFacts<'_>) -> Letter {
        letter(messages::payment_rejected(
            &self.context(),
            r.name,
            r.amount,
            r.paid_on,
            r.reason,
        ))
    }

    fn account_changed(&self, name: &str, change: AccountChange) -> Letter {
        let what = match change {
            AccountChange::EmailAddress => "your email address",
            AccountChange::Password => "your password",
        };
        letter(messages::account_changed(&self.context(), name, what))
    }

    fn account_deleted(&self, name: &str) -> Letter {
        letter(messages::account_deleted(&self.context(), name))
    }

    fn reminder(&self, r: &ReminderFacts<'_>) -> Letter {
        let dues: Vec<messages::ReminderLine> = r
            .dues
            .iter()
            .map(|d| messages::ReminderLine {
                description: d.description.clone(),
                due_date: d.due_date,
                outstanding: d.outstanding,
            })
            .collect();
        letter(messages::reminder(
            &self.context(),
            &messages::ReminderFacts {
                name: r.name,
                balance: r.balance,
                overdue: r.overdue,
                reason: r.reason,
                dues: &dues,
            },
        ))
    }

    fn digest(&self, d: &DigestFacts) -> Letter {
        letter(messages::digest(
            &self.context(),
            &messages::DigestFacts {
                day: d.day,
                collected: d.collected,
                payments: d.payments,
                new_dues: d.new_dues,
                new_due_count: d.new_due_count,
                total_outstanding: d.total_outstanding,
                total_overdue: d.total_overdue,
                became_overdue: d.became_overdue.clone(),
            },
        ))
    }

    fn manual(&self, name: &str, subject: &str, body: &str) -> Letter {
        letter(messages::manual(&self.context(), name, subject, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_shown_in_the_shops_time_zone() {
        let at = DateTime::parse_from_rfc3339("2026-12-02T03:45:00.000000Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            local_time_text(at, "Asia/Kolkata".parse().unwrap()),
            "2 Dec 2026, 09:15 (Asia/Kolkata)"
        );
    }
}
