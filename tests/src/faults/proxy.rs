//! A lossy TCP proxy between the device processes and `kefu serve`: per connection it
//! may refuse at once, delay every chunk, or cut both directions after a random number
//! of bytes (so a request or a reply arrives truncated, before or after the server
//! committed). A restarted server listens on the same port; connections that find no
//! server close.
//!
//! Plain threads and blocking sockets: a few devices make a few connections a second.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use kefu_core::ids::SplitMix64;

/// What the proxy did, for the run's counts.
#[derive(Debug, Default)]
pub struct ProxyCounts {
    /// Connections accepted.
    pub connections: AtomicU64,
    /// Closed at once, before a byte went through.
    pub refused: AtomicU64,
    /// Cut after part of the request or the reply.
    pub cut: AtomicU64,
    /// Every chunk delayed.
    pub delayed: AtomicU64,
}

/// A running proxy; it stops accepting when dropped.
pub struct Proxy {
    /// Where devices connect.
    pub addr: SocketAddr,
    /// What it did so far.
    pub counts: Arc<ProxyCounts>,
    stop: Arc<AtomicBool>,
}

/// One connection's fate, drawn when it is accepted.
#[derive(Clone, Copy)]
struct Plan {
    /// Bytes the device may send before the connection is cut.
    up_limit: u64,
    /// Bytes the server may send back before the connection is cut.
    down_limit: u64,
    /// Pause before each chunk is passed on.
    delay: Duration,
}

impl Proxy {
    /// Starts a proxy to `upstream` on a free loopback port. `fault_rate` is the share of
    /// connections that get a fault (each of refuse, cut up, cut down alike); a quarter of
    /// all connections are also delayed.
    pub fn start(upstream: SocketAddr, fault_rate: f64, seed: u64) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        // Accept polls, so that dropping the proxy ends the thread.
        listener.set_nonblocking(true)?;
        let counts = Arc::new(ProxyCounts::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_counts, thread_stop) = (Arc::clone(&counts), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut rng = SplitMix64(seed);
            while !thread_stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((device, _)) => {
                        thread_counts.connections.fetch_add(1, Ordering::Relaxed);
                        let plan = draw_plan(&mut rng, fault_rate, &thread_counts);
                        std::thread::spawn(move || serve(device, upstream, plan));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Ok(Proxy { addr, counts, stop })
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn unit(rng: &mut SplitMix64) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn draw_plan(rng: &mut SplitMix64, fault_rate: f64, counts: &ProxyCounts) -> Plan {
    let mut plan = Plan { up_limit: u64::MAX, down_limit: u64::MAX, delay: Duration::ZERO };
    if unit(rng) < 0.25 {
        counts.delayed.fetch_add(1, Ordering::Relaxed);
        plan.delay = Duration::from_millis(20 + rng.next_u64() % 200);
    }
    if unit(rng) < fault_rate {
        // Cut points from the first byte to well past a typical round's size, so some cuts
        // fall after the whole request (the server commits, the reply is lost).
        match rng.next_u64() % 3 {
            0 => {
                counts.refused.fetch_add(1, Ordering::Relaxed);
                plan.up_limit = 0;
            }
            1 => {
                counts.cut.fetch_add(1, Ordering::Relaxed);
                plan.up_limit = rng.next_u64() % 4096;
            }
            _ => {
                counts.cut.fetch_add(1, Ordering::Relaxed);
                plan.down_limit = rng.next_u64() % 4096;
            }
        }
    }
    plan
}

fn serve(device: TcpStream, upstream: SocketAddr, plan: Plan) {
    if plan.up_limit == 0 {
        let _ = device.shutdown(Shutdown::Both);
        return;
    }
    let Ok(server) = TcpStream::connect_timeout(&upstream, Duration::from_secs(2)) else {
        let _ = device.shutdown(Shutdown::Both);
        return;
    };
    let (Ok(device_2), Ok(server_2)) = (device.try_clone(), server.try_clone()) else { return };
    let up = std::thread::spawn(move || pump(device, server, plan.up_limit, plan.delay));
    pump(server_2, device_2, plan.down_limit, plan.delay);
    let _ = up.join();
}

/// Copies `from` to `to` until either ends or `limit` bytes went through; then closes
/// both sockets both ways, so the other direction ends too.
fn pump(mut from: TcpStream, mut to: TcpStream, limit: u64, delay: Duration) {
    let mut passed = 0u64;
    let mut buf = [0u8; 8192];
    // A silent peer is given up on, as a phone's network would.
    let _ = from.set_read_timeout(Some(Duration::from_secs(90)));
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        let allowed = (limit - passed).min(n as u64) as usize;
        if to.write_all(&buf[..allowed]).is_err() {
            break;
        }
        passed += allowed as u64;
        if passed >= limit {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
