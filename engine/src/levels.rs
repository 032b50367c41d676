//! Cache levels beyond the checkout's own: the machine-wide cache shared by every checkout and a
//! remote one. Both keep constructive traces filed under (target key, definition digest) and
//! the blobs they name; one trait serves both, so a lookup walks the levels nearest first and
//! a result is recorded in every level.

use futures::future::BoxFuture;
use futures::FutureExt;

use crate::db::Trace;
use crate::key::Key;
use crate::remote::Remote;
use crate::shared::Shared;
use crate::store::{Cas, Hash};
use crate::value::Product;

pub(crate) trait Level: Send + Sync {
    /// How messages name it.
    fn name(&self) -> String;
    /// Where a result restored from it was built, as `kbuild explain` says it.
    fn whence(&self) -> &'static str;
    /// The traces filed for `key` under this definition, most recent first.
    fn traces<'a>(
        &'a self,
        key: &'a Key,
        definition: Hash,
    ) -> BoxFuture<'a, Result<Vec<Trace>, String>>;
    /// Makes the product and its files' blobs present in `cas`.
    fn fetch<'a>(&'a self, product: Hash, cas: &'a Cas) -> BoxFuture<'a, Result<(), String>>;
    /// Files a trace and what it produced.
    fn record<'a>(
        &'a self,
        key: &'a Key,
        definition: Hash,
        trace: &'a Trace,
        product: &'a Product,
        cas: &'a Cas,
    ) -> BoxFuture<'a, Result<(), String>>;
}

impl Level for Shared {
    fn name(&self) -> String {
        format!("the shared cache {}", self.root().display())
    }

    fn whence(&self) -> &'static str {
        "elsewhere on this machine; restored from the shared cache"
    }

    fn traces<'a>(
        &'a self,
        key: &'a Key,
        definition: Hash,
    ) -> BoxFuture<'a, Result<Vec<Trace>, String>> {
        async move { Ok(Shared::traces(self, key, definition)) }.boxed()
    }

    /// The shared cache's blobs are the content store this build uses.
    fn fetch<'a>(&'a self, _: Hash, _: &'a Cas) -> BoxFuture<'a, Result<(), String>> {
        async { Ok(()) }.boxed()
    }

    fn record<'a>(
        &'a self,
        key: &'a Key,
        definition: Hash,
        trace: &'a Trace,
        _: &'a Product,
        _: &'a Cas,
    ) -> BoxFuture<'a, Result<(), String>> {
        async move {
            self.add_trace(key, definition, trace)
                .map_err(|e| e.to_string())
        }
        .boxed()
    }
}

impl Level for Remote {
    fn name(&self) -> String {
        format!("remote cache {}", self.url())
    }

    fn whence(&self) -> &'static str {
        "elsewhere; restored from the remote cache"
    }

    fn traces<'a>(
        &'a self,
        key: &'a Key,
        definition: Hash,
    ) -> BoxFuture<'a, Result<Vec<Trace>, String>> {
        Remote::traces(self, key, definition).boxed()
    }

    fn fetch<'a>(&'a self, product: Hash, cas: &'a Cas) -> BoxFuture<'a, Result<(), String>> {
        async move {
            let json = match cas.get(product) {
                Ok(json) => json,
                Err(_) => {
                    let json = self.blob(product).await?.ok_or_else(|| {
                        format!("product {} is not on the server", product.short())
                    })?;
                    cas.put_bytes(&json).map_err(|e| e.to_string())?;
                    json
                }
            };
            let product = Product::from_json(&json)
                .map_err(|e| format!("product {}: {e}", product.short()))?;
            for entry in product.files.values() {
                if cas.contains(entry.digest) {
                    continue;
                }
                let blob = self
                    .blob(entry.digest)
                    .await?
                    .ok_or_else(|| format!("blob {} is not on the server", entry.digest.short()))?;
                cas.put_bytes(&blob).map_err(|e| e.to_string())?;
            }
            Ok(())
        }
        .boxed()
    }

    /// Uploads what the server lacks of the product, then the trace; nothing when the
    /// remote is read-only.
    fn record<'a>(
        &'a self,
        key: &'a Key,
        definition: Hash,
        trace: &'a Trace,
        product: &'a Product,
        cas: &'a Cas,
    ) -> BoxFuture<'a, Result<(), String>> {
        async move {
            if !self.uploads() {
                return Ok(());
            }
            let blobs =
                std::iter::once(trace.result).chain(product.files.values().map(|e| e.digest));
            for h in blobs {
                if self.has("cas", h).await? {
                    continue;
                }
                let bytes = cas.get(h).map_err(|e| e.to_string())?;
                self.put("cas", h, bytes).await?;
            }
            self.add_trace(key, definition, trace).await
        }
        .boxed()
    }
}
