//! An SMTP server for tests: on a free port, it answers every command 250 and keeps each mail,
//! so a test reads what Latchkey sent (tests/alerts.rs, tests/known_devices.rs).

use std::sync::{Arc, Mutex};

use server::jobs::mail_alerts::Mailer;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// A mail the test's SMTP server received.
#[derive(Debug, Clone)]
pub struct Received {
    pub recipient: String,
    pub message: String,
}

impl Received {
    /// The message with quoted-printable's soft line breaks undone (long lines are wrapped).
    pub fn text(&self) -> String {
        self.message.replace("=\n", "")
    }

    pub fn subject(&self) -> &str {
        self.message
            .lines()
            .find_map(|line| line.strip_prefix("Subject: "))
            .unwrap_or_default()
    }
}

/// An SMTP server on a free port that accepts every mail and keeps it.
pub struct MailSink {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

impl MailSink {
    pub async fn start() -> Result<Self, Error> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&received);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(converse(socket, Arc::clone(&kept)));
            }
        });
        Ok(Self { port, received })
    }

    /// A mailer sending through this server, for a site at `public_url`.
    pub fn mailer_for(&self, public_url: &str) -> Result<Mailer, Error> {
        Mailer::from_settings(
            Some(&format!("smtp://127.0.0.1:{}", self.port)),
            Some("Latchkey <security@contoso.example>"),
            public_url,
        )?
        .ok_or_else(|| "configured".into())
    }

    /// A mailer sending through this server, for the site at `https://id.contoso.example`.
    pub fn mailer(&self) -> Result<Mailer, Error> {
        self.mailer_for("https://id.contoso.example")
    }

    pub fn received(&self) -> Vec<Received> {
        self.received
            .lock()
            .map(|received| received.clone())
            .unwrap_or_default()
    }

    /// How many mails `recipient` got with `subject`.
    pub fn count(&self, recipient: &str, subject: &str) -> usize {
        self.received()
            .iter()
            .filter(|mail| mail.recipient == recipient && mail.subject() == subject)
            .count()
    }
}

/// One SMTP conversation: every command is answered 250, and each mail is kept.
async fn converse(
    socket: tokio::net::TcpStream,
    kept: Arc<Mutex<Vec<Received>>>,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 sink ESMTP\r\n").await?;
    let mut recipient = String::new();
    while let Some(line) = lines.next_line().await? {
        let command = line.to_ascii_uppercase();
        if command == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        }
        if let Some(address) = command.strip_prefix("RCPT TO:") {
            recipient = address.trim_matches(['<', '>', ' ']).to_lowercase();
        }
        if command == "DATA" {
            write.write_all(b"354 go on\r\n").await?;
            let mut message = String::new();
            while let Some(line) = lines.next_line().await? {
                if line == "." {
                    break;
                }
                message.push_str(&line);
                message.push('\n');
            }
            if let Ok(mut received) = kept.lock() {
                received.push(Received {
                    recipient: recipient.clone(),
                    message,
                });
            }
        }
        write.write_all(b"250 ok\r\n").await?;
    }
    Ok(())
}
