//! The ceiling for HTTP: an axum hello-world on the same runtime and HTTP
//! stack as duetrack, for `scripts/bench.sh` to load with wrk beside the
//! real service.
//!
//! cargo run --release --example bench_hello -- PORT

use axum::Router;
use axum::routing::get;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .map_or(Ok(8090), |p| p.parse())
        .map_err(|e| anyhow::anyhow!("the first argument is the port: {e}"))?;
    let app = Router::new().route("/", get(|| async { "Hello, World!" }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
