//! Mail to a real SMTP relay (Python's aiosmtpd): plain, STARTTLS and TLS from the first byte
//! (`smtps://`), a relay's private CA trusted through `ca=`, and a relay whose certificate no
//! one vouches for (a man in the middle) getting nothing.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use portico_core::outbox::{Channel, OutboundMessage};
use portico_delivery::MailTransport;

/// A relay: aiosmtpd with its Mailbox handler, writing each message it accepts to a maildir.
pub(crate) struct SmtpSink {
    child: Child,
    maildir: tempfile::TempDir,
}

impl SmtpSink {
    /// A plain relay, or `None` (skip) when aiosmtpd is not installed.
    pub(crate) fn start(port: u16) -> Option<Self> {
        Self::start_with(port, &[])
    }

    /// A relay started with more of aiosmtpd's options (its TLS certificate and key).
    fn start_with(port: u16, options: &[&str]) -> Option<Self> {
        let installed = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            if std::env::var_os("PORTICO_REQUIRE_SMTP").is_some() {
                panic!("python3 with aiosmtpd is required (pip install aiosmtpd)");
            }
            eprintln!(
                "SKIPPED: python3 -c 'import aiosmtpd' failed; pip install aiosmtpd to run SMTP tests"
            );
            return None;
        }
        let maildir = tempfile::tempdir().unwrap();
        let child = Command::new("python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .args(options)
            .arg(maildir.path().join("box"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Some(Self { child, maildir })
    }

    /// Waits until the relay accepts connections.
    pub(crate) async fn wait_listening(&self, port: u16) {
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("aiosmtpd did not start");
    }

    /// The messages the relay accepted, as written.
    pub(crate) fn messages(&self) -> Vec<String> {
        let new = self.maildir.path().join("box").join("new");
        std::fs::read_dir(new)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| std::fs::read_to_string(e.path()).unwrap())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A private CA and a relay certificate it issued for 127.0.0.1, as files: `(ca, cert, key)`.
fn relay_certificate(dir: &Path, issuer_name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, issuer_name);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let relay_key = rcgen::KeyPair::generate().unwrap();
    let relay = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&relay_key, &issuer)
        .unwrap();
    let paths = (
        dir.join(format!("{issuer_name}-ca.pem")),
        dir.join(format!("{issuer_name}-relay.pem")),
        dir.join(format!("{issuer_name}-relay-key.pem")),
    );
    std::fs::write(&paths.0, ca_cert.pem()).unwrap();
    std::fs::write(&paths.1, relay.pem()).unwrap();
    std::fs::write(&paths.2, relay_key.serialize_pem()).unwrap();
    paths
}

/// Two relays with `cert`: one speaking TLS from the first byte, one requiring STARTTLS.
async fn tls_relays(cert: &Path, key: &Path) -> Option<[(SmtpSink, u16); 2]> {
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let implicit = free_port();
    let smtps = SmtpSink::start_with(implicit, &["--smtpscert", cert, "--smtpskey", key])?;
    let starttls = free_port();
    let required = SmtpSink::start_with(starttls, &["--tlscert", cert, "--tlskey", key])?;
    smtps.wait_listening(implicit).await;
    required.wait_listening(starttls).await;
    Some([(smtps, implicit), (required, starttls)])
}

async fn send(url: &str, to: &str) -> Result<(), String> {
    let transport = MailTransport::from_url(url).map_err(|e| e.to_string())?;
    send_on(&transport, to).await
}

/// Sends a code mail to `to` on a transport that may already hold a connection.
async fn send_on(transport: &MailTransport, to: &str) -> Result<(), String> {
    let from = "Contoso <no-reply@contoso.example>".parse().unwrap();
    let message = OutboundMessage {
        channel: Channel::Mail,
        to: to.to_owned(),
        subject: "Your code".to_owned(),
        text: "Your code is 12345678".to_owned(),
        html: None,
    };
    transport
        .send(&from, to, &message)
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn mail_reaches_a_relay_over_smtps_and_starttls_trusting_its_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = relay_certificate(dir.path(), "contoso");
    let Some([(smtps, implicit), (required, starttls)]) = tls_relays(&cert, &key).await else {
        return;
    };
    let ca = ca.display();
    // One transport sends twice: the second message goes on the connection the first
    // opened (checked with NOOP, over TLS).
    let transport =
        MailTransport::from_url(&format!("smtps://127.0.0.1:{implicit}?ca={ca}")).unwrap();
    for to in ["ada@example.com", "grace@example.com"] {
        send_on(&transport, to).await.unwrap();
    }
    let arrived = smtps.messages();
    assert_eq!(arrived.len(), 2);
    assert!(arrived.iter().any(|m| m.contains("grace@example.com")));
    // A relay that only offers STARTTLS gets it from `tls=opportunistic` too.
    for (sent, mode) in [(1, "required"), (2, "opportunistic")] {
        let url = format!("smtp://127.0.0.1:{starttls}?tls={mode}&ca={ca}");
        send(&url, "ada@example.com").await.unwrap();
        assert_eq!(required.messages().len(), sent, "{url}");
    }
}

/// Someone between Portico and its relay presents a certificate of their own: no mail (and
/// no one-time code in it) goes to them, over either kind of TLS, nor does an opportunistic
/// STARTTLS fall back to plain text when the handshake fails.
#[tokio::test]
async fn a_relay_whose_certificate_no_one_vouches_for_gets_no_mail() {
    let dir = tempfile::tempdir().unwrap();
    let (own_ca, cert, key) = relay_certificate(dir.path(), "mallory");
    let (trusted_ca, _, _) = relay_certificate(dir.path(), "contoso");
    let Some([(smtps, implicit), (required, starttls)]) = tls_relays(&cert, &key).await else {
        return;
    };
    let other_ca = trusted_ca.display();
    let own_ca = own_ca.display();
    for url in [
        // The certificate's own CA, but not the name it was issued for (127.0.0.1).
        format!("smtps://localhost:{implicit}?ca={own_ca}"),
        format!("smtp://localhost:{starttls}?tls=required&ca={own_ca}"),
        format!("smtps://127.0.0.1:{implicit}"),
        format!("smtps://127.0.0.1:{implicit}?ca={other_ca}"),
        format!("smtp://127.0.0.1:{starttls}?tls=required"),
        format!("smtp://127.0.0.1:{starttls}?tls=required&ca={other_ca}"),
        format!("smtp://127.0.0.1:{starttls}?tls=opportunistic"),
    ] {
        let refused = send(&url, "ada@example.com").await;
        assert!(refused.is_err(), "{url}");
    }
    assert!(smtps.messages().is_empty());
    assert!(required.messages().is_empty());
}

/// A CA file that cannot be read, or holds no certificate, stops the start (not the first
/// mail, hours later); `ca=` on plain SMTP is a mistake, said so.
#[test]
fn a_bad_ca_file_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate").unwrap();
    let (ca, _, _) = relay_certificate(dir.path(), "contoso");
    for url in [
        format!(
            "smtps://ada:s3cret@mail.example.com?ca={}",
            dir.path().join("missing.pem").display()
        ),
        format!("smtps://ada:s3cret@mail.example.com?ca={}", empty.display()),
        format!("smtp://ada:s3cret@mail.example.com?ca={}", ca.display()),
        "smtp://ada:s3cret@mail.example.com?tls=sometimes".to_owned(),
    ] {
        let refused = MailTransport::from_url(&url).unwrap_err().to_string();
        // The error goes to the log: the relay's password is not in it.
        assert!(!refused.contains("s3cret"), "{refused}");
        assert!(refused.contains("ada:***@"), "{refused}");
    }
    assert!(
        MailTransport::from_url(&format!("smtps://mail.example.com?ca={}", ca.display())).is_ok()
    );
}

/// Someone between Portico and a relay reached with `tls=opportunistic` strips the STARTTLS
/// offer: the mail would go in the clear (that is what opportunistic means), but the relay's
/// password does not.
#[tokio::test]
async fn a_relay_that_hides_starttls_gets_no_password() {
    let port = free_port();
    let Some(plain) = SmtpSink::start(port) else {
        return;
    };
    plain.wait_listening(port).await;
    let refused = send(
        &format!("smtp://ada:s3cret@127.0.0.1:{port}?tls=opportunistic"),
        "ada@example.com",
    )
    .await
    .unwrap_err();
    assert!(refused.contains("offered no STARTTLS"), "{refused}");
    assert!(plain.messages().is_empty());
    // Without a password to protect, opportunistic TLS sends as it always did.
    send(
        &format!("smtp://127.0.0.1:{port}?tls=opportunistic"),
        "ada@example.com",
    )
    .await
    .unwrap();
    assert_eq!(plain.messages().len(), 1);
}
