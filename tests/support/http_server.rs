//! A scripted HTTP/1.1 server on 127.0.0.1 for tests that run the real
//! binary against an HTTP source.
//!
//! Each path has a script of replies, served in order; the last one repeats,
//! so a test states what the server does "from then on". Unknown paths get
//! 404. Every connection is closed after its reply, so each request of the
//! client is one connection and shows up in [`Server::requests`]. Plain
//! threads rather than an async runtime: the test blocks on the child
//! process while the server answers it.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone)]
pub enum Reply {
    /// 200 with `body` (and `ETag: etag`), or 304 when the request's
    /// `If-None-Match` names that etag, as a real file server does.
    File { body: Vec<u8>, etag: Option<String> },
    /// This status with a short text body.
    Status(u16),
    /// Announces the whole body, sends half of it, closes the connection.
    Half(Vec<u8>),
}

#[derive(Default)]
struct State {
    routes: HashMap<String, VecDeque<Reply>>,
    /// (path, lower-cased request head) in arrival order.
    requests: Vec<(String, String)>,
}

pub struct Server {
    port: u16,
    state: Arc<Mutex<State>>,
}

impl Server {
    pub fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        // Lives as long as the test process; each test has its own server.
        std::thread::spawn(move || {
            for sock in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || answer(sock, &shared));
            }
        });
        Server { port, state }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Replaces the script of `path` (path and query, as requested).
    pub fn route(&self, path: &str, replies: Vec<Reply>) {
        assert!(!replies.is_empty());
        let mut s = self.state.lock().unwrap();
        s.routes.insert(path.to_string(), replies.into());
    }

    /// Heads of the requests for `path`, lower-cased, in arrival order.
    pub fn requests(&self, path: &str) -> Vec<String> {
        let s = self.state.lock().unwrap();
        s.requests
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, h)| h.clone())
            .collect()
    }
}

fn next_reply(state: &Mutex<State>, path: &str, head: &str) -> Option<Reply> {
    let mut s = state.lock().unwrap();
    s.requests.push((path.to_string(), head.to_string()));
    let script = s.routes.get_mut(path)?;
    if script.len() > 1 {
        script.pop_front()
    } else {
        script.front().cloned()
    }
}

fn answer(mut sock: TcpStream, state: &Mutex<State>) {
    let _ = sock.set_read_timeout(Some(Duration::from_secs(10)));
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match sock.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head).to_lowercase();
    let path = head
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let reply = next_reply(state, &path, &head).unwrap_or(Reply::Status(404));
    let mut out: Vec<u8> = Vec::new();
    match reply {
        Reply::File { body, etag } => {
            let matches = etag
                .as_deref()
                .is_some_and(|e| head.contains(&format!("if-none-match: {}", e.to_lowercase())));
            if matches {
                out.extend_from_slice(
                    b"HTTP/1.1 304 Not Modified\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
                );
            } else {
                let mut h = format!(
                    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: {}\r\n",
                    body.len()
                );
                if let Some(e) = etag {
                    h += &format!("ETag: {e}\r\n");
                }
                h += "\r\n";
                out.extend_from_slice(h.as_bytes());
                out.extend_from_slice(&body);
            }
        }
        Reply::Status(code) => {
            let body = format!("status {code}");
            out.extend_from_slice(
                format!(
                    "HTTP/1.1 {code} X\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }
        Reply::Half(body) => {
            out.extend_from_slice(
                format!(
                    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            );
            out.extend_from_slice(&body[..body.len() / 2]);
        }
    }
    let _ = sock.write_all(&out);
    let _ = sock.flush();
    let _ = sock.shutdown(Shutdown::Both);
}
