//! The connection loop: HTTP/1.1 over TCP with the bounds a public server
//! needs, which `axum::serve` does not set. A client gets `HEADER_TIMEOUT` to
//! send a request's headers, and a kept-alive connection may idle that long
//! between requests, so connections opened and left silent, or trickling
//! headers, are closed. At most `MAX_CONNECTIONS` are served at once; further
//! ones wait in the listen queue rather than use up the process's file
//! descriptors. (Bodies have their own bound: `api::body::read`.) A closing
//! connection lingers (`linger`), so that an answer sent before a body was
//! read reaches a client still sending it.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use super::linger::Lingering;

/// How long a client may take to send a request's headers, and how long a
/// kept-alive connection may idle between requests. Longer than the idle
/// timeouts of common load balancers (60 s) would be safer for them, shorter
/// frees a flood's connections sooner; this is hyper's default.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections served at once.
const MAX_CONNECTIONS: usize = 4_096;
/// How long a shutdown waits for requests in flight.
const DRAIN: Duration = Duration::from_secs(10);
/// The pause after a failed accept (for example: out of file descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves `router` on `listener` until `shutdown` completes, then drains the
/// requests in flight for up to `DRAIN`.
pub async fn run(
    router: Router,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        let Ok(slot) = slot else { break };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service =
            hyper::service::service_fn(move |mut request: axum::http::Request<Incoming>| {
                request
                    .extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(peer));
                router.clone().oneshot(request)
            });
        let stream = TokioIo::new(Lingering::new(stream));
        let connection = graceful.watch(http.serve_connection(stream, service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, %peer, "connection ended");
            }
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN) => {
            tracing::warn!("requests still in flight after {} s; stopping", DRAIN.as_secs());
        }
    }
    Ok(())
}
