//! A tiny TCP server used as a pod "image" in the simulator's tests:
//! `sim-tcp-echo PORT` listens on 127.0.0.1:PORT and echoes every connection back;
//! `sim-tcp-echo PORT http CODE` answers every HTTP request with status CODE and prints the
//! request head (so a test can read what a prober sent in the pod's logs).
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};

fn echo(mut stream: TcpStream) {
    let mut buf = [0u8; 8192];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 || stream.write_all(&buf[..n]).is_err() {
            break;
        }
    }
}

fn http(stream: TcpStream, code: &str) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut head = String::new();
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
        head.push_str(&line);
        line.clear();
    }
    println!("{head}");
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {code} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port = args.get(1).cloned().unwrap_or_default();
    let code = match (args.get(2).map(String::as_str), args.get(3)) {
        (Some("http"), Some(code)) => Some(code.clone()),
        _ => None,
    };
    let listener = match TcpListener::bind(format!("127.0.0.1:{port}")) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("sim-tcp-echo: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(2);
        }
    };
    println!("listening on {port}");
    for stream in listener.incoming().flatten() {
        let code = code.clone();
        std::thread::spawn(move || match code {
            Some(code) => http(stream, &code),
            None => echo(stream),
        });
    }
}
