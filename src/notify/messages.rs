//! The emails duetrack sends, each with a plain-text and an HTML part, the
//! shop's name and amounts written for people. Pure functions: they turn
//! facts into a message and touch nothing. Everything a user typed is
//! escaped before it goes into HTML.

use crate::domain::money::{Currency, Money};
use chrono::NaiveDate;

/// What every message needs to know about the shop.
#[derive(Debug, Clone)]
pub struct MailContext {
    pub shop_name: String,
    pub base_url: String,
    pub currency: Currency,
    pub upi_id: Option<String>,
}

impl MailContext {
    pub fn money(&self, minor: i64) -> String {
        self.currency.display(Money(minor))
    }
}

/// A message ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub subject: String,
    pub text: String,
    pub html: String,
}

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

/// Paragraphs of plain text as HTML, escaped, keeping line breaks.
fn paragraphs(text: &str) -> String {
    text.split("\n\n")
        .map(|p| format!("<p>{}</p>", escape(p).replace('\n', "<br>")))
        .collect()
}

/// Wraps a message body in the shop's frame; `body` is already HTML.
fn frame(ctx: &MailContext, heading: &str, body: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{heading}</title></head>\
         <body style=\"margin:0;padding:0;background:#f4f5f7;font-family:Arial,Helvetica,sans-serif;color:#1b1f24\">\
         <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\"><tr><td align=\"center\" style=\"padding:24px 12px\">\
         <table role=\"presentation\" width=\"100%\" style=\"max-width:560px;background:#ffffff;border-radius:8px\" cellpadding=\"0\" cellspacing=\"0\">\
         <tr><td style=\"padding:20px 24px;border-bottom:1px solid #e4e7ec;font-size:18px;font-weight:bold\">{shop}</td></tr>\
         <tr><td style=\"padding:20px 24px;font-size:15px;line-height:1.5\"><h1 style=\"font-size:20px;margin:0 0 12px\">{heading}</h1>{body}</td></tr>\
         <tr><td style=\"padding:12px 24px;border-top:1px solid #e4e7ec;font-size:12px;color:#667085\">{shop} · sent by duetrack</td></tr>\
         </table></td></tr></table></body></html>",
        shop = escape(&ctx.shop_name),
        heading = escape(heading),
    )
}

fn button(url: &str, label: &str) -> String {
    format!(
        "<p style=\"margin:20px 0\"><a href=\"{url}\" style=\"background:#1f5fbf;color:#ffffff;padding:10px 18px;border-radius:6px;text-decoration:none;display:inline-block\">{label}</a></p>\
         <p style=\"font-size:13px;color:#667085\">Or open this address: <a href=\"{url}\">{url}</a></p>",
        url = escape(url),
        label = escape(label)
    )
}

fn signature(ctx: &MailContext) -> String {
    format!("\n\n— {}\n", ctx.shop_name)
}

/// The link in an invitation or reset email.
pub fn password_link(ctx: &MailContext, token: &str) -> String {
    format!("{}/set-password?token={token}", ctx.base_url)
}

pub fn invitation(
    ctx: &MailContext,
    name: &str,
    username: &str,
    link: &str,
    expires: &str,
) -> Composed {
    let subject = format!("Your account at {}", ctx.shop_name);
    let text = format!(
        "Hello {name},\n\n{shop} keeps your account with duetrack. You can see what you owe, your payments and receipts online.\n\n\
         Your user name is: {username}\n\nChoose your password here (the link works once and expires {expires}):\n{link}\n\n\
         We never send passwords by email. If you did not expect this message, you can ignore it.{sig}",
        shop = ctx.shop_name,
        sig = signature(ctx)
    );
    let html = frame(
        ctx,
        "Your account is ready",
        &format!(
            "<p>Hello {name},</p><p>{shop} keeps your account with duetrack. You can see what you owe, your payments and receipts online.</p>\
             <p>Your user name is <strong>{username}</strong>.</p>{button}\
             <p style=\"font-size:13px;color:#667085\">The link works once and expires {expires}. We never send passwords by email. If you did not expect this message, you can ignore it.</p>",
            name = escape(name),
            shop = escape(&ctx.shop_name),
            username = escape(username),
            button = button(link, "Choose your password"),
            expires = escape(expires),
        ),
    );
    Composed {
        subject,
        text,
        html,
    }
}

pub fn credential_reset(
    ctx: &MailContext,
    name: &str,
    username: &str,
    link: &str,
    expires: &str,
) -> Composed {
    let subject = format!("Reset your password at {}", ctx.shop_name);
    let text = format!(
        "Hello {name},\n\n{shop} started a password reset for your account ({username}).\n\n\
         Choose a new password here (the link works once and expires {expires}):\n{link}\n\n\
         If you did not ask for this, tell the shop; your current password keeps working until a new one is set.{sig}",
        shop = ctx.shop_name,
        sig = signature(ctx)
    );
    let html = frame(
        ctx,
        "Reset your password",
        &format!(
            "<p>Hello {name},</p><p>{shop} started a password reset for your account (<strong>{username}</strong>).</p>{button}\
             <p style=\"font-size:13px;color:#667085\">The link works once and expires {expires}. If you did not ask for this, tell the shop; your current password keeps working until a new one is set.</p>",
            name = escape(name),
            shop = escape(&ctx.shop_name),
            username = escape(username),
            button = button(link, "Choose a new password"),
            expires = escape(expires),
        ),
    );
    Composed {
        subject,
        text,
        html,
    }
}

/// The facts of a payment for its receipt.
pub struct ReceiptFacts<'a> {
    pub name: &'a str,
    pub payment_id: i64,
    pub amount: i64,
    pub method: &'a str,
    pub reference: Option<&'a str>,
    pub paid_on: NaiveDate,
    pub balance_after: i64,
}

pub fn receipt(ctx: &MailContext, f: &ReceiptFacts<'_>) -> Composed {
    let amount = ctx.money(f.amount);
    let balance = balance_phrase(ctx, f.balance_after);
    let reference = f
        .reference
        .map(|r| format!(" (reference {r})"))
        .unwrap_or_default();
    let subject = format!("Receipt: {amount} received by {}", ctx.shop_name);
    let text = format!(
        "Hello {name},\n\nThank you. {shop} has received your payment of {amount} by {method}{reference} on {date}.\n\n\
         Receipt number: {id}\n{balance}\n\nSee your account: {url}{sig}",
        name = f.name,
        shop = ctx.shop_name,
        method = f.method,
        date = f.paid_on,
        id = f.payment_id,
        url = ctx.base_url,
        sig = signature(ctx)
    );
    let html = frame(
        ctx,
        "Payment received",
        &format!(
            "<p>Hello {name},</p><p>Thank you. {shop} has received your payment.</p>\
             <table style=\"border-collapse:collapse;margin:12px 0\">\
             <tr><td style=\"padding:4px 12px 4px 0;color:#667085\">Amount</td><td style=\"padding:4px 0;font-weight:bold\">{amount}</td></tr>\
             <tr><td style=\"padding:4px 12px 4px 0;color:#667085\">Method</td><td>{method}{reference}</td></tr>\
             <tr><td style=\"padding:4px 12px 4px 0;color:#667085\">Date</td><td>{date}</td></tr>\
             <tr><td style=\"padding:4px 12px 4px 0;color:#667085\">Receipt number</td><td>{id}</td></tr></table>\
             <p>{balance}</p>",
            name = escape(f.name),
            shop = escape(&ctx.shop_name),
            amount = escape(&amount),
            method = escape(f.method),
            reference = escape(&reference),
            date = f.paid_on,
            id = f.payment_id,
            balance = escape(&balance),
        ),
    );
    Composed {
        subject,
        text,
        html,
    }
}

fn balance_phrase(ctx: &MailContext, balance: i64) -> String {
    match balance {
        b if b > 0 => format!("Balance still due: {}.", ctx.money(b)),
        0 => "Your account is fully paid.".to_string(),
        b => format!("You have {} in credit.", ctx.money(-b)),
    }
}

/// An unpaid due listed in a reminder.
#[derive(Debug, Clone)]
pub struct ReminderLine {
    pub description: String,
    pub due_date: Option<NaiveDate>,
    pub outstanding: i64,
}

pub struct ReminderFacts<'a> {
    pub name: &'a str,
    pub balance: i64,
    pub overdue: i64,
    pub reason: &'a str,
    pub dues: &'a [ReminderLine],
}

/// How to pay, for reminders: UPI when the shop has an id, and the portal.
fn how_to_pay(ctx: &MailContext, amount: i64) -> (String, String) {
    let portal = format!(
        "Pay at the counter, or see your account and pay online at {}.",
        ctx.base_url
    );
    match &ctx.upi_id {
        Some(upi) => {
            let link = format!(
                "upi://pay?pa={upi}&pn={}&am={}&cu={}",
                percent(&ctx.shop_name),
                ctx.currency.format(Money(amount)),
                ctx.currency.code()
            );
            (
                format!("Pay by UPI to {upi} ({link}). {portal}"),
                format!(
                    "<p>Pay by UPI to <strong>{}</strong> (<a href=\"{}\">open your UPI app</a>). {}</p>",
                    escape(upi),
                    escape(&link),
                    escape(&portal)
                ),
            )
        }
        None => (portal.clone(), format!("<p>{}</p>", escape(&portal))),
    }
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
    let subject = if f.overdue > 0 {
        format!(
            "Reminder: {} overdue at {}",
            ctx.money(f.overdue),
            ctx.shop_name
        )
    } else {
        format!("Reminder: {balance} due at {}", ctx.shop_name)
    };
    let lines_text: String = f
        .dues
        .iter()
        .map(|d| {
            format!(
                "  - {}: {}{}\n",
                d.description,
                ctx.money(d.outstanding),
                d.due_date.map(|x| format!(", due {x}")).unwrap_or_default()
            )
        })
        .collect();
    let lines_html: String = f
        .dues
        .iter()
        .map(|d| {
            format!(
                "<tr><td style=\"padding:4px 12px 4px 0\">{}</td><td style=\"padding:4px 12px 4px 0\">{}</td><td style=\"padding:4px 0;text-align:right\">{}</td></tr>",
                escape(&d.description),
                d.due_date.map(|x| x.to_string()).unwrap_or_else(|| "—".to_string()),
                escape(&ctx.money(d.outstanding))
            )
        })
        .collect();
    let (pay_text, pay_html) = how_to_pay(ctx, f.balance);
    let overdue_text = if f.overdue > 0 {
        format!("Overdue now: {}.\n", ctx.money(f.overdue))
    } else {
        String::new()
    };
    let text = format!(
        "Hello {name},\n\nThis is a reminder from {shop} ({reason}).\n\nBalance due: {balance}.\n{overdue_text}\nOpen dues:\n{lines_text}\n{pay_text}\n\n\
         If you have already paid, thank you, and please ignore this message.{sig}",
        name = f.name,
        shop = ctx.shop_name,
        reason = f.reason,
        sig = signature(ctx)
    );
    let overdue_html = if f.overdue > 0 {
        format!(
            "<p style=\"color:#b42318\"><strong>Overdue now: {}</strong></p>",
            escape(&ctx.money(f.overdue))
        )
    } else {
        String::new()
    };
    let html = frame(
        ctx,
        "Payment reminder",
        &format!(
            "<p>Hello {name},</p><p>This is a reminder from {shop} ({reason}).</p>\
             <p style=\"font-size:18px\">Balance due: <strong>{balance}</strong></p>{overdue_html}\
             <table style=\"border-collapse:collapse;margin:12px 0\"><tr><th align=\"left\" style=\"padding:4px 12px 4px 0\">Due</th>\
             <th align=\"left\" style=\"padding:4px 12px 4px 0\">Due date</th><th align=\"right\" style=\"padding:4px 0\">Unpaid</th></tr>{lines_html}</table>\
             {pay_html}<p style=\"font-size:13px;color:#667085\">If you have already paid, thank you, and please ignore this message.</p>",
            name = escape(f.name),
            shop = escape(&ctx.shop_name),
            reason = escape(f.reason),
            balance = escape(&balance),
        ),
    );
    Composed {
        subject,
        text,
        html,
    }
}

/// A payment the customer reported was not confirmed by the shop.
pub fn payment_rejected(
    ctx: &MailContext,
    name: &str,
    amount: i64,
    paid_on: NaiveDate,
    reason: &str,
) -> Composed {
    let amount = ctx.money(amount);
    let subject = format!(
        "Your payment of {amount} was not confirmed by {}",
        ctx.shop_name
    );
    let text = format!(
        "Hello {name},\n\n{shop} could not confirm the payment of {amount} you reported on {paid_on}.\n\nReason: {reason}\n\n\
         Your balance has not changed. Please contact {shop} if you think this is a mistake.{sig}",
        shop = ctx.shop_name,
        sig = signature(ctx)
    );
    let html = frame(
        ctx,
        "Payment not confirmed",
        &format!(
            "<p>Hello {name},</p><p>{shop} could not confirm the payment of <strong>{amount}</strong> you reported on {paid_on}.</p>\
             <p>Reason: {reason}</p><p>Your balance has not changed. Please contact {shop} if you think this is a mistake.</p>",
            name = escape(name),
            shop = escape(&ctx.shop_name),
            amount = escape(&amount),
            reason = escape(reason),
        ),
    );
    Composed {
        subject,
        text,
        html,
    }
}

/// `what` says what changed, such as "your email address".
pub fn account_changed(ctx: &MailContext, name: &str, what: &str) -> Composed {
    let subject = format!("Your account at {} was changed", ctx.shop_name);
    let text = format!(
        "Hello {name},\n\n{what} on your account at {shop} was changed just now.\n\nIf you did not expect this, please contact {shop} straight away.{sig}",
        what = capitalise(what),
        shop = ctx.shop_name,
        sig = signature(ctx)
    );
    let html = frame(
        ctx,
        "Your account was changed",
        &format!(
            "<p>Hello {name},</p><p>{what} on your account at {shop} was changed just now.</p><p>If you did not expect this, please contact {shop} straight away.</p>",
            name = escape(name),
            what = escape(&capitalise(what)),
            shop = escape(&ctx.shop_name),
        ),
    );
    Composed {
        subject,
        text,
        html,
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

pub fn account_deleted(ctx: &MailContext, name: &str) -> Composed {
    let subject = format!("Your account at {} has been closed", ctx.shop_name);
    let text = format!(
        "Hello {name},\n\nYour account at {shop} has been closed and you can no longer sign in.\n\nThank you for your custom.{sig}",
        shop = ctx.shop_name,
        sig = signature(ctx)
    );
    let html = frame(
        ctx,
        "Account closed",
        &format!(
            "<p>Hello {name},</p><p>Your account at {shop} has been closed and you can no longer sign in.</p><p>Thank you for your custom.</p>",
            name = escape(name),
            shop = escape(&ctx.shop_name),
        ),
    );
    Composed {
        subject,
        text,
        html,
    }
}

/// A message written by staff; its body is plain text.
pub fn manual(ctx: &MailContext, name: &str, subject: &str, body: &str) -> Composed {
    let text = format!("Hello {name},\n\n{body}{sig}", sig = signature(ctx));
    let html = frame(
        ctx,
        subject,
        &format!("<p>Hello {},</p>{}", escape(name), paragraphs(body)),
    );
    Composed {
        subject: subject.to_string(),
        text,
        html,
    }
}

/// The owner's morning summary of the day before.
pub struct DigestFacts {
    pub day: NaiveDate,
    pub collected: i64,
    pub payments: i64,
    pub new_dues: i64,
    pub new_due_count: i64,
    pub total_outstanding: i64,
    pub total_overdue: i64,
    /// (customer name, amount now overdue)
    pub became_overdue: Vec<(String, i64)>,
}

pub fn digest(ctx: &MailContext, f: &DigestFacts) -> Composed {
    let subject = format!(
        "{}: {} collected on {}",
        ctx.shop_name,
        ctx.money(f.collected),
        f.day
    );
    let overdue_text: String = if f.became_overdue.is_empty() {
        "  nobody\n".to_string()
    } else {
        f.became_overdue
            .iter()
            .map(|(n, a)| format!("  - {n}: {}\n", ctx.money(*a)))
            .collect()
    };
    let text = format!(
        "Summary for {day}\n\nCollected: {collected} in {payments} payment(s)\nNew dues: {new} in {count} entr{ies}\n\
         Outstanding now: {outstanding} (overdue {overdue})\n\nBecame overdue:\n{overdue_text}\nOpen duetrack: {url}\n",
        day = f.day,
        collected = ctx.money(f.collected),
        payments = f.payments,
        new = ctx.money(f.new_dues),
        count = f.new_due_count,
        ies = if f.new_due_count == 1 { "y" } else { "ies" },
        outstanding = ctx.money(f.total_outstanding),
        overdue = ctx.money(f.total_overdue),
        url = ctx.base_url,
    );
    let overdue_html: String = if f.became_overdue.is_empty() {
        "<li>nobody</li>".to_string()
    } else {
        f.became_overdue
            .iter()
            .map(|(n, a)| format!("<li>{}: {}</li>", escape(n), escape(&ctx.money(*a))))
            .collect()
    };
    let html = frame(
        ctx,
        &format!("Summary for {}", f.day),
        &format!(
            "<table style=\"border-collapse:collapse;margin:12px 0\">\
             <tr><td style=\"padding:4px 12px 4px 0;color:#667085\">Collected</td><td><strong>{collected}</strong> in {payments} payment(s)</td></tr>\
             <tr><td style=\"padding:4px 12px 4px 0;color:#667085\">New dues</td><td>{new} in {count}</td></tr>\
             <tr><td style=\"padding:4px 12px 4px 0;color:#667085\">Outstanding now</td><td>{outstanding} (overdue {overdue})</td></tr></table>\
             <p>Became overdue:</p><ul>{overdue_html}</ul>",
            collected = escape(&ctx.money(f.collected)),
            payments = f.payments,
            new = escape(&ctx.money(f.new_dues)),
            count = f.new_due_count,
            outstanding = escape(&ctx.money(f.total_outstanding)),
            overdue = escape(&ctx.money(f.total_overdue)),
        ),
    );
    Composed {
        subject,
        text,
        html,
    }
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
                amount: 12_345_000,
                method: "upi",
                reference: Some("UTR42"),
                paid_on: NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(),
                balance_after: 50_000,
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
            outstanding: 10_000,
        }];
        let m = reminder(
            &ctx(),
            &ReminderFacts {
                name: "Asha",
                balance: 10_000,
                overdue: 10_000,
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
}
