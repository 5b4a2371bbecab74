//! The organization's mail settings: where people's mail apps reach IMAP and SMTP (host, port,
//! TLS), and optionally the CalDAV and CardDAV addresses. Administrators enter them once (admin
//! console or `latchkey admin org mail`); an Apple configuration profile is built from them
//! (`apple_profile`). Validated here, with messages fit for the form field they concern.

use super::ValidationError;

/// Longest host name DNS allows.
const MAX_HOST_CHARS: usize = 253;
/// Longest CalDAV or CardDAV address accepted.
const MAX_URL_CHARS: usize = 2000;

/// One server a mail app connects to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailServer {
    /// A host name or IP address, lowercase.
    pub host: String,
    pub port: u16,
    /// TLS from the first byte (IMAPS 993, SMTPS 465) or STARTTLS: either way the app uses TLS.
    pub tls: bool,
}

/// Where people's apps find their mail, calendars and contacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSettings {
    pub imap: MailServer,
    pub smtp: MailServer,
    /// An https address, when the organization offers calendars.
    pub caldav_url: Option<String>,
    /// An https address, when the organization offers contacts.
    pub carddav_url: Option<String>,
}

/// The settings as typed in a form or on the command line, not yet checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypedMailSettings {
    pub imap_host: String,
    pub imap_port: String,
    pub imap_tls: bool,
    pub smtp_host: String,
    pub smtp_port: String,
    pub smtp_tls: bool,
    pub caldav_url: String,
    pub carddav_url: String,
}

impl TypedMailSettings {
    /// The form as it shows `settings` (empty without any).
    pub fn of(settings: Option<&MailSettings>) -> Self {
        let Some(settings) = settings else {
            return Self {
                imap_tls: true,
                smtp_tls: true,
                ..Self::default()
            };
        };
        Self {
            imap_host: settings.imap.host.clone(),
            imap_port: settings.imap.port.to_string(),
            imap_tls: settings.imap.tls,
            smtp_host: settings.smtp.host.clone(),
            smtp_port: settings.smtp.port.to_string(),
            smtp_tls: settings.smtp.tls,
            caldav_url: settings.caldav_url.clone().unwrap_or_default(),
            carddav_url: settings.carddav_url.clone().unwrap_or_default(),
        }
    }
}

impl MailSettings {
    /// The settings typed, checked: `None` when every text field is empty (the organization
    /// has no mail settings, and no profile is offered), else both servers and any address.
    pub fn parse(typed: &TypedMailSettings) -> Result<Option<Self>, ValidationError> {
        let texts = [
            &typed.imap_host,
            &typed.imap_port,
            &typed.smtp_host,
            &typed.smtp_port,
            &typed.caldav_url,
            &typed.carddav_url,
        ];
        if texts.iter().all(|text| text.trim().is_empty()) {
            return Ok(None);
        }
        Ok(Some(Self {
            imap: MailServer {
                host: host("imap_host", "IMAP", &typed.imap_host)?,
                port: port("imap_port", "IMAP", &typed.imap_port)?,
                tls: typed.imap_tls,
            },
            smtp: MailServer {
                host: host("smtp_host", "SMTP", &typed.smtp_host)?,
                port: port("smtp_port", "SMTP", &typed.smtp_port)?,
                tls: typed.smtp_tls,
            },
            caldav_url: optional_url("caldav_url", "CalDAV", &typed.caldav_url)?,
            carddav_url: optional_url("carddav_url", "CardDAV", &typed.carddav_url)?,
        }))
    }
}

/// A host name (letters, digits and hyphens in dot-separated labels) or an IP address.
fn host(field: &'static str, service: &str, typed: &str) -> Result<String, ValidationError> {
    let host = typed.trim().trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() {
        return Err(ValidationError::new(
            field,
            format!("Enter the {service} server's host name, for example mail.example.org."),
        ));
    }
    if is_host_name(&host) || host.parse::<std::net::IpAddr>().is_ok() {
        Ok(host)
    } else {
        Err(ValidationError::new(
            field,
            format!(
                "Enter a host name such as mail.example.org for {service}: letters, digits, hyphens and dots, without a scheme, port or path."
            ),
        ))
    }
}

fn is_host_name(host: &str) -> bool {
    host.len() <= MAX_HOST_CHARS
        && host.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// A TCP port, 1 to 65535.
fn port(field: &'static str, service: &str, typed: &str) -> Result<u16, ValidationError> {
    match typed.trim().parse::<u32>() {
        Ok(port @ 1..=65535) => Ok(u16::try_from(port).unwrap_or(u16::MAX)),
        _ => Err(ValidationError::new(
            field,
            format!(
                "Enter the {service} port as a number from 1 to 65535 (for example 993 or 465)."
            ),
        )),
    }
}

/// Empty, or an https address with a valid host (and optional port and path).
fn optional_url(
    field: &'static str,
    service: &str,
    typed: &str,
) -> Result<Option<String>, ValidationError> {
    let url = typed.trim();
    if url.is_empty() {
        return Ok(None);
    }
    let invalid = || {
        ValidationError::new(
            field,
            format!(
                "Enter the {service} address as an https address, for example https://dav.example.org/, or leave it empty."
            ),
        )
    };
    if url.len() > MAX_URL_CHARS || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid());
    }
    let rest = url
        .get(..8)
        .filter(|scheme| scheme.eq_ignore_ascii_case("https://"))
        .and_then(|_| url.get(8..))
        .ok_or_else(invalid)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // No user name or password in the address: it would end up in every profile.
    if authority.contains('@') {
        return Err(invalid());
    }
    let (host_part, port_part) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => (host, Some(port)),
        _ => (authority, None),
    };
    let host_ok = is_host_name(&host_part.to_ascii_lowercase())
        || host_part
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .is_some_and(|h| h.parse::<std::net::Ipv6Addr>().is_ok());
    let port_ok =
        port_part.is_none_or(|p| p.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p)));
    if !host_ok || !port_ok {
        return Err(invalid());
    }
    Ok(Some(format!("https://{rest}")))
}

/// The host and port of a CalDAV or CardDAV address [`MailSettings::parse`] accepted (443
/// when it names none), as Apple's profiles ask for them.
pub fn dav_host_and_port(url: &str) -> (String, u16) {
    let rest = url.get(8..).unwrap_or_default();
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host.to_owned(), port.parse().unwrap_or(443)),
        _ => (authority.to_owned(), 443),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed() -> TypedMailSettings {
        TypedMailSettings {
            imap_host: " Mail.Example.org ".to_owned(),
            imap_port: "993".to_owned(),
            imap_tls: true,
            smtp_host: "smtp.example.org".to_owned(),
            smtp_port: " 465".to_owned(),
            smtp_tls: true,
            caldav_url: String::new(),
            carddav_url: "https://dav.example.org:8443/card/".to_owned(),
        }
    }

    #[test]
    fn good_settings_are_kept_tidied() -> Result<(), ValidationError> {
        let settings = MailSettings::parse(&typed())?.ok_or(ValidationError::new("x", "none"))?;
        assert_eq!(settings.imap.host, "mail.example.org");
        assert_eq!(settings.imap.port, 993);
        assert_eq!(settings.smtp.port, 465);
        assert_eq!(settings.caldav_url, None);
        assert_eq!(
            settings.carddav_url.as_deref(),
            Some("https://dav.example.org:8443/card/")
        );
        assert_eq!(
            MailSettings::parse(&TypedMailSettings::of(Some(&settings)))?,
            Some(settings),
            "the form of the settings reads back as them"
        );
        Ok(())
    }

    #[test]
    fn all_empty_means_no_settings() {
        assert_eq!(MailSettings::parse(&TypedMailSettings::of(None)), Ok(None));
    }

    #[test]
    fn each_bad_value_is_refused_at_its_field() {
        type Spoil = fn(&mut TypedMailSettings);
        let cases: [(&str, Spoil); 12] = [
            ("imap_host", |t| t.imap_host = String::new()),
            ("imap_host", |t| {
                t.imap_host = "imaps://mail.example.org".to_owned()
            }),
            ("imap_host", |t| t.imap_host = "mail example.org".to_owned()),
            ("smtp_host", |t| {
                t.smtp_host = "-smtp.example.org".to_owned()
            }),
            ("smtp_host", |t| {
                t.smtp_host = format!("{}.org", "a".repeat(64))
            }),
            ("imap_port", |t| t.imap_port = "0".to_owned()),
            ("imap_port", |t| t.imap_port = "65536".to_owned()),
            ("smtp_port", |t| t.smtp_port = "smtp".to_owned()),
            ("caldav_url", |t| {
                t.caldav_url = "http://dav.example.org/".to_owned()
            }),
            ("caldav_url", |t| {
                t.caldav_url = "https://user:pw@dav.example.org/".to_owned()
            }),
            ("carddav_url", |t| {
                t.carddav_url = "https://dav.example.org:0/".to_owned()
            }),
            ("carddav_url", |t| {
                t.carddav_url = "https:// dav.example.org/".to_owned()
            }),
        ];
        for (field, spoil) in cases {
            let mut bad = typed();
            spoil(&mut bad);
            let error = MailSettings::parse(&bad).err();
            assert_eq!(error.map(|e| e.field), Some(field), "{bad:?}");
        }
    }

    #[test]
    fn ports_at_the_ends_of_the_range_and_addresses_are_accepted() {
        let mut edge = typed();
        edge.imap_port = "1".to_owned();
        edge.smtp_port = "65535".to_owned();
        edge.imap_host = "192.0.2.7".to_owned();
        edge.smtp_host = "::1".to_owned();
        edge.caldav_url = "HTTPS://[2001:db8::1]/dav".to_owned();
        let settings = MailSettings::parse(&edge).ok().flatten();
        assert!(settings.is_some_and(|s| s.imap.port == 1
            && s.smtp.port == 65535
            && s.caldav_url.as_deref() == Some("https://[2001:db8::1]/dav")));
    }
}
