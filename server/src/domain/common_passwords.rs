//! A small built-in list of the most common passwords that are long enough to pass the length
//! rule (NIST SP 800-63B asks to refuse passwords found in breach corpuses). Compared
//! case-insensitively, ignoring spaces.

const COMMON: &[&str] = &[
    "123456789012",
    "1234567890123",
    "12345678901234",
    "123456789123",
    "1234567891011",
    "password1234",
    "password12345",
    "password123456",
    "passwordpassword",
    "password1!password",
    "qwertyuiopas",
    "qwerty123456",
    "qwertyqwerty",
    "qwertyuiop12",
    "qwertyuiop123",
    "1q2w3e4r5t6y",
    "1qaz2wsx3edc",
    "q1w2e3r4t5y6",
    "zaq12wsxcde3",
    "asdfghjkl123",
    "iloveyou1234",
    "iloveyouiloveyou",
    "letmein12345",
    "welcome12345",
    "welcome123456",
    "administrator",
    "administrator1",
    "changeme1234",
    "changemenow!",
    "trustno1trustno1",
    "abcdefghijkl",
    "abcd1234abcd",
    "abc123abc123",
    "aaaaaaaaaaaa",
    "111111111111",
    "000000000000",
    "123123123123",
    "987654321098",
    "121212121212",
    "football1234",
    "baseball1234",
    "superman1234",
    "sunshine1234",
    "princess1234",
    "dragon123456",
    "monkey123456",
    "starwars1234",
    "whatever1234",
    "passw0rd1234",
    "p@ssw0rd1234",
    "p@ssword1234",
    "correcthorsebatterystaple",
    "letmeinletmein",
    "summer2024!!",
    "winter2024!!",
    "spring2025!!",
    "autumn2025!!",
    "summer202020",
    "companyname1",
    "mypassword123",
];

/// Whether `password` is on the list.
pub fn is_common(password: &str) -> bool {
    let folded: String = password
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    COMMON.contains(&folded.as_str()) || folded.chars().all(|c| folded.starts_with(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_listed_and_repeated_passwords() {
        assert!(is_common("Password1234"));
        assert!(is_common("correct horse battery staple"));
        assert!(is_common("zzzzzzzzzzzzzz"));
        assert!(!is_common("plum tractor sideways"));
    }
}
