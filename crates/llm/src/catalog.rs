//! Which providers and models exist, what they cost, and where a model id routes: clients name
//! models `<provider>/<model>` (e.g. `local/gpt-test`), or `default`. A model may list
//! fallbacks (other `<provider>/<model>` ids) tried in order when it fails with a retryable
//! error.

use crate::client::{Endpoint, Kind};
use crate::types::Usage;

/// A model a provider serves, with its prices.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub name: String,
    pub input_usd_per_mtok: f64,
    pub output_usd_per_mtok: f64,
    /// Other model ids to try, in order, when this one fails.
    pub fallbacks: Vec<String>,
}

impl Model {
    /// The cost of a call in US dollars.
    pub fn cost_usd(&self, usage: Usage) -> f64 {
        (usage.input_tokens as f64 * self.input_usd_per_mtok
            + usage.output_tokens as f64 * self.output_usd_per_mtok)
            / 1_000_000.0
    }
}

/// A provider and its models.
#[derive(Clone, Debug)]
pub struct Provider {
    /// The `<provider>` part of model ids.
    pub name: String,
    pub endpoint: Endpoint,
    pub models: Vec<Model>,
}

/// Where one attempt goes.
#[derive(Clone, Debug)]
pub struct Route<'a> {
    /// `<provider>/<model>`.
    pub id: String,
    pub provider: &'a Provider,
    pub model: &'a Model,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("unknown model `{0}`; model ids look like `<provider>/<model>`")]
    UnknownModel(String),
    #[error("no default model is configured")]
    NoDefault,
    #[error("{0}")]
    Invalid(String),
}

/// The providers of an installation (or an organisation), and its default model.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    pub providers: Vec<Provider>,
    pub default_model: Option<String>,
    /// The model that turns text into vectors (the assistant's memory), if any.
    pub embedding_model: Option<String>,
}

impl Catalog {
    /// Checks names, prices and that every fallback and the default exist.
    pub fn validate(&self) -> Result<(), CatalogError> {
        for (i, p) in self.providers.iter().enumerate() {
            let name_ok = !p.name.is_empty()
                && p.name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !name_ok {
                return Err(CatalogError::Invalid(format!(
                    "provider name `{}`: use letters, digits, - and _",
                    p.name
                )));
            }
            if self.providers[..i].iter().any(|q| q.name == p.name) {
                return Err(CatalogError::Invalid(format!(
                    "provider `{}` is listed twice",
                    p.name
                )));
            }
            if !(p.endpoint.base_url.starts_with("http://")
                || p.endpoint.base_url.starts_with("https://"))
            {
                return Err(CatalogError::Invalid(format!(
                    "provider `{}`: base_url must be an http(s) URL",
                    p.name
                )));
            }
            for m in &p.models {
                let prices_ok = m.input_usd_per_mtok.is_finite()
                    && m.output_usd_per_mtok.is_finite()
                    && m.input_usd_per_mtok >= 0.0
                    && m.output_usd_per_mtok >= 0.0;
                if m.name.is_empty() || !prices_ok {
                    return Err(CatalogError::Invalid(format!(
                        "provider `{}`: model `{}` needs a name and prices ≥ 0",
                        p.name, m.name
                    )));
                }
                for fallback in &m.fallbacks {
                    self.find(fallback)?;
                }
            }
        }
        if let Some(default) = &self.default_model {
            self.find(default)?;
        }
        if let Some(embedding) = &self.embedding_model {
            self.find(embedding)?;
        }
        Ok(())
    }

    /// Every model id, `<provider>/<model>`.
    pub fn model_ids(&self) -> Vec<String> {
        self.providers
            .iter()
            .flat_map(|p| {
                p.models
                    .iter()
                    .map(move |m| format!("{}/{}", p.name, m.name))
            })
            .collect()
    }

    /// The route for one model id (`default` means the default model).
    pub fn find(&self, id: &str) -> Result<Route<'_>, CatalogError> {
        let id = if id == "default" {
            self.default_model
                .as_deref()
                .ok_or(CatalogError::NoDefault)?
        } else {
            id
        };
        let unknown = || CatalogError::UnknownModel(id.to_owned());
        let (provider_name, model_name) = id.split_once('/').ok_or_else(unknown)?;
        let provider = self
            .providers
            .iter()
            .find(|p| p.name == provider_name)
            .ok_or_else(unknown)?;
        let model = provider
            .models
            .iter()
            .find(|m| m.name == model_name)
            .ok_or_else(unknown)?;
        Ok(Route {
            id: id.to_owned(),
            provider,
            model,
        })
    }

    /// The model and then its fallbacks, in order, without repeats.
    pub fn routes(&self, id: &str) -> Result<Vec<Route<'_>>, CatalogError> {
        let first = self.find(id)?;
        let mut routes = vec![first.clone()];
        for fallback in &first.model.fallbacks {
            let route = self.find(fallback)?;
            if !routes.iter().any(|r| r.id == route.id) {
                routes.push(route);
            }
        }
        Ok(routes)
    }
}

/// The provider kind named in configuration (`anthropic` or `openai`).
pub fn kind_from_name(name: &str) -> Option<Kind> {
    match name {
        "anthropic" => Some(Kind::Anthropic),
        "openai" => Some(Kind::OpenAi),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::client::Timeouts;

    fn provider(name: &str, models: &[(&str, &[&str])]) -> Provider {
        Provider {
            name: name.into(),
            endpoint: Endpoint {
                kind: Kind::OpenAi,
                base_url: "http://127.0.0.1:9/v1".into(),
                api_key: None,
                timeouts: Timeouts::default(),
                retries: 0,
            },
            models: models
                .iter()
                .map(|(m, fallbacks)| Model {
                    name: (*m).into(),
                    input_usd_per_mtok: 1.0,
                    output_usd_per_mtok: 2.0,
                    fallbacks: fallbacks.iter().map(|f| (*f).to_owned()).collect(),
                })
                .collect(),
        }
    }

    fn catalog() -> Catalog {
        Catalog {
            providers: vec![
                provider(
                    "local",
                    &[
                        ("gpt-test", &["cloud/gpt-test", "local/small"]),
                        ("small", &[]),
                    ],
                ),
                provider("cloud", &[("gpt-test", &["local/gpt-test"])]),
            ],
            default_model: Some("local/gpt-test".into()),
            embedding_model: None,
        }
    }

    #[test]
    fn ids_route_with_fallbacks_in_order() {
        let c = catalog();
        c.validate().unwrap();
        let ids: Vec<String> = c
            .routes("default")
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, ["local/gpt-test", "cloud/gpt-test", "local/small"]);
        assert_eq!(c.routes("cloud/gpt-test").unwrap().len(), 2);
        assert_eq!(
            c.model_ids(),
            ["local/gpt-test", "local/small", "cloud/gpt-test"]
        );
        for bad in ["gpt-test", "local/nope", "nope/gpt-test"] {
            assert_eq!(
                c.find(bad).unwrap_err(),
                CatalogError::UnknownModel(bad.into())
            );
        }
        let no_default = Catalog {
            default_model: None,
            embedding_model: None,
            ..catalog()
        };
        assert_eq!(
            no_default.find("default").unwrap_err(),
            CatalogError::NoDefault
        );
    }

    #[test]
    fn mistakes_are_refused() {
        let mut c = catalog();
        c.providers[0].models[0]
            .fallbacks
            .push("ghost/model".into());
        assert!(c.validate().is_err());
        let mut c = catalog();
        c.providers[1].name = "local".into();
        assert!(c.validate().is_err());
        let mut c = catalog();
        c.providers[0].models[1].input_usd_per_mtok = -1.0;
        assert!(c.validate().is_err());
        let mut c = catalog();
        c.default_model = Some("local/ghost".into());
        assert!(c.validate().is_err());
    }

    #[test]
    fn cost_follows_the_price_table() {
        let model = &catalog().providers[0].models[0].clone();
        let usage = Usage {
            input_tokens: 1_000_000,
            output_tokens: 500_000,
        };
        assert!((model.cost_usd(usage) - 2.0).abs() < 1e-9);
        assert_eq!(model.cost_usd(Usage::default()), 0.0);
    }
}
