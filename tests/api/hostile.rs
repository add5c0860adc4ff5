//! What attackers tried against the real binary: connections that send
//! half a request head and then nothing, one address holding every
//! connection, a sign-in link that sends the browser elsewhere, and NUL
//! characters that PostgreSQL cannot store. Each on both backends.

use crate::helpers::{ADMIN_PASSWORD, Backend, TestApp, spawn_app, spawn_app_with};
use crate::on_both_backends;
use reqwest::StatusCode;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

on_both_backends!(
    half_sent_headers_are_closed_after_the_header_timeout,
    an_idle_keep_alive_connection_is_closed,
    one_address_cannot_take_every_connection,
    the_overall_cap_refuses_and_recovers,
    sign_in_follows_only_plain_paths_on_this_site,
    nul_is_refused_everywhere_in_the_api,
    nul_is_refused_on_the_web_pages,
    the_store_refuses_text_with_nul,
    query_strings_that_are_not_utf8_are_refused,
    a_request_in_flight_finishes_on_shutdown,
    an_oversized_request_head_is_refused,
);

const HALF_HEAD: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\n";

/// A connection from `source` (any 127.0.0.0/8 address works on loopback).
async fn connect_from(source: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(to).await.unwrap()
}

/// Reads until the server closes the connection; `None` if it is still
/// open after `within`. Returns what was read (perhaps a refusal).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let read_all = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(within, read_all).await.ok()?;
    Some(seen)
}

/// A whole `GET /healthz` from `source` on a fresh connection; its status line.
async fn healthz_from(source: &str, to: SocketAddr) -> String {
    let mut stream = connect_from(source, to).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let reply = closed_within(&mut stream, Duration::from_secs(10))
        .await
        .expect("the server answers and closes");
    String::from_utf8_lossy(&reply)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Asserts `/healthz` from `source` answers 200, allowing a few seconds for
/// connections just dropped to be counted out.
async fn eventually_healthy(source: &str, to: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = healthz_from(source, to).await;
        if status.contains(" 200 ") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "/healthz from {source} still answers {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn half_sent_headers_are_closed_after_the_header_timeout(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.header_timeout_seconds = Some("1".into())).await;
    let mut streams = Vec::new();
    for i in 0..8 {
        let mut stream = connect_from("127.0.0.1", app.address).await;
        // Half of them send half a head; the others nothing at all.
        if i % 2 == 0 {
            stream.write_all(HALF_HEAD).await.unwrap();
        }
        streams.push(stream);
    }
    // The service answers others meanwhile.
    assert_eq!(
        healthz_from("127.0.0.1", app.address).await,
        "HTTP/1.1 200 OK"
    );
    let started = Instant::now();
    for stream in &mut streams {
        let seen = closed_within(stream, Duration::from_secs(15)).await;
        assert!(
            seen.is_some(),
            "a half-open connection is still open after {:?}",
            started.elapsed()
        );
        // Whatever was said on the way out, it was not the answer to the request.
        assert!(!String::from_utf8_lossy(&seen.unwrap()).contains(" 200 "));
    }
    assert_eq!(
        healthz_from("127.0.0.1", app.address).await,
        "HTTP/1.1 200 OK"
    );
}

async fn an_idle_keep_alive_connection_is_closed(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.header_timeout_seconds = Some("1".into())).await;
    let mut stream = connect_from("127.0.0.1", app.address).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    // The answer comes, and then, with no second request, the close.
    let seen = closed_within(&mut stream, Duration::from_secs(15))
        .await
        .expect("an idle keep-alive connection is closed");
    let text = String::from_utf8_lossy(&seen);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
}

async fn one_address_cannot_take_every_connection(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.max_connections_per_address = Some("4".into());
        // Long enough that the half-open connections stay for the test.
        s.header_timeout_seconds = Some("60".into());
    })
    .await;
    // The test's own client keeps idle connections to 127.0.0.1; use
    // another loopback address for the attacker.
    let attacker = "127.0.0.2";
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut stream = connect_from(attacker, app.address).await;
        stream.write_all(HALF_HEAD).await.unwrap();
        held.push(stream);
    }
    // The attacker's next connection is refused at once: a 503 with
    // Retry-After, or simply closed.
    let mut extra = connect_from(attacker, app.address).await;
    let _ = extra.write_all(HALF_HEAD).await;
    let seen = closed_within(&mut extra, Duration::from_secs(5))
        .await
        .expect("a connection over the cap is closed at once");
    let text = String::from_utf8_lossy(&seen).to_ascii_lowercase();
    assert!(
        text.is_empty() || (text.starts_with("http/1.1 503") && text.contains("retry-after")),
        "{text}"
    );
    // Everyone else is served.
    assert_eq!(
        healthz_from("127.0.0.3", app.address).await,
        "HTTP/1.1 200 OK"
    );
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
    // Once the attacker lets go, the address is served again.
    drop(held);
    eventually_healthy(attacker, app.address).await;
}

async fn the_overall_cap_refuses_and_recovers(backend: Backend) {
    let app = spawn_app(backend).await;
    // A second node on the same database with a small overall cap.
    let node = app
        .another_node(|s| {
            s.max_connections = Some("3".into());
            s.header_timeout_seconds = Some("60".into());
        })
        .await;
    // The node's client may keep a connection from signing in; fill what is left.
    let mut held = Vec::new();
    for n in 0..3 {
        let mut stream = connect_from(&format!("127.0.1.{n}"), node.address).await;
        stream.write_all(HALF_HEAD).await.unwrap();
        held.push(stream);
    }
    let mut extra = connect_from("127.0.2.1", node.address).await;
    let seen = closed_within(&mut extra, Duration::from_secs(5))
        .await
        .expect("a connection over the overall cap is closed at once");
    assert!(!String::from_utf8_lossy(&seen).contains(" 200 "));
    drop(held);
    eventually_healthy("127.0.2.1", node.address).await;
}

/// Signs in on the web with `next` and returns where the browser is sent.
async fn location_after_sign_in(app: &TestApp, next: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (form_cookie, form_token) = crate::helpers::login_form(&client, app).await;
    let response = client
        .post(app.url("/login"))
        .header("cookie", form_cookie)
        .form(&[
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
            ("next", next),
            ("form_token", form_token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

async fn sign_in_follows_only_plain_paths_on_this_site(backend: Backend) {
    let app = spawn_app(backend).await;
    for next in [
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example",
        "/\t/evil.example/",
        "\t/evil.example/",
        "/\r\n/evil.example/",
        "/\n/evil.example",
        "/ /evil.example/",
        "https://evil.example/",
        "http:/evil.example",
        "evil.example",
        "///evil.example",
        "/\\/evil.example",
        "javascript:alert(1)",
        // Already decoded once by the form: `%2F%2Fevil` and `%09` arrive as text.
        "//evil",
        "/\u{0b}/evil.example",
        "/\u{a0}/evil.example",
    ] {
        let to = location_after_sign_in(&app, next).await;
        assert_eq!(to, "/dashboard", "next={next:?} sent the browser to {to:?}");
    }
    // And through the sign-in page's link, percent-encoded as a browser sends it.
    let page = reqwest::get(app.url("/login?next=/%09/other.host/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("other.host"), "the page keeps the bad next");
    // A plain path on this site is followed.
    assert_eq!(
        location_after_sign_in(&app, "/customers?q=asha").await,
        "/customers?q=asha"
    );
}

/// Everything the NUL attempts could have changed.
async fn counts(app: &TestApp) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for path in [
        "/api/v1/customers",
        "/api/v1/activity",
        "/api/v1/signins",
        "/api/v1/emails",
        "/api/v1/staff",
    ] {
        let reply = app.get(path).await;
        out.push(reply.ok(200)["total"].clone());
    }
    out
}

fn assert_nul_problem(reply: &crate::helpers::Reply, what: &str) {
    let body = reply.problem(400);
    assert_eq!(body["code"], "nul_character", "{what}: {body}");
    assert!(
        body["detail"].as_str().unwrap().contains("NUL (U+0000)"),
        "{what}: {body}"
    );
}

async fn nul_is_refused_everywhere_in_the_api(backend: Backend) {
    let app = spawn_app(backend).await;
    let customer = app.customer("Asha Rao").await;
    let before = counts(&app).await;
    for path in [
        "/api/v1/customers?q=a%00b".to_string(),
        "/api/v1/customers?q=%00".to_string(),
        "/api/v1/customers?status=%00".to_string(),
        "/api/v1/customers?sort=name%00".to_string(),
        "/api/v1/activity?actor=ad%00min".to_string(),
        "/api/v1/activity?entity=customer%00".to_string(),
        "/api/v1/signins?username=%00".to_string(),
        "/api/v1/emails?status=%00".to_string(),
        "/api/v1/payments?method=cash%00".to_string(),
        format!("/api/v1/customers/{customer}%00"),
        "/api/v1/customers/%00".to_string(),
    ] {
        assert_nul_problem(&app.get(&path).await, &path);
    }
    let path = format!("/api/v1/customers/{customer}");
    let json_bodies = [
        (
            "/api/v1/customers",
            r#"{"name": "Bad\u0000Name"}"#.to_string(),
        ),
        ("/api/v1/customers", "{\"name\": \"Bad\0Name\"}".to_string()),
        (
            "/api/v1/customers",
            r#"{"name": "Ok", "notes": "\u0000"}"#.to_string(),
        ),
        (
            "/api/v1/notifications",
            r#"{"to": "all", "subject": "Hi", "body": "Hello\u0000"}"#.to_string(),
        ),
        (
            "/api/v1/staff",
            r#"{"username": "x\u0000", "password": "a-long-password", "role": "clerk"}"#
                .to_string(),
        ),
    ];
    for (to, body) in &json_bodies {
        assert_nul_problem(&app.post_raw(to, "application/json", body).await, body);
    }
    let edit = app
        .send(
            app.client
                .patch(app.url(&path))
                .bearer_auth(&app.token)
                .header("content-type", "application/json")
                .body(r#"{"name": "A\u0000"}"#),
        )
        .await;
    assert_nul_problem(&edit, "an edit");
    // Without a Content-Type the API reads JSON; the escape is still found.
    let untyped = app
        .send(
            app.client
                .post(app.url("/api/v1/customers"))
                .bearer_auth(&app.token)
                .body(r#"{"name": "A\u0000"}"#),
        )
        .await;
    assert_nul_problem(&untyped, "an untyped body");
    // Unauthenticated: the sign-in's user name.
    for body in [
        r#"{"username": "ad\u0000min", "password": "x"}"#,
        "{\"username\": \"ad\0min\", \"password\": \"x\"}",
        r#"{"username": "admin", "password": "correct-horse\u0000"}"#,
    ] {
        let reply = app
            .send(
                app.client
                    .post(app.url("/api/v1/auth/login"))
                    .header("content-type", "application/json")
                    .body(body),
            )
            .await;
        assert_nul_problem(&reply, body);
    }
    // A chunked body with a NUL, without Content-Length.
    let body = r#"{"name": "A\u0000"}"#;
    let mut stream = connect_from("127.0.0.1", app.address).await;
    let request = format!(
        "POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
         {:x}\r\n{body}\r\n0\r\n\r\n",
        app.token,
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let reply = closed_within(&mut stream, Duration::from_secs(10))
        .await
        .expect("an answer");
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");
    assert!(reply.contains("nul_character"), "{reply}");
    assert_eq!(
        counts(&app).await,
        before,
        "a NUL attempt changed something"
    );
    // The size limit still holds, with or without a NUL.
    let huge = format!(
        r#"{{"name": "A\u0000", "notes": "{}"}}"#,
        "x".repeat(200_000)
    );
    app.post_raw("/api/v1/customers", "application/json", &huge)
        .await
        .problem(413);
    // An escaped backslash followed by u0000 is text, not a NUL.
    let fine = app
        .post_raw(
            "/api/v1/customers",
            "application/json",
            r#"{"name": "Back\\u0000slash"}"#,
        )
        .await;
    assert_eq!(fine.ok(201)["name"], "Back\\u0000slash");
}

/// Signs in on the web; returns the cookie header and the CSRF token.
async fn web_session(app: &TestApp) -> (String, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (form_cookie, form_token) = crate::helpers::login_form(&client, app).await;
    let response = client
        .post(app.url("/login"))
        .header("cookie", form_cookie)
        .form(&[
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
            ("form_token", form_token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let mut cookies = Vec::new();
    let mut csrf = String::new();
    for value in response.headers().get_all("set-cookie") {
        let pair = value
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        if let Some(token) = pair.strip_prefix("duetrack_csrf=") {
            csrf = token.to_string();
        }
        cookies.push(pair);
    }
    assert!(!csrf.is_empty(), "signed in on the web");
    (cookies.join("; "), csrf)
}

async fn nul_is_refused_on_the_web_pages(backend: Backend) {
    let app = spawn_app(backend).await;
    let before = counts(&app).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let expect_page = |status: StatusCode, html: &str, what: &str| {
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {html}");
        assert!(html.contains("NUL (U+0000)"), "{what}: {html}");
        assert!(html.contains("<html") || html.contains("<!DOCTYPE") || html.contains("<!doctype"));
    };
    // Signing in, unauthenticated.
    for body in [
        "username=ad%00min&password=x",
        "username=admin&password=x%00",
        "username=admin&password=x&next=/%00",
    ] {
        let response = client
            .post(app.url("/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        expect_page(status, &response.text().await.unwrap(), body);
    }
    let (cookie, csrf) = web_session(&app).await;
    for path in [
        "/customers?q=a%00b",
        "/customers?status=%00",
        "/activity?actor=%00",
        "/customers/1%00",
        "/login?next=%00",
    ] {
        let response = client
            .get(app.url(path))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        let status = response.status();
        expect_page(status, &response.text().await.unwrap(), path);
    }
    let response = client
        .post(app.url("/customers"))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}&name=Bad%00Name"))
        .send()
        .await
        .unwrap();
    let status = response.status();
    expect_page(status, &response.text().await.unwrap(), "a new customer");
    // Signing in on the web adds a sign-in entry; compare the rest.
    let after = counts(&app).await;
    assert_eq!(after[0], before[0], "customers");
    assert_eq!(after[1], before[1], "activity");
    assert_eq!(after[3], before[3], "emails");
    assert_eq!(after[4], before[4], "staff");
}

async fn the_store_refuses_text_with_nul(backend: Backend) {
    use duetrack::store::db::{Arg, is_nul_in_text};
    let app = spawn_app(backend).await;
    let config = duetrack::config::Config::from_raw(&app.settings).unwrap();
    let (store, _) = duetrack::startup::open_store(&config).await.unwrap();
    let mut tx = store.db.write().await.unwrap();
    let error = tx
        .execute(
            "UPDATE customers SET name = $1 WHERE id = $2",
            &[Arg::from("a\0b"), Arg::from(1)],
        )
        .await
        .unwrap_err();
    assert!(is_nul_in_text(&error), "{error}");
    let error = tx
        .fetch_all(
            "SELECT id FROM customers WHERE name = $1",
            &[Arg::from("\0")],
        )
        .await
        .err()
        .expect("a NUL was refused");
    assert!(is_nul_in_text(&error), "{error}");
    // The transaction is still usable: nothing reached the database.
    tx.fetch_all(
        "SELECT id FROM customers WHERE name = $1",
        &[Arg::from("ok")],
    )
    .await
    .unwrap();
    drop(tx);
    // And the application answers it as a 400, not a 500.
    let app_error = duetrack::app::AppError::from(duetrack::store::StoreError::Db(error));
    assert!(
        matches!(
            app_error,
            duetrack::app::AppError::BadRequest {
                code: "nul_character",
                ..
            }
        ),
        "{app_error:?}"
    );
    store.db.close().await;
}

async fn query_strings_that_are_not_utf8_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in [
        "/api/v1/customers?q=%FF",
        "/api/v1/customers?q=%C3%28",
        "/api/v1/activity?actor=%ED%A0%80",
    ] {
        let reply = app.get(path).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            reply.body
        );
        assert_eq!(reply.problem(400)["code"], "invalid_encoding");
    }
    let form = app
        .send(
            app.client
                .post(app.url("/login"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("username=%FF&password=x"),
        )
        .await;
    assert_eq!(form.status, StatusCode::BAD_REQUEST);
    let (cookie, _) = web_session(&app).await;
    let response = reqwest::Client::new()
        .get(app.url("/customers?q=%FF"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

async fn a_request_in_flight_finishes_on_shutdown(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let settings = crate::helpers::test_settings(backend, dir.path()).await;
    let config = duetrack::config::Config::from_raw(&settings).unwrap();
    let app = duetrack::startup::Application::build(config).await.unwrap();
    let address = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    // A sign-in whose body is still on its way when the shutdown comes.
    let body = format!(r#"{{"username": "admin", "password": "{ADMIN_PASSWORD}"}}"#);
    let (first, rest) = body.split_at(10);
    let mut stream = connect_from("127.0.0.1", address).await;
    let head = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{first}",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // New connections are no longer served.
    let refused = TcpStream::connect(address).await;
    if let Ok(mut late) = refused {
        let _ = late
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await;
        let seen = closed_within(&mut late, Duration::from_secs(5)).await;
        assert!(
            seen.is_none_or(|s| s.is_empty()),
            "a new connection was served"
        );
    }
    assert!(
        !server.is_finished(),
        "the server waits for the request in flight"
    );
    stream.write_all(rest.as_bytes()).await.unwrap();
    let reply = closed_within(&mut stream, Duration::from_secs(10))
        .await
        .expect("the answer comes and the connection closes");
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stops once the request is answered")
        .unwrap()
        .unwrap();
}

async fn an_oversized_request_head_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut stream = connect_from("127.0.0.1", app.address).await;
    let mut head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: ".to_vec();
    head.extend(std::iter::repeat_n(b'a', 100 * 1024));
    // The server may stop reading before all of it is sent.
    let _ = stream.write_all(&head).await;
    let reply = closed_within(&mut stream, Duration::from_secs(10))
        .await
        .expect("an answer and a close");
    let reply = String::from_utf8_lossy(&reply);
    assert!(
        reply.is_empty() || reply.starts_with("HTTP/1.1 431"),
        "{reply}"
    );
    assert_eq!(
        healthz_from("127.0.0.1", app.address).await,
        "HTTP/1.1 200 OK"
    );
}

#[test]
fn bad_connection_settings_are_configuration_errors() {
    use duetrack::config::{Config, RawSettings};
    type Set = fn(&mut RawSettings, &str);
    let cases: [(&str, Set); 4] = [
        ("DUETRACK_HEADER_TIMEOUT_SECONDS", |s, v| {
            s.header_timeout_seconds = Some(v.into())
        }),
        ("DUETRACK_IDLE_TIMEOUT_SECONDS", |s, v| {
            s.idle_timeout_seconds = Some(v.into())
        }),
        ("DUETRACK_MAX_CONNECTIONS", |s, v| {
            s.max_connections = Some(v.into())
        }),
        ("DUETRACK_MAX_CONNECTIONS_PER_ADDRESS", |s, v| {
            s.max_connections_per_address = Some(v.into())
        }),
    ];
    for (variable, set) in cases {
        for value in ["0", "-1", "ten", "99999999999"] {
            let mut raw = RawSettings::default();
            set(&mut raw, value);
            let error = Config::from_raw(&raw).expect_err(value);
            assert_eq!(error.variable, variable, "{value}");
        }
        let mut raw = RawSettings::default();
        set(&mut raw, "5");
        Config::from_raw(&raw).expect("5 is fine");
    }
}
