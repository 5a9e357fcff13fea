//! An emulation of the AWS Lambda Runtime API on 127.0.0.1: what a function's runtime polls
//! (`GET /2018-06-01/runtime/invocation/next`) and answers to
//! (`POST /2018-06-01/runtime/invocation/<id>/response` or `/error`, `POST
//! /2018-06-01/runtime/init/error`).
//!
//! Each queued event is handed out once, with the headers Lambda sends (request id, deadline,
//! function ARN, trace id); when the queue is empty, `next` is left unanswered, as Lambda does
//! between invocations. Answers are recorded for the test to read.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// `/response` with this JSON body.
    Response(Value),
    /// `/error` (or `init/error`, with the id `init`) with this JSON body.
    Error(Value),
}

#[derive(Debug, Default)]
struct Shared {
    events: VecDeque<Value>,
    handed: u64,
    answers: Vec<(String, Answer)>,
}

/// The emulated Runtime API.
#[derive(Debug)]
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    notify: Arc<tokio::sync::Notify>,
}

const NEXT: &str = "/2018-06-01/runtime/invocation/next";
const INVOCATION: &str = "/2018-06-01/runtime/invocation/";
const INIT_ERROR: &str = "/2018-06-01/runtime/init/error";

impl RuntimeApi {
    /// Starts the emulator on a free loopback port with `events` queued. Call from a runtime.
    pub async fn start(events: Vec<Value>) -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind runtime api");
        let addr = listener.local_addr().expect("runtime api address");
        let shared = Arc::new(Mutex::new(Shared {
            events: events.into(),
            ..Shared::default()
        }));
        let notify = Arc::new(tokio::sync::Notify::new());
        let (s, n) = (shared.clone(), notify.clone());
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let (s, n) = (s.clone(), n.clone());
                tokio::spawn(async move {
                    let _ = serve(conn, &s, &n).await;
                });
            }
        });
        RuntimeApi {
            addr,
            shared,
            notify,
        }
    }

    /// `127.0.0.1:<port>`: the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// The answers so far: (request id, answer).
    pub fn answers(&self) -> Vec<(String, Answer)> {
        self.shared
            .lock()
            .expect("runtime api state")
            .answers
            .clone()
    }

    /// Waits until `n` answers have come, at most `timeout`; returns them.
    pub async fn wait_answers(&self, n: usize, timeout: Duration) -> Vec<(String, Answer)> {
        let _ = tokio::time::timeout(timeout, async {
            loop {
                let notified = self.notify.notified();
                if self.answers().len() >= n {
                    return;
                }
                notified.await;
            }
        })
        .await;
        self.answers()
    }
}

async fn serve(
    mut conn: TcpStream,
    shared: &Mutex<Shared>,
    notify: &tokio::sync::Notify,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    loop {
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 8192];
            let n = conn.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let len: usize = head
            .split("\r\n")
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        while buf.len() < head_end + len {
            let mut chunk = [0u8; 8192];
            let n = conn.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = buf[head_end..head_end + len].to_vec();
        buf.drain(..head_end + len);
        let mut words = head.split(' ');
        let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
        let reply: (u16, Vec<(String, String)>, Vec<u8>) = if method == "GET" && path == NEXT {
            let event = {
                let mut s = shared.lock().expect("runtime api state");
                s.events.pop_front().map(|e| {
                    s.handed += 1;
                    (s.handed, e)
                })
            };
            let Some((n, event)) = event else {
                // No invocation: Lambda freezes the function; the connection stays open.
                std::future::pending::<()>().await;
                return Ok(());
            };
            let deadline = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                + Duration::from_secs(900);
            (
                200,
                vec![
                    ("Lambda-Runtime-Aws-Request-Id".into(), format!("request-{n}")),
                    (
                        "Lambda-Runtime-Deadline-Ms".into(),
                        deadline.as_millis().to_string(),
                    ),
                    (
                        "Lambda-Runtime-Invoked-Function-Arn".into(),
                        "arn:aws:lambda:us-east-1:111122223333:function:rekcheck".into(),
                    ),
                    (
                        "Lambda-Runtime-Trace-Id".into(),
                        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
                            .into(),
                    ),
                ],
                event.to_string().into_bytes(),
            )
        } else if method == "POST" {
            let answer = |ok: bool| {
                let v = serde_json::from_slice(&body).unwrap_or(Value::Null);
                if ok {
                    Answer::Response(v)
                } else {
                    Answer::Error(v)
                }
            };
            let recorded = if path == INIT_ERROR {
                Some(("init".to_owned(), answer(false)))
            } else if let Some(rest) = path.strip_prefix(INVOCATION) {
                match rest.rsplit_once('/') {
                    Some((id, "response")) => Some((id.to_owned(), answer(true))),
                    Some((id, "error")) => Some((id.to_owned(), answer(false))),
                    _ => None,
                }
            } else {
                None
            };
            match recorded {
                Some(r) => {
                    shared.lock().expect("runtime api state").answers.push(r);
                    notify.notify_waiters();
                    (202, Vec::new(), br#"{"status":"OK"}"#.to_vec())
                }
                None => (404, Vec::new(), b"{}".to_vec()),
            }
        } else {
            (404, Vec::new(), b"{}".to_vec())
        };
        let (status, headers, body) = reply;
        let mut out = format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            if status < 300 { "OK" } else { "Not Found" },
            body.len()
        );
        for (k, v) in headers {
            let _ = write!(out, "{k}: {v}\r\n");
        }
        out.push_str("\r\n");
        conn.write_all(out.as_bytes()).await?;
        conn.write_all(&body).await?;
    }
}
