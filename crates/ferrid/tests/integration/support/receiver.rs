//! A minimal HTTP receiver for back-channel logout tokens: it records the
//! body of every POST and answers 200.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A loopback port nobody listens on (yet).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running receiver.
pub struct Receiver {
    bodies: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    /// Listens on `port`, answering 200 with an empty body.
    pub fn start(port: u16) -> Receiver {
        Self::serving(port, String::new())
    }

    /// Listens on `port`, answering every request 200 with `body` (JSON).
    pub fn serving(port: u16, body: String) -> Receiver {
        Self::answering(port, "200 OK", body)
    }

    /// Listens on `port`, answering every request with `status` (e.g.
    /// `"500 Internal Server Error"`) and `body`.
    pub fn answering(port: u16, status: &'static str, body: String) -> Receiver {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("receiver port");
        listener.set_nonblocking(true).unwrap();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, stopping, answer) = (bodies.clone(), stop.clone(), body);
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        stream
                            .set_read_timeout(Some(Duration::from_secs(5)))
                            .unwrap();
                        let mut request = Vec::new();
                        let mut buffer = [0u8; 4096];
                        // Read the head, then as much body as Content-Length says.
                        let request_body = loop {
                            let read = stream.read(&mut buffer).unwrap_or(0);
                            if read == 0 {
                                break None;
                            }
                            request.extend_from_slice(&buffer[..read]);
                            let text = String::from_utf8_lossy(&request).into_owned();
                            if let Some(end) = text.find("\r\n\r\n") {
                                let length = text[..end]
                                    .lines()
                                    .find_map(|line| {
                                        let (name, value) = line.split_once(':')?;
                                        name.eq_ignore_ascii_case("content-length")
                                            .then(|| value.trim().parse::<usize>().ok())?
                                    })
                                    .unwrap_or(0);
                                if request.len() >= end + 4 + length {
                                    break Some(text[end + 4..end + 4 + length].to_owned());
                                }
                            }
                        };
                        // Recorded before answering, so a caller that saw the
                        // 200 also sees the body.
                        if let Some(request_body) = request_body {
                            seen.lock().unwrap().push(request_body);
                        }
                        let _ = stream.write_all(
                            format!(
                                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                                answer.len()
                            )
                            .as_bytes(),
                        );
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Receiver {
            bodies,
            stop,
            thread: Some(thread),
        }
    }

    /// How many requests arrived so far.
    pub fn requests(&self) -> usize {
        self.bodies.lock().unwrap().len()
    }

    /// The `logout_token` of every request received so far.
    pub fn logout_tokens(&self) -> Vec<String> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .filter_map(|body| {
                url::form_urlencoded::parse(body.as_bytes())
                    .find(|(name, _)| name == "logout_token")
                    .map(|(_, value)| value.into_owned())
            })
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
