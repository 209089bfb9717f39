//! Loopback checks `up` needs without an HTTP client dependency: is a port free, and what
//! status does a GET answer with.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// A port on 127.0.0.1 that nothing listens on right now (the OS picks it).
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((LOOPBACK, 0))?.local_addr()?.port())
}

/// Whether `port` on 127.0.0.1 can be listened on.
pub fn port_is_free(port: u16) -> bool {
    TcpListener::bind((LOOPBACK, port)).is_ok()
}

/// Whether something accepts connections on 127.0.0.1:`port`.
pub fn port_answers(port: u16) -> bool {
    TcpStream::connect_timeout(&SocketAddr::from((LOOPBACK, port)), Duration::from_millis(500)).is_ok()
}

/// The status code of `GET path` on 127.0.0.1:`port`, or `None` if nothing answers properly.
pub fn http_status(port: u16, path: &str) -> Option<u16> {
    let timeout = Duration::from_secs(2);
    let mut stream = TcpStream::connect_timeout(&SocketAddr::from((LOOPBACK, port)), timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.set_write_timeout(Some(timeout)).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut head = [0u8; 64];
    let n = stream.read(&mut head).ok()?;
    // "HTTP/1.1 200 OK"
    let line = std::str::from_utf8(&head[..n]).ok()?;
    line.strip_prefix("HTTP/1.")?.get(2..5)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_of_a_tiny_server_and_of_a_closed_port() {
        let listener = TcpListener::bind((LOOPBACK, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(!port_is_free(port));
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut buf = [0u8; 256];
            let _ = conn.read(&mut buf);
            conn.write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n").unwrap();
        });
        assert_eq!(http_status(port, "/readyz"), Some(503));
        server.join().unwrap();
        let closed = free_port().unwrap();
        assert_eq!(http_status(closed, "/readyz"), None);
        assert!(!port_answers(closed));
    }
}
