//! The browser and system a person recognises from a session's User-Agent ("Firefox on
//! Windows", "Safari on iOS"), for Security info's signed-in browsers and Recent activity.
//!
//! The parsing is woothee's (already the project's parser: a shared data set tested in several
//! languages, recognising Edge's `Edg/`, `EdgA/` and `EdgiOS/`, Chrome's and Firefox's iOS
//! names, Opera, Samsung Internet, ...); this module only words what it finds the way people
//! name their devices: one "Windows" (Windows 11 sends the same `Windows NT 10.0` as 10, so a
//! version would be wrong half the time), "macOS" not "Mac OSX", "iOS" for iPhones. A
//! User-Agent it cannot read is an "Unknown browser", never the raw text.

/// What [`describe`] says of a User-Agent it cannot read.
pub const UNKNOWN_BROWSER: &str = "Unknown browser";

/// A browser as people name it, and the system it runs on, when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Browser {
    /// "Chrome", "Edge", "Firefox", "Safari", ...; `None` when not recognised.
    pub name: Option<&'static str>,
    /// "Windows", "macOS", "iOS", "iPadOS", "Android", "Linux", "ChromeOS"; `None` when not
    /// recognised.
    pub system: Option<&'static str>,
}

impl Browser {
    /// "Firefox on Windows", "Chrome", "Unknown browser on Linux", "Unknown browser".
    pub fn label(&self) -> String {
        match (self.name, self.system) {
            (Some(name), Some(system)) => format!("{name} on {system}"),
            (Some(name), None) => name.to_owned(),
            (None, Some(system)) => format!("{UNKNOWN_BROWSER} on {system}"),
            (None, None) => UNKNOWN_BROWSER.to_owned(),
        }
    }

    /// Whether a browser was recognised (not only a system).
    pub fn is_known(&self) -> bool {
        self.name.is_some()
    }
}

/// The browser and system `user_agent` names.
pub fn describe(user_agent: &str) -> Browser {
    let user_agent = user_agent.trim();
    let Some(parsed) = (!user_agent.is_empty())
        .then(|| woothee::parser::Parser::new().parse(user_agent))
        .flatten()
    else {
        return Browser {
            name: None,
            system: None,
        };
    };
    // Crawlers, mail apps' HTTP libraries and the like are not browsers a person signs in with.
    let is_browser = matches!(parsed.category, "pc" | "smartphone" | "mobilephone");
    Browser {
        name: is_browser.then(|| browser_name(parsed.name)).flatten(),
        system: system_name(parsed.os),
    }
}

/// People's name for a browser woothee recognised.
fn browser_name(woothee_name: &str) -> Option<&'static str> {
    Some(match woothee_name {
        "Chrome" => "Chrome",
        "Edge" => "Edge",
        "Firefox" => "Firefox",
        "Safari" => "Safari",
        "Opera" => "Opera",
        "Vivaldi" => "Vivaldi",
        "SamsungBrowser" => "Samsung Internet",
        "Yandex Browser" => "Yandex Browser",
        "Internet Explorer" => "Internet Explorer",
        // An app's embedded browser (Android's WebView).
        "Webview" => "An app's browser",
        _ => return None,
    })
}

/// People's name for a system woothee recognised: its family, without a version.
fn system_name(woothee_os: &str) -> Option<&'static str> {
    Some(match woothee_os {
        "Windows Phone OS" => "Windows Phone",
        os if os.starts_with("Windows") => "Windows",
        "Mac OSX" => "macOS",
        "iPhone" | "iPod" | "iOS" => "iOS",
        "iPad" => "iPadOS",
        "Android" => "Android",
        "ChromeOS" => "ChromeOS",
        "Linux" => "Linux",
        "BSD" => "BSD",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real User-Agents of current browsers, as they send them, and what people read.
    const SEEN: &[(&str, &str)] = &[
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            "Chrome on Windows",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            "Edge on Windows",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
            "Firefox on Windows",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
            "Safari on macOS",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            "Chrome on macOS",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
            "Firefox on macOS",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            "Edge on macOS",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
            "Safari on iOS",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
            "Chrome on iOS",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15",
            "Firefox on iOS",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/131.2903.68 Mobile/15E148 Safari/605.1.15",
            "Edge on iOS",
        ),
        (
            "Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
            "Safari on iPadOS",
        ),
        (
            "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
            "Chrome on Android",
        ),
        (
            "Mozilla/5.0 (Android 15; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
            "Firefox on Android",
        ),
        (
            "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 EdgA/131.0.0.0",
            "Edge on Android",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
            "Samsung Internet on Android",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            "Chrome on Linux",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            "Firefox on Linux",
        ),
        (
            "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            "Firefox on Linux",
        ),
        // Playwright's Chromium, as the browser tests sign in with.
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.6778.33 Safari/537.36",
            "Chrome on Linux",
        ),
        (
            "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            "Chrome on ChromeOS",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0",
            "Opera on Windows",
        ),
    ];

    #[test]
    fn current_browsers_are_named_with_their_system() {
        for (user_agent, expected) in SEEN {
            assert_eq!(&describe(user_agent).label(), expected, "{user_agent}");
            assert!(describe(user_agent).is_known(), "{user_agent}");
        }
    }

    #[test]
    fn what_is_not_a_browser_is_an_unknown_browser() {
        for unknown in [
            "",
            "   ",
            "test",
            "curl/8.5.0",
            "IMAP",
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "\u{1F600}\u{202E} odd text",
        ] {
            let browser = describe(unknown);
            assert!(!browser.is_known(), "{unknown:?}");
            assert!(
                browser.label().starts_with(UNKNOWN_BROWSER),
                "{unknown:?}: {}",
                browser.label()
            );
        }
        assert_eq!(describe("").label(), "Unknown browser");
    }
}
