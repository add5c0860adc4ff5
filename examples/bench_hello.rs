//! The ceiling for HTTP benchmarks: an axum server that answers every
//! `GET /` with a short text, on the machine's cores, nothing else.
//!
//! ```sh
//! cargo build --release --example bench_hello
//! ./target/release/examples/bench_hello 8090 &
//! wrk -t2 -c32 -d10s http://127.0.0.1:8090/
//! ```

use axum::Router;
use axum::routing::get;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: bench_hello PORT"))?
        .parse()?;
    let app = Router::new().route("/", get(|| async { "Hello, world!" }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
