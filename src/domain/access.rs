//! Who may sign in and how: staff roles, password hashing (Argon2id) and
//! session tokens (random, shown once, stored only as a SHA-256 hash).

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use rand::RngCore;
use sha2::{Digest, Sha256};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Staff,
    Admin,
    Owner,
}

impl Role {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "staff" => Some(Role::Staff),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Staff => "staff",
        }
    }
}

/// What a sign-in log entry was an attempt at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SigninKind {
    /// Signing in with a user name and password.
    Login,
    /// Choosing a password through a one-time link.
    SetPassword,
    /// Asking for a reset link.
    ResetRequest,
}

impl SigninKind {
    pub const ALL: [SigninKind; 3] = [
        SigninKind::Login,
        SigninKind::SetPassword,
        SigninKind::ResetRequest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SigninKind::Login => "login",
            SigninKind::SetPassword => "set_password",
            SigninKind::ResetRequest => "reset_request",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl std::fmt::Display for SigninKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Hashes a password with Argon2id and a fresh salt (PHC string format).
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("Argon2 with default parameters accepts any password")
        .to_string()
}

/// Checks a password against a stored PHC hash; a malformed hash never matches.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Checks a password against a hash of the system duetrack replaces, in
/// either of werkzeug's formats: `pbkdf2:sha256[:ITERATIONS]$SALT$HEX`, or
/// `scrypt:N:R:P$SALT$HEX` (werkzeug's default since 2.3). Such hashes are
/// accepted once and replaced by Argon2id at that sign-in.
pub fn verify_werkzeug(password: &str, stored: &str) -> bool {
    let mut parts = stored.splitn(3, '$');
    let (Some(method), Some(salt), Some(expected)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Ok(expected) = hex::decode(expected) else {
        return false;
    };
    if expected.is_empty() || expected.len() > 64 {
        return false;
    }
    let mut derived = vec![0u8; expected.len()];
    let mut method_parts = method.split(':');
    let derived_ok = match method_parts.next() {
        Some("pbkdf2") => pbkdf2_werkzeug(password, salt, method_parts, &mut derived),
        Some("scrypt") => scrypt_werkzeug(password, salt, method_parts, &mut derived),
        _ => false,
    };
    // Compare without stopping at the first difference.
    derived_ok
        && derived
            .iter()
            .zip(&expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn pbkdf2_werkzeug<'a>(
    password: &str,
    salt: &str,
    mut params: impl Iterator<Item = &'a str>,
    out: &mut [u8],
) -> bool {
    if params.next() != Some("sha256") {
        return false;
    }
    // werkzeug's default when the count is left out.
    let iterations = match params.next() {
        Some(n) => match n.parse::<u32>() {
            Ok(n) if (1..=10_000_000).contains(&n) => n,
            _ => return false,
        },
        None => 260_000,
    };
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), salt.as_bytes(), iterations, out);
    true
}

/// werkzeug's scrypt: `hashlib.scrypt(password, salt, n, r, p)`; the cost
/// is bounded so a planted hash cannot make sign-in eat the machine.
fn scrypt_werkzeug<'a>(
    password: &str,
    salt: &str,
    mut params: impl Iterator<Item = &'a str>,
    out: &mut [u8],
) -> bool {
    let mut number = |default: u32| match params.next() {
        Some(v) => v.parse::<u32>().ok(),
        None => Some(default),
    };
    let (Some(n), Some(r), Some(p)) = (number(32768), number(8), number(1)) else {
        return false;
    };
    if !n.is_power_of_two()
        || !(2..=(1 << 20)).contains(&n)
        || !(1..=32).contains(&r)
        || !(1..=16).contains(&p)
    {
        return false;
    }
    let Ok(params) = scrypt::Params::new(n.trailing_zeros() as u8, r, p, out.len()) else {
        return false;
    };
    scrypt::scrypt(password.as_bytes(), salt.as_bytes(), &params, out).is_ok()
}

/// Whether a stored hash is the original system's format.
pub fn is_werkzeug_hash(stored: &str) -> bool {
    stored.starts_with("pbkdf2:") || stored.starts_with("scrypt:")
}

/// Checks a stored hash of either kind.
pub fn verify_any(password: &str, stored: &str) -> bool {
    if is_werkzeug_hash(stored) {
        verify_werkzeug(password, stored)
    } else {
        verify_password(password, stored)
    }
}

/// A staff user name: 1 to 64 letters, digits, dots, dashes or underscores.
pub fn check_username(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err("use 1 to 64 letters, digits, dots, dashes or underscores".to_string());
    }
    Ok(name.to_string())
}

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Passwords so common that guessing starts with them.
const COMMON_PASSWORDS: &[&str] = &[
    "password",
    "password1",
    "password12",
    "password123",
    "passw0rd",
    "p@ssw0rd",
    "12345678",
    "123456789",
    "1234567890",
    "123123123",
    "11111111",
    "00000000",
    "87654321",
    "qwertyuiop",
    "qwerty123",
    "qwerty12",
    "1q2w3e4r",
    "1qaz2wsx",
    "zaq12wsx",
    "asdfghjkl",
    "iloveyou",
    "iloveyou1",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "welcome1",
    "welcome123",
    "admin123",
    "administrator",
    "letmein1",
    "trustno1",
    "superman",
    "starwars",
    "whatever",
    "abcd1234",
    "abc12345",
    "changeme",
    "secret123",
    "computer",
    "internet",
    "michael1",
    "master123",
    "dragon123",
    "monkey123",
    "shadow123",
    "aa123456",
    "123qweasd",
    "qwe123qwe",
    "india123",
    "india@123",
    "pakistan",
    "krishna123",
    "welcome@123",
    "admin@123",
    "pass@123",
    "test1234",
    "testtest",
    "customer",
    "duetrack",
    "12341234",
    "11223344",
    "q1w2e3r4",
    "mustang1",
];

/// Why a new password is refused, in words for the person choosing it.
pub fn check_new_password(password: &str, username: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(format!(
            "must be at least {MIN_PASSWORD_CHARS} characters long"
        ));
    }
    if chars > 256 {
        return Err("must be at most 256 characters long".to_string());
    }
    let lower = password.to_lowercase();
    if COMMON_PASSWORDS.contains(&lower.as_str()) {
        return Err(
            "is one of the most common passwords; choose something less guessable".to_string(),
        );
    }
    if lower == username.to_lowercase() {
        return Err("must not be the same as the user name".to_string());
    }
    if password
        .chars()
        .all(|c| c == password.chars().next().unwrap_or(' '))
    {
        return Err("must not repeat one character".to_string());
    }
    Ok(())
}

/// A hash to verify against when the user does not exist, so that a wrong
/// user name takes as long to refuse as a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password that matches nothing"))
}

/// A new session token: 32 random bytes, hex-encoded.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the database keeps of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A password for the owner when none was configured: 20 characters from an
/// alphabet without look-alikes.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..20)
        .map(|_| ALPHABET[(rng.next_u32() as usize) % ALPHABET.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signin_kinds_read_back_as_written_and_serialize_as_their_words() {
        for v in SigninKind::ALL {
            assert_eq!(SigninKind::parse(v.as_str()), Some(v));
            assert_eq!(serde_json::to_value(v).unwrap(), v.as_str());
        }
    }

    #[test]
    fn a_password_verifies_only_against_its_own_hash() {
        let hash = hash_password("correct horse");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn the_original_systems_hashes_still_verify() {
        // Made with werkzeug.security.generate_password_hash("old secret", method="pbkdf2:sha256:1000", salt_length=8)
        let mut derived = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(b"old secret", b"saltsalt", 1000, &mut derived);
        let stored = format!("pbkdf2:sha256:1000$saltsalt${}", hex::encode(derived));
        assert!(verify_werkzeug("old secret", &stored));
        assert!(verify_any("old secret", &stored));
        assert!(!verify_werkzeug("new secret", &stored));
        assert!(!verify_werkzeug("old secret", "pbkdf2:sha1:1000$salt$00"));
        // werkzeug 2.3 and later write scrypt hashes. Made with werkzeug 3:
        // generate_password_hash("old secret", method="scrypt:1024:8:1", salt_length=8)
        let stored = "scrypt:1024:8:1$brnfZEeQ$27b8e856f4c99590087528932538c77a48aaa9b771b5314b3e41b5af384f4513b32fff5f9ede0bfca0d5f4faef69e4097ae8667dbf91772d412f7e42e42f928d";
        assert!(is_werkzeug_hash(stored));
        assert!(verify_any("old secret", stored));
        assert!(!verify_any("new secret", stored));
        assert!(!verify_werkzeug("old secret", "scrypt:1000:8:1$salt$00"));
        assert!(!verify_werkzeug(
            "old secret",
            "scrypt:1073741824:8:1$salt$00"
        ));
    }

    #[test]
    fn weak_passwords_are_refused_with_a_reason() {
        assert!(check_new_password("short", "asha").is_err());
        assert!(check_new_password("password123", "asha").is_err());
        assert!(check_new_password("asha.rao1", "asha.rao1").is_err());
        assert!(check_new_password("aaaaaaaaaa", "asha").is_err());
        assert!(check_new_password("mango tree by the well", "asha").is_ok());
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_ne!(token_hash(&a), a);
        assert_eq!(generate_password().len(), 20);
    }
}
