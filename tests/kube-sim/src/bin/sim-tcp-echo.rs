//! A tiny TCP echo server used as a pod "image" in the simulator's tests:
//! `sim-tcp-echo PORT` listens on 127.0.0.1:PORT and echoes every connection back.
use std::io::{Read, Write};
use std::net::TcpListener;

fn main() {
    let port = std::env::args().nth(1).unwrap_or_default();
    let listener = match TcpListener::bind(format!("127.0.0.1:{port}")) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("sim-tcp-echo: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(2);
        }
    };
    println!("listening on {port}");
    for stream in listener.incoming().flatten() {
        std::thread::spawn(move || {
            let mut stream = stream;
            let mut buf = [0u8; 8192];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 || stream.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        });
    }
}
