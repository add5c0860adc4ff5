//! The activity log's secret: a key kept outside the database, under which
//! every new entry is hashed with HMAC-SHA256, and the anchors file beside
//! it, where the head of the chain is written down from time to time.
//!
//! The key file is a few lines of text, readable by its owner only (0600):
//!
//! ```text
//! duetrack-chain-key 1
//! key 3b1f…(64 hex digits)
//! keyed-from 42
//! adopted 17 9c0e…(64 hex digits)
//! ```
//!
//! `keyed-from` is the first entry hashed under this key: entries before it
//! were written before the key existed and keep their plain SHA-256 hashes,
//! every entry from it on must carry a keyed hash (`k1:` and 64 hex digits).
//! Since that number lives outside the database, a keyed entry cannot be
//! rewritten as an unkeyed one unnoticed. The optional `adopted` line is
//! written when a whole log is brought in from elsewhere (a restore, or the
//! import of an export) and names its last entry and a MAC, under this key,
//! over every entry up to it: entries made under another installation's key
//! are then held to that MAC instead of their own.
//!
//! The anchors file (`chain.anchors` beside the key) has one checkpoint a
//! line, `TIME SEQ HASH MAC`, the MAC under the key over the other three.
//! This module does no SQL: the store reads the log, and this says how it
//! is hashed and what was written down outside.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::io::Write;
use std::path::{Path, PathBuf};

type HmacSha256 = Hmac<Sha256>;

/// What a keyed entry hash starts with; unkeyed hashes are bare hex.
pub const KEYED_PREFIX: &str = "k1:";
const HEADER: &str = "duetrack-chain-key 1";

/// The key and what the key file records beside it.
#[derive(Clone)]
pub struct ChainKey {
    path: PathBuf,
    key: [u8; 32],
    /// The first sequence number hashed under this key.
    pub keyed_from: i64,
    /// A log brought in whole: its last entry and the MAC over it.
    pub adopted: Option<(i64, String)>,
}

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainKey")
            .field("path", &self.path)
            .field("keyed_from", &self.keyed_from)
            .field("adopted", &self.adopted)
            .finish_non_exhaustive()
    }
}

/// A checkpoint read back from the anchors file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchor {
    Signed {
        line: usize,
        at: String,
        seq: i64,
        hash: String,
    },
    /// A line that does not parse or whose MAC is wrong.
    Bad { line: usize, why: String },
}

fn bad_file(path: &Path, why: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("the chain key file {} {why}", path.display()),
    )
}

impl ChainKey {
    /// Reads the key file; `None` when there is none.
    pub fn load(path: &Path) -> std::io::Result<Option<ChainKey>> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut lines = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'));
        if lines.next().map(str::trim) != Some(HEADER) {
            return Err(bad_file(path, format!("does not start with '{HEADER}'")));
        }
        let (mut key, mut keyed_from, mut adopted) = (None, None, None);
        for line in lines {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["key", hex_key] => {
                    let bytes = hex::decode(hex_key)
                        .ok()
                        .and_then(|b| <[u8; 32]>::try_from(b).ok())
                        .ok_or_else(|| bad_file(path, "has a key that is not 64 hex digits"))?;
                    key = Some(bytes);
                }
                ["keyed-from", n] => {
                    keyed_from =
                        Some(n.parse::<i64>().map_err(|_| {
                            bad_file(path, "has a keyed-from that is not a number")
                        })?);
                }
                ["adopted", n, mac] => {
                    let n = n
                        .parse::<i64>()
                        .map_err(|_| bad_file(path, "has an adopted line that is not a number"))?;
                    adopted = Some((n, mac.to_string()));
                }
                _ => return Err(bad_file(path, format!("has a line it cannot read: {line}"))),
            }
        }
        match (key, keyed_from) {
            (Some(key), Some(keyed_from)) => Ok(Some(ChainKey {
                path: path.to_path_buf(),
                key,
                keyed_from,
                adopted,
            })),
            _ => Err(bad_file(path, "lacks its key or keyed-from line")),
        }
    }

    /// Makes a new key; entries from `keyed_from` on are hashed under it.
    /// Refuses to replace a key file that exists.
    pub fn create(path: &Path, keyed_from: i64) -> std::io::Result<ChainKey> {
        use rand::RngCore;
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        let chain = ChainKey {
            path: path.to_path_buf(),
            key,
            keyed_from,
            adopted: None,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = secret_file(path, true)?;
        file.write_all(chain.text().as_bytes())?;
        file.sync_all()?;
        Ok(chain)
    }

    fn text(&self) -> String {
        let mut text = format!(
            "{HEADER}\n# The activity log's chain key. Keep it secret and back it up with the database:\n# `duetrack backup` does not copy it. See README, 'Tamper evidence'.\nkey {}\nkeyed-from {}\n",
            hex::encode(self.key),
            self.keyed_from
        );
        if let Some((n, mac)) = &self.adopted {
            text.push_str(&format!("adopted {n} {mac}\n"));
        }
        text
    }

    /// Records that the log up to `through` was brought in whole, with
    /// `mac` over it; rewrites the key file (under a temporary name first).
    pub fn set_adopted(&mut self, through: i64, mac: String) -> std::io::Result<()> {
        self.adopted = (through > 0).then_some((through, mac));
        let temp = self.path.with_extension("key.partial");
        {
            let mut file = secret_file(&temp, false)?;
            file.write_all(self.text().as_bytes())?;
            file.sync_all()?;
        }
        std::fs::rename(&temp, &self.path)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// HMAC-SHA256 under the key, as hex.
    pub fn mac_hex(&self, data: &[u8]) -> String {
        hex::encode(self.mac(data).finalize().into_bytes())
    }

    fn mac(&self, data: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes a key of any size");
        mac.update(data);
        mac
    }

    /// A running MAC, for the adoption of a whole log.
    pub fn running_mac(&self) -> RunningMac {
        RunningMac(self.mac(b"duetrack-adopted-log\n"))
    }

    /// The hash of an entry whose canonical form is `canonical`.
    pub fn entry_hash(&self, canonical: &str) -> String {
        format!("{KEYED_PREFIX}{}", self.mac_hex(canonical.as_bytes()))
    }

    /// Where the checkpoints go: `chain.anchors` beside the key file.
    pub fn anchors_path(&self) -> PathBuf {
        self.path.with_file_name("chain.anchors")
    }

    fn anchor_mac(&self, at: &str, seq: i64, hash: &str) -> String {
        self.mac_hex(format!("duetrack-anchor\n{at}\n{seq}\n{hash}").as_bytes())
    }

    /// Appends a checkpoint of the head (`seq`, `hash`) to the anchors file.
    pub fn append_anchor(&self, at: &str, seq: i64, hash: &str) -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.anchors_path())?;
        set_private(&self.anchors_path())?;
        let mac = self.anchor_mac(at, seq, hash);
        file.write_all(format!("{at} {seq} {hash} {mac}\n").as_bytes())?;
        file.sync_all()
    }

    /// Every checkpoint in the anchors file (none when there is no file).
    pub fn read_anchors(&self) -> std::io::Result<Vec<Anchor>> {
        let text = match std::fs::read_to_string(self.anchors_path()) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        Ok(text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                let line = i + 1;
                let words: Vec<&str> = l.split_whitespace().collect();
                let [at, seq, hash, mac] = words.as_slice() else {
                    return Anchor::Bad {
                        line,
                        why: "is not TIME SEQ HASH MAC".into(),
                    };
                };
                let Ok(seq) = seq.parse::<i64>() else {
                    return Anchor::Bad {
                        line,
                        why: "has a sequence number that is not a number".into(),
                    };
                };
                if self.anchor_mac(at, seq, hash) != *mac {
                    return Anchor::Bad {
                        line,
                        why: "is not signed with this chain key (it was altered or written under another key)".into(),
                    };
                }
                Anchor::Signed {
                    line,
                    at: at.to_string(),
                    seq,
                    hash: hash.to_string(),
                }
            })
            .collect())
    }

    /// Moves the anchors file aside (when a whole log is replaced, by a
    /// restore or an import); returns where it went.
    pub fn set_anchors_aside(&self, stamp: &str) -> std::io::Result<Option<PathBuf>> {
        let from = self.anchors_path();
        if !from.exists() {
            return Ok(None);
        }
        let to = self
            .path
            .with_file_name(format!("chain.anchors.replaced-{stamp}"));
        std::fs::rename(&from, &to)?;
        Ok(Some(to))
    }
}

/// A MAC fed entry by entry.
pub struct RunningMac(HmacSha256);

impl RunningMac {
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(&(data.len() as u64).to_be_bytes());
        self.0.update(data);
    }

    pub fn finish(self) -> String {
        hex::encode(self.0.finalize().into_bytes())
    }
}

/// Whether a stored hash was made under a key.
pub fn is_keyed(hash: &str) -> bool {
    hash.starts_with(KEYED_PREFIX)
}

fn secret_file(path: &Path, new: bool) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if new {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

fn set_private(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_reads_back_and_signs_its_anchors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chain.key");
        let mut key = ChainKey::create(&path, 7).unwrap();
        assert!(ChainKey::create(&path, 1).is_err(), "never replaced");
        key.set_adopted(3, "ab".repeat(32)).unwrap();
        let again = ChainKey::load(&path).unwrap().unwrap();
        assert_eq!(again.keyed_from, 7);
        assert_eq!(again.adopted, Some((3, "ab".repeat(32))));
        assert_eq!(again.entry_hash("x"), key.entry_hash("x"));
        assert!(is_keyed(&key.entry_hash("x")));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        key.append_anchor("2030-01-01T00:00:00Z", 5, "k1:ff")
            .unwrap();
        let text = std::fs::read_to_string(key.anchors_path()).unwrap();
        std::fs::write(
            key.anchors_path(),
            format!("{text}{}", text.replace(" 5 ", " 6 ")),
        )
        .unwrap();
        let anchors = key.read_anchors().unwrap();
        assert!(matches!(anchors[0], Anchor::Signed { seq: 5, .. }));
        assert!(matches!(anchors[1], Anchor::Bad { line: 2, .. }));
        let other = ChainKey::create(&dir.path().join("other.key"), 1).unwrap();
        assert_ne!(other.entry_hash("x"), key.entry_hash("x"));
    }
}
