//! An HTTP/1.1 proxy in front of an endpoint (a moto server) that fails a
//! share of the requests it is sent: each is, at random with a seeded
//! generator, answered `503 Service Unavailable` with no body, dropped (the
//! connection closed without an answer), or forwarded. Point
//! `AWS_ENDPOINT_URL` at it to see whether a command survives a flaky
//! network the way the SDK's retries promise.
//!
//! Blocking sockets, a thread per connection: one answer per connection
//! (`Connection: close`), so every request is decided on its own.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// What the proxy did so far.
#[derive(Debug, Default)]
pub struct ProxyCounts {
    pub forwarded: AtomicU64,
    pub answered_503: AtomicU64,
    pub dropped: AtomicU64,
}

impl ProxyCounts {
    /// Requests received (forwarded or failed).
    pub fn requests(&self) -> u64 {
        self.forwarded.load(Ordering::Relaxed) + self.faults()
    }

    /// Requests failed on purpose.
    pub fn faults(&self) -> u64 {
        self.answered_503.load(Ordering::Relaxed) + self.dropped.load(Ordering::Relaxed)
    }
}

/// A running proxy; it lives as long as the test process.
#[derive(Debug, Clone)]
pub struct FaultyProxy {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    pub counts: Arc<ProxyCounts>,
}

impl FaultyProxy {
    /// Proxies to `target` (`http://127.0.0.1:<port>`), failing each request
    /// with probability `fault_rate` (half of the failures a 503, half a
    /// dropped connection), drawn from a generator seeded with `seed`.
    pub fn start(target: &str, fault_rate: f64, seed: u64) -> FaultyProxy {
        let upstream = target
            .strip_prefix("http://")
            .unwrap_or_else(|| panic!("faulty proxy: {target} is not an http:// endpoint"))
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").expect("faulty proxy: bind 127.0.0.1:0");
        let port = listener
            .local_addr()
            .expect("faulty proxy: its own address")
            .port();
        let counts = Arc::new(ProxyCounts::default());
        let rng = Arc::new(Mutex::new(fastrand::Rng::with_seed(seed)));
        let shared = Arc::clone(&counts);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let roll = rng
                    .lock()
                    .map(|mut rng| rng.f64())
                    .unwrap_or_else(|poisoned| poisoned.into_inner().f64());
                let counts = Arc::clone(&shared);
                let upstream = upstream.clone();
                std::thread::spawn(move || {
                    // A broken exchange only fails that request, as on a real network.
                    let _ = serve(client, &upstream, roll, fault_rate, &counts);
                });
            }
        });
        FaultyProxy {
            endpoint: format!("http://127.0.0.1:{port}"),
            counts,
        }
    }
}

/// One request, read whole (head and body), then failed or forwarded.
fn serve(
    mut client: TcpStream,
    upstream: &str,
    roll: f64,
    fault_rate: f64,
    counts: &ProxyCounts,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    let mut content_length = 0usize;
    let mut chunked = false;
    let mut expects_continue = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let lower = line.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            content_length = value.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
        if lower.starts_with("expect:") && lower.contains("100-continue") {
            // Answered here, not forwarded: the body comes after it.
            expects_continue = true;
            continue;
        }
        if lower.starts_with("connection:") {
            continue;
        }
        if line == "\r\n" {
            head.extend_from_slice(b"Connection: close\r\n\r\n");
            break;
        }
        head.extend_from_slice(line.as_bytes());
    }
    if expects_continue {
        client.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size_line = String::new();
            reader.read_line(&mut size_line)?;
            body.extend_from_slice(size_line.as_bytes());
            let size = usize::from_str_radix(size_line.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk);
            if size == 0 {
                break;
            }
        }
    } else {
        body.resize(content_length, 0);
        reader.read_exact(&mut body)?;
    }

    if roll < fault_rate / 2.0 {
        counts.answered_503.fetch_add(1, Ordering::Relaxed);
        client.write_all(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )?;
        return client.shutdown(Shutdown::Both);
    }
    if roll < fault_rate {
        counts.dropped.fetch_add(1, Ordering::Relaxed);
        return client.shutdown(Shutdown::Both);
    }
    counts.forwarded.fetch_add(1, Ordering::Relaxed);
    let mut server = TcpStream::connect(upstream)?;
    server.write_all(&head)?;
    server.write_all(&body)?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer)?;
    client.write_all(&answer)?;
    client.shutdown(Shutdown::Both)
}
