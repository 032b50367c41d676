//! The remote cache (the design's remote layer): the Bazel HTTP cache protocol —
//! `GET`/`PUT`/`HEAD` of `/cas/<sha256>` for blobs and `/ac/<sha256>` for "action" entries —
//! served by any existing server (bazel-remote with `--disable_http_ac_validation`, nginx
//! with WebDAV `PUT`, ...). An action entry here is a bundle of constructive traces, filed
//! under the same (target key, definition digest) as in the machine's shared cache.
//!
//! A remote failure is a miss plus one warning, never a failed build: after the first
//! failure the remote is left alone for the rest of the run. Every downloaded blob is
//! re-hashed before use.

use std::time::Duration;

use crate::db::Trace;
use crate::key::Key;
use crate::shared::trace_id;
use crate::store::Hash;
use crate::RemoteConfig;

/// Traces kept per (target, definition) on the server.
const MAX_REMOTE_TRACES: usize = 8;

pub struct Remote {
    client: reqwest::Client,
    base: String,
    /// The base URL as messages show it: without a password.
    shown: String,
    /// False for a read-only client (one that only takes what trusted builders wrote).
    upload: bool,
    /// Hides the password of a URL in a message.
    redact: fn(&str) -> String,
    credentials: Option<(String, String)>,
}

impl Remote {
    pub fn new(config: &RemoteConfig) -> Result<Remote, String> {
        let (base, redact) = (config.url.as_str(), config.redact);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Remote {
            client,
            base: base.trim_end_matches('/').to_string(),
            shown: redact(base.trim_end_matches('/')),
            upload: config.upload,
            redact,
            credentials: config.credentials.clone(),
        })
    }

    fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        let request = self.client.request(method, url);
        match &self.credentials {
            Some((user, password)) => request.basic_auth(user, Some(password)),
            None => request,
        }
    }

    pub fn url(&self) -> &str {
        &self.shown
    }

    pub fn uploads(&self) -> bool {
        self.upload
    }

    fn url_of(&self, kind: &str, h: Hash) -> String {
        format!("{}/{kind}/{}", self.base, h.to_hex())
    }

    /// `url_of` as messages show it.
    fn shown_of(&self, kind: &str, h: Hash) -> String {
        format!("{}/{kind}/{}", self.shown, h.to_hex())
    }

    /// A blob or entry; `None` when the server does not have it.
    pub async fn get(&self, kind: &str, h: Hash) -> Result<Option<Vec<u8>>, String> {
        let (url, shown) = (self.url_of(kind, h), self.shown_of(kind, h));
        let resp = self
            .request(reqwest::Method::GET, &url)
            .send()
            .await
            .map_err(|e| format!("GET {shown}: {}", (self.redact)(&e.to_string())))?;
        match resp.status() {
            s if s.is_success() => Ok(Some(
                resp.bytes()
                    .await
                    .map_err(|e| format!("GET {shown}: {}", (self.redact)(&e.to_string())))?
                    .to_vec(),
            )),
            reqwest::StatusCode::NOT_FOUND => Ok(None),
            s => Err(format!("GET {shown}: HTTP {s}")),
        }
    }

    pub async fn has(&self, kind: &str, h: Hash) -> Result<bool, String> {
        let (url, shown) = (self.url_of(kind, h), self.shown_of(kind, h));
        let resp = self
            .request(reqwest::Method::HEAD, &url)
            .send()
            .await
            .map_err(|e| format!("HEAD {shown}: {}", (self.redact)(&e.to_string())))?;
        match resp.status() {
            s if s.is_success() => Ok(true),
            reqwest::StatusCode::NOT_FOUND => Ok(false),
            s => Err(format!("HEAD {shown}: HTTP {s}")),
        }
    }

    pub async fn put(&self, kind: &str, h: Hash, bytes: Vec<u8>) -> Result<(), String> {
        let (url, shown) = (self.url_of(kind, h), self.shown_of(kind, h));
        let resp = self
            .request(reqwest::Method::PUT, &url)
            .body(bytes)
            .send()
            .await
            .map_err(|e| format!("PUT {shown}: {}", (self.redact)(&e.to_string())))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!("PUT {shown}: HTTP {}", resp.status()))
        }
    }

    /// A blob, checked against its name.
    pub async fn blob(&self, h: Hash) -> Result<Option<Vec<u8>>, String> {
        match self.get("cas", h).await? {
            Some(bytes) if Hash::of(&bytes) == h => Ok(Some(bytes)),
            Some(_) => Err(format!(
                "{} is corrupted on the server",
                self.shown_of("cas", h)
            )),
            None => Ok(None),
        }
    }

    /// The traces the server holds for `key` under this definition, most recent first.
    pub async fn traces(&self, key: &Key, definition: Hash) -> Result<Vec<Trace>, String> {
        let id = trace_id(key, definition);
        Ok(match self.get("ac", id).await? {
            Some(bytes) => decode_bundle(&bytes).ok_or_else(|| {
                format!("{} is not a kbuild trace bundle", self.shown_of("ac", id))
            })?,
            None => Vec::new(),
        })
    }

    /// Adds `trace` in front of the server's bundle (a concurrent writer may win; the cost
    /// is a miss later, never a wrong result).
    pub async fn add_trace(
        &self,
        key: &Key,
        definition: Hash,
        trace: &Trace,
    ) -> Result<(), String> {
        let mut all = self.traces(key, definition).await.unwrap_or_default();
        all.retain(|t| t != trace);
        all.insert(0, trace.clone());
        all.truncate(MAX_REMOTE_TRACES);
        self.put("ac", trace_id(key, definition), encode_bundle(&all))
            .await
    }
}

/// The remote cache's action entry: a bundle of traces, most recent first.
pub fn encode_bundle(traces: &[Trace]) -> Vec<u8> {
    let mut out = b"kbuild-traces\n".to_vec();
    for t in traces {
        let bytes = t.to_bytes();
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(&bytes);
    }
    out
}

/// A bundle as a server returned it: `None` for anything that is not one (the server's bytes
/// may be anything: never a panic, and nothing allocated beyond what the bytes hold).
pub fn decode_bundle(bytes: &[u8]) -> Option<Vec<Trace>> {
    let mut rest = bytes.strip_prefix(b"kbuild-traces\n")?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (len, tail) = rest.split_at_checked(4)?;
        let len = u32::from_le_bytes(len.try_into().ok()?) as usize;
        let (trace, tail) = tail.split_at_checked(len)?;
        out.push(Trace::from_bytes(trace)?);
        rest = tail;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_roundtrip_and_reject_other_bytes() {
        let t = |i: u8| Trace {
            batches: vec![vec![(Key::Def("app".into()), Hash([i; 32]))]],
            result: Hash([i; 32]),
        };
        let all = vec![t(1), t(2)];
        assert_eq!(decode_bundle(&encode_bundle(&all)), Some(all));
        assert_eq!(decode_bundle(&encode_bundle(&[])), Some(vec![]));
        assert_eq!(decode_bundle(b"<html>404</html>"), None);
        let mut cut = encode_bundle(&[t(1)]);
        cut.pop();
        assert_eq!(decode_bundle(&cut), None);
    }
}
