//! `/metrics` over real HTTP: latency per route pattern after a request,
//! the database pools' use and the outbox's depth and age.

use crate::helpers::{Backend, TestApp, spawn_app};
use crate::on_both_backends;
use serde_json::json;

on_both_backends!(
    a_request_shows_in_the_histogram_of_its_route_pattern,
    the_pools_and_the_outbox_are_gauged,
);

/// The scrape, as text.
async fn scrape(app: &TestApp) -> String {
    let response = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("the scrape answers");
    assert_eq!(response.status(), 200);
    assert!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/plain")),
    );
    response.text().await.expect("a text body")
}

/// The value of the sample named `name` whose labels include every one of
/// `labels` (each as `key="value"`).
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
                && labels.iter().all(|label| l.contains(label))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn a_request_shows_in_the_histogram_of_its_route_pattern(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.customer("Asha Traders").await;
    let before = sample(
        &scrape(&app).await,
        "duetrack_http_request_duration_seconds_count",
        &[
            r#"route="/api/v1/customers/{id}""#,
            r#"method="GET""#,
            r#"class="2xx""#,
        ],
    )
    .unwrap_or(0.0);
    app.get(&format!("/api/v1/customers/{id}")).await.ok(200);
    app.get(&format!("/api/v1/customers/{id}")).await.ok(200);
    let text = scrape(&app).await;
    let after = sample(
        &text,
        "duetrack_http_request_duration_seconds_count",
        &[
            r#"route="/api/v1/customers/{id}""#,
            r#"method="GET""#,
            r#"class="2xx""#,
        ],
    )
    .expect("the route's histogram is rendered");
    // Other tests in this process share the recorder: at least our two.
    assert!(after >= before + 2.0, "{before} -> {after}");
    assert!(
        text.contains("# TYPE duetrack_http_request_duration_seconds histogram"),
        "a histogram with buckets, not a summary"
    );
    assert!(
        sample(
            &text,
            "duetrack_http_request_duration_seconds_bucket",
            &[r#"route="/api/v1/customers/{id}""#, r#"le="+Inf""#],
        )
        .is_some_and(|n| n >= 2.0)
    );
    // The raw path never becomes a label: ids would explode the series.
    assert!(
        !text.contains(&format!("route=\"/api/v1/customers/{id}\"")),
        "{text}"
    );
    // A path no route matches is counted under one label.
    app.client
        .get(app.url("/no/such/page/12345"))
        .send()
        .await
        .unwrap();
    let text = scrape(&app).await;
    assert!(!text.contains("12345"));
    assert!(
        sample(
            &text,
            "duetrack_http_request_duration_seconds_count",
            &[r#"route="unmatched""#, r#"class="4xx""#],
        )
        .is_some_and(|n| n >= 1.0)
    );
    assert!(
        sample(&text, "duetrack_http_responses_total", &[r#"class="2xx""#])
            .is_some_and(|n| n >= 2.0)
    );
}

async fn the_pools_and_the_outbox_are_gauged(backend: Backend) {
    let app = spawn_app(backend).await;
    let text = scrape(&app).await;
    assert_eq!(sample(&text, "duetrack_database_up", &[]), Some(1.0));
    let pools: &[(&str, f64)] = match backend {
        // One writer connection; readers as configured (at least two).
        Backend::Sqlite => &[("write", 1.0), ("read", 2.0)],
        Backend::Postgres => &[("main", 1.0)],
    };
    for (pool, least) in pools {
        let pool = format!("pool=\"{pool}\"");
        let max = sample(
            &text,
            "duetrack_db_pool_connections",
            &[&pool, r#"state="max""#],
        )
        .unwrap_or_else(|| panic!("{pool} max in {text}"));
        assert!(max >= *least, "{pool}: {max}");
        let in_use = sample(
            &text,
            "duetrack_db_pool_connections",
            &[&pool, r#"state="in_use""#],
        )
        .expect("in use");
        let idle = sample(
            &text,
            "duetrack_db_pool_connections",
            &[&pool, r#"state="idle""#],
        )
        .expect("idle");
        assert!(in_use + idle <= max, "{pool}: {in_use} + {idle} > {max}");
    }
    if backend == Backend::Sqlite {
        assert_eq!(
            sample(
                &text,
                "duetrack_db_pool_connections",
                &[r#"pool="write""#, r#"state="max""#]
            ),
            Some(1.0)
        );
    }

    // Without an SMTP server a message stays queued (written as .eml).
    let depth = sample(&text, "duetrack_outbox_depth", &[]).expect("the depth");
    let queued = sample(&text, "duetrack_emails", &[r#"status="queued""#]).expect("queued");
    let sending = sample(&text, "duetrack_emails", &[r#"status="sending""#]).expect("sending");
    assert_eq!(depth, queued + sending);
    let id = app
        .post(
            "/api/v1/customers",
            json!({"name": "Ravi", "email": "ravi@example.com"}),
        )
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    app.post(
        "/api/v1/notifications",
        json!({"to": [id], "subject": "Hours", "body": "Open at 8."}),
    )
    .await
    .ok(202);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let text = scrape(&app).await;
    assert_eq!(
        sample(&text, "duetrack_outbox_depth", &[]),
        Some(depth + 1.0),
        "{text}"
    );
    let age = sample(&text, "duetrack_outbox_oldest_age_seconds", &[]).expect("the age");
    assert!(age >= 1.0, "the oldest message waited a second: {age}");
    assert!(age < 3600.0, "{age}");
    assert!(text.contains("# TYPE duetrack_outbox_depth gauge"));
}
