//! Staff sign-in: tokens, expiry by logout, and the routes that need them.

use crate::helpers::{ADMIN_PASSWORD, Backend, spawn_app};
use crate::on_both_backends;
use serde_json::json;

on_both_backends!(
    the_owner_signs_in_with_the_configured_password,
    wrong_credentials_are_refused,
    logout_revokes_the_token,
    health_and_the_api_description_are_public,
);

async fn the_owner_signs_in_with_the_configured_password(backend: Backend) {
    let app = spawn_app(backend).await;
    let reply = app
        .send(
            app.client
                .post(app.url("/api/v1/auth/login"))
                .json(&json!({"username": "admin", "password": ADMIN_PASSWORD})),
        )
        .await;
    let body = reply.ok(200);
    assert_eq!(body["role"], "owner");
    assert!(body["token"].as_str().unwrap().len() >= 32);
    assert!(body["expires_at"].as_str().unwrap().ends_with('Z'));
    let cookie = reply.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
}

async fn wrong_credentials_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    app.login("admin", "wrong").await.unwrap_err().problem(401);
    app.login("nobody", ADMIN_PASSWORD)
        .await
        .unwrap_err()
        .problem(401);
    app.login("admin", "").await.unwrap_err().problem(401);
    // The old system's fixed default must not work.
    app.login("admin", "1234").await.unwrap_err().problem(401);
    let missing = app
        .send(
            app.client
                .post(app.url("/api/v1/auth/login"))
                .json(&json!({"username": "admin"})),
        )
        .await;
    assert_eq!(missing.problem(422)["field"], "password");
}

async fn logout_revokes_the_token(backend: Backend) {
    let app = spawn_app(backend).await;
    app.get("/api/v1/customers").await.ok(200);
    let reply = app.post("/api/v1/auth/logout", json!({})).await;
    assert_eq!(reply.status.as_u16(), 204);
    app.get("/api/v1/customers").await.problem(401);
}

async fn health_and_the_api_description_are_public(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(
        app.send(app.client.get(app.url("/healthz"))).await.ok(200)["status"],
        "ok"
    );
    assert_eq!(
        app.send(app.client.get(app.url("/readyz"))).await.ok(200)["status"],
        "ready"
    );
    let spec = app
        .send(app.client.get(app.url("/api/v1/openapi.json")))
        .await;
    let body = spec.ok(200);
    assert!(body["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/customers",
        "/api/v1/customers/{id}/payments",
        "/api/v1/customers/{id}/statement",
        "/api/v1/dues/{id}/void",
    ] {
        assert!(body["paths"].get(path).is_some(), "{path} is documented");
    }
    let docs = app
        .client
        .get(app.url("/api/v1/docs"))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status().as_u16(), 200);
    let html = docs.text().await.unwrap();
    assert!(html.contains("/api/v1/customers/{id}/payments"));
    assert!(
        !html.contains("<script src=\"http"),
        "the docs page loads nothing from elsewhere"
    );
    assert!(
        !html.contains("cdn"),
        "the docs page loads nothing from a CDN"
    );
}
