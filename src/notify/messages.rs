//! The emails duetrack sends, each with a plain-text and an HTML part, the
//! shop's name and amounts written for people. Pure functions: they turn
//! facts into a message and touch nothing.
//!
//! The words are askama templates under templates/mail/: `<kind>.txt` is the
//! text part, signed off by `frame.txt`; `<kind>.html` is the HTML part in the
//! shop's frame, `frame.html`. Askama escapes everything a template prints
//! into HTML (with `MailHtml`, see templates/mail/askama.toml) and nothing in
//! the text part, so what a user typed reads as typed in both.
//!
//! Askama lends a field to a method by reference, so the templates write
//! `ctx.money(*f.overdue)` to hand `MailContext::money` the number itself.

use crate::domain::money::{Currency, Money};
use askama::Template;
use chrono::NaiveDate;
use std::fmt;

/// What every message needs to know about the shop.
#[derive(Debug, Clone)]
pub struct MailContext {
    pub shop_name: String,
    pub base_url: String,
    pub currency: Currency,
    pub upi_id: Option<String>,
}

impl MailContext {
    /// An amount as people read it: "₹1,250.50".
    pub fn money(&self, amount: Money) -> String {
        self.currency.display(amount)
    }
}

/// A message ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Text made safe for HTML, with named entities. The web charts use it, and
/// every HTML email through `MailHtml`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The escaper of the HTML mail templates, named in templates/mail/askama.toml.
/// Askama's own writes numeric entities (`&#60;`); the emails keep writing the
/// named ones (`&lt;`) they always have.
#[derive(Clone, Copy)]
struct MailHtml;

impl askama::filters::Escaper for MailHtml {
    fn write_escaped_str<W: fmt::Write>(&self, mut dest: W, text: &str) -> fmt::Result {
        dest.write_str(&escape(text))
    }
}

/// A message's text part is a template struct for `mail/<kind>.txt`; its
/// HTML part, declared by `html_part!`, wraps it and renders
/// `mail/<kind>.html` from the same fields.
trait Parts: Template + Sized {
    type Html: Template;
    fn html(self) -> Self::Html;
}

/// Declares the HTML part of a text template struct: a wrapper that reaches
/// the struct's fields through `Deref` and is escaped by `MailHtml`.
macro_rules! html_part {
    ($text:ident => $html:ident, $path:tt) => {
        #[derive(Template)]
        #[template(path = $path, config = "templates/mail/askama.toml")]
        struct $html<'a>($text<'a>);

        impl<'a> std::ops::Deref for $html<'a> {
            type Target = $text<'a>;
            fn deref(&self) -> &$text<'a> {
                &self.0
            }
        }

        impl<'a> Parts for $text<'a> {
            type Html = $html<'a>;
            fn html(self) -> $html<'a> {
                $html(self)
            }
        }
    };
}

fn compose(subject: String, message: impl Parts) -> Composed {
    let text = render(&message);
    let html = render(&message.html());
    Composed {
        subject,
        text,
        html,
    }
}

fn render(template: &impl Template) -> String {
    // The templates print only strings, numbers and dates, whose formatting
    // cannot fail.
    template
        .render()
        .expect("a mail template writes only text, numbers and dates")
}

/// The link in an invitation or reset email.
pub fn password_link(ctx: &MailContext, token: &str) -> String {
    format!("{}/set-password?token={token}", ctx.base_url)
}

#[derive(Template)]
#[template(path = "mail/invitation.txt")]
struct Invitation<'a> {
    ctx: &'a MailContext,
    name: &'a str,
    username: &'a str,
    link: &'a str,
    expires: &'a str,
}
html_part!(Invitation => InvitationHtml, "mail/invitation.html");

pub fn invitation(
    ctx: &MailContext,
    name: &str,
    username: &str,
    link: &str,
    expires: &str,
) -> Composed {
    compose(
        format!("Your account at {}", ctx.shop_name),
        Invitation {
            ctx,
            name,
            username,
            link,
            expires,
        },
    )
}

#[derive(Template)]
#[template(path = "mail/credential_reset.txt")]
struct CredentialReset<'a> {
    ctx: &'a MailContext,
    name: &'a str,
    username: &'a str,
    link: &'a str,
    expires: &'a str,
}
html_part!(CredentialReset => CredentialResetHtml, "mail/credential_reset.html");

pub fn credential_reset(
    ctx: &MailContext,
    name: &str,
    username: &str,
    link: &str,
    expires: &str,
) -> Composed {
    compose(
        format!("Reset your password at {}", ctx.shop_name),
        CredentialReset {
            ctx,
            name,
            username,
            link,
            expires,
        },
    )
}

/// The facts of a payment for its receipt.
pub struct ReceiptFacts<'a> {
    pub name: &'a str,
    pub payment_id: i64,
    pub amount: Money,
    pub method: &'a str,
    pub reference: Option<&'a str>,
    pub paid_on: NaiveDate,
    pub balance_after: Money,
}

#[derive(Template)]
#[template(path = "mail/receipt.txt")]
struct Receipt<'a> {
    ctx: &'a MailContext,
    f: &'a ReceiptFacts<'a>,
    amount: String,
}
html_part!(Receipt => ReceiptHtml, "mail/receipt.html");

pub fn receipt(ctx: &MailContext, f: &ReceiptFacts<'_>) -> Composed {
    let amount = ctx.money(f.amount);
    compose(
        format!("Receipt: {amount} received by {}", ctx.shop_name),
        Receipt { ctx, f, amount },
    )
}

/// An unpaid due listed in a reminder.
#[derive(Debug, Clone)]
pub struct ReminderLine {
    pub description: String,
    pub due_date: Option<NaiveDate>,
    pub outstanding: Money,
}

pub struct ReminderFacts<'a> {
    pub name: &'a str,
    pub balance: Money,
    pub overdue: Money,
    pub reason: &'a str,
    pub dues: &'a [ReminderLine],
}

#[derive(Template)]
#[template(path = "mail/reminder.txt")]
struct Reminder<'a> {
    ctx: &'a MailContext,
    f: &'a ReminderFacts<'a>,
    balance: String,
    /// Reminders offer UPI when the shop has an id, besides the portal.
    upi: Option<UpiPayment<'a>>,
}
html_part!(Reminder => ReminderHtml, "mail/reminder.html");

struct UpiPayment<'a> {
    to: &'a str,
    /// Opens the customer's UPI app with the payment filled in.
    link: String,
}

fn upi_payment(ctx: &MailContext, amount: Money) -> Option<UpiPayment<'_>> {
    ctx.upi_id.as_deref().map(|upi| UpiPayment {
        to: upi,
        link: format!(
            "upi://pay?pa={upi}&pn={}&am={}&cu={}",
            percent(&ctx.shop_name),
            ctx.currency.format(amount),
            ctx.currency.code()
        ),
    })
}

/// Percent-encodes a value for a URL query.
pub fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn reminder(ctx: &MailContext, f: &ReminderFacts<'_>) -> Composed {
    let balance = ctx.money(f.balance);
    let subject = if f.overdue.is_positive() {
        format!(
            "Reminder: {} overdue at {}",
            ctx.money(f.overdue),
            ctx.shop_name
        )
    } else {
        format!("Reminder: {balance} due at {}", ctx.shop_name)
    };
    compose(
        subject,
        Reminder {
            ctx,
            f,
            balance,
            upi: upi_payment(ctx, f.balance),
        },
    )
}

#[derive(Template)]
#[template(path = "mail/payment_rejected.txt")]
struct PaymentRejected<'a> {
    ctx: &'a MailContext,
    name: &'a str,
    amount: String,
    paid_on: NaiveDate,
    reason: &'a str,
}
html_part!(PaymentRejected => PaymentRejectedHtml, "mail/payment_rejected.html");

/// A payment the customer reported was not confirmed by the shop.
pub fn payment_rejected(
    ctx: &MailContext,
    name: &str,
    amount: Money,
    paid_on: NaiveDate,
    reason: &str,
) -> Composed {
    let amount = ctx.money(amount);
    compose(
        format!(
            "Your payment of {amount} was not confirmed by {}",
            ctx.shop_name
        ),
        PaymentRejected {
            ctx,
            name,
            amount,
            paid_on,
            reason,
        },
    )
}

#[derive(Template)]
#[template(path = "mail/account_changed.txt")]
struct AccountChanged<'a> {
    ctx: &'a MailContext,
    name: &'a str,
    /// Starts the sentence, so capitalised.
    what: String,
}
html_part!(AccountChanged => AccountChangedHtml, "mail/account_changed.html");

/// `what` says what changed, such as "your email address".
pub fn account_changed(ctx: &MailContext, name: &str, what: &str) -> Composed {
    compose(
        format!("Your account at {} was changed", ctx.shop_name),
        AccountChanged {
            ctx,
            name,
            what: capitalise(what),
        },
    )
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

#[derive(Template)]
#[template(path = "mail/account_deleted.txt")]
struct AccountDeleted<'a> {
    ctx: &'a MailContext,
    name: &'a str,
}
html_part!(AccountDeleted => AccountDeletedHtml, "mail/account_deleted.html");

pub fn account_deleted(ctx: &MailContext, name: &str) -> Composed {
    compose(
        format!("Your account at {} has been closed", ctx.shop_name),
        AccountDeleted { ctx, name },
    )
}

#[derive(Template)]
#[template(path = "mail/manual.txt")]
struct Manual<'a> {
    ctx: &'a MailContext,
    name: &'a str,
    subject: &'a str,
    body: &'a str,
    /// The body's paragraphs (split at blank lines), each as its lines.
    paragraphs: Vec<Vec<&'a str>>,
}
html_part!(Manual => ManualHtml, "mail/manual.html");

/// A message written by staff; its body is plain text.
pub fn manual(ctx: &MailContext, name: &str, subject: &str, body: &str) -> Composed {
    compose(
        subject.to_string(),
        Manual {
            ctx,
            name,
            subject,
            body,
            paragraphs: body
                .split("\n\n")
                .map(|p| p.split('\n').collect())
                .collect(),
        },
    )
}

/// The owner's morning summary of the day before.
pub struct DigestFacts {
    pub day: NaiveDate,
    pub collected: Money,
    pub payments: i64,
    pub new_dues: Money,
    pub new_due_count: i64,
    pub total_outstanding: Money,
    pub total_overdue: Money,
    /// (customer name, amount now overdue)
    pub became_overdue: Vec<(String, Money)>,
}

#[derive(Template)]
#[template(path = "mail/digest.txt")]
struct Digest<'a> {
    ctx: &'a MailContext,
    f: &'a DigestFacts,
}
html_part!(Digest => DigestHtml, "mail/digest.html");

pub fn digest(ctx: &MailContext, f: &DigestFacts) -> Composed {
    compose(
        format!(
            "{}: {} collected on {}",
            ctx.shop_name,
            ctx.money(f.collected),
            f.day
        ),
        Digest { ctx, f },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> MailContext {
        MailContext {
            shop_name: "Sharma & Sons".into(),
            base_url: "https://shop.example".into(),
            currency: Currency::parse("INR").unwrap(),
            upi_id: Some("sharma@okbank".into()),
        }
    }

    #[test]
    fn an_invitation_carries_a_link_and_never_a_password() {
        let link = password_link(&ctx(), "abc123");
        let m = invitation(&ctx(), "Asha <script>", "asha", &link, "2026-12-01");
        assert_eq!(m.subject, "Your account at Sharma & Sons");
        assert!(
            m.text
                .contains("https://shop.example/set-password?token=abc123")
        );
        assert!(
            m.html.contains("Asha &lt;script&gt;"),
            "names are escaped in HTML"
        );
        assert!(m.html.contains("Sharma &amp; Sons"));
        assert!(!m.text.to_lowercase().contains("password:"));
    }

    #[test]
    fn a_receipt_names_the_amount_and_what_is_left() {
        let m = receipt(
            &ctx(),
            &ReceiptFacts {
                name: "Asha",
                payment_id: 7,
                amount: Money(12_345_000),
                method: "upi",
                reference: Some("UTR42"),
                paid_on: NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(),
                balance_after: Money(50_000),
            },
        );
        assert!(m.subject.contains("₹1,23,450.00"));
        assert!(m.text.contains("Balance still due: ₹500.00."));
        assert!(m.html.contains("UTR42"));
    }

    #[test]
    fn a_reminder_lists_dues_and_how_to_pay() {
        let dues = [ReminderLine {
            description: "Rice".into(),
            due_date: NaiveDate::from_ymd_opt(2026, 1, 2),
            outstanding: Money(10_000),
        }];
        let m = reminder(
            &ctx(),
            &ReminderFacts {
                name: "Asha",
                balance: Money(10_000),
                overdue: Money(10_000),
                reason: "overdue by 3 days",
                dues: &dues,
            },
        );
        assert!(m.subject.contains("₹100.00 overdue"));
        assert!(m.text.contains("Rice: ₹100.00, due 2026-01-02"));
        assert!(
            m.text
                .contains("upi://pay?pa=sharma@okbank&pn=Sharma%20%26%20Sons&am=100.00&cu=INR")
        );
    }

    /// A name someone could type, and how it must read in HTML.
    const TYPED: &str = r#"<script>alert(1)</script> & "Co""#;
    const TYPED_HTML: &str = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Co&quot;";

    #[test]
    fn a_receipt_escapes_typed_text_in_html_only() {
        let m = receipt(
            &ctx(),
            &ReceiptFacts {
                name: TYPED,
                payment_id: 7,
                amount: Money(10_000),
                method: "upi",
                reference: Some(TYPED),
                paid_on: NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(),
                balance_after: Money(0),
            },
        );
        assert!(m.text.starts_with(&format!("Hello {TYPED},\n\n")));
        assert!(
            m.text
                .contains(&format!("by upi (reference {TYPED}) on 2026-01-02."))
        );
        assert!(m.text.ends_with("\n\n— Sharma & Sons\n"));
        assert!(!m.text.contains("&lt;") && !m.text.contains("&amp;") && !m.text.contains("&#"));

        assert!(m.html.contains(&format!("<p>Hello {TYPED_HTML},</p>")));
        assert!(
            m.html
                .contains(&format!("<td>upi (reference {TYPED_HTML})</td>"))
        );
        assert!(m.html.contains("Sharma &amp; Sons · sent by duetrack"));
        assert!(!m.html.contains("<script>") && !m.html.contains(r#""Co""#));
    }

    #[test]
    fn a_manual_message_escapes_typed_text_in_html_only() {
        let body = "We open at 8.\n<b>Bring</b> \"this\" & that\n\nThanks";
        let m = manual(&ctx(), TYPED, TYPED, body);
        assert_eq!(m.subject, TYPED);
        assert_eq!(
            m.text,
            format!("Hello {TYPED},\n\n{body}\n\n— Sharma & Sons\n"),
            "the text part is the staff's words as typed"
        );

        assert!(m.html.contains(&format!("<title>{TYPED_HTML}</title>")));
        assert!(m.html.contains(&format!(">{TYPED_HTML}</h1>")));
        assert!(m.html.contains(&format!("<p>Hello {TYPED_HTML},</p>")));
        assert!(m.html.contains(
            "<p>We open at 8.<br>&lt;b&gt;Bring&lt;/b&gt; &quot;this&quot; &amp; that</p>"
        ));
        assert!(m.html.contains("<p>Thanks</p>"));
        assert!(!m.html.contains("<script>") && !m.html.contains("<b>"));
    }

    #[test]
    fn a_reminder_text_is_laid_out_line_by_line() {
        let dues = [
            ReminderLine {
                description: "Rice & dal".into(),
                due_date: NaiveDate::from_ymd_opt(2026, 1, 2),
                outstanding: Money(10_000),
            },
            ReminderLine {
                description: "Oil".into(),
                due_date: None,
                outstanding: Money(2_500),
            },
        ];
        let facts = ReminderFacts {
            name: "Asha",
            balance: Money(12_500),
            overdue: Money(10_000),
            reason: "overdue by 3 days",
            dues: &dues,
        };
        assert_eq!(
            reminder(&ctx(), &facts).text,
            "Hello Asha,\n\nThis is a reminder from Sharma & Sons (overdue by 3 days).\n\n\
             Balance due: ₹125.00.\nOverdue now: ₹100.00.\n\nOpen dues:\n\
             \x20 - Rice & dal: ₹100.00, due 2026-01-02\n\x20 - Oil: ₹25.00\n\n\
             Pay by UPI to sharma@okbank (upi://pay?pa=sharma@okbank&pn=Sharma%20%26%20Sons&am=125.00&cu=INR). \
             Pay at the counter, or see your account and pay online at https://shop.example.\n\n\
             If you have already paid, thank you, and please ignore this message.\n\n— Sharma & Sons\n"
        );
        let no_upi = MailContext {
            upi_id: None,
            ..ctx()
        };
        let m = reminder(
            &no_upi,
            &ReminderFacts {
                overdue: Money(0),
                ..facts
            },
        );
        assert_eq!(m.subject, "Reminder: ₹125.00 due at Sharma & Sons");
        assert!(m.text.contains(
            "Balance due: ₹125.00.\n\nOpen dues:\n  - Rice & dal: ₹100.00, due 2026-01-02\n  - Oil: ₹25.00\n\n\
             Pay at the counter, or see your account and pay online at https://shop.example.\n\n"
        ));
        assert!(!m.html.contains("Overdue now") && !m.html.contains("UPI"));
        assert!(
            m.html
                .contains("<td style=\"padding:4px 12px 4px 0\">Rice &amp; dal</td>")
        );
    }

    #[test]
    fn a_digest_text_is_laid_out_line_by_line() {
        let mut facts = DigestFacts {
            day: NaiveDate::from_ymd_opt(2026, 6, 9).unwrap(),
            collected: Money(25_000),
            payments: 2,
            new_dues: Money(75_000),
            new_due_count: 1,
            total_outstanding: Money(100_000),
            total_overdue: Money(75_000),
            became_overdue: vec![],
        };
        let m = digest(&ctx(), &facts);
        assert_eq!(m.subject, "Sharma & Sons: ₹250.00 collected on 2026-06-09");
        assert_eq!(
            m.text,
            "Summary for 2026-06-09\n\nCollected: ₹250.00 in 2 payment(s)\nNew dues: ₹750.00 in 1 entry\n\
             Outstanding now: ₹1,000.00 (overdue ₹750.00)\n\nBecame overdue:\n  nobody\n\n\
             Open duetrack: https://shop.example\n"
        );
        assert!(m.html.contains("<li>nobody</li>"));

        facts.new_due_count = 2;
        facts.became_overdue = vec![("Regular <R>".into(), Money(75_000))];
        let m = digest(&ctx(), &facts);
        assert!(m.text.contains("in 2 entries\n"));
        assert!(
            m.text
                .contains("Became overdue:\n  - Regular <R>: ₹750.00\n\nOpen duetrack")
        );
        assert!(m.html.contains("<li>Regular &lt;R&gt;: ₹750.00</li>"));
        assert!(m.html.contains("<title>Summary for 2026-06-09</title>"));
    }
}
