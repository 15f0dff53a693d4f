//! A lying server: a plain-HTTP proxy on loopback, in front of a real
//! `sealdrop-server`, whose answers a test can rewrite.
//!
//! Each request is read whole, sent upstream on a fresh connection, and its
//! answer read whole (chunked bodies joined) before the rules see it; the
//! client then gets the (possibly rewritten) answer with a `Content-Length`,
//! on a connection kept alive as clients expect. Small and blocking: test
//! traffic only.

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// One request and the answer the client is about to get.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: String,
    /// The path with its query, as the client sent it.
    pub path: String,
    pub request_body: Vec<u8>,
    pub status: u16,
    /// The answer's headers, without the framing ones (length, encoding,
    /// connection), which the proxy sets itself.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Close the client's connection instead of answering.
    pub drop_connection: bool,
}

impl Exchange {
    /// Replaces the answer's body (and its status) with this.
    pub fn answer(&mut self, status: u16, body: impl Into<Vec<u8>>) {
        self.status = status;
        self.body = body.into();
    }
}

type Rewrite = Box<dyn FnMut(&mut Exchange, usize) + Send>;

/// A request as the client sent it, before it is forwarded.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub body: Vec<u8>,
}

/// What a hook before forwarding decides: forward the request, or answer
/// it with this status and body without the server ever seeing it.
pub type Verdict = Option<(u16, Vec<u8>)>;

type Intercept = Box<dyn FnMut(&Request) -> Verdict + Send>;

struct Hook {
    method: String,
    matches: Box<dyn Fn(&str) -> bool + Send>,
    act: Intercept,
}

struct Rule {
    method: String,
    matches: Box<dyn Fn(&str) -> bool + Send>,
    /// How many requests this rule has seen.
    seen: usize,
    rewrite: Rewrite,
}

/// The proxy. Dropping it stops accepting connections.
pub struct LyingProxy {
    /// `http://127.0.0.1:PORT`: give this to the clients instead of the
    /// server's URL.
    pub url: String,
    upstream: Arc<Mutex<Option<String>>>,
    rules: Arc<Mutex<Vec<Rule>>>,
    hooks: Arc<Mutex<Vec<Hook>>>,
    seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl std::fmt::Debug for LyingProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LyingProxy")
            .field("url", &self.url)
            .finish()
    }
}

impl LyingProxy {
    /// Listens on a port of its own, forwarding nowhere yet: start the
    /// server with `--public-url` set to [`LyingProxy::url`] (clients name
    /// the server they speak to in what they sign), then call
    /// [`LyingProxy::forward_to`].
    pub fn bind() -> Self {
        let upstream: Arc<Mutex<Option<String>>> = Arc::default();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let rules: Arc<Mutex<Vec<Rule>>> = Arc::default();
        let hooks: Arc<Mutex<Vec<Hook>>> = Arc::default();
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        {
            let (rules, hooks, seen, stop, upstream) = (
                rules.clone(),
                hooks.clone(),
                seen.clone(),
                stop.clone(),
                upstream.clone(),
            );
            thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let Some(to) = upstream.lock().unwrap().clone() else {
                        continue;
                    };
                    let (rules, hooks, seen) = (rules.clone(), hooks.clone(), seen.clone());
                    thread::spawn(move || serve(conn, &to, &rules, &hooks, &seen));
                }
            });
        }
        Self {
            url: format!("http://127.0.0.1:{port}"),
            upstream,
            rules,
            hooks,
            seen,
            stop,
            port,
        }
    }

    /// Forwards to the real server at `upstream` (`http://HOST:PORT`).
    pub fn forward_to(&self, upstream: &str) {
        let to = upstream
            .strip_prefix("http://")
            .expect("the lying proxy speaks plain HTTP only")
            .trim_end_matches('/')
            .to_owned();
        *self.upstream.lock().unwrap() = Some(to);
    }

    /// From now on, answers to `method` requests whose path (with query)
    /// satisfies `matches` go through `rewrite`, which also gets how many
    /// such requests came before (0 for the first).
    pub fn on(
        &self,
        method: &str,
        matches: impl Fn(&str) -> bool + Send + 'static,
        rewrite: impl FnMut(&mut Exchange, usize) + Send + 'static,
    ) {
        self.rules.lock().unwrap().push(Rule {
            method: method.to_owned(),
            matches: Box::new(matches),
            seen: 0,
            rewrite: Box::new(rewrite),
        });
    }

    /// From now on, `method` requests whose path satisfies `matches` go
    /// to `act` before they are forwarded: it may act first (as a server
    /// that reads a request and uses it for itself), then forward the
    /// request (`None`), or answer it instead (`Some((status, body))`).
    pub fn intercept(
        &self,
        method: &str,
        matches: impl Fn(&str) -> bool + Send + 'static,
        act: impl FnMut(&Request) -> Verdict + Send + 'static,
    ) {
        self.hooks.lock().unwrap().push(Hook {
            method: method.to_owned(),
            matches: Box::new(matches),
            act: Box::new(act),
        });
    }

    /// Forgets every rule and hook: an honest server again.
    pub fn honest(&self) {
        self.rules.lock().unwrap().clear();
        self.hooks.lock().unwrap().clear();
    }

    /// "METHOD path" of every request so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    /// How many requests so far were `method` to a path satisfying `matches`.
    pub fn count(&self, method: &str, matches: impl Fn(&str) -> bool) -> usize {
        self.requests()
            .iter()
            .filter(|r| {
                r.split_once(' ')
                    .is_some_and(|(m, p)| m == method && matches(p))
            })
            .count()
    }
}

impl Drop for LyingProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

struct Head {
    first: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn read_head(r: &mut impl BufRead) -> Option<Head> {
    let mut first = String::new();
    if r.read_line(&mut first).ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (n, v) = line.split_once(':')?;
        headers.push((n.trim().to_owned(), v.trim().to_owned()));
    }
    Some(Head {
        first: first.trim_end().to_owned(),
        headers,
    })
}

/// A body framed by `Content-Length` or chunked; `to_eof` reads to the end
/// when neither is given (answers only).
fn read_body(r: &mut impl BufRead, head: &Head, to_eof: bool) -> Option<Vec<u8>> {
    if head
        .get("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        let mut body = Vec::new();
        loop {
            let mut size = String::new();
            r.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            r.read_exact(&mut chunk).ok()?;
            if size == 0 {
                // Trailers are not used by sealdrop; the CRLF was read.
                return Some(body);
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
    if let Some(len) = head.get("content-length") {
        let mut body = vec![0; len.parse().ok()?];
        r.read_exact(&mut body).ok()?;
        return Some(body);
    }
    let mut body = Vec::new();
    if to_eof {
        r.read_to_end(&mut body).ok()?;
    }
    Some(body)
}

const FRAMING: [&str; 4] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
];

fn serve(
    conn: TcpStream,
    upstream: &str,
    rules: &Mutex<Vec<Rule>>,
    hooks: &Mutex<Vec<Hook>>,
    seen: &Mutex<Vec<String>>,
) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(120)));
    let mut out = conn.try_clone().unwrap();
    let mut input = BufReader::new(conn);
    while let Some(head) = read_head(&mut input) {
        if head
            .get("expect")
            .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
        {
            let _ = out.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
        let Some(request_body) = read_body(&mut input, &head, false) else {
            return;
        };
        let mut parts = head.first.split(' ');
        let (method, path) = (
            parts.next().unwrap_or_default().to_owned(),
            parts.next().unwrap_or_default().to_owned(),
        );
        seen.lock().unwrap().push(format!("{method} {path}"));
        let request = Request {
            method: method.clone(),
            path: path.clone(),
            body: request_body,
        };
        let mut verdict = None;
        for hook in hooks.lock().unwrap().iter_mut() {
            if verdict.is_none() && hook.method == method && (hook.matches)(&path) {
                verdict = (hook.act)(&request);
            }
        }
        let exchange = match verdict {
            Some((status, body)) => Some(Exchange {
                method: method.clone(),
                path: path.clone(),
                request_body: request.body,
                status,
                headers: vec![("content-type".into(), "application/json".into())],
                body,
                drop_connection: false,
            }),
            None => forward(upstream, &head, &method, &path, request.body),
        };
        let Some(mut exchange) = exchange else {
            let _ = out.shutdown(Shutdown::Both);
            return;
        };
        for rule in rules.lock().unwrap().iter_mut() {
            if rule.method == method && (rule.matches)(&path) {
                let n = rule.seen;
                rule.seen += 1;
                (rule.rewrite)(&mut exchange, n);
            }
        }
        if exchange.drop_connection {
            let _ = out.shutdown(Shutdown::Both);
            return;
        }
        let mut answer = format!("HTTP/1.1 {} Lied\r\n", exchange.status);
        for (n, v) in &exchange.headers {
            answer.push_str(&format!("{n}: {v}\r\n"));
        }
        answer.push_str(&format!(
            "content-length: {}\r\nconnection: keep-alive\r\n\r\n",
            exchange.body.len()
        ));
        if out.write_all(answer.as_bytes()).is_err() || out.write_all(&exchange.body).is_err() {
            return;
        }
    }
}

fn forward(
    upstream: &str,
    head: &Head,
    method: &str,
    path: &str,
    request_body: Vec<u8>,
) -> Option<Exchange> {
    let mut up = TcpStream::connect(upstream).ok()?;
    let _ = up.set_read_timeout(Some(Duration::from_secs(120)));
    let mut request = format!("{}\r\n", head.first);
    for (n, v) in &head.headers {
        if !FRAMING.contains(&n.to_ascii_lowercase().as_str()) && !n.eq_ignore_ascii_case("expect")
        {
            request.push_str(&format!("{n}: {v}\r\n"));
        }
    }
    request.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        request_body.len()
    ));
    up.write_all(request.as_bytes()).ok()?;
    up.write_all(&request_body).ok()?;
    let mut reader = BufReader::new(up);
    let answer = read_head(&mut reader)?;
    let status: u16 = answer.first.split(' ').nth(1)?.parse().ok()?;
    let body = if method == "HEAD" || status == 204 || status == 304 {
        Vec::new()
    } else {
        read_body(&mut reader, &answer, true)?
    };
    Some(Exchange {
        method: method.to_owned(),
        path: path.to_owned(),
        request_body,
        status,
        headers: answer
            .headers
            .into_iter()
            .filter(|(n, _)| !FRAMING.contains(&n.to_ascii_lowercase().as_str()))
            .collect(),
        body,
        drop_connection: false,
    })
}
