//! The parts of Maven's `settings.xml` that affect resolution: local repository, offline,
//! mirrors, server credentials, proxies, and the repositories of active profiles.

use std::fmt;
use std::path::Path;

use crate::pom::{self, parse_document, PomError};
use crate::repository::Policy;

#[derive(Clone, Default, PartialEq)]
pub struct Mirror {
    pub id: String,
    /// `Debug` shows it without a password written into it.
    pub url: String,
    pub mirror_of: String,
    /// `<blocked>true</blocked>`: every repository it mirrors fails its lookups.
    pub blocked: bool,
}

impl Mirror {
    /// Maven 3.8's `maven-default-http-blocker`, from its global settings.xml: plain http
    /// repositories off this machine are blocked.
    pub fn default_http_blocker() -> Mirror {
        Mirror {
            id: "maven-default-http-blocker".into(),
            url: "http://0.0.0.0/".into(),
            mirror_of: "external:http:*".into(),
            blocked: true,
        }
    }
}

impl fmt::Debug for Mirror {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mirror")
            .field("id", &self.id)
            .field("url", &crate::repository::redact_url(&self.url))
            .field("mirror_of", &self.mirror_of)
            .field("blocked", &self.blocked)
            .finish()
    }
}

/// Credentials for a repository or mirror id. `Debug` never shows the password.
#[derive(Clone, Default, PartialEq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// An HTTP proxy from `<proxies>`. `Debug` never shows the password.
#[derive(Clone, Default, PartialEq)]
pub struct Proxy {
    pub id: String,
    pub active: bool,
    pub protocol: String,
    pub host: String,
    pub port: u16,
    pub credentials: Option<Credentials>,
    /// Maven's `nonProxyHosts`: `|`-separated host names, `*` wildcards allowed.
    pub non_proxy_hosts: String,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("id", &self.id)
            .field("active", &self.active)
            .field("url", &self.url())
            .field("credentials", &self.credentials)
            .field("non_proxy_hosts", &self.non_proxy_hosts)
            .finish()
    }
}

impl Proxy {
    pub fn url(&self) -> String {
        let protocol = if self.protocol.is_empty() {
            "http"
        } else {
            &self.protocol
        };
        format!("{protocol}://{}:{}", self.host, self.port)
    }

    /// `nonProxyHosts` in the comma-separated form reqwest understands (`*.a.com` → `.a.com`).
    pub fn no_proxy_list(&self) -> String {
        self.non_proxy_hosts
            .split(['|', ','])
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(|h| {
                h.strip_prefix('*')
                    .filter(|r| r.starts_with('.'))
                    .unwrap_or(h)
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub local_repository: Option<String>,
    pub offline: bool,
    pub mirrors: Vec<Mirror>,
    /// Server id → credentials.
    pub servers: Vec<(String, Credentials)>,
    pub proxies: Vec<Proxy>,
    pub profiles: Vec<Profile>,
    /// `<activeProfiles>`.
    pub active_profiles: Vec<String>,
}

/// A `<profile>` of settings.xml, as far as resolution goes: its repositories.
#[derive(Clone, Debug, Default)]
pub struct Profile {
    pub id: String,
    pub(crate) activation: pom::Activation,
    /// `(id, url, policy)` in order.
    pub repositories: Vec<(String, String, Policy)>,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read settings {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Xml(#[from] PomError),
    #[error("{file}: cannot decrypt {what}: {message}")]
    Decrypt {
        file: String,
        what: String,
        message: String,
    },
}

impl Settings {
    pub fn parse(bytes: &[u8], file: &str) -> Result<Settings, SettingsError> {
        let root = parse_document(bytes, file)?;
        Ok(Settings {
            local_repository: root.text_of("localRepository").filter(|s| !s.is_empty()),
            offline: root.text_of("offline").as_deref() == Some("true"),
            mirrors: root
                .all("mirrors", "mirror")
                .map(|m| Mirror {
                    id: m.text_of("id").unwrap_or_default(),
                    url: m.text_of("url").unwrap_or_default(),
                    mirror_of: m.text_of("mirrorOf").unwrap_or_default(),
                    blocked: m.text_of("blocked").as_deref() == Some("true"),
                })
                .collect(),
            servers: root
                .all("servers", "server")
                .map(|s| {
                    let creds = Credentials {
                        username: s.text_of("username").unwrap_or_default(),
                        password: s.text_of("password").unwrap_or_default(),
                    };
                    (s.text_of("id").unwrap_or_default(), creds)
                })
                .collect(),
            proxies: root
                .all("proxies", "proxy")
                .map(|p| Proxy {
                    id: p.text_of("id").unwrap_or_default(),
                    active: p.text_of("active").as_deref() != Some("false"),
                    protocol: p.text_of("protocol").unwrap_or_else(|| "http".into()),
                    host: p.text_of("host").unwrap_or_default(),
                    port: p
                        .text_of("port")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(8080),
                    credentials: p
                        .text_of("username")
                        .filter(|u| !u.is_empty())
                        .map(|username| Credentials {
                            username,
                            password: p.text_of("password").unwrap_or_default(),
                        }),
                    non_proxy_hosts: p.text_of("nonProxyHosts").unwrap_or_default(),
                })
                .collect(),
            profiles: root
                .all("profiles", "profile")
                .map(|p| Profile {
                    id: p.text_of("id").unwrap_or_default(),
                    activation: pom::Activation::read(p),
                    repositories: pom::repositories(p),
                })
                .collect(),
            active_profiles: root
                .all("activeProfiles", "activeProfile")
                .map(|a| a.text.trim().to_string())
                .collect(),
        })
    }

    /// The repositories of the active profiles, which Maven puts before a project's own: a
    /// profile is active when `<activeProfiles>` names it or its `<activation>` (JDK,
    /// property, OS, as for POM profiles) holds in `env`; `activeByDefault` ones only while no
    /// other profile is. (File activation is not read.)
    pub(crate) fn profile_repositories(&self, env: &pom::Env) -> Vec<(String, String, Policy)> {
        let named: Vec<&Profile> = self
            .profiles
            .iter()
            .filter(|p| self.active_profiles.contains(&p.id) || pom::activated(&p.activation, env))
            .collect();
        let active = if named.is_empty() {
            self.profiles
                .iter()
                .filter(|p| p.activation.active_by_default)
                .collect()
        } else {
            named
        };
        let mut out: Vec<(String, String, Policy)> = Vec::new();
        // Maven injects the active profiles in the order settings.xml declares them, each
        // one's repositories going before those already there: the last profile's first
        // (and an id it declares wins).
        for r in active.iter().rev().flat_map(|p| &p.repositories) {
            if !out.iter().any(|o| o.0 == r.0) {
                out.push(r.clone());
            }
        }
        out
    }

    /// What resolution reads from these settings, as text that changes only when they do
    /// (not with a comment or a reformat). Passwords enter as their SHA-256.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        let secret = |c: &Credentials| hex::encode(sha2::Sha256::digest(c.password.as_bytes()));
        let mut text = format!("{self:?}");
        for (id, c) in &self.servers {
            text.push_str(&format!("\nserver {id} {}", secret(c)));
        }
        for p in &self.proxies {
            if let Some(c) = &p.credentials {
                text.push_str(&format!("\nproxy {} {}", p.id, secret(c)));
            }
        }
        text
    }

    /// Reads `path`; a missing file means default settings.
    pub fn load(path: &Path) -> Result<Settings, SettingsError> {
        match std::fs::read(path) {
            Ok(bytes) => Settings::parse(&bytes, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
            Err(source) => Err(SettingsError::Io {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// The mirror for a repository, as Maven selects it: an exact id match first, then the
    /// first pattern that matches.
    pub fn mirror_for(&self, repo_id: &str, repo_url: &str) -> Option<&Mirror> {
        self.mirrors
            .iter()
            .find(|m| m.mirror_of == repo_id)
            .or_else(|| {
                self.mirrors
                    .iter()
                    .find(|m| mirror_of_matches(&m.mirror_of, repo_id, repo_url))
            })
    }

    /// The proxy Maven uses: the first active one.
    pub fn active_proxy(&self) -> Option<&Proxy> {
        self.proxies.iter().find(|p| p.active && !p.host.is_empty())
    }

    pub fn credentials(&self, id: &str) -> Option<&Credentials> {
        self.servers
            .iter()
            .find(|(sid, _)| sid == id)
            .map(|(_, c)| c)
    }
}

fn is_external(url: &str) -> bool {
    let rest = match url.split_once("://") {
        Some((scheme, rest)) if scheme != "file" => rest,
        _ => return false,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    // After a `user:password@`, before a `:port`.
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host_port.split(':').next().unwrap_or("");
    host != "localhost" && host != "127.0.0.1"
}

/// Maven's `mirrorOf` patterns: `*`, `id`, `a,b`, `external:*`, `external:http:*`, `!id`.
pub(crate) fn mirror_of_matches(pattern: &str, repo_id: &str, repo_url: &str) -> bool {
    if pattern == "*" || pattern == repo_id {
        return true;
    }
    let mut result = false;
    for p in pattern.split(',').map(str::trim) {
        if p.len() > 1 && p.starts_with('!') {
            if &p[1..] == repo_id {
                return false;
            }
        } else if p == repo_id {
            return true;
        } else if p == "*"
            || (p == "external:*" && is_external(repo_url))
            || (p == "external:http:*" && is_external(repo_url) && repo_url.starts_with("http://"))
        {
            result = true;
        }
    }
    result
}

impl Settings {
    /// Decrypts the `{...}` passwords of servers and proxies with the master password of
    /// `security` (settings-security.xml, as `mvn --encrypt-master-password` writes it). The
    /// file is only read when some password is encrypted.
    pub fn decrypt_passwords(&mut self, security: &Path) -> Result<(), SettingsError> {
        let encrypted = |c: &Credentials| encrypted_part(&c.password).is_some();
        let any = self.servers.iter().any(|(_, c)| encrypted(c))
            || self
                .proxies
                .iter()
                .any(|p| p.credentials.as_ref().is_some_and(encrypted));
        if !any {
            return Ok(());
        }
        let master = master_password(security)?;
        let fail = |what: String, message: String| SettingsError::Decrypt {
            file: security.display().to_string(),
            what,
            message,
        };
        for (id, c) in &mut self.servers {
            c.password = decrypt(&c.password, &master)
                .map_err(|m| fail(format!("the password of server {id}"), m))?;
        }
        for p in &mut self.proxies {
            if let Some(c) = &mut p.credentials {
                c.password = decrypt(&c.password, &master)
                    .map_err(|m| fail(format!("the password of proxy {}", p.id), m))?;
            }
        }
        Ok(())
    }
}

/// settings-security.xml's `<master>` (following a `<relocation>`), decrypted with the fixed
/// password Maven uses for it.
fn master_password(security: &Path) -> Result<String, SettingsError> {
    let mut path = security.to_path_buf();
    for _ in 0..4 {
        let bytes = std::fs::read(&path).map_err(|source| SettingsError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let root = parse_document(&bytes, &path.display().to_string())?;
        if let Some(next) = root.text_of("relocation").filter(|r| !r.is_empty()) {
            path = next.into();
            continue;
        }
        let master = root.text_of("master").unwrap_or_default();
        return decrypt(&master, "settings.security").map_err(|message| SettingsError::Decrypt {
            file: path.display().to_string(),
            what: "the master password".into(),
            message,
        });
    }
    Err(SettingsError::Decrypt {
        file: security.display().to_string(),
        what: "the master password".into(),
        message: "too many <relocation>s".into(),
    })
}

/// The base64 between the first unescaped `{` and the next unescaped `}` (Maven allows text
/// around it), or `None` for a clear password.
fn encrypted_part(text: &str) -> Option<&str> {
    let unescaped = |i: usize| i == 0 || text.as_bytes()[i - 1] != b'\\';
    let start = text
        .match_indices('{')
        .map(|(i, _)| i)
        .find(|&i| unescaped(i))?;
    let end = text[start..]
        .match_indices('}')
        .map(|(i, _)| start + i)
        .find(|&i| unescaped(i))?;
    Some(&text[start + 1..end])
}

/// plexus-cipher's PBECipher: base64 of salt (8 bytes), pad length (1), AES-128-CBC
/// ciphertext, padding; key and IV are SHA-256(password, salt) halves.
fn decrypt(text: &str, password: &str) -> Result<String, String> {
    use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, KeyIvInit};
    use sha2::Digest;
    let Some(b64) = encrypted_part(text) else {
        return Ok(text.to_string());
    };
    let bytes = base64_decode(b64).ok_or("not base64")?;
    let pad = *bytes.get(8).ok_or("too short")? as usize;
    let end = bytes
        .len()
        .checked_sub(pad)
        .filter(|&e| e >= 9)
        .ok_or("bad length")?;
    let digest = sha2::Sha256::new()
        .chain_update(password.as_bytes())
        .chain_update(&bytes[..8])
        .finalize();
    let (key, iv) = digest.split_at(16);
    let mut buf = bytes[9..end].to_vec();
    let clear = cbc::Decryptor::<aes::Aes128>::new(key.into(), iv.into())
        .decrypt_padded_mut::<Pkcs7>(&mut buf)
        .map_err(|_| "wrong master password or damaged value".to_string())?;
    String::from_utf8(clear.to_vec()).map_err(|_| "not UTF-8".to_string())
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_selects_mirrors() {
        let s = Settings::parse(
            br#"<settings><localRepository>/tmp/r</localRepository><offline>true</offline>
            <mirrors>
              <mirror><id>m1</id><url>https://m1/</url><mirrorOf>external:*,!snap</mirrorOf></mirror>
              <mirror><id>m2</id><url>https://m2/</url><mirrorOf>snap</mirrorOf></mirror>
              <mirror><id>all</id><url>https://all/</url><mirrorOf>*</mirrorOf></mirror>
            </mirrors>
            <servers><server><id>m1</id><username>u</username><password>secret</password></server></servers>
            <proxies>
              <proxy><id>off</id><active>false</active><host>off</host></proxy>
              <proxy><id>p</id><host>proxy.corp</host><port>3128</port><username>pu</username><password>psecret</password>
                <nonProxyHosts>*.corp.net|localhost</nonProxyHosts></proxy>
            </proxies>
            </settings>"#,
            "settings.xml",
        )
        .unwrap();
        assert_eq!(s.local_repository.as_deref(), Some("/tmp/r"));
        assert!(s.offline);
        assert_eq!(
            s.mirror_for("central", "https://repo1/")
                .map(|m| m.id.as_str()),
            Some("m1")
        );
        assert_eq!(
            s.mirror_for("snap", "https://snap/").map(|m| m.id.as_str()),
            Some("m2")
        );
        assert_eq!(
            s.mirror_for("local", "http://localhost:8080/")
                .map(|m| m.id.as_str()),
            Some("all")
        );
        let creds = s.credentials("m1").unwrap();
        assert_eq!(creds.password, "secret");
        assert!(!format!("{creds:?}").contains("secret"));
        assert!(!format!("{s:?}").contains("secret"));
        let proxy = s.active_proxy().unwrap();
        assert_eq!(proxy.url(), "http://proxy.corp:3128");
        assert_eq!(proxy.no_proxy_list(), ".corp.net,localhost");
        assert_eq!(
            proxy.credentials.as_ref().map(|c| c.password.as_str()),
            Some("psecret")
        );
    }

    #[test]
    fn mirror_patterns() {
        assert!(mirror_of_matches("*", "x", "file:/r"));
        assert!(mirror_of_matches("a,b", "b", "https://h/"));
        assert!(!mirror_of_matches("*,!b", "b", "https://h/"));
        assert!(mirror_of_matches("*,!b", "c", "https://h/"));
        assert!(!mirror_of_matches("external:*", "c", "file:///tmp/r"));
        assert!(!mirror_of_matches("external:*", "c", "http://127.0.0.1:1/"));
        assert!(mirror_of_matches("external:http:*", "c", "http://h/"));
        assert!(!mirror_of_matches("external:http:*", "c", "https://h/"));
        assert!(!mirror_of_matches(
            "external:http:*",
            "c",
            "http://u:pw@127.0.0.1:8/"
        ));
        assert!(mirror_of_matches("external:*", "c", "https://localhost@h/"));
    }
}
