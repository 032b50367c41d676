//! kbuild.edn's `:publish`: what `kbuild pom`, `install` and `deploy` need that the targets do
//! not say (coordinates, which jar, the pom's description, and where to deploy).
//!
//! ```clojure
//! :publish {:lib my.group/my-lib :version "1.0.0" :jar dist
//!           :description "…" :url "…" :licenses [{:name "EPL-2.0" :url "…"}]
//!           :scm {:url "…" :connection "…" :tag "…"}
//!           :deploy-repositories {"releases" {:url "https://…" :username :env/USER :password :env/PW}}}
//! ```

use super::{article, at};
use crate::edn::Form;
use crate::project::{DeployRepository, Publish, Secret, SettingsError};

fn string(v: &Form, key: &str) -> Result<String, SettingsError> {
    v.as_str().map(str::to_string).ok_or_else(|| {
        at(
            v,
            format!("{key} must be a string, found {}", article(v.describe())),
        )
    })
}

pub(super) fn publish(form: &Form) -> Result<Publish, SettingsError> {
    let entries = form.as_map().ok_or_else(|| {
        at(
            form,
            ":publish must be a map like {:lib group/name :version \"1.0\"}",
        )
    })?;
    let mut p = Publish::default();
    let mut lib = None;
    for (k, v) in entries {
        match k.as_keyword() {
            Some("lib") => {
                let sym = v
                    .as_symbol()
                    .ok_or_else(|| at(v, ":lib must be a symbol like my.group/my-lib"))?;
                let (g, a) = sym.split_once('/').unwrap_or((sym, sym));
                if g.is_empty() || a.is_empty() {
                    return Err(at(v, ":lib must be a symbol like my.group/my-lib"));
                }
                lib = Some((g.to_string(), a.to_string()));
            }
            Some("version") => p.version = string(v, ":version")?,
            Some("jar") => {
                let name = v
                    .as_symbol()
                    .or_else(|| v.as_str())
                    .ok_or_else(|| at(v, ":jar names a :jar target"))?;
                p.jar = Some(name.to_string());
            }
            Some("description") => p.description = Some(string(v, ":description")?),
            Some("url") => p.url = Some(string(v, ":url")?),
            Some("licenses") => {
                for l in v
                    .as_seq()
                    .ok_or_else(|| at(v, ":licenses must be a vector of maps"))?
                {
                    let fields = ["name", "url", "distribution", "comments"]
                        .iter()
                        .filter_map(|f| Some((f.to_string(), l.get(f)?.as_str()?.to_string())))
                        .collect::<Vec<_>>();
                    if l.as_map().is_none() || fields.is_empty() {
                        return Err(at(l, "a license is a map like {:name \"EPL-2.0\" :url \"…\"}"));
                    }
                    p.licenses.push(fields);
                }
            }
            Some("scm") => {
                if v.as_map().is_none() {
                    return Err(at(v, ":scm must be a map like {:url \"…\" :tag \"…\"}"));
                }
                for f in ["url", "connection", "tag", "developerConnection"] {
                    if let Some(s) = v.get(f) {
                        p.scm.push((f.to_string(), string(s, &format!(":scm :{f}"))?));
                    }
                }
            }
            Some("deploy-repositories") => {
                let repos = v.as_map().ok_or_else(|| {
                    at(v, ":deploy-repositories must be a map of id to URL or {:url …}")
                })?;
                for (id, settings) in repos {
                    let id = string(id, "a repository id")?;
                    let url = match settings.as_str() {
                        Some(u) => u.to_string(),
                        None => settings
                            .get("url")
                            .and_then(Form::as_str)
                            .ok_or_else(|| at(settings, format!("repository {id:?} has no :url")))?
                            .to_string(),
                    };
                    let secret = |key: &str| -> Result<Option<Secret>, SettingsError> {
                        let Some(f) = settings.get(key) else {
                            return Ok(None);
                        };
                        if let Some(s) = f.as_str() {
                            return Ok(Some(Secret::Literal(s.to_string())));
                        }
                        match f.as_keyword().and_then(|k| k.strip_prefix("env/")) {
                            Some(var) => Ok(Some(Secret::Env(var.to_string()))),
                            None => Err(at(
                                f,
                                format!(":{key} is a string or :env/VARIABLE"),
                            )),
                        }
                    };
                    p.deploy.push(DeployRepository {
                        username: secret("username")?,
                        password: secret("password")?,
                        id,
                        url,
                    });
                }
            }
            _ => {
                return Err(at(
                    k,
                    format!("unknown key {k} in :publish (expected :lib, :version, :jar, :description, :url, :licenses, :scm or :deploy-repositories)"),
                ))
            }
        }
    }
    let (group, artifact) = lib.ok_or_else(|| at(form, ":publish needs :lib group/name"))?;
    if p.version.is_empty() {
        return Err(at(form, ":publish needs :version \"…\""));
    }
    p.group = group;
    p.artifact = artifact;
    Ok(p)
}
