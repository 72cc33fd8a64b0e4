//! A mail server for the emailed-code rows: it speaks just enough SMTP (RFC 5321) for
//! Portico's relay client to hand it messages over the loopback, as a company's relay would,
//! and gives each sign-in its code as soon as the message arrives.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// A message's code, or the sign-in waiting for it.
enum Slot {
    Arrived(String, Instant),
    Waiting(oneshot::Sender<(String, Instant)>),
}

/// Codes by recipient address.
#[derive(Clone, Default)]
pub(crate) struct Mailbox {
    slots: Arc<Mutex<HashMap<String, Slot>>>,
}

impl Mailbox {
    /// Listens on a free loopback port: the `smtp://` URL to give Portico.
    pub(crate) async fn start() -> Result<(Self, String)> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("smtp://{}", listener.local_addr()?);
        let mailbox = Self::default();
        let serving = mailbox.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let mailbox = serving.clone();
                tokio::spawn(async move {
                    if let Err(err) = mailbox.session(stream).await {
                        eprintln!("mailbox: {err:#}");
                    }
                });
            }
        });
        Ok((mailbox, url))
    }

    /// The code mailed to `to` (waiting for it if it has not come yet), and when it came.
    pub(crate) async fn code_for(&self, to: &str) -> Result<(String, Instant)> {
        let receiver = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            match slots.remove(to) {
                Some(Slot::Arrived(code, at)) => return Ok((code, at)),
                Some(Slot::Waiting(_)) | None => {
                    let (sender, receiver) = oneshot::channel();
                    slots.insert(to.to_owned(), Slot::Waiting(sender));
                    receiver
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(10), receiver)
            .await
            .with_context(|| format!("no mail to {to} within 10 s"))?
            .context("mailbox closed")
    }

    fn arrived(&self, to: String, code: String) {
        let at = Instant::now();
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        match slots.remove(&to) {
            Some(Slot::Waiting(sender)) => {
                let _ = sender.send((code, at));
            }
            Some(Slot::Arrived(..)) | None => {
                slots.insert(to, Slot::Arrived(code, at));
            }
        }
    }

    /// One SMTP connection (the relay client keeps it for many messages).
    async fn session(&self, stream: TcpStream) -> Result<()> {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read);
        write.write_all(b"220 bench ESMTP\r\n").await?;
        let mut recipient = None;
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
            let reply: &[u8] = match verb.as_str() {
                "EHLO" | "HELO" => b"250-bench\r\n250 8BITMIME\r\n",
                "MAIL" | "RSET" | "NOOP" => b"250 OK\r\n",
                "RCPT" => {
                    recipient = line
                        .split_once('<')
                        .and_then(|(_, rest)| rest.split_once('>'))
                        .map(|(address, _)| address.to_owned());
                    b"250 OK\r\n"
                }
                "DATA" => {
                    write.write_all(b"354 go on\r\n").await?;
                    let message = read_data(&mut lines).await?;
                    let to = recipient.take().context("DATA before RCPT")?;
                    self.arrived(to, code_in(&message)?);
                    b"250 OK\r\n"
                }
                "QUIT" => {
                    write.write_all(b"221 bye\r\n").await?;
                    return Ok(());
                }
                _ => b"502 not here\r\n",
            };
            write.write_all(reply).await?;
        }
    }
}

/// The message up to the line holding one dot.
async fn read_data(lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Result<String> {
    let mut message = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            bail!("connection closed inside DATA");
        }
        if line == ".\r\n" {
            return Ok(message);
        }
        message.push_str(&line);
    }
}

/// The code in a message: the body's first line that is eight digits and nothing else (the
/// headers are skipped, so a message id cannot pass for one).
fn code_in(message: &str) -> Result<String> {
    let body = message.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    body.lines()
        .map(str::trim)
        .find(|l| l.len() == 8 && l.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_owned)
        .with_context(|| format!("no code in the message: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_is_read_from_the_body_not_the_headers() {
        let message = "Message-ID: <12345678-aaaa@host>\r\nSubject: Your code\r\n\r\n\
                       Your code is below.\r\n\r\n  87654321\r\n";
        assert_eq!(code_in(message).ok().as_deref(), Some("87654321"));
        assert!(code_in("Subject: x\r\n\r\nno code here\r\n").is_err());
    }
}
