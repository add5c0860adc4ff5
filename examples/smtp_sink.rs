//! A fast SMTP sink for measuring delivery: accepts every message on
//! 127.0.0.1:PORT, keeps nothing, and prints how many it took each second
//! it took any, and the total when stopped with Ctrl-C. Speaks just enough
//! SMTP for lettre: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT.
//!
//! cargo run --release --example smtp_sink -- PORT

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let port: u16 = std::env::args().nth(1).map_or(Ok(2525), |p| p.parse())?;
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on {}", listener.local_addr()?);
    let count = Arc::new(AtomicU64::new(0));
    let reporter = count.clone();
    tokio::spawn(async move {
        let mut last = 0;
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            let now = reporter.load(Ordering::Relaxed);
            if now != last {
                println!("{} messages/s, {now} in all", now - last);
                last = now;
            }
        }
    });
    let accept = async {
        loop {
            let (socket, _) = listener.accept().await?;
            let count = count.clone();
            tokio::spawn(async move {
                let _ = session(socket, &count).await;
            });
        }
        #[allow(unreachable_code)]
        anyhow::Ok(())
    };
    tokio::select! {
        r = accept => r?,
        _ = tokio::signal::ctrl_c() => {}
    }
    println!("total={}", count.load(Ordering::Relaxed));
    Ok(())
}

async fn session(socket: tokio::net::TcpStream, count: &AtomicU64) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink ESMTP\r\n").await?;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
            "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 OK\r\n",
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            "DATA" => {
                write.write_all(b"354 go on\r\n").await?;
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                }
                count.fetch_add(1, Ordering::Relaxed);
                b"250 accepted\r\n"
            }
            _ => b"502 not here\r\n",
        };
        write.write_all(reply).await?;
    }
}
