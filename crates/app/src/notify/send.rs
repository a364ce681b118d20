//! Delivering one notice: a webhook POST (ureq, rustls) or a mail (lettre's SMTP client,
//! rustls). Errors are one line an operator can act on: connection refused, TLS, the HTTP
//! status with the start of its body, the SMTP server's reply.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};

use super::notice::{mail_body, mail_subject, Notice};
use crate::config::notify::{NotifyConfig, NotifyKind, SmtpSecurity};

/// A target ready to send: its secrets read, its client built.
pub enum Sender {
    Webhook {
        agent: ureq::Agent,
        url: String,
        headers: Vec<(String, String)>,
    },
    Email {
        transport: SmtpTransport,
        from: Mailbox,
        to: Vec<Mailbox>,
    },
}

/// The first line of a secret file, trimmed.
fn secret(path: &std::path::Path, what: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {what} {}: {e}", path.display()))?;
    let line = text.lines().next().unwrap_or("").trim().to_string();
    if line.is_empty() {
        return Err(format!("{what} {} is empty", path.display()));
    }
    Ok(line)
}

impl Sender {
    /// Builds the client of `t` (checked by `Config::validate` before).
    pub fn new(t: &NotifyConfig) -> Result<Sender, String> {
        let timeout = Duration::from_secs(t.timeout_secs);
        match t.kind {
            NotifyKind::Webhook => {
                let url = t.url.clone().ok_or("no url")?;
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .timeout_global(Some(timeout))
                    .http_status_as_error(false)
                    .max_redirects(0)
                    .build()
                    .into();
                let mut headers: Vec<(String, String)> = t
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if let Some(p) = &t.bearer_token_file {
                    let token = secret(p, "bearer_token_file")?;
                    headers.push(("Authorization".into(), format!("Bearer {token}")));
                }
                Ok(Sender::Webhook {
                    agent,
                    url,
                    headers,
                })
            }
            NotifyKind::Email => {
                let host = t.host.clone().ok_or("no host")?;
                let tls = || {
                    TlsParameters::new(host.clone())
                        .map_err(|e| format!("TLS setup for {host}: {e}"))
                };
                let mut b = SmtpTransport::builder_dangerous(&host)
                    .port(t.smtp_port())
                    .timeout(Some(timeout));
                b = match t.smtp_security() {
                    SmtpSecurity::Starttls => b.tls(Tls::Required(tls()?)),
                    SmtpSecurity::Tls => b.tls(Tls::Wrapper(tls()?)),
                    SmtpSecurity::None => b.tls(Tls::None),
                };
                if let (Some(user), Some(p)) = (&t.user, &t.password_file) {
                    b = b.credentials(Credentials::new(user.clone(), secret(p, "password_file")?));
                }
                let from = t
                    .from
                    .as_deref()
                    .unwrap_or("")
                    .parse()
                    .map_err(|e| format!("from: {e}"))?;
                let to =
                    t.to.iter()
                        .map(|a| a.parse().map_err(|e| format!("to {a:?}: {e}")))
                        .collect::<Result<_, String>>()?;
                Ok(Sender::Email {
                    transport: b.build(),
                    from,
                    to,
                })
            }
        }
    }

    /// Delivers `n`; `Ok` says what the other side answered.
    pub fn send(&self, n: &Notice) -> Result<String, String> {
        match self {
            Sender::Webhook {
                agent,
                url,
                headers,
            } => {
                let body = serde_json::to_string(n).map_err(|e| e.to_string())?;
                let mut req = agent
                    .post(url)
                    .header("Content-Type", "application/json")
                    .header("User-Agent", concat!("dcmdisc/", env!("CARGO_PKG_VERSION")));
                for (k, v) in headers {
                    req = req.header(k, v);
                }
                let mut resp = req.send(&body).map_err(|e| webhook_error(url, &e))?;
                let status = resp.status();
                if status.is_success() {
                    return Ok(format!("HTTP {}", status.as_u16()));
                }
                let text = resp
                    .body_mut()
                    .with_config()
                    .limit(4096)
                    .read_to_string()
                    .unwrap_or_default();
                let text: String = text.trim().chars().take(200).collect();
                Err(format!(
                    "webhook {url}: HTTP {} {}{}",
                    status.as_u16(),
                    status.canonical_reason().unwrap_or(""),
                    if text.is_empty() {
                        String::new()
                    } else {
                        format!(": {text}")
                    }
                ))
            }
            Sender::Email {
                transport,
                from,
                to,
            } => {
                let mut b = Message::builder()
                    .from(from.clone())
                    .subject(mail_subject(n))
                    .header(ContentType::TEXT_PLAIN);
                for t in to {
                    b = b.to(t.clone());
                }
                let msg = b
                    .body(mail_body(n))
                    .map_err(|e| format!("mail not built: {e}"))?;
                let resp = transport.send(&msg).map_err(|e| smtp_error(&e))?;
                Ok(format!(
                    "SMTP {}: {}",
                    resp.code(),
                    resp.message().collect::<Vec<_>>().join(" ")
                ))
            }
        }
    }
}

/// One line for a failed request: the cause that names the problem (refused, TLS, DNS).
fn webhook_error(url: &str, e: &ureq::Error) -> String {
    let what = match e {
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused".to_string()
        }
        ureq::Error::Io(io) => format!("I/O error: {io}"),
        ureq::Error::Rustls(t) => format!("TLS: {t}"),
        ureq::Error::Timeout(t) => format!("timed out ({t})"),
        ureq::Error::HostNotFound => "host not found".to_string(),
        other => other.to_string(),
    };
    format!("webhook {url}: {what}")
}

/// One line for a failed mail: lettre's error with its sources (the server's reply, or the
/// connection's or TLS's cause).
fn smtp_error(e: &lettre::transport::smtp::Error) -> String {
    let mut s = format!("SMTP: {e}");
    let mut src = std::error::Error::source(e);
    // A read past the socket's timeout is EAGAIN ("Resource temporarily unavailable"): say
    // what it means.
    let timed_out = std::iter::successors(src, |c| c.source()).any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|io| {
            matches!(
                io.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            )
        })
    });
    if e.is_timeout() || timed_out {
        s += ": timed out waiting for the server";
    }
    while let Some(c) = src {
        let t = c.to_string();
        if !s.contains(&t) {
            s += &format!(": {t}");
        }
        src = c.source();
    }
    if e.is_permanent() || e.is_transient() {
        if let Some(code) = e.status() {
            s += &format!(" (reply {code})");
        }
    }
    s
}
