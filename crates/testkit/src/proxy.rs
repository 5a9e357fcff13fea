//! A fault-injecting HTTP/1.1 proxy for one-request connections, between the SDK and moto.
//!
//! Each client connection carries one request: the proxy forwards it upstream with
//! `Connection: close`, and streams the response back with `Connection: close` added, applying
//! the next queued [`Fault`] to requests that read an object (GET without `list-type`), and the
//! next fault of a second queue ([`FaultProxy::push_put`]) to requests that write one (PUT).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// What to do to one object request.
#[derive(Debug)]
pub enum Fault {
    /// Send the headers and this many body bytes, then reset the connection (RST).
    Reset {
        /// Body bytes delivered before the reset.
        after: u64,
    },
    /// Send the headers and this many body bytes, then close cleanly: a short body.
    Truncate {
        /// Body bytes delivered before the close.
        after: u64,
    },
    /// Send the headers and this many body bytes, then send nothing for `for_`.
    Stall {
        /// Body bytes delivered before the stall.
        after: u64,
        /// How long to stall.
        for_: Duration,
    },
    /// Answer with this status and S3 error code, without asking upstream.
    Status {
        /// HTTP status, e.g. 503.
        status: u16,
        /// S3 error code, e.g. `SlowDown`.
        code: &'static str,
    },
    /// Answer with this status and S3 error code, without asking upstream, naming the bucket's
    /// region in the body's `<Region>` and, with `header`, in `x-amz-bucket-region`: S3's
    /// answer to a request for a bucket in another region (301 `PermanentRedirect`, 400
    /// `AuthorizationHeaderMalformed`).
    OtherRegion {
        /// HTTP status: 301 or 400.
        status: u16,
        /// S3 error code.
        code: &'static str,
        /// The bucket's region, e.g. `eu-west-1`.
        region: &'static str,
        /// Whether the answer has the `x-amz-bucket-region` header.
        header: bool,
    },
    /// Hold the request until the sender side is dropped or sends, then forward it unchanged.
    Hold(oneshot::Receiver<()>),
    /// Send the headers and this many body bytes, then one byte every `every` for `for_`, then
    /// the rest at full speed (a server that drips).
    Drip {
        /// Body bytes delivered at full speed first.
        after: u64,
        /// The pause between two bytes.
        every: Duration,
        /// How long to drip.
        for_: Duration,
    },
    /// Forward the request without its `Range` header (a server that ignores Range).
    IgnoreRange,
    /// Hold this PUT until the proxy has received `puts` PUT requests in all (or 10 s have
    /// passed), then `grace` more, then forward it; how many PUTs had arrived by then is
    /// [`FaultProxy::puts_seen_while_held`]. With a held first PUT, that is how many requests
    /// the client keeps in flight.
    HoldUntilPuts {
        /// PUT requests to wait for (this one included).
        puts: u64,
        /// How long to wait after that, for requests beyond it to show up.
        grace: Duration,
    },
}

/// A running proxy; stops with the runtime.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    faults: Arc<Mutex<VecDeque<Fault>>>,
    object_requests: Arc<AtomicU64>,
    put_faults: Arc<Mutex<VecDeque<Fault>>>,
    put_requests: Arc<AtomicU64>,
    state: Arc<State>,
}

/// The fault queues and counters shared with the connection tasks.
#[derive(Clone, Default)]
struct Queues {
    faults: Arc<Mutex<VecDeque<Fault>>>,
    object_requests: Arc<AtomicU64>,
    put_faults: Arc<Mutex<VecDeque<Fault>>>,
    put_requests: Arc<AtomicU64>,
    state: Arc<State>,
}

/// What the proxy records and the settings that apply to every request.
#[derive(Debug, Default)]
struct State {
    /// Response headers (lower case) removed from every object GET response.
    strip: Mutex<Vec<String>>,
    /// Every request line, as received.
    request_lines: Mutex<Vec<String>>,
    /// Body bytes written to clients for object GETs.
    body_bytes: AtomicU64,
    /// PUT requests received by the time a [`Fault::HoldUntilPuts`] let its request go.
    puts_seen_while_held: Mutex<Option<u64>>,
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream`, on a free loopback port. Call from a runtime.
    pub async fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let queues = Queues::default();
        let q = queues.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let q = q.clone();
                tokio::spawn(async move {
                    let _ = handle(client, upstream, &q).await;
                });
            }
        });
        FaultProxy {
            addr,
            faults: queues.faults,
            object_requests: queues.object_requests,
            put_faults: queues.put_faults,
            put_requests: queues.put_requests,
            state: queues.state,
        }
    }

    /// Removes these response headers (e.g. `etag`, `last-modified`, `content-length`) from
    /// every object GET response from now on; without `content-length` the body is delimited
    /// by the connection's close.
    pub fn strip_response_headers(&self, names: &[&str]) {
        *self.state.strip.lock().expect("strip list") =
            names.iter().map(|n| n.to_ascii_lowercase()).collect();
    }

    /// Every request line received so far (`GET /bucket/key HTTP/1.1`), raw.
    pub fn request_lines(&self) -> Vec<String> {
        self.state
            .request_lines
            .lock()
            .expect("request lines")
            .clone()
    }

    /// Body bytes written to clients for object GETs so far.
    pub fn object_body_bytes(&self) -> u64 {
        self.state.body_bytes.load(Ordering::SeqCst)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queues a fault for the next object request.
    pub fn push(&self, fault: Fault) {
        self.faults.lock().expect("fault queue").push_back(fault);
    }

    /// Object requests seen so far.
    pub fn object_requests(&self) -> u64 {
        self.object_requests.load(Ordering::SeqCst)
    }

    /// Queues a fault for the next request that writes an object (a PUT). Only
    /// [`Fault::Status`] and [`Fault::OtherRegion`] (answered after the request body, per its `Content-Length`, has been
    /// read), [`Fault::Hold`] and [`Fault::HoldUntilPuts`] apply to a PUT; the others let it
    /// through unchanged.
    pub fn push_put(&self, fault: Fault) {
        self.put_faults
            .lock()
            .expect("fault queue")
            .push_back(fault);
    }

    /// PUT requests seen so far.
    pub fn put_requests(&self) -> u64 {
        self.put_requests.load(Ordering::SeqCst)
    }

    /// PUT requests received by the time the first [`Fault::HoldUntilPuts`] let its request
    /// go (`None` before one has).
    pub fn puts_seen_while_held(&self) -> Option<u64> {
        *self.state.puts_seen_while_held.lock().expect("held count")
    }
}

async fn read_head(s: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            return Ok(i + 4);
        }
        let mut chunk = [0u8; 8192];
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

/// Drops any `Connection` header and the `drop` ones (lower case), and adds
/// `Connection: close`.
fn without_headers(head: &[u8], drop: &[String]) -> Vec<u8> {
    let text = String::from_utf8_lossy(head);
    let mut out = String::new();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        let lower = line.to_ascii_lowercase();
        let name = lower.split(':').next().unwrap_or("").trim();
        if name != "connection" && !drop.iter().any(|d| d == name) {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    out.into_bytes()
}

/// The value of header `name` (lower case) in `head`.
fn header(head: &[u8], name: &str) -> Option<String> {
    String::from_utf8_lossy(head).split("\r\n").find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim().to_ascii_lowercase() == name).then(|| v.trim().to_owned())
    })
}

async fn handle(mut client: TcpStream, upstream: SocketAddr, q: &Queues) -> std::io::Result<()> {
    let state = &*q.state;
    let mut buf = Vec::new();
    let head_len = read_head(&mut client, &mut buf).await?;
    let head = buf[..head_len].to_vec();
    let first = String::from_utf8_lossy(&head[..find(&head, b"\r\n").unwrap_or(0)]).into_owned();
    state
        .request_lines
        .lock()
        .expect("request lines")
        .push(first.clone());
    let is_object_get = first.starts_with("GET ") && !first.contains("list-type");
    let is_put = first.starts_with("PUT ");
    let fault = if is_object_get {
        q.object_requests.fetch_add(1, Ordering::SeqCst);
        q.faults.lock().expect("fault queue").pop_front()
    } else if is_put {
        q.put_requests.fetch_add(1, Ordering::SeqCst);
        match q.put_faults.lock().expect("fault queue").pop_front() {
            Some(
                f @ (Fault::Status { .. }
                | Fault::OtherRegion { .. }
                | Fault::Hold(_)
                | Fault::HoldUntilPuts { .. }),
            ) => Some(f),
            _ => None,
        }
    } else {
        None
    };
    if is_put
        && matches!(
            fault,
            Some(Fault::Status { .. } | Fault::OtherRegion { .. })
        )
        && header(&head, "expect").is_none()
    {
        // Read the body first, as a server does, so that the client sees the answer.
        let length: usize = header(&head, "content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        let mut have = buf.len() - head_len;
        let mut chunk = [0u8; 8192];
        while have < length {
            let n = client.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            have += n;
        }
    }
    let fault = match fault {
        Some(Fault::Hold(rx)) => {
            let _ = rx.await;
            None
        }
        Some(Fault::HoldUntilPuts { puts, grace }) => {
            let until = tokio::time::Instant::now() + Duration::from_secs(10);
            while q.put_requests.load(Ordering::SeqCst) < puts
                && tokio::time::Instant::now() < until
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            tokio::time::sleep(grace).await;
            // The first held PUT to go decides: once it is forwarded and answered, the client
            // may start another PUT before the other held ones wake up and read the count.
            let seen = q.put_requests.load(Ordering::SeqCst);
            let mut first_count = state.puts_seen_while_held.lock().expect("held count");
            *first_count = Some(first_count.map_or(seen, |h| h.min(seen)));
            drop(first_count);
            None
        }
        Some(Fault::Status { status, code }) => {
            return answer(client, status, code, "", "").await;
        }
        Some(Fault::OtherRegion {
            status,
            code,
            region,
            header,
        }) => {
            let extra = if header {
                format!("x-amz-bucket-region: {region}\r\n")
            } else {
                String::new()
            };
            let body = format!("<Region>{region}</Region>");
            return answer(client, status, code, &extra, &body).await;
        }
        other => other,
    };
    if matches!(fault, Some(Fault::Reset { .. })) {
        set_reset_on_close(&client)?;
    }
    let mut up = TcpStream::connect(upstream).await?;
    let drop_request: Vec<String> = if matches!(fault, Some(Fault::IgnoreRange)) {
        vec!["range".into()]
    } else {
        Vec::new()
    };
    up.write_all(&without_headers(&head, &drop_request)).await?;
    up.write_all(&buf[head_len..]).await?;
    // A request body (PUT) is streamed through as it comes.
    let (mut cr, mut cw) = client.into_split();
    let (mut ur, mut uw) = up.into_split();
    let to_upstream = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut cr, &mut uw).await;
    });
    let mut resp = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    let resp_head_len = loop {
        if let Some(i) = find(&resp, b"\r\n\r\n") {
            break i + 4;
        }
        let n = ur.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        resp.extend_from_slice(&chunk[..n]);
    };
    let strip = if is_object_get {
        state.strip.lock().expect("strip list").clone()
    } else {
        Vec::new()
    };
    cw.write_all(&without_headers(&resp[..resp_head_len], &strip))
        .await?;
    let mut pending = resp[resp_head_len..].to_vec();
    let limit = match &fault {
        Some(
            Fault::Reset { after }
            | Fault::Truncate { after }
            | Fault::Stall { after, .. }
            | Fault::Drip { after, .. },
        ) => Some(*after),
        _ => None,
    };
    let count = |n: usize| {
        if is_object_get {
            state.body_bytes.fetch_add(n as u64, Ordering::SeqCst);
        }
    };
    let mut sent: u64 = 0;
    let mut unsent: Vec<u8> = Vec::new();
    loop {
        if !pending.is_empty() {
            let allowed = limit.map_or(pending.len() as u64, |l| {
                (l - sent).min(pending.len() as u64)
            });
            let allowed = usize::try_from(allowed).unwrap_or(usize::MAX);
            cw.write_all(&pending[..allowed]).await?;
            count(allowed);
            sent += allowed as u64;
            unsent.clear();
            unsent.extend_from_slice(&pending[allowed..]);
            pending.clear();
            if limit == Some(sent) {
                break;
            }
        }
        let n = ur.read(&mut chunk).await?;
        if n == 0 {
            to_upstream.abort();
            return cw.shutdown().await;
        }
        pending.extend_from_slice(&chunk[..n]);
    }
    if let Some(Fault::Drip { every, for_, .. }) = &fault {
        let (every, for_) = (*every, *for_);
        let until = tokio::time::Instant::now() + for_;
        while tokio::time::Instant::now() < until {
            if unsent.is_empty() {
                let n = ur.read(&mut chunk).await?;
                if n == 0 {
                    return cw.shutdown().await;
                }
                unsent.extend_from_slice(&chunk[..n]);
            }
            cw.write_all(&unsent[..1]).await?;
            count(1);
            unsent.remove(0);
            tokio::time::sleep(every).await;
        }
        cw.write_all(&unsent).await?;
        count(unsent.len());
        loop {
            let n = ur.read(&mut chunk).await?;
            if n == 0 {
                return cw.shutdown().await;
            }
            cw.write_all(&chunk[..n]).await?;
            count(n);
        }
    }
    to_upstream.abort();
    match fault {
        // Linger 0 was set: dropping the socket sends a reset.
        Some(Fault::Reset { .. }) => Ok(()),
        Some(Fault::Stall { for_, .. }) => {
            tokio::time::sleep(for_).await;
            Ok(())
        }
        _ => cw.shutdown().await,
    }
}

/// A server on a free loopback port that accepts connections, reads what comes and never
/// answers (an endpoint that hangs). Returns `http://127.0.0.1:<port>`; the thread lives as
/// long as the process.
pub fn silent_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind silent server");
    let addr = listener.local_addr().expect("silent server address");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            let mut c = conn;
            let _ = c.set_nonblocking(true);
            let mut sink = [0u8; 4096];
            let _ = std::io::Read::read(&mut c, &mut sink);
            held.push(c);
        }
    });
    format!("http://{addr}")
}

/// Answers `client` with `status`, an S3 error body of `code` with the `more` elements, and the
/// `extra` header lines (each ending with CRLF), then closes.
async fn answer(
    mut client: TcpStream,
    status: u16,
    code: &str,
    extra: &str,
    more: &str,
) -> std::io::Result<()> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>injected by the fault proxy</Message>{more}</Error>"
    );
    let reply = format!(
        "HTTP/1.1 {status} Injected\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
        body.len()
    );
    client.write_all(reply.as_bytes()).await?;
    client.shutdown().await
}

#[allow(deprecated)]
fn set_reset_on_close(s: &TcpStream) -> std::io::Result<()> {
    s.set_linger(Some(Duration::ZERO))
}
