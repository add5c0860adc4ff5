//! Customer accounts, roles and the defences around them: every route
//! against every kind of caller (read from the OpenAPI document, so a new
//! route cannot be left out), customers kept apart, throttling, CSRF,
//! revoked sessions, portal payments and closing an account.

use crate::helpers::link_token as token_from_outbox;
use crate::helpers::{
    ADMIN_PASSWORD, Backend, Reply, TestApp, spawn_app, spawn_app_with, with_smtp,
};
use crate::on_both_backends;
use crate::smtp::SmtpSink;
use serde_json::{Value, json};

on_both_backends!(
    every_route_admits_exactly_the_roles_it_declares,
    a_customer_never_sees_or_changes_another_customer,
    an_invitation_link_sets_a_password_once,
    a_customer_pays_part_and_staff_confirm_it,
    a_rejected_payment_leaves_the_balance_and_tells_the_customer,
    guessing_passwords_meets_a_lockout,
    cookie_sessions_need_the_csrf_token,
    changing_a_password_ends_the_other_sessions,
    an_account_is_closed_only_at_zero_balance,
    roles_limit_what_staff_can_do,
    passwords_from_the_original_system_still_work_and_are_upgraded,
    responses_carry_security_headers,
);

/// The token of the one-time link in a message.
fn link_token(mail: &crate::smtp::Received) -> String {
    let after = mail
        .text
        .split("token=")
        .nth(1)
        .expect("the message carries a link");
    after
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Completes a one-time link with `password`.
async fn choose_password(app: &TestApp, token: &str, password: &str) -> Reply {
    app.send(
        app.client
            .post(app.url("/api/v1/auth/set-password"))
            .json(&json!({"token": token, "password": password})),
    )
    .await
}

/// A customer who has set a password; returns (id, token).
async fn signed_in_customer(app: &TestApp, name: &str, email: &str, owes: &str) -> (i64, String) {
    let id = app
        .post("/api/v1/customers", json!({"name": name, "email": email}))
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    if owes != "0" {
        app.add_due(id, json!({"amount": owes})).await.ok(201);
    }
    let token = token_from_outbox(app, email).await;
    let set = app
        .send(
            app.client
                .post(app.url("/api/v1/auth/set-password"))
                .json(&json!({"token": token, "password": "mango tree by the well"})),
        )
        .await;
    set.ok(200);
    let session = app
        .login(email, "mango tree by the well")
        .await
        .expect("the customer signs in with the email");
    (id, session)
}

async fn staff_token(app: &TestApp, username: &str, role: &str) -> String {
    app.post(
        "/api/v1/staff",
        json!({"username": username, "password": "counter-key-4821", "role": role}),
    )
    .await
    .ok(201);
    app.login(username, "counter-key-4821").await.unwrap()
}

async fn as_who(
    app: &TestApp,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Value,
) -> Reply {
    let mut request = app
        .client
        .request(method.to_uppercase().parse().unwrap(), app.url(path))
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    app.send(request).await
}

async fn every_route_admits_exactly_the_roles_it_declares(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_a, customer_a) = signed_in_customer(&app, "Customer A", "a@example.com", "100").await;
    let (b, _) = signed_in_customer(&app, "Customer B", "b@example.com", "100").await;
    let staff = staff_token(&app, "counter", "staff").await;
    let admin = staff_token(&app, "manager", "admin").await;
    // Staff routes act on an account nobody signs in with.
    let spare = app
        .post(
            "/api/v1/staff",
            json!({"username": "spare", "password": "spare-key-3390", "role": "staff"}),
        )
        .await;
    let spare = spare.ok(201)["id"].as_i64().unwrap();
    let callers: [(&str, Option<&str>); 5] = [
        ("anonymous", None),
        ("customer", Some(&customer_a)),
        ("staff", Some(&staff)),
        ("admin", Some(&admin)),
        ("owner", Some(&app.token)),
    ];
    let spec = app
        .send(app.client.get(app.url("/api/v1/openapi.json")))
        .await;
    let paths = spec.ok(200)["paths"].as_object().unwrap().clone();
    let mut operations = Vec::new();
    for (path, item) in &paths {
        for method in ["get", "post", "patch", "put", "delete"] {
            if let Some(op) = item.get(method) {
                operations.push((path.clone(), method, op.clone()));
            }
        }
    }
    // Signing out ends the session the other checks use: do it last.
    operations.sort_by_key(|(path, ..)| path.ends_with("/logout"));
    let mut checked = 0;
    for (path, method, op) in operations {
        let security = op
            .get("security")
            .unwrap_or_else(|| panic!("{method} {path} does not declare who may call it"));
        let scopes: Vec<String> = security[0]
            .get("bearer")
            .map(|s| {
                s.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default();
        let public = security[0].as_object().is_some_and(|o| o.is_empty());
        let id = if path.starts_with("/api/v1/staff/") {
            spare
        } else {
            b
        };
        let concrete = path.replace("{id}", &id.to_string());
        for (who, token) in callers {
            let allowed = public
                || scopes.iter().any(|scope| match scope.as_str() {
                    "customer" => who == "customer",
                    "staff" => ["staff", "admin", "owner"].contains(&who),
                    "admin" => ["admin", "owner"].contains(&who),
                    "owner" => who == "owner",
                    other => panic!("{method} {path} declares an unknown scope {other}"),
                });
            let reply = as_who(&app, token, method, &concrete, json!({})).await;
            let status = reply.status.as_u16();
            if allowed {
                assert!(
                    ![401, 403].contains(&status),
                    "{who} may {method} {path}, got {status}: {}",
                    reply.body
                );
                assert!(
                    status < 500,
                    "{who} {method} {path}: {status} {}",
                    reply.body
                );
            } else {
                let expected = if token.is_none() { 401 } else { 403 };
                assert_eq!(
                    status, expected,
                    "{who} must not {method} {path}: {}",
                    reply.body
                );
                reply.problem(expected);
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 40 * 5,
        "only {checked} checks: is the OpenAPI document complete?"
    );
}

async fn a_customer_never_sees_or_changes_another_customer(backend: Backend) {
    let app = spawn_app(backend).await;
    let (a, token_a) = signed_in_customer(&app, "Asha", "asha@example.com", "300").await;
    let (b, _) = signed_in_customer(&app, "Bala", "bala@example.com", "700").await;
    let mine = as_who(&app, Some(&token_a), "get", "/api/v1/me", json!(null)).await;
    assert_eq!(mine.ok(200)["id"], a);
    assert_eq!(mine.body["balance"], "300.00");
    assert!(
        mine.body.get("notes").is_none(),
        "staff notes stay with staff"
    );
    for (method, path) in [
        ("get", format!("/api/v1/customers/{b}")),
        ("get", format!("/api/v1/customers/{b}/statement")),
        ("get", format!("/api/v1/customers/{b}/payments")),
        ("post", format!("/api/v1/customers/{b}/payments")),
        ("patch", format!("/api/v1/customers/{b}")),
        ("get", "/api/v1/customers".to_string()),
        ("get", "/api/v1/payments?status=pending".to_string()),
    ] {
        let reply = as_who(
            &app,
            Some(&token_a),
            method,
            &path,
            json!({"amount": "1", "email": "x@y.zz"}),
        )
        .await;
        reply.problem(403);
    }
    // A's statement and payments are A's alone.
    let statement = as_who(
        &app,
        Some(&token_a),
        "get",
        "/api/v1/me/statement",
        json!(null),
    )
    .await;
    assert_eq!(statement.ok(200)["customer_id"], a);
    assert_eq!(statement.body["closing_balance"], "300.00");
    assert_eq!(app.balance(b).await, "700.00");
    let pay = as_who(
        &app,
        Some(&token_a),
        "post",
        "/api/v1/me/payments",
        json!({"amount": "50", "customer_id": b}),
    )
    .await;
    assert_eq!(
        pay.ok(201)["customer_id"],
        a,
        "the customer comes from the session, never the body"
    );
}

async fn an_invitation_link_sets_a_password_once(backend: Backend) {
    let app = spawn_app(backend).await;
    app.post(
        "/api/v1/customers",
        json!({"name": "Chitra", "email": "chitra@example.com"}),
    )
    .await
    .ok(201);
    let token = token_from_outbox(&app, "chitra@example.com").await;
    let set = |password: &'static str, token: String| {
        app.send(
            app.client
                .post(app.url("/api/v1/auth/set-password"))
                .json(&json!({"token": token, "password": password})),
        )
    };
    assert_eq!(
        set("short", token.clone()).await.problem(422)["field"],
        "password"
    );
    assert_eq!(
        set("password123", token.clone()).await.problem(422)["code"],
        "weak_password"
    );
    let done = set("a long and quiet river", token.clone()).await;
    assert_eq!(done.ok(200)["username"], "chitra");
    assert_eq!(
        set("another long password", token.clone())
            .await
            .problem(400)["field"],
        "token",
        "used once"
    );
    set("another long password", "not-a-token".into())
        .await
        .problem(400);
    assert!(app.login("chitra", "a long and quiet river").await.is_ok());
    let by_email =
        app.send(app.client.post(app.url("/api/v1/auth/login")).json(
            &json!({"username": "Chitra@Example.com", "password": "a long and quiet river"}),
        ))
        .await;
    assert_eq!(by_email.ok(200)["role"], "customer");
}

async fn a_customer_pays_part_and_staff_confirm_it(backend: Backend) {
    let smtp = SmtpSink::start();
    let app = spawn_app_with(backend, with_smtp(smtp.port)).await;
    let c = app
        .post(
            "/api/v1/customers",
            json!({"name": "Devi", "email": "devi@example.com"}),
        )
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    app.add_due(c, json!({"amount": "1000"})).await.ok(201);
    let invitation = smtp.wait_for(1).await;
    let token = link_token(&invitation[0]);
    choose_password(&app, &token, "saffron and salt")
        .await
        .ok(200);
    let devi = app.login("devi", "saffron and salt").await.unwrap();

    let too_much = as_who(
        &app,
        Some(&devi),
        "post",
        "/api/v1/me/payments",
        json!({"amount": "1000.01", "method": "upi"}),
    )
    .await;
    assert_eq!(too_much.problem(422)["field"], "amount");
    let pending = as_who(
        &app,
        Some(&devi),
        "post",
        "/api/v1/me/payments",
        json!({"amount": "400", "method": "upi", "reference": "UTR55"}),
    )
    .await;
    let body = pending.ok(201).clone();
    assert_eq!(body["status"], "pending");
    let payment = body["id"].as_i64().unwrap();
    let me = as_who(&app, Some(&devi), "get", "/api/v1/me", json!(null)).await;
    assert_eq!(
        me.ok(200)["balance"],
        "1000.00",
        "the balance waits for staff"
    );
    assert_eq!(me.body["pending_payments"][0]["id"], payment);

    let queue = app.get("/api/v1/payments?status=pending").await;
    assert_eq!(queue.ok(200)["total"], 1);
    assert_eq!(queue.body["items"][0]["customer_name"], "Devi");
    let confirmed = app
        .post(&format!("/api/v1/payments/{payment}/confirm"), json!({}))
        .await;
    assert_eq!(confirmed.ok(200)["status"], "recorded");
    assert_eq!(confirmed.body["balance_after"], "600.00");
    app.post(&format!("/api/v1/payments/{payment}/confirm"), json!({}))
        .await
        .problem(409);
    let me = as_who(&app, Some(&devi), "get", "/api/v1/me", json!(null)).await;
    assert_eq!(me.ok(200)["balance"], "600.00");
    let mail = smtp.wait_for(2).await;
    let receipt = mail
        .iter()
        .find(|m| m.subject.starts_with("Receipt"))
        .expect("a receipt after confirmation");
    assert!(receipt.subject.contains("₹400.00"));
    let history = as_who(&app, Some(&devi), "get", "/api/v1/me/payments", json!(null)).await;
    assert_eq!(history.ok(200)["items"][0]["status"], "recorded");
}

async fn a_rejected_payment_leaves_the_balance_and_tells_the_customer(backend: Backend) {
    let smtp = SmtpSink::start();
    let app = spawn_app_with(backend, with_smtp(smtp.port)).await;
    let c = app
        .post(
            "/api/v1/customers",
            json!({"name": "Esha", "email": "esha@example.com"}),
        )
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    app.add_due(c, json!({"amount": "500"})).await.ok(201);
    let token = link_token(&smtp.wait_for(1).await[0]);
    choose_password(&app, &token, "monsoon evening tea")
        .await
        .ok(200);
    let esha = app
        .login("esha@example.com", "monsoon evening tea")
        .await
        .unwrap();
    let payment = as_who(
        &app,
        Some(&esha),
        "post",
        "/api/v1/me/payments",
        json!({"amount": "200", "reference": "fake"}),
    )
    .await
    .ok(201)["id"]
        .as_i64()
        .unwrap();
    app.post(
        &format!("/api/v1/payments/{payment}/reject"),
        json!({"reason": ""}),
    )
    .await
    .problem(422);
    let rejected = app
        .post(
            &format!("/api/v1/payments/{payment}/reject"),
            json!({"reason": "no such UPI transaction"}),
        )
        .await;
    assert_eq!(rejected.ok(200)["status"], "rejected");
    assert_eq!(app.balance(c).await, "500.00");
    let mail = smtp.wait_for(2).await;
    let notice = mail
        .iter()
        .find(|m| m.subject.contains("not confirmed"))
        .expect("the customer is told");
    assert!(notice.text.contains("no such UPI transaction"));
    let statement = app.get(&format!("/api/v1/customers/{c}/statement")).await;
    assert_eq!(
        statement.ok(200)["entries"].as_array().unwrap().len(),
        1,
        "a rejected report is not in the ledger"
    );
}

async fn guessing_passwords_meets_a_lockout(backend: Backend) {
    let app = spawn_app(backend).await;
    for _ in 0..5 {
        app.login("admin", "wrong guess")
            .await
            .unwrap_err()
            .problem(401);
    }
    let locked = app.login("admin", ADMIN_PASSWORD).await.unwrap_err();
    locked.problem(429);
    let retry: i64 = locked
        .headers
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 15 * 60, "{retry}");
    // The lockout is per account: another account still signs in.
    let other = app
        .post(
            "/api/v1/staff",
            json!({"username": "helper", "password": "copper kettle 77", "role": "staff"}),
        )
        .await;
    other.ok(201);
    assert!(app.login("helper", "copper kettle 77").await.is_ok());
    let log = app.get("/api/v1/signins?username=admin&per_page=100").await;
    let reasons: Vec<_> = log.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reason"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(reasons.iter().filter(|r| *r == "bad_password").count(), 5);
    assert_eq!(reasons[0], "throttled");
    assert!(
        log.body["items"][0]["address"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1")
    );
    let failures = app.get("/api/v1/signins?success=false").await;
    assert!(failures.ok(200)["total"].as_i64().unwrap() >= 6);
    app.get("/api/v1/signins?success=maybe").await.problem(400);
}

async fn cookie_sessions_need_the_csrf_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, _) = signed_in_customer(&app, "Farid", "farid@example.com", "100").await;
    let login = app
        .send(
            app.client
                .post(app.url("/api/v1/auth/login"))
                .json(&json!({"username": "farid", "password": "mango tree by the well"})),
        )
        .await;
    let csrf = login.ok(200)["csrf_token"].as_str().unwrap().to_string();
    let cookies: Vec<String> = login
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("duetrack_session="))
        .unwrap();
    assert!(
        session.contains("HttpOnly")
            && session.contains("SameSite=Lax")
            && !session.contains("Secure"),
        "{session}"
    );
    let cookie = session.split(';').next().unwrap().to_string();
    let me = app
        .send(
            app.client
                .get(app.url("/api/v1/me"))
                .header("cookie", &cookie),
        )
        .await;
    assert_eq!(me.ok(200)["username"], "farid");
    let forged = app
        .send(
            app.client
                .post(app.url("/api/v1/me/payments"))
                .header("cookie", &cookie)
                .json(&json!({"amount": "10"})),
        )
        .await;
    assert_eq!(forged.problem(403)["code"], "csrf");
    let wrong = app
        .send(
            app.client
                .post(app.url("/api/v1/me/payments"))
                .header("cookie", &cookie)
                .header("x-csrf-token", "guess")
                .json(&json!({"amount": "10"})),
        )
        .await;
    assert_eq!(wrong.problem(403)["code"], "csrf");
    let good = app
        .send(
            app.client
                .post(app.url("/api/v1/me/payments"))
                .header("cookie", &cookie)
                .header("x-csrf-token", &csrf)
                .json(&json!({"amount": "10"})),
        )
        .await;
    assert_eq!(good.ok(201)["status"], "pending");
}

async fn changing_a_password_ends_the_other_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, first) = signed_in_customer(&app, "Gita", "gita@example.com", "0").await;
    let second = app.login("gita", "mango tree by the well").await.unwrap();
    let wrong = as_who(
        &app,
        Some(&first),
        "post",
        "/api/v1/me/password",
        json!({"current_password": "nope", "new_password": "river stones 42"}),
    )
    .await;
    assert_eq!(wrong.problem(422)["field"], "current_password");
    let weak = as_who(
        &app,
        Some(&first),
        "post",
        "/api/v1/me/password",
        json!({"current_password": "mango tree by the well", "new_password": "12345678"}),
    )
    .await;
    assert_eq!(weak.problem(422)["field"], "new_password");
    let changed = as_who(
        &app,
        Some(&first),
        "post",
        "/api/v1/me/password",
        json!({"current_password": "mango tree by the well", "new_password": "river stones 42"}),
    )
    .await;
    assert_eq!(changed.status.as_u16(), 204);
    as_who(&app, Some(&second), "get", "/api/v1/me", json!(null))
        .await
        .problem(401);
    as_who(&app, Some(&first), "get", "/api/v1/me", json!(null))
        .await
        .ok(200);
    assert!(app.login("gita", "mango tree by the well").await.is_err());
    assert!(app.login("gita", "river stones 42").await.is_ok());
    // Logging out revokes the token.
    as_who(
        &app,
        Some(&first),
        "post",
        "/api/v1/auth/logout",
        json!(null),
    )
    .await;
    as_who(&app, Some(&first), "get", "/api/v1/me", json!(null))
        .await
        .problem(401);
}

async fn an_account_is_closed_only_at_zero_balance(backend: Backend) {
    let smtp = SmtpSink::start();
    let app = spawn_app_with(backend, with_smtp(smtp.port)).await;
    let c = app
        .post(
            "/api/v1/customers",
            json!({"name": "Hema", "email": "hema@example.com"}),
        )
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    app.add_due(c, json!({"amount": "250"})).await.ok(201);
    let token = link_token(&smtp.wait_for(1).await[0]);
    choose_password(&app, &token, "jasmine on the gate")
        .await
        .ok(200);
    let hema = app.login("hema", "jasmine on the gate").await.unwrap();
    let refused = as_who(&app, Some(&hema), "delete", "/api/v1/me", json!(null)).await;
    let problem = refused.problem(409);
    assert!(
        problem["detail"].as_str().unwrap().contains("250.00"),
        "{problem}"
    );
    app.pay(c, json!({"amount": "250"})).await.ok(201);
    let closed = as_who(&app, Some(&hema), "delete", "/api/v1/me", json!(null)).await;
    assert_eq!(closed.ok(200)["status"], "closed");
    as_who(&app, Some(&hema), "get", "/api/v1/me", json!(null))
        .await
        .problem(401);
    assert!(
        app.login("hema", "jasmine on the gate").await.is_err(),
        "sign-in is disabled"
    );
    let mail = smtp.wait_for(3).await;
    assert!(
        mail.iter()
            .any(|m| m.to == "hema@example.com" && m.subject.contains("closed")),
        "{mail:?}"
    );
    let deleted = app.get("/api/v1/customers?status=deleted").await;
    assert_eq!(deleted.ok(200)["total"], 1);
}

async fn roles_limit_what_staff_can_do(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.customer("Iqbal").await;
    let due = app.add_due(c, json!({"amount": "10"})).await.ok(201)["id"]
        .as_i64()
        .unwrap();
    let staff = staff_token(&app, "clerk", "staff").await;
    let admin = staff_token(&app, "boss", "admin").await;
    // Staff record; only admins void, edit or delete.
    as_who(
        &app,
        Some(&staff),
        "post",
        &format!("/api/v1/customers/{c}/payments"),
        json!({"amount": "1"}),
    )
    .await
    .ok(201);
    as_who(
        &app,
        Some(&staff),
        "post",
        &format!("/api/v1/dues/{due}/void"),
        json!({"reason": "x"}),
    )
    .await
    .problem(403);
    as_who(
        &app,
        Some(&staff),
        "patch",
        &format!("/api/v1/customers/{c}"),
        json!({"notes": "x"}),
    )
    .await
    .problem(403);
    as_who(&app, Some(&staff), "get", "/api/v1/staff", json!(null))
        .await
        .problem(403);
    as_who(
        &app,
        Some(&admin),
        "post",
        &format!("/api/v1/dues/{due}/void"),
        json!({"reason": "typo"}),
    )
    .await
    .ok(200);
    // Admins manage staff below the owner.
    let made = as_who(
        &app,
        Some(&admin),
        "post",
        "/api/v1/staff",
        json!({"username": "second", "password": "blue door 9910", "role": "staff"}),
    )
    .await;
    let second = made.ok(201)["id"].as_i64().unwrap();
    as_who(
        &app,
        Some(&admin),
        "post",
        "/api/v1/staff",
        json!({"username": "usurper", "password": "blue door 9910", "role": "owner"}),
    )
    .await
    .problem(403);
    as_who(
        &app,
        Some(&admin),
        "patch",
        "/api/v1/staff/1",
        json!({"role": "staff"}),
    )
    .await
    .problem(403);
    as_who(
        &app,
        Some(&admin),
        "delete",
        &format!("/api/v1/staff/{second}"),
        json!(null),
    )
    .await
    .ok(200);
    assert!(
        app.login("second", "blue door 9910").await.is_err(),
        "a deleted account cannot sign in"
    );
    // The owner cannot remove the last owner.
    app.patch("/api/v1/staff/1", json!({"role": "admin"}))
        .await
        .problem(409);
    let taken = app
        .post(
            "/api/v1/staff",
            json!({"username": "iqbal", "password": "blue door 9910", "role": "staff"}),
        )
        .await;
    assert_eq!(
        taken.problem(409)["field"],
        "username",
        "customer and staff names never clash"
    );
    let weak = app
        .post(
            "/api/v1/staff",
            json!({"username": "weakling", "password": "qwerty123", "role": "staff"}),
        )
        .await;
    assert_eq!(weak.problem(422)["field"], "password");
}

async fn passwords_from_the_original_system_still_work_and_are_upgraded(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.customer("Jaya").await;
    let mut derived = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(b"old khata pass", b"Xy12Ab34", 600_000, &mut derived);
    let legacy = format!("pbkdf2:sha256:600000$Xy12Ab34${}", hex::encode(derived));
    crate::cli::tamper_app(
        &app,
        backend,
        &format!("UPDATE customers SET password_hash = '{legacy}' WHERE id = {c}"),
    )
    .await;
    assert!(app.login("jaya", "wrong").await.is_err());
    assert!(app.login("jaya", "old khata pass").await.is_ok());
    let stored = crate::cli::read_text(
        &app,
        backend,
        &format!("SELECT password_hash FROM customers WHERE id = {c}"),
    )
    .await;
    assert!(
        stored.starts_with("$argon2id$"),
        "upgraded at the first sign-in: {stored}"
    );
    assert!(app.login("jaya", "old khata pass").await.is_ok());

    // werkzeug 2.3 and later hash with scrypt by default. Made with werkzeug 3:
    // generate_password_hash("old secret", method="scrypt:1024:8:1", salt_length=8)
    let c = app.customer("Ravi").await;
    crate::cli::tamper_app(
        &app,
        backend,
        &format!("UPDATE customers SET password_hash = 'scrypt:1024:8:1$brnfZEeQ$27b8e856f4c99590087528932538c77a48aaa9b771b5314b3e41b5af384f4513b32fff5f9ede0bfca0d5f4faef69e4097ae8667dbf91772d412f7e42e42f928d' WHERE id = {c}"),
    )
    .await;
    assert!(app.login("ravi", "old khata pass").await.is_err());
    assert!(app.login("ravi", "old secret").await.is_ok());
    let stored = crate::cli::read_text(
        &app,
        backend,
        &format!("SELECT password_hash FROM customers WHERE id = {c}"),
    )
    .await;
    assert!(stored.starts_with("$argon2id$"), "upgraded: {stored}");
}

async fn responses_carry_security_headers(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in [
        "/healthz",
        "/api/v1/customers",
        "/api/v1/docs",
        "/no/such/page",
    ] {
        let reply = app.get(path).await;
        let h = &reply.headers;
        let csp = h.get("content-security-policy").unwrap().to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline")
                && csp.contains("frame-ancestors 'none'"),
            "{csp}"
        );
        assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff");
        assert_eq!(h.get("x-frame-options").unwrap(), "DENY");
        assert_eq!(h.get("referrer-policy").unwrap(), "no-referrer");
        assert!(
            h.get("strict-transport-security").is_none(),
            "no HSTS over plain http"
        );
    }
    let https = spawn_app_with(backend, |s| {
        s.base_url = Some("https://khata.example".into())
    })
    .await;
    let reply = https.get("/healthz").await;
    assert!(reply.headers.get("strict-transport-security").is_some());
    let login = https
        .send(
            https
                .client
                .post(https.url("/api/v1/auth/login"))
                .json(&json!({"username": "admin", "password": ADMIN_PASSWORD})),
        )
        .await;
    let cookie = login.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");
    // Internal errors never show their cause; bad input never reaches one.
    let reply = app
        .post_raw(
            "/api/v1/customers",
            "application/json",
            "{\"name\": \"\\ud800\"}",
        )
        .await;
    assert!(reply.status.is_client_error(), "{}", reply.status);
}
