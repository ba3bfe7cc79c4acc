//! A small fault-injecting HTTP proxy on 127.0.0.1: the n-th request it receives gets
//! the n-th fault of its plan (then the default), and everything it does is counted.
//! One request per connection; bounded by the plan and by the test's lifetime.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What the proxy does with one request.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Forward to the server and pass the answer back.
    Pass,
    /// Answer with this status (and a `Retry-After` in seconds), without forwarding.
    Status(u16, Option<u64>),
    /// Wait, then forward.
    Delay(Duration),
    /// Close the connection without answering.
    Drop,
    /// Forward, then pass back only half of the body (the headers promise all of it).
    Truncate,
    /// Answer 200 with a body that is not JSON.
    NotJson,
    /// Answer with these exact bytes (status line, headers and body, however wrong)
    /// and close: a hostile or broken server.
    Raw(Vec<u8>),
    /// Answer with this head (status line and headers, ending in a blank line), then
    /// `bytes` of filler, then close: a body far larger than any answer.
    Flood(String, usize),
}

pub struct Proxy {
    /// `http://127.0.0.1:PORT/v1`
    pub base_url: String,
    seen: Arc<AtomicUsize>,
}

impl Proxy {
    /// Requests received so far.
    pub fn requests(&self) -> usize {
        self.seen.load(Ordering::SeqCst)
    }
}

pub fn start(upstream: &str, plan: Vec<Fault>, default: Fault) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let upstream = upstream.to_owned();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let (plan, default, upstream, counter) = (
                plan.clone(),
                default.clone(),
                upstream.clone(),
                counter.clone(),
            );
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let Some((head, body)) = read_request(&mut reader) else {
                    return;
                };
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let fault = plan.get(n).cloned().unwrap_or(default);
                handle(conn, &upstream, &head, &body, fault);
            });
        }
    });
    Proxy {
        base_url: format!("http://127.0.0.1:{port}/v1"),
        seen,
    }
}

fn read_request(r: &mut BufReader<TcpStream>) -> Option<(String, Vec<u8>)> {
    let mut head = String::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().ok()?;
        }
        head.push_str(&line);
    }
    let mut body = vec![0; length];
    r.read_exact(&mut body).ok()?;
    Some((head, body))
}

fn forward(upstream: &str, head: &str, body: &[u8]) -> Vec<u8> {
    // Any failure (the server already gone at the end of a test) gives an empty
    // answer, which the client sees as a dropped connection.
    let request_line = head.lines().next().unwrap_or("POST / HTTP/1.1");
    let Ok(mut s) = TcpStream::connect(upstream) else {
        return Vec::new();
    };
    let req = format!(
        "{request_line}\r\nHost: {upstream}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut out = Vec::new();
    if s.write_all(req.as_bytes()).is_ok() && s.write_all(body).is_ok() {
        let _ = s.read_to_end(&mut out);
    }
    out
}

fn respond(mut conn: TcpStream, status: u16, extra: &str, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status} Injected\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
        body.len()
    );
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(body);
}

fn handle(mut conn: TcpStream, upstream: &str, head: &str, body: &[u8], fault: Fault) {
    match fault {
        Fault::Pass => {
            let _ = conn.write_all(&forward(upstream, head, body));
        }
        Fault::Delay(d) => {
            std::thread::sleep(d);
            let _ = conn.write_all(&forward(upstream, head, body));
        }
        Fault::Status(code, retry_after) => {
            let extra = retry_after
                .map(|s| format!("Retry-After: {s}\r\n"))
                .unwrap_or_default();
            respond(conn, code, &extra, br#"{"error": {"message": "injected"}}"#);
        }
        Fault::Drop => drop(conn),
        Fault::Truncate => {
            let full = forward(upstream, head, body);
            let split = full
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map_or(full.len(), |p| p + 4);
            let cut = split + (full.len() - split) / 2;
            let _ = conn.write_all(&full[..cut]);
        }
        Fault::NotJson => respond(conn, 200, "", b"<html>502 Bad Gateway</html>"),
        Fault::Raw(bytes) => {
            let _ = conn.write_all(&bytes);
        }
        Fault::Flood(head, bytes) => {
            if conn.write_all(head.as_bytes()).is_ok() {
                let chunk = vec![b'x'; 1 << 16];
                let mut sent = 0;
                while sent < bytes {
                    let n = chunk.len().min(bytes - sent);
                    if conn.write_all(&chunk[..n]).is_err() {
                        break; // the client stopped reading: as it should
                    }
                    sent += n;
                }
            }
        }
    }
}
