//! Guesses fired all at once at one account from one address, through the
//! API and the sign-in form, on two nodes sharing one database: no more
//! passwords are checked than the lockout allows, and once the limit is
//! reached even the right password is refused.

use crate::helpers::{Backend, TestApp, link_token, spawn_app};
use crate::on_both_backends;
use serde_json::json;
use std::sync::Arc;
use tokio::sync::{Barrier, watch};

on_both_backends!(
    a_burst_of_wrong_passwords_on_two_nodes_gets_five_checks,
    a_burst_at_the_sign_in_form_gets_five_checks,
);

/// Failed sign-ins on one account before it is locked.
const LIMIT: usize = 5;
const STAFF_PASSWORD: &str = "copper kettle 77";
const CUSTOMER_PASSWORD: &str = "mango tree by the well";

/// One answer to a sign-in: the status, and Retry-After when there is one.
struct Answer {
    status: u16,
    retry_after: Option<i64>,
}

async fn api_login(client: &reqwest::Client, url: &str, username: &str, password: &str) -> Answer {
    let response = client
        .post(url)
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .expect("the node answers");
    Answer {
        status: response.status().as_u16(),
        retry_after: response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok()),
    }
}

fn login_url(node: &TestApp) -> String {
    node.url("/api/v1/auth/login")
}

async fn a_burst_of_wrong_passwords_on_two_nodes_gets_five_checks(backend: Backend) {
    let app = spawn_app(backend).await;
    let other = app.another_node(|_| {}).await;
    app.post(
        "/api/v1/staff",
        json!({"username": "helper", "password": STAFF_PASSWORD, "role": "staff"}),
    )
    .await
    .ok(201);

    // 50 wrong passwords, half on each node, released together. The right
    // password goes as soon as one guess has been refused for the lockout,
    // while the rest of the burst is still in flight.
    let wrong = 50;
    let start = Arc::new(Barrier::new(wrong));
    let (locked_tx, mut locked_rx) = watch::channel(false);
    let locked_tx = Arc::new(locked_tx);
    let mut guesses = Vec::new();
    for i in 0..wrong {
        let node = if i % 2 == 0 { &app } else { &other };
        let (client, url) = (node.client.clone(), login_url(node));
        let (start, locked_tx) = (start.clone(), locked_tx.clone());
        guesses.push(tokio::spawn(async move {
            start.wait().await;
            let answer = api_login(&client, &url, "helper", &format!("guess {i}")).await;
            if answer.status == 429 {
                locked_tx.send_replace(true);
            }
            answer
        }));
    }
    let (client, url) = (other.client.clone(), login_url(&other));
    let right = tokio::spawn(async move {
        locked_rx.wait_for(|locked| *locked).await.unwrap();
        api_login(&client, &url, "helper", STAFF_PASSWORD).await
    });
    let mut answers = Vec::new();
    for guess in guesses {
        answers.push(guess.await.unwrap());
    }
    let checked = answers.iter().filter(|a| a.status == 401).count();
    let throttled = answers.iter().filter(|a| a.status == 429).count();
    assert_eq!(
        (checked, throttled),
        (LIMIT, wrong - LIMIT),
        "of {wrong} concurrent guesses, only {LIMIT} have their password checked"
    );
    for a in answers.iter().filter(|a| a.status == 429) {
        assert!(a.retry_after.is_some_and(|s| (1..=15 * 60).contains(&s)));
    }
    let right = right.await.unwrap();
    assert_eq!(
        right.status, 429,
        "the right password waits out the lockout"
    );
    assert!(right.retry_after.is_some_and(|s| s > 0));

    // Both nodes see the same count afterwards, whichever face is used.
    for node in [&app, &other] {
        let again = api_login(&node.client, &login_url(node), "helper", STAFF_PASSWORD).await;
        assert_eq!(again.status, 429);
    }
    let (form_cookie, form_token) = crate::helpers::login_form(&other.client, &other).await;
    let page = other
        .client
        .post(other.url("/login"))
        .header("cookie", form_cookie)
        .form(&[
            ("username", "helper"),
            ("password", STAFF_PASSWORD),
            ("next", ""),
            ("form_token", form_token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200, "no redirect into the console");
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Too many failed attempts")
    );

    // The sign-in log tells the same story: five passwords checked, every
    // other attempt refused for the lockout, nothing left in progress.
    let log = app
        .get("/api/v1/signins?username=helper&per_page=100")
        .await;
    let reasons: Vec<String> = log.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reason"].as_str().unwrap().to_string())
        .collect();
    let count = |reason: &str| reasons.iter().filter(|r| *r == reason).count();
    assert_eq!(count("bad_password"), LIMIT);
    assert_eq!(count("throttled"), wrong - LIMIT + 4);
    assert_eq!(count("in_progress"), 0);
    assert_eq!(count("ok"), 0);
}

async fn a_burst_at_the_sign_in_form_gets_five_checks(backend: Backend) {
    let app = spawn_app(backend).await;
    let other = app.another_node(|_| {}).await;
    let email = "asha@example.com";
    app.post(
        "/api/v1/customers",
        json!({"name": "Asha Rao", "email": email}),
    )
    .await
    .ok(201);
    let token = link_token(&app, email).await;
    app.send(
        app.client
            .post(app.url("/api/v1/auth/set-password"))
            .json(&json!({"token": token, "password": CUSTOMER_PASSWORD})),
    )
    .await
    .ok(200);

    let wrong = 30;
    let start = Arc::new(Barrier::new(wrong + 1));
    let mut tries = Vec::new();
    for i in 0..=wrong {
        let node = if i % 2 == 0 { &app } else { &other };
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let (url, start) = (node.url("/login"), start.clone());
        let (form_cookie, form_token) = crate::helpers::login_form(&client, node).await;
        // The last one is the customer, with the right password, in the burst.
        let password = if i == wrong {
            CUSTOMER_PASSWORD.to_string()
        } else {
            format!("guess {i}")
        };
        tries.push(tokio::spawn(async move {
            start.wait().await;
            let reply = client
                .post(url)
                .header("cookie", form_cookie)
                .form(&[
                    ("username", email),
                    ("password", password.as_str()),
                    ("next", ""),
                    ("form_token", form_token.as_str()),
                ])
                .send()
                .await
                .unwrap();
            let redirected = reply.status().is_redirection();
            let text = reply.text().await.unwrap();
            (i == wrong, redirected, text)
        }));
    }
    let mut checked = 0;
    let mut throttled = 0;
    let mut right_got_in = false;
    for attempt in tries {
        let (right, redirected, text) = attempt.await.unwrap();
        if right {
            right_got_in = redirected;
        }
        if text.contains("do not match") {
            checked += 1;
        } else if text.contains("Too many failed attempts") {
            throttled += 1;
        }
    }
    // The customer's right password may have been among the first five
    // through, and then it signs in (and starts the count again); otherwise
    // it is refused with the rest.
    if right_got_in {
        assert!(checked <= 2 * LIMIT, "{checked} wrong passwords checked");
        assert_eq!(checked + throttled, wrong);
    } else {
        assert_eq!((checked, throttled), (LIMIT, wrong + 1 - LIMIT));
    }
    if !right_got_in {
        let after = api_login(&app.client, &login_url(&app), email, CUSTOMER_PASSWORD).await;
        assert_eq!(after.status, 429);
    }
}
