//! A TCP forwarder a test controls. Between a server and its database it
//! can cut or freeze the link, to see what ferrid does when its
//! PostgreSQL goes away (connections fail) or hangs (connections accept
//! bytes and never answer, like a server stopped with SIGSTOP or behind a
//! dead network path). In front of several nodes it is the load balancer,
//! sending new connections to the node the test chooses.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Open,
    Frozen,
    Down,
}

struct Shared {
    mode: Mode,
    upstream: SocketAddr,
    streams: Vec<TcpStream>,
}

/// A forwarder listening on a loopback port.
pub struct FaultyLink {
    /// Where to connect instead of the real database.
    pub address: SocketAddr,
    shared: Arc<Mutex<Shared>>,
}

impl FaultyLink {
    /// Forwards connections on a new loopback port to `upstream`.
    pub fn to(upstream: SocketAddr) -> FaultyLink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind link");
        let address = listener.local_addr().expect("link address");
        let shared = Arc::new(Mutex::new(Shared {
            mode: Mode::Open,
            upstream,
            streams: Vec::new(),
        }));
        let accepting = shared.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if mode(&accepting) == Mode::Down {
                    // Refused, as by a stopped server.
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(upstream) = accepting.lock().map(|guard| guard.upstream) else {
                    continue;
                };
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                if let Ok(mut guard) = accepting.lock() {
                    for stream in [&client, &server] {
                        if let Ok(clone) = stream.try_clone() {
                            guard.streams.push(clone);
                        }
                    }
                }
                pump(&client, &server, accepting.clone());
                pump(&server, &client, accepting.clone());
            }
        });
        FaultyLink { address, shared }
    }

    /// Breaks every connection and refuses new ones.
    pub fn cut(&self) {
        let mut guard = self.shared.lock().expect("link state");
        guard.mode = Mode::Down;
        for stream in guard.streams.drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// Holds every byte in both directions until [`FaultyLink::restore`].
    pub fn freeze(&self) {
        self.shared.lock().expect("link state").mode = Mode::Frozen;
    }

    /// Ends every open connection and sends new ones to `upstream`.
    pub fn route_to(&self, upstream: SocketAddr) {
        let mut guard = self.shared.lock().expect("link state");
        guard.upstream = upstream;
        guard.mode = Mode::Open;
        for stream in guard.streams.drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// Forwards again (held bytes go through).
    pub fn restore(&self) {
        self.shared.lock().expect("link state").mode = Mode::Open;
    }

    /// `url` (a PostgreSQL URL) pointed at this link instead.
    pub fn url_for(&self, url: &str) -> String {
        let mut parsed = url::Url::parse(url).expect("database URL");
        parsed.set_host(Some("127.0.0.1")).expect("host");
        parsed.set_port(Some(self.address.port())).expect("port");
        // Without GSSAPI: libpq otherwise asks Kerberos for credentials on
        // every connection attempt, and an attempt still hanging on the
        // cut link when the test process exits can meet Kerberos's
        // mutexes being torn down (an abort in k5_mutex_lock, seen once).
        parsed
            .query_pairs_mut()
            .append_pair("gssencmode", "disable");
        parsed.to_string()
    }
}

fn mode(shared: &Mutex<Shared>) -> Mode {
    shared.lock().map(|guard| guard.mode).unwrap_or(Mode::Down)
}

/// Copies `from` to `to` on its own thread, waiting while frozen.
fn pump(from: &TcpStream, to: &TcpStream, shared: Arc<Mutex<Shared>>) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    std::thread::spawn(move || {
        let mut buffer = [0u8; 16 * 1024];
        while let Ok(read) = from.read(&mut buffer) {
            if read == 0 {
                break;
            }
            while mode(&shared) == Mode::Frozen {
                std::thread::sleep(Duration::from_millis(20));
            }
            if mode(&shared) == Mode::Down || to.write_all(&buffer[..read]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    });
}
