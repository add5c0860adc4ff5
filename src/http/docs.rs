//! The API description: the OpenAPI 3.1 document generated from the
//! handlers, and a readable page rendered from it on the server, so the
//! docs load nothing from anywhere else.

use crate::app::App;
use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use std::fmt::Write;
use std::sync::Arc;
use utoipa::openapi::path::Operation;
use utoipa::openapi::{OpenApi, RefOr};

pub fn router(openapi: OpenApi) -> Router<App> {
    let json: Arc<str> = openapi.to_pretty_json().unwrap_or_default().into();
    let page: Arc<str> = render(&openapi).into();
    Router::new()
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let json = json.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        json.to_string(),
                    )
                        .into_response()
                }
            }),
        )
        .route(
            "/api/v1/docs.css",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/css"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    DOCS_CSS,
                )
            }),
        )
        .route(
            "/api/v1/docs",
            get(move || {
                let page = page.clone();
                async move { Html(page.to_string()) }
            }),
        )
}

const DOCS_CSS: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;color:#1b1f24}code{font-family:ui-monospace,monospace;background:#f2f4f7;padding:0 .25rem;border-radius:3px}.op{border:1px solid #d0d7de;border-radius:8px;padding:.25rem 1rem;margin:1rem 0}.m{display:inline-block;min-width:4.5rem;text-align:center;border-radius:4px;color:#fff;font-size:.85rem;padding:.1rem .4rem}.get{background:#0a6b3d}.post{background:#1f5fbf}.patch{background:#8a5a00}.delete{background:#b42318}.put{background:#6941c6}table{border-collapse:collapse}td,th{border-bottom:1px solid #e4e7ec;padding:.2rem .6rem;text-align:left}";

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn schema_name(r: &RefOr<utoipa::openapi::schema::Schema>) -> String {
    match r {
        RefOr::Ref(r) => r
            .ref_location
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string(),
        RefOr::T(_) => "inline".to_string(),
    }
}

fn render_operation(out: &mut String, method: &str, path: &str, op: &Operation) {
    let _ = write!(
        out,
        "<section class=op><h3><span class='m {m}'>{M}</span> <code>{p}</code></h3>",
        m = method,
        M = method.to_uppercase(),
        p = escape(path)
    );
    if let Some(summary) = &op.summary {
        let _ = write!(out, "<p><strong>{}</strong></p>", escape(summary));
    }
    if let Some(description) = &op.description {
        let _ = write!(out, "<p>{}</p>", escape(description));
    }
    if let Some(params) = &op.parameters {
        out.push_str("<table><tr><th>Parameter</th><th>In</th><th>Description</th></tr>");
        for p in params {
            let location = serde_json::to_value(&p.parameter_in)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                escape(&p.name),
                location,
                escape(p.description.as_deref().unwrap_or(""))
            );
        }
        out.push_str("</table>");
    }
    if let Some(body) = &op.request_body {
        for (media, content) in &body.content {
            let _ = write!(
                out,
                "<p>Body ({}): <a href='#schema-{n}'>{n}</a></p>",
                escape(media),
                n = escape(&schema_name(&content.schema.clone().unwrap_or_default()))
            );
        }
    }
    out.push_str("<ul>");
    for (status, response) in &op.responses.responses {
        let (description, schema) = match response {
            RefOr::T(r) => (
                r.description.clone(),
                r.content
                    .values()
                    .next()
                    .and_then(|c| c.schema.as_ref())
                    .map(schema_name),
            ),
            RefOr::Ref(r) => (r.ref_location.clone(), None),
        };
        let link = schema
            .map(|n| format!(" → <a href='#schema-{n}'>{n}</a>", n = escape(&n)))
            .unwrap_or_default();
        let _ = write!(
            out,
            "<li><code>{status}</code> {}{link}</li>",
            escape(&description)
        );
    }
    out.push_str("</ul></section>");
}

fn render(openapi: &OpenApi) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content='width=device-width,initial-scale=1'>\
         <title>{title} API</title><link rel=stylesheet href='/api/v1/docs.css'></head><body><h1>{title} API <small>{version}</small></h1><p>{description}</p>\
         <p>The machine-readable description is at <a href='/api/v1/openapi.json'>/api/v1/openapi.json</a> (OpenAPI 3.1). \
         Sign in with <code>POST /api/v1/auth/login</code> and send <code>Authorization: Bearer &lt;token&gt;</code>.</p>",
        title = escape(&openapi.info.title),
        version = escape(&openapi.info.version),
        description = escape(openapi.info.description.as_deref().unwrap_or("")),
    );
    for (path, item) in &openapi.paths.paths {
        let ops = [
            ("get", &item.get),
            ("post", &item.post),
            ("put", &item.put),
            ("patch", &item.patch),
            ("delete", &item.delete),
        ];
        for (method, op) in ops {
            if let Some(op) = op {
                render_operation(&mut out, method, path, op);
            }
        }
    }
    out.push_str("<h2>Schemas</h2>");
    if let Some(components) = &openapi.components {
        for (name, schema) in &components.schemas {
            let json = serde_json::to_string_pretty(schema).unwrap_or_default();
            let _ = write!(
                out,
                "<details id='schema-{n}'><summary><code>{n}</code></summary><pre>{}</pre></details>",
                escape(&json),
                n = escape(name)
            );
        }
    }
    out.push_str("</body></html>");
    out
}
