//! The dashboard's maintained figures stay exact through every kind of
//! write: after each step they are compared with the same figures worked
//! out here from the customer, due and payment lists. And a session ended
//! on this node stops working at once, however recently it was used.

use crate::helpers::{Backend, TestApp, link_token, spawn_app};
use crate::on_both_backends;
use chrono::{Datelike, Days, NaiveDate};
use serde_json::{Value, json};

on_both_backends!(
    dashboard_figures_match_the_ledger_after_every_kind_of_write,
    a_session_ended_stops_working_at_once,
);

/// "1234.50" or "-3.00" in minor units.
fn minor(v: &Value) -> i64 {
    let s = v.as_str().unwrap_or_else(|| panic!("an amount, not {v}"));
    let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
    let (whole, frac) = s.split_once('.').unwrap_or((s, "00"));
    let n = whole.parse::<i64>().unwrap() * 100 + frac.parse::<i64>().unwrap();
    if neg { -n } else { n }
}

fn date(v: &Value) -> Option<NaiveDate> {
    v.as_str().map(|s| s.parse().unwrap())
}

async fn all_customers(app: &TestApp, status: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for page in 1.. {
        let reply = app
            .get(&format!(
                "/api/v1/customers?status={status}&per_page=100&page={page}"
            ))
            .await;
        let items = reply.ok(200)["items"].as_array().unwrap().clone();
        let total = reply.body["total"].as_i64().unwrap();
        out.extend(items.iter().cloned());
        if items.is_empty() || out.len() as i64 >= total {
            assert_eq!(out.len() as i64, total, "the count of {status} customers");
            break;
        }
    }
    out
}

/// Works the dashboard's figures out from the lists and compares them with
/// what the dashboard says.
async fn figures_agree(app: &TestApp, step: &str) {
    let dashboard = app.get("/api/v1/dashboard").await.ok(200).clone();
    let today = date(&dashboard["as_of"]).unwrap();
    let active = all_customers(app, "active").await;
    let deleted = all_customers(app, "deleted").await;

    let (mut outstanding, mut credit) = (0, 0);
    let mut ageing = [0i64; 5];
    let mut overdue_total = 0;
    let (mut paid_n, mut partial_n, mut unpaid_n, mut overdue_n) = (0, 0, 0, 0);
    let (mut collected_today, mut collected_month, mut collected_30, mut sales_90) = (0, 0, 0, 0);
    let mut overdue_of = std::collections::HashMap::new();
    for (c, is_active) in active
        .iter()
        .map(|c| (c, true))
        .chain(deleted.iter().map(|c| (c, false)))
    {
        let id = c["id"].as_i64().unwrap();
        let dues = app.get(&format!("/api/v1/customers/{id}/dues")).await;
        let payments = app.get(&format!("/api/v1/customers/{id}/payments")).await;
        let (mut has_partial, mut overdue) = (false, 0);
        for d in dues.ok(200)["items"].as_array().unwrap() {
            let status = d["status"].as_str().unwrap();
            let issued = date(&d["issue_date"]).unwrap();
            if status != "void" && issued > today - Days::new(90) && issued <= today {
                sales_90 += minor(&d["amount"]);
            }
            if !is_active || !(status == "open" || status == "partial") {
                continue;
            }
            has_partial |= status == "partial";
            let open = minor(&d["amount"]) - minor(&d["paid"]);
            let days = date(&d["due_date"]).map_or(0, |due| (today - due).num_days());
            let bucket = match days {
                d if d <= 0 => 0,
                1..=30 => 1,
                31..=60 => 2,
                61..=90 => 3,
                _ => 4,
            };
            ageing[bucket] += open;
            if days > 0 {
                overdue += open;
            }
        }
        for p in payments.ok(200)["items"].as_array().unwrap() {
            if p["status"] != "recorded" {
                continue;
            }
            let on = date(&p["date"]).unwrap();
            let amount = minor(&p["amount"]);
            if on == today {
                collected_today += amount;
            }
            if on <= today && on.year() == today.year() && on.month() == today.month() {
                collected_month += amount;
            }
            if on <= today && on > today - Days::new(30) {
                collected_30 += amount;
            }
        }
        if !is_active {
            continue;
        }
        overdue_of.insert(id, overdue);
        overdue_total += overdue;
        let balance = minor(&c["balance"]);
        if balance > 0 {
            outstanding += balance;
        } else {
            credit -= balance;
        }
        if balance <= 0 {
            paid_n += 1;
        } else if overdue > 0 {
            overdue_n += 1;
        } else if has_partial {
            partial_n += 1;
        } else {
            unpaid_n += 1;
        }
    }

    let d = &dashboard;
    let said = |k: &str| minor(&d[k]);
    assert_eq!(
        said("total_outstanding"),
        outstanding,
        "{step}: outstanding"
    );
    assert_eq!(said("total_credit"), credit, "{step}: credit");
    assert_eq!(said("total_overdue"), overdue_total, "{step}: overdue");
    assert_eq!(
        said("collected_today"),
        collected_today,
        "{step}: collected today"
    );
    assert_eq!(
        said("collected_this_month"),
        collected_month,
        "{step}: this month"
    );
    assert_eq!(d["active_customers"], active.len() as i64, "{step}: active");
    let by = &d["customers_by_status"];
    assert_eq!(
        [&by["paid"], &by["partial"], &by["unpaid"], &by["overdue"]].map(|v| v.as_i64().unwrap()),
        [paid_n, partial_n, unpaid_n, overdue_n],
        "{step}: customers by status (paid, partial, unpaid, overdue)"
    );
    let a = &d["ageing"];
    assert_eq!(
        [
            "current",
            "days_1_30",
            "days_31_60",
            "days_61_90",
            "days_over_90"
        ]
        .map(|k| minor(&a[k])),
        ageing,
        "{step}: ageing"
    );
    let by_day: i64 = d["collections_by_day"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| minor(&p["amount"]))
        .sum();
    assert_eq!(by_day, collected_30, "{step}: collections by day");
    let dso = (sales_90 > 0).then(|| outstanding * 90 / sales_90);
    assert_eq!(d["days_sales_outstanding"].as_i64(), dso, "{step}: DSO");
    for debtor in d["top_debtors"].as_array().unwrap() {
        let id = debtor["customer_id"].as_i64().unwrap();
        assert_eq!(
            minor(&debtor["overdue"]),
            overdue_of[&id],
            "{step}: debtor {id}"
        );
    }
    // The web dashboard reads the same figures.
    let page = app
        .client
        .get(app.url("/dashboard"))
        .header("cookie", format!("duetrack_session={}", app.token))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200, "{step}: the web dashboard");
}

async fn dashboard_figures_match_the_ledger_after_every_kind_of_write(backend: Backend) {
    let app = spawn_app(backend).await;
    figures_agree(&app, "empty").await;
    let today = date(&app.get("/api/v1/dashboard").await.ok(200)["as_of"]).unwrap();
    let day = |back: i64| {
        if back >= 0 {
            (today - Days::new(back as u64)).to_string()
        } else {
            (today + Days::new((-back) as u64)).to_string()
        }
    };
    let asha = app.customer("Asha Rao").await;
    let bala = app.customer("Bala Iyer").await;
    let chitra = app.customer("Chitra Nair").await;
    let dev = app.customer("Dev Shah").await;
    figures_agree(&app, "customers").await;

    app.add_due(
        asha,
        json!({"amount": "1000", "issue_date": day(70), "due_date": day(40)}),
    )
    .await
    .ok(201);
    app.add_due(
        asha,
        json!({"amount": "500", "issue_date": day(5), "due_date": day(-10)}),
    )
    .await
    .ok(201);
    app.add_due(bala, json!({"amount": "300"})).await.ok(201);
    app.add_due(
        chitra,
        json!({"amount": "200.25", "issue_date": day(120), "due_date": day(95)}),
    )
    .await
    .ok(201);
    app.add_due(
        chitra,
        json!({"amount": "80", "issue_date": day(20), "due_date": day(15)}),
    )
    .await
    .ok(201);
    let dev_due = app
        .add_due(
            dev,
            json!({"amount": "60", "issue_date": day(50), "due_date": day(45)}),
        )
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    figures_agree(&app, "dues").await;

    // Fully pays the oldest due and part of the next: a part-paid due.
    app.pay(asha, json!({"amount": "1200", "method": "cash"}))
        .await
        .ok(201);
    // More than owed: credit.
    app.pay(
        bala,
        json!({"amount": "400", "method": "upi", "date": day(1), "advance": true}),
    )
    .await
    .ok(201);
    let chitra_paid = app
        .pay(chitra, json!({"amount": "50", "method": "upi"}))
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    figures_agree(&app, "payments").await;

    app.post(
        &format!("/api/v1/payments/{chitra_paid}/void"),
        json!({"reason": "bounced"}),
    )
    .await
    .ok(200);
    app.post(
        &format!("/api/v1/dues/{dev_due}/void"),
        json!({"reason": "wrong customer"}),
    )
    .await
    .ok(200);
    figures_agree(&app, "voids").await;

    // A payment the customer reports, confirmed by staff, and one rejected.
    let email = "esha@example.com";
    let esha = app
        .post(
            "/api/v1/customers",
            json!({"name": "Esha Das", "email": email}),
        )
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    app.add_due(
        esha,
        json!({"amount": "900", "issue_date": day(10), "due_date": day(3)}),
    )
    .await
    .ok(201);
    let link = link_token(&app, email).await;
    app.send(
        app.client
            .post(app.url("/api/v1/auth/set-password"))
            .json(&json!({"token": link, "password": "a long and quiet river"})),
    )
    .await
    .ok(200);
    let esha_token = app.login(email, "a long and quiet river").await.unwrap();
    let mut reported = Vec::new();
    for amount in ["250", "100"] {
        let reply = app
            .send(
                app.client
                    .post(app.url("/api/v1/me/payments"))
                    .bearer_auth(&esha_token)
                    .json(&json!({"amount": amount, "method": "upi"})),
            )
            .await;
        reported.push(reply.ok(201)["id"].as_i64().unwrap());
    }
    figures_agree(&app, "reported").await;
    app.post(
        &format!("/api/v1/payments/{}/confirm", reported[0]),
        json!({}),
    )
    .await
    .ok(200);
    app.post(
        &format!("/api/v1/payments/{}/reject", reported[1]),
        json!({"reason": "not received"}),
    )
    .await
    .ok(200);
    figures_agree(&app, "confirmed and rejected").await;

    // A customer deleted takes their open dues out of the figures; restored, back in.
    app.delete(&format!(
        "/api/v1/customers/{chitra}?force=true&reason=moved+away"
    ))
    .await
    .ok(200);
    figures_agree(&app, "deleted").await;
    app.post(&format!("/api/v1/customers/{chitra}/restore"), json!({}))
        .await
        .ok(200);
    figures_agree(&app, "restored").await;
}

async fn a_session_ended_stops_working_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    // A second sign-in of the owner, used until the moment it ends.
    let other = app
        .login("admin", crate::helpers::ADMIN_PASSWORD)
        .await
        .unwrap();
    let get = |token: &str| {
        app.send(
            app.client
                .get(app.url("/api/v1/customers"))
                .bearer_auth(token),
        )
    };
    get(&other).await.ok(200);
    get(&other).await.ok(200);
    let out = app
        .send(
            app.client
                .post(app.url("/api/v1/auth/logout"))
                .bearer_auth(&other),
        )
        .await;
    assert_eq!(out.status.as_u16(), 204);
    get(&other).await.problem(401);
    // The first session is untouched.
    get(&app.token).await.ok(200);

    // A staff member disabled is out at once, though just seen.
    let created = app
        .post(
            "/api/v1/staff",
            json!({"username": "ravi", "password": "a long and quiet river", "role": "staff"}),
        )
        .await;
    let ravi_id = created.ok(201)["id"].as_i64().unwrap();
    let ravi = app.login("ravi", "a long and quiet river").await.unwrap();
    get(&ravi).await.ok(200);
    app.delete(&format!("/api/v1/staff/{ravi_id}")).await;
    get(&ravi).await.problem(401);
}
