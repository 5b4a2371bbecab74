//! The protocol a non-browser app signs in with, as the mail or calendar server in front of
//! Latchkey names it: nginx's `Auth-Protocol`, Dovecot's `SERVICE`, or the
//! `X-Latchkey-Protocol` header a proxy sets on `/auth/basic`. Unknown names are no protocol
//! at all, so a typo in a proxy's settings never widens what an app password may reach.

/// A protocol an app password can be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Imap,
    Pop3,
    /// Sending mail: SMTP submission (Postfix through Dovecot's SASL, nginx's SMTP proxy).
    Smtp,
    /// Mail filters (ManageSieve).
    Sieve,
    CalDav,
    CardDav,
}

impl Protocol {
    /// Every protocol, in the order people read them.
    pub const ALL: [Protocol; 6] = [
        Protocol::Imap,
        Protocol::Pop3,
        Protocol::Smtp,
        Protocol::Sieve,
        Protocol::CalDav,
        Protocol::CardDav,
    ];

    /// Reads a proxy's or mail server's name for a protocol, in any case. Dovecot's
    /// `submission` and nginx's `smtp` are both sending mail.
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "imap" | "imaps" => Some(Protocol::Imap),
            "pop3" | "pop3s" | "pop" => Some(Protocol::Pop3),
            "smtp" | "smtps" | "submission" | "submissions" | "esmtp" => Some(Protocol::Smtp),
            "sieve" | "managesieve" => Some(Protocol::Sieve),
            "caldav" => Some(Protocol::CalDav),
            "carddav" => Some(Protocol::CardDav),
            _ => None,
        }
    }

    /// The name people know it by, as shown in the list of app passwords ("IMAP").
    pub fn label(self) -> &'static str {
        match self {
            Protocol::Imap => "IMAP",
            Protocol::Pop3 => "POP3",
            Protocol::Smtp => "SMTP",
            Protocol::Sieve => "Sieve",
            Protocol::CalDav => "CalDAV",
            Protocol::CardDav => "CardDAV",
        }
    }

    /// The value a proxy sends in `X-Latchkey-Protocol` (lowercase, as parsed back).
    pub fn header_value(self) -> &'static str {
        match self {
            Protocol::Imap => "imap",
            Protocol::Pop3 => "pop3",
            Protocol::Smtp => "smtp",
            Protocol::Sieve => "sieve",
            Protocol::CalDav => "caldav",
            Protocol::CardDav => "carddav",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_protocol_reads_back_from_its_header_value_and_label() {
        for protocol in Protocol::ALL {
            assert_eq!(Protocol::parse(protocol.header_value()), Some(protocol));
            assert_eq!(Protocol::parse(protocol.label()), Some(protocol));
        }
    }

    #[test]
    fn mail_servers_names_map_to_protocols() {
        assert_eq!(Protocol::parse("submission"), Some(Protocol::Smtp));
        assert_eq!(Protocol::parse(" SMTP "), Some(Protocol::Smtp));
        assert_eq!(Protocol::parse("managesieve"), Some(Protocol::Sieve));
        assert_eq!(Protocol::parse("imaps"), Some(Protocol::Imap));
    }

    #[test]
    fn unknown_names_are_no_protocol() {
        for name in ["", "http", "imap4", "lmtp", "Mozilla/5.0"] {
            assert_eq!(Protocol::parse(name), None, "{name}");
        }
    }
}
