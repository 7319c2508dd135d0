//! Switchboard's HTTP layer: the REST API (`/api/v1`), the web console (`/`), health and
//! metrics — later also the AI gateway, MCP, the Vault-compatible API and the agent protocol.
//!
//! Depends on `app` (and `domain` for its types). Handlers are thin: extract, authorise (by
//! extractor type), call one `app` service, map the result. No SQL, no policy decisions here.

pub mod api;
pub mod auth;
pub mod error;
pub mod gateway;
pub mod middleware;
pub mod state;
pub mod upload;
pub mod web;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use switchboard_app::App;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use error::{ApiError, ErrorCode};
pub use state::AppState;

/// HTTP settings chosen by the operator (see `docs/configuration.md`).
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Largest accepted request body; uploads get their own limit.
    pub body_limit_bytes: usize,
    /// How long a request may take before it is answered with `timeout` (streams excluded:
    /// the limit applies until the response starts).
    pub request_timeout: Duration,
    /// Whether clients reach the hub over TLS (adds HSTS, marks cookies `Secure`).
    pub tls: bool,
    /// The URL people use to reach the console (for links such as invites); `None` makes
    /// links relative.
    pub public_url: Option<String>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            body_limit_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            tls: false,
            public_url: None,
        }
    }
}

/// The whole application: API, console, fallbacks and every middleware layer.
pub fn router(app: Arc<App>, options: ServerOptions) -> Router {
    // Install the Prometheus recorder before the first request is counted.
    let _ = middleware::metrics::handle();
    let (api, spec) = api::router();
    let state = AppState {
        app,
        openapi: Arc::new(spec),
        options: Arc::new(options.clone()),
    };
    // Uploads may be larger than other bodies: the library's limit, with room for the
    // multipart framing (the file itself is counted as it is read).
    let limits = Arc::new(middleware::body_limit::Limits {
        general: options.body_limit_bytes,
        upload: state.app.document_max_bytes.saturating_add(64 * 1024),
        upload_message: state.app.too_large_message().into(),
    });
    let routes = api
        .merge(web::router())
        .fallback(fallback)
        .with_state(state);

    // One stack, added with one `Router::layer`: every `Router::layer` call boxes the route
    // again, and each boxed level was cloned on every request. Outermost first.
    routes.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::x_request_id(
                middleware::request_id::MakeRequestUuidV7,
            ))
            .layer(axum::middleware::from_fn(drop_unacceptable_request_id))
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(TraceLayer::new_for_http().make_span_with(make_span))
            .layer(axum::middleware::from_fn(middleware::metrics::track))
            .layer(axum::middleware::from_fn(middleware::error_bodies::fill))
            .layer(CatchPanicLayer::custom(|_panic| {
                // A bare 500: `error_bodies` gives it the JSON body or the error page.
                axum::response::IntoResponse::into_response(http::StatusCode::INTERNAL_SERVER_ERROR)
            }))
            .layer(CompressionLayer::new().compress_when(compression_predicate()))
            .layer(axum::middleware::map_response_with_state(
                middleware::security_headers::headers(options.tls),
                middleware::security_headers::add,
            ))
            .layer(TimeoutLayer::with_status_code(
                http::StatusCode::REQUEST_TIMEOUT,
                options.request_timeout,
            ))
            .layer(axum::middleware::from_fn(move |request, next| {
                middleware::body_limit::limit(limits.clone(), request, next)
            }))
            .layer(DefaultBodyLimit::max(options.body_limit_bytes)),
    )
}

/// Compression for everything except event streams (SSE must reach the client unbuffered)
/// and what the default predicate already skips (images, gRPC, tiny bodies).
pub fn compression_predicate() -> impl Predicate {
    DefaultPredicate::new().and(NotForContentType::const_new("text/event-stream"))
}

/// Replaces a client-sent request id that is too long or carries odd characters.
async fn drop_unacceptable_request_id(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let bad = request
        .headers()
        .get(middleware::request_id::REQUEST_ID_HEADER)
        .is_some_and(|v| !middleware::request_id::is_acceptable(v));
    if bad {
        let fresh = uuid::Uuid::now_v7().to_string();
        if let Ok(value) = http::HeaderValue::from_str(&fresh) {
            request
                .headers_mut()
                .insert(middleware::request_id::REQUEST_ID_HEADER, value.clone());
            request.extensions_mut().insert(RequestId::new(value));
        }
    }
    next.run(request).await
}

/// The tracing span of a request: method, path (never the query string, which may carry
/// tokens) and request id.
fn make_span(request: &http::Request<axum::body::Body>) -> tracing::Span {
    let request_id = request
        .headers()
        .get(middleware::request_id::REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "http",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %request_id,
    )
}

async fn fallback(uri: http::Uri) -> axum::response::Response {
    if middleware::error_bodies::is_api_path(uri.path()) {
        axum::response::IntoResponse::into_response(ApiError::from_code(ErrorCode::NotFound))
    } else {
        web::not_found().await
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets in-flight requests
/// finish for up to `drain`, and returns without waiting for any still running then (they
/// end with the process), so a stuck client cannot hold up a stop. Logs `listening on
/// http://ADDR` once connections are accepted.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain: std::time::Duration,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt as _;
    let addr = listener.local_addr()?;
    tracing::info!(url = %format!("http://{addr}"), "listening on http://{addr}");
    // Without TCP_NODELAY, a small write that follows another (an SSE event after the
    // headers, a text delta after a tool event) waits for the peer's delayed ACK: 40 ms.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    let (signalled, on_signal) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        shutdown.await;
        let _ = signalled.send(());
    };
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown);
    let drained = async move {
        match on_signal.await {
            Ok(()) => tokio::time::sleep(drain).await,
            // The server ended without a stop signal: it answers first.
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        served = std::future::IntoFuture::into_future(server) => served,
        () = drained => {
            tracing::warn!(
                secs = drain.as_secs(),
                "requests still running when the stop's grace period ended; stopping without them"
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{header, Response};

    fn response_with(content_type: &'static str) -> Response<axum::body::Body> {
        Response::builder()
            .header(header::CONTENT_TYPE, content_type)
            .body(axum::body::Body::from(vec![b'a'; 4096]))
            .unwrap()
    }

    #[test]
    fn event_streams_are_never_compressed() {
        let predicate = compression_predicate();
        assert!(!predicate.should_compress(&response_with("text/event-stream")));
        assert!(predicate.should_compress(&response_with("application/json")));
        assert!(predicate.should_compress(&response_with("text/html; charset=utf-8")));
    }
}
