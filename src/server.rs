//! The accept loop. `axum::serve` has no header read timeout and no limit
//! on connections, so a few thousand clients that open a connection and
//! send half a request head would hold every file descriptor. Here each
//! connection is served by hyper's HTTP/1 with:
//!
//! - a header read timeout: a client has `header_timeout` to send a whole
//!   request head, counted from connecting or from the end of the previous
//!   response, so it also ends idle keep-alive connections;
//! - an idle timeout: a connection on which no byte is read or written for
//!   `idle_timeout` (a client that stops reading a response, say) is closed;
//! - a cap on connections open at once, overall and per client address:
//!   one over the cap is answered 503 with `Retry-After` and closed at once.
//!
//! A request head is at most 64 KiB (431 otherwise), which bounds what each
//! connection holds while it reads one.
//!
//! Accept errors (such as running out of file descriptors) are logged and
//! the loop goes on. On shutdown it stops accepting and lets the requests
//! in flight finish.

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tower::ServiceExt;

/// How long and how many: see the module documentation.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub max_connections_per_address: usize,
}

impl Limits {
    pub fn of(config: &crate::config::Config) -> Self {
        Self {
            header_timeout: config.header_timeout,
            idle_timeout: config.idle_timeout,
            max_connections: config.max_connections,
            max_connections_per_address: config.max_connections_per_address,
        }
    }
}

/// The largest request head read, and the read buffer of each connection.
const MAX_HEAD: usize = 64 * 1024;

/// The answer to a connection over the cap, written without waiting.
const OVER_CAP: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/problem+json\r\n\
retry-after: 5\r\n\
connection: close\r\n\
content-length: 158\r\n\
\r\n\
{\"type\":\"about:blank\",\"title\":\"Service Unavailable\",\"status\":503,\"detail\":\"too many connections are open; close some and retry\",\"code\":\"too_many_connections\"}";

/// Serves `router` on `listener` until `shutdown` completes, then waits for
/// the connections still open to finish their requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        // hyper's default read buffer is about 400 KiB a connection; a
        // request head never needs that, and thousands of half-sent heads
        // would hold it all. Larger heads are answered 431.
        .max_buf_size(MAX_HEAD)
        .max_header_size(MAX_HEAD)
        .keep_alive(true);
    let open = Arc::new(OpenConnections::new(limits));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut last_accept_warning: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    if last_accept_warning.is_none_or(|at| at.elapsed() >= Duration::from_secs(1)) {
                        tracing::warn!(error = %e, "accept error; still serving");
                        last_accept_warning = Some(Instant::now());
                    }
                    // Out of descriptors or memory: give connections a
                    // moment to close instead of spinning.
                    if is_resource_error(&e) {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    continue;
                }
            }
        };
        let Some(slot) = open.admit(peer.ip()) else {
            tracing::debug!(%peer, "connection refused: over the connection cap");
            // Best effort, never waiting: the socket's buffer is empty.
            let _ = stream.try_write(OVER_CAP);
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let clock = Arc::new(Clock::new());
        let io = TokioIo::new(Watched {
            stream,
            clock: clock.clone(),
        });
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let connection = graceful.watch(http.serve_connection(io, service));
        let idle_timeout = limits.idle_timeout;
        tokio::spawn(async move {
            let _slot = slot;
            tokio::select! {
                result = connection => {
                    if let Err(e) = result {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                }
                () = clock.idle_for(idle_timeout) => {
                    tracing::debug!(%peer, "closed a connection idle for too long");
                }
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

fn is_resource_error(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Connections open now, overall and per client address.
struct OpenConnections {
    limits: Limits,
    by_address: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

impl OpenConnections {
    fn new(limits: Limits) -> Self {
        Self {
            limits,
            by_address: Mutex::new((0, HashMap::new())),
        }
    }

    /// A slot for one more connection from `address`, or none when either cap is reached.
    fn admit(self: &Arc<Self>, address: IpAddr) -> Option<Slot> {
        let mut guard = self.by_address.lock().unwrap_or_else(|e| e.into_inner());
        let (total, by_address) = &mut *guard;
        let mine = by_address.entry(address).or_insert(0);
        if *total >= self.limits.max_connections || *mine >= self.limits.max_connections_per_address
        {
            if *mine == 0 {
                by_address.remove(&address);
            }
            return None;
        }
        *mine += 1;
        *total += 1;
        Some(Slot {
            open: self.clone(),
            address,
        })
    }
}

/// One admitted connection; gives its place back when dropped.
struct Slot {
    open: Arc<OpenConnections>,
    address: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut guard = self
            .open
            .by_address
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let (total, by_address) = &mut *guard;
        *total = total.saturating_sub(1);
        if let Some(mine) = by_address.get_mut(&self.address) {
            *mine -= 1;
            if *mine == 0 {
                by_address.remove(&self.address);
            }
        }
    }
}

/// When a connection last read or wrote a byte.
struct Clock {
    start: Instant,
    last_ms: AtomicU64,
}

impl Clock {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// Completes once nothing has moved for `limit`.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let last = self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let quiet = last.elapsed();
            if quiet >= limit {
                return;
            }
            tokio::time::sleep(limit - quiet).await;
        }
    }
}

/// A TCP stream that notes on its [`Clock`] every byte it moves.
struct Watched {
    stream: TcpStream,
    clock: Arc<Clock>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.clock.touch();
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.clock.touch();
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.clock.touch();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Raises this process's soft limit on open files to its hard limit, so
/// the connection cap, not the operating system's default of 1024, decides
/// how many clients are served. Returns the soft limit now in force.
pub fn raise_open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit only read and write `limit`.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                return None;
            }
            if limit.rlim_cur < limit.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: limit.rlim_max,
                    rlim_max: limit.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    limit = raised;
                }
            }
        }
        #[allow(clippy::unnecessary_cast)]
        Some(limit.rlim_cur as u64)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(total: usize, per_address: usize) -> Limits {
        Limits {
            header_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(1),
            max_connections: total,
            max_connections_per_address: per_address,
        }
    }

    #[test]
    fn caps_count_per_address_and_overall_and_free_on_drop() {
        let open = Arc::new(OpenConnections::new(limits(3, 2)));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let a1 = open.admit(a).unwrap();
        let _a2 = open.admit(a).unwrap();
        assert!(open.admit(a).is_none(), "a third from one address");
        let _b1 = open.admit(b).unwrap();
        assert!(open.admit(b).is_none(), "a fourth overall");
        drop(a1);
        assert!(open.admit(a).is_some(), "a slot given back is free again");
        assert!(open.by_address.lock().unwrap().1.len() <= 2);
    }

    #[test]
    fn the_refusal_is_a_complete_response() {
        let text = std::str::from_utf8(OVER_CAP).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        serde_json::from_str::<serde_json::Value>(body).unwrap();
    }
}
