//! Shedding load early. Past `DUETRACK_MAX_REQUESTS_IN_FLIGHT` requests
//! being answered at once, one more is answered 503 with `Retry-After` at
//! once, instead of queueing for the database until every request times
//! out; past `DUETRACK_MAX_REQUESTS_PER_ADDRESS` from one client address
//! (the forwarded one behind a trusted proxy), 429. Health checks are never
//! shed, so that a load balancer can tell "busy" from "down".

use crate::app::App;
use crate::edge::client_of;
use crate::http::error::ApiError;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The counters shared by every request.
#[derive(Clone)]
pub struct Shedder {
    app: App,
    in_flight: Arc<Semaphore>,
    per_address: Arc<Mutex<HashMap<String, usize>>>,
    per_address_max: usize,
}

impl Shedder {
    pub fn new(app: App) -> Self {
        let config = app.config();
        Self {
            in_flight: Arc::new(Semaphore::new(config.max_requests_in_flight)),
            per_address: Arc::default(),
            per_address_max: config.max_requests_per_address,
            app,
        }
    }

    /// Counts a request from `address` in, or says it is one too many.
    fn admit(&self, address: &str) -> Result<Admitted, Refusal> {
        let permit = self
            .in_flight
            .clone()
            .try_acquire_owned()
            .map_err(|_| Refusal::Busy)?;
        let mut counts = self.per_address.lock().unwrap_or_else(|p| p.into_inner());
        let count = counts.entry(address.to_string()).or_default();
        if *count >= self.per_address_max {
            return Err(Refusal::AddressBusy);
        }
        *count += 1;
        Ok(Admitted {
            _permit: permit,
            address: address.to_string(),
            counts: self.per_address.clone(),
        })
    }
}

enum Refusal {
    Busy,
    AddressBusy,
}

/// A request being answered; counted out when dropped, however it ends.
struct Admitted {
    _permit: OwnedSemaphorePermit,
    address: String,
    counts: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = counts.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

pub async fn shed(State(shedder): State<Shedder>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path == "/healthz" || path == "/readyz" {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let address = client_of(&parts, shedder.app.config().trust_proxy).address;
    let request = Request::from_parts(parts, body);
    match shedder.admit(&address) {
        Ok(admitted) => {
            let response = next.run(request).await;
            drop(admitted);
            response
        }
        Err(Refusal::Busy) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "the service is answering as many requests as it can; nothing was changed, try again shortly",
        )
        .retry_after(1)
        .into_response(),
        Err(Refusal::AddressBusy) => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "too many requests at once from your address; nothing was changed, try again shortly",
        )
        .retry_after(1)
        .into_response(),
    }
}
