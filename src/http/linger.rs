//! A lingering close. When the server answers before reading a request's
//! body (a 413 for a declared length over the limit, a 401), hyper closes
//! the connection with the body's rest unread, and the kernel answers the
//! client's further data with a reset: a client still sending then sees a
//! broken pipe instead of the answer. So a closing connection first ends
//! its sending side and then reads, and drops, what the client still sends,
//! within a bound of time and bytes, as nginx does.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// How long a closing connection keeps reading at most.
const LINGER_TIME: Duration = Duration::from_secs(5);
/// How long it waits for more from a client that has gone quiet.
const LINGER_IDLE: Duration = Duration::from_secs(1);
/// How much a closing connection reads at most.
const LINGER_BYTES: usize = 8 * 1024 * 1024;

/// A TCP stream whose shutdown lingers.
pub struct Lingering {
    stream: TcpStream,
    /// Set once the sending side is shut: when the lingering ends, and when
    /// it ends at the latest.
    deadline: Option<(Pin<Box<Sleep>>, Instant)>,
    drained: usize,
}

impl Lingering {
    pub fn new(stream: TcpStream) -> Lingering {
        Lingering {
            stream,
            deadline: None,
            drained: 0,
        }
    }
}

impl AsyncRead for Lingering {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Lingering {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    /// Sends FIN after the answer, then drains until the client closes its
    /// side, goes quiet, or a bound is reached; a failed read ends it too.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let (idle, end) = match &mut this.deadline {
            Some(deadline) => deadline,
            None => {
                ready!(Pin::new(&mut this.stream).poll_shutdown(cx))?;
                let now = Instant::now();
                let idle = Box::pin(tokio::time::sleep_until(now + LINGER_IDLE));
                this.deadline.insert((idle, now + LINGER_TIME))
            }
        };
        let mut scratch = [0u8; 16 * 1024];
        loop {
            if idle.as_mut().poll(cx).is_ready() || this.drained >= LINGER_BYTES {
                return Poll::Ready(Ok(()));
            }
            let mut buf = ReadBuf::new(&mut scratch);
            match ready!(Pin::new(&mut this.stream).poll_read(cx, &mut buf)) {
                Ok(()) if !buf.filled().is_empty() => {
                    this.drained += buf.filled().len();
                    let quiet_at = (Instant::now() + LINGER_IDLE).min(*end);
                    idle.as_mut().reset(quiet_at);
                }
                _ => return Poll::Ready(Ok(())),
            }
        }
    }
}
