//! Configuration: defaults < `switchboard.toml` < environment < command-line flags.
//!
//! Every key is listed once in [`KEYS`], with its environment variable, default and whether it
//! is secret. That table drives the environment overlay, `config show` masking and the check
//! that `docs/configuration.md` documents every key. Unknown keys (in the file or as
//! `SWITCHBOARD_*` variables) and bad values are errors that name the key.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use switchboard_app::identity::sso::SsoProvider;
use switchboard_app::mail::{Security, SmtpSettings};
use switchboard_domain::Role;
use zeroize::Zeroizing;

/// The effective configuration.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "defaults::listen")]
    pub listen: SocketAddr,
    #[serde(default = "defaults::data_dir")]
    pub data_dir: PathBuf,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    #[serde(default)]
    pub database: DatabaseConfig,
    #[serde(default)]
    pub http: HttpConfig,
    #[serde(default)]
    pub log: LogConfig,
    #[serde(default)]
    pub secrets: SecretsConfig,
    #[serde(default)]
    pub smtp: SmtpConfig,
    #[serde(default, skip_serializing_if = "SsoConfig::is_empty")]
    pub sso: SsoConfig,
    #[serde(default, skip_serializing_if = "LlmConfig::is_empty")]
    pub llm: LlmConfig,
    #[serde(default, skip_serializing_if = "NotifyConfig::is_empty")]
    pub notify: NotifyConfig,
    #[serde(default)]
    pub approvals: ApprovalsConfig,
    #[serde(default)]
    pub documents: DocumentsConfig,
    #[serde(default)]
    pub fleet: FleetConfig,
}

/// Server agents: `[fleet] offline_after_secs = 90` — an agent silent longer than this shows
/// offline; `lease_secs = 30` — how long a claimed task stays an agent's without the agent
/// extending it (a task whose agent died runs again after about this long).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FleetConfig {
    #[serde(default = "defaults::fleet_offline_after_secs")]
    pub offline_after_secs: u64,
    #[serde(default = "defaults::fleet_lease_secs")]
    pub lease_secs: u64,
}

impl Default for FleetConfig {
    fn default() -> Self {
        FleetConfig {
            offline_after_secs: defaults::fleet_offline_after_secs(),
            lease_secs: defaults::fleet_lease_secs(),
        }
    }
}

/// The document library: `[documents] max_upload_bytes = 20971520` — the largest file one
/// upload may carry.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentsConfig {
    #[serde(default = "defaults::document_max_upload_bytes")]
    pub max_upload_bytes: usize,
}

impl Default for DocumentsConfig {
    fn default() -> Self {
        DocumentsConfig {
            max_upload_bytes: defaults::document_max_upload_bytes(),
        }
    }
}

/// Approval requests: `[approvals] ttl_secs = 3600` — how long a request waits for a
/// decision before it expires (which counts as denied).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalsConfig {
    #[serde(default = "defaults::approval_ttl_secs")]
    pub ttl_secs: u64,
}

impl Default for ApprovalsConfig {
    fn default() -> Self {
        ApprovalsConfig {
            ttl_secs: defaults::approval_ttl_secs(),
        }
    }
}

/// Notifications: `[notify] webhook_allow_hosts = ["chat.internal"]` lets organisations'
/// webhooks call these loopback or private hosts (otherwise refused).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhook_allow_hosts: Vec<String>,
}

impl NotifyConfig {
    fn is_empty(&self) -> bool {
        self.webhook_allow_hosts.is_empty()
    }
}

/// Model providers of the installation: `[[llm.providers]]` with `[[llm.providers.models]]`,
/// `llm.default_model` and `llm.embedding_model`. API keys come from the environment (`api_key = "env:NAME"`);
/// organisations add their own providers in the console, sealed in the vault.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LlmConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_model: Option<String>,
    /// The model that turns text into vectors (the assistant's memory recalls by meaning
    /// too when one is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding_model: Option<String>,
    /// Lets organisations add providers on loopback/private addresses.
    #[serde(default)]
    pub org_providers_allow_private: bool,
    #[serde(default)]
    pub providers: Vec<LlmProviderConfig>,
}

impl LlmConfig {
    fn is_empty(&self) -> bool {
        self.providers.is_empty()
            && self.default_model.is_none()
            && self.embedding_model.is_none()
            && !self.org_providers_allow_private
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LlmProviderConfig {
    pub name: String,
    /// `openai` (any OpenAI-compatible server) or `anthropic`.
    pub kind: String,
    pub base_url: String,
    /// `env:NAME` reads the key from that environment variable at startup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    #[serde(default = "defaults::llm_retries")]
    pub retries: u32,
    #[serde(default = "defaults::llm_first_byte_timeout_secs")]
    pub first_byte_timeout_secs: u64,
    #[serde(default = "defaults::llm_idle_timeout_secs")]
    pub idle_timeout_secs: u64,
    #[serde(default)]
    pub models: Vec<LlmModelConfig>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LlmModelConfig {
    pub name: String,
    #[serde(default)]
    pub input_usd_per_mtok: f64,
    #[serde(default)]
    pub output_usd_per_mtok: f64,
    /// Other model ids (`<provider>/<model>`) tried in order when this one fails.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallbacks: Vec<String>,
}

/// Outgoing mail (invites). Off unless `smtp.host` is set.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default = "defaults::smtp_port")]
    pub port: u16,
    /// `starttls` (default), `tls`, or `none` (loopback relays only).
    #[serde(default = "defaults::smtp_security")]
    pub security: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: None,
            port: defaults::smtp_port(),
            security: defaults::smtp_security(),
            username: None,
            password: None,
            from: None,
        }
    }
}

/// Single sign-on: `[[sso.providers]]` tables in `switchboard.toml` (file only; client
/// secrets are sealed in the vault with `switchboard sso set-secret`).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SsoConfig {
    #[serde(default)]
    pub providers: Vec<SsoProviderConfig>,
}

impl SsoConfig {
    fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SsoProviderConfig {
    pub id: String,
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    #[serde(default = "defaults::sso_scopes")]
    pub scopes: Vec<String>,
    pub organization: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_claim: Option<String>,
    #[serde(default)]
    pub role_map: BTreeMap<String, Role>,
    /// `viewer`, `member`, `admin`, or `none` to refuse sign-up without a mapped claim value.
    #[serde(default = "defaults::sso_default_role")]
    pub default_role: String,
    #[serde(default)]
    pub link_existing_accounts: bool,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default = "defaults::max_connections")]
    pub max_connections: u32,
    #[serde(default = "defaults::connect_timeout_secs")]
    pub connect_timeout_secs: u64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    #[serde(default = "defaults::body_limit_bytes")]
    pub body_limit_bytes: usize,
    #[serde(default = "defaults::request_timeout_secs")]
    pub request_timeout_secs: u64,
    #[serde(default = "defaults::shutdown_grace_secs")]
    pub shutdown_grace_secs: u64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    #[serde(default = "defaults::log_level")]
    pub level: String,
    #[serde(default)]
    pub format: LogFormat,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// JSON when stdout is not a terminal, human-readable when it is.
    #[default]
    Auto,
    Json,
    Pretty,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_key_file: Option<PathBuf>,
}

mod defaults {
    use std::net::SocketAddr;
    use std::path::PathBuf;

    pub fn listen() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 8080))
    }
    pub fn data_dir() -> PathBuf {
        PathBuf::from("./data")
    }
    pub fn max_connections() -> u32 {
        8
    }
    pub fn connect_timeout_secs() -> u64 {
        5
    }
    pub fn body_limit_bytes() -> usize {
        1024 * 1024
    }
    pub fn request_timeout_secs() -> u64 {
        30
    }
    pub fn shutdown_grace_secs() -> u64 {
        20
    }
    pub fn approval_ttl_secs() -> u64 {
        3600
    }
    pub fn document_max_upload_bytes() -> usize {
        20 * 1024 * 1024
    }
    pub fn fleet_offline_after_secs() -> u64 {
        90
    }
    pub fn fleet_lease_secs() -> u64 {
        30
    }
    pub fn log_level() -> String {
        "info".to_owned()
    }
    pub fn smtp_port() -> u16 {
        587
    }
    pub fn smtp_security() -> String {
        "starttls".to_owned()
    }
    pub fn sso_scopes() -> Vec<String> {
        vec!["email".to_owned(), "profile".to_owned()]
    }
    pub fn llm_retries() -> u32 {
        2
    }
    pub fn llm_first_byte_timeout_secs() -> u64 {
        120
    }
    pub fn llm_idle_timeout_secs() -> u64 {
        60
    }
    pub fn sso_default_role() -> String {
        "viewer".to_owned()
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: None,
            max_connections: defaults::max_connections(),
            connect_timeout_secs: defaults::connect_timeout_secs(),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            body_limit_bytes: defaults::body_limit_bytes(),
            request_timeout_secs: defaults::request_timeout_secs(),
            shutdown_grace_secs: defaults::shutdown_grace_secs(),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: defaults::log_level(),
            format: LogFormat::Auto,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    Integer,
}

/// One configuration key.
#[derive(Debug)]
pub struct Key {
    /// Dotted path in `switchboard.toml`.
    pub path: &'static str,
    /// Environment variables that set it, in order of precedence (first wins).
    pub env: &'static [&'static str],
    pub kind: Kind,
    /// Masked by `config show`.
    pub secret: bool,
}

pub const KEYS: &[Key] = &[
    Key {
        path: "listen",
        env: &["SWITCHBOARD_LISTEN"],
        kind: Kind::Text,
        secret: false,
    },
    Key {
        path: "data_dir",
        env: &["SWITCHBOARD_DATA_DIR"],
        kind: Kind::Text,
        secret: false,
    },
    Key {
        path: "public_url",
        env: &["SWITCHBOARD_PUBLIC_URL"],
        kind: Kind::Text,
        secret: false,
    },
    Key {
        path: "database.url",
        env: &["DATABASE_URL", "SWITCHBOARD_DATABASE_URL"],
        kind: Kind::Text,
        secret: true,
    },
    Key {
        path: "database.max_connections",
        env: &["SWITCHBOARD_DATABASE_MAX_CONNECTIONS"],
        kind: Kind::Integer,
        secret: false,
    },
    Key {
        path: "database.connect_timeout_secs",
        env: &["SWITCHBOARD_DATABASE_CONNECT_TIMEOUT_SECS"],
        kind: Kind::Integer,
        secret: false,
    },
    Key {
        path: "http.body_limit_bytes",
        env: &["SWITCHBOARD_HTTP_BODY_LIMIT_BYTES"],
        kind: Kind::Integer,
        secret: false,
    },
    Key {
        path: "http.request_timeout_secs",
        env: &["SWITCHBOARD_HTTP_REQUEST_TIMEOUT_SECS"],
        kind: Kind::Integer,
        secret: false,
    },
    Key {
        path: "http.shutdown_grace_secs",
        env: &["SWITCHBOARD_HTTP_SHUTDOWN_GRACE_SECS"],
        kind: Kind::Integer,
        secret: false,
    },
    Key {
        path: "approvals.ttl_secs",
        env: &["SWITCHBOARD_APPROVALS_TTL_SECS"],
        kind: Kind::Integer,
        secret: false,
    },
    Key {
        path: "documents.max_upload_bytes",
        env: &["SWITCHBOARD_DOCUMENTS_MAX_UPLOAD_BYTES"],
        kind: Kind::Integer,
        secret: false,
    },
    Key {
        path: "fleet.offline_after_secs",
        env: &["SWITCHBOARD_FLEET_OFFLINE_AFTER_SECS"],
        kind: Kind::Integer,
        secret: false,
    },
    Key {
        path: "fleet.lease_secs",
        env: &["SWITCHBOARD_FLEET_LEASE_SECS"],
        kind: Kind::Integer,
        secret: false,
    },
    Key {
        path: "log.level",
        env: &["SWITCHBOARD_LOG_LEVEL"],
        kind: Kind::Text,
        secret: false,
    },
    Key {
        path: "log.format",
        env: &["SWITCHBOARD_LOG_FORMAT"],
        kind: Kind::Text,
        secret: false,
    },
    Key {
        path: "secrets.master_key",
        env: &["SWITCHBOARD_MASTER_KEY"],
        kind: Kind::Text,
        secret: true,
    },
    Key {
        path: "secrets.master_key_file",
        env: &["SWITCHBOARD_MASTER_KEY_FILE"],
        kind: Kind::Text,
        secret: false,
    },
    Key {
        path: "llm.default_model",
        env: &["SWITCHBOARD_LLM_DEFAULT_MODEL"],
        kind: Kind::Text,
        secret: false,
    },
    Key {
        path: "llm.embedding_model",
        env: &["SWITCHBOARD_LLM_EMBEDDING_MODEL"],
        kind: Kind::Text,
        secret: false,
    },
    Key {
        path: "smtp.host",
        env: &["SWITCHBOARD_SMTP_HOST"],
        kind: Kind::Text,
        secret: false,
    },
    Key {
        path: "smtp.port",
        env: &["SWITCHBOARD_SMTP_PORT"],
        kind: Kind::Integer,
        secret: false,
    },
    Key {
        path: "smtp.security",
        env: &["SWITCHBOARD_SMTP_SECURITY"],
        kind: Kind::Text,
        secret: false,
    },
    Key {
        path: "smtp.username",
        env: &["SWITCHBOARD_SMTP_USERNAME"],
        kind: Kind::Text,
        secret: false,
    },
    Key {
        path: "smtp.password",
        env: &["SWITCHBOARD_SMTP_PASSWORD"],
        kind: Kind::Text,
        secret: true,
    },
    Key {
        path: "smtp.from",
        env: &["SWITCHBOARD_SMTP_FROM"],
        kind: Kind::Text,
        secret: false,
    },
];

/// `SWITCHBOARD_*` variables that are not configuration keys but are still ours.
const OTHER_VARIABLES: &[&str] = &["SWITCHBOARD_CONFIG", SETUP_CODE_ENV];

/// Environment variable that sets the first-boot setup code (automated installs) instead of
/// a generated one. Read by `serve` only while no organisation exists.
pub const SETUP_CODE_ENV: &str = "SWITCHBOARD_SETUP_CODE";

/// Environment variable naming the config file when `--config` is not given.
pub const CONFIG_ENV: &str = "SWITCHBOARD_CONFIG";

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Values given on the command line (highest precedence).
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
}

/// Loads the configuration from the optional file, the given environment and the flags.
pub fn load(
    file: Option<&Path>,
    env: &BTreeMap<String, String>,
    overrides: &Overrides,
) -> Result<Config, ConfigError> {
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    let mut merged = toml::Table::new();
    let file_name = file.map(|p| p.display().to_string());

    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read config file {}: {e}", path.display())))?;
        merged = text
            .parse::<toml::Table>()
            .map_err(|e| ConfigError(format!("{}: {}", path.display(), e.message().trim())))?;
        for key in KEYS {
            if lookup(&merged, key.path).is_some() {
                sources.insert(
                    key.path.to_owned(),
                    format!("{} in {}", key.path, path.display()),
                );
            }
        }
    }

    for name in env.keys().filter(|n| n.starts_with("SWITCHBOARD_")) {
        let known = KEYS.iter().any(|k| k.env.contains(&name.as_str()))
            || OTHER_VARIABLES.contains(&name.as_str());
        if !known {
            return Err(ConfigError(format!(
                "unknown environment variable {name} (see docs/configuration.md)"
            )));
        }
    }
    for key in KEYS {
        let Some((var, raw)) = key
            .env
            .iter()
            .find_map(|var| env.get(*var).map(|value| (*var, value)))
        else {
            continue;
        };
        let value = match key.kind {
            Kind::Text => toml::Value::String(raw.clone()),
            Kind::Integer => toml::Value::Integer(raw.trim().parse::<i64>().map_err(|_| {
                ConfigError(format!("{var}: expected a whole number, got `{raw}`"))
            })?),
        };
        insert(&mut merged, key.path, value);
        sources.insert(key.path.to_owned(), var.to_owned());
    }

    if let Some(listen) = &overrides.listen {
        insert(&mut merged, "listen", toml::Value::String(listen.clone()));
        sources.insert("listen".to_owned(), "--listen".to_owned());
    }
    if let Some(dir) = &overrides.data_dir {
        insert(
            &mut merged,
            "data_dir",
            toml::Value::String(dir.display().to_string()),
        );
        sources.insert("data_dir".to_owned(), "--data-dir".to_owned());
    }

    let config: Config =
        serde_path_to_error::deserialize(toml::Value::Table(merged)).map_err(|e| {
            let path = e.path().to_string();
            let origin = sources
                .get(&path)
                .cloned()
                .or_else(|| file_name.clone().map(|f| format!("{path} in {f}")))
                .unwrap_or_else(|| path.clone());
            let message = e.into_inner().to_string();
            if path == "." {
                ConfigError(format!(
                    "{}: {message}",
                    file_name.clone().unwrap_or_default()
                ))
            } else {
                ConfigError(format!("{origin}: {message}"))
            }
        })?;
    config.validate(&sources)?;
    Ok(config)
}

fn lookup<'a>(table: &'a toml::Table, path: &str) -> Option<&'a toml::Value> {
    let mut parts = path.split('.');
    let first = table.get(parts.next()?)?;
    parts.try_fold(first, |value, part| value.as_table()?.get(part))
}

fn insert(table: &mut toml::Table, path: &str, value: toml::Value) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let Some(last) = parts.pop() else { return };
    let mut current = table;
    for part in parts {
        let entry = current
            .entry(part.to_owned())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let toml::Value::Table(next) = entry else {
            return;
        };
        current = next;
    }
    current.insert(last.to_owned(), value);
}

impl Config {
    fn validate(&self, sources: &BTreeMap<String, String>) -> Result<(), ConfigError> {
        let name = |path: &str| {
            sources
                .get(path)
                .cloned()
                .unwrap_or_else(|| path.to_owned())
        };
        if let Some(url) = &self.database.url {
            if switchboard_store::Backend::from_url(url).is_none() {
                return Err(ConfigError(format!(
                    "{}: expected a sqlite:// or postgres:// URL",
                    name("database.url")
                )));
            }
        }
        if let Some(url) = &self.public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError(format!(
                    "{}: expected an http:// or https:// URL",
                    name("public_url")
                )));
            }
        }
        let at_least = |path: &str, value: u64, minimum: u64| {
            if value < minimum {
                Err(ConfigError(format!(
                    "{}: must be at least {minimum}",
                    name(path)
                )))
            } else {
                Ok(())
            }
        };
        at_least("approvals.ttl_secs", self.approvals.ttl_secs, 60)?;
        at_least(
            "documents.max_upload_bytes",
            self.documents.max_upload_bytes as u64,
            1024,
        )?;
        if self.documents.max_upload_bytes > 1024 * 1024 * 1024 {
            return Err(ConfigError(format!(
                "{}: at most 1073741824 (1 GiB; files are kept in the database)",
                name("documents.max_upload_bytes")
            )));
        }
        at_least(
            "fleet.offline_after_secs",
            self.fleet.offline_after_secs,
            10,
        )?;
        at_least("fleet.lease_secs", self.fleet.lease_secs, 3)?;
        if self.fleet.lease_secs > 3600 || self.fleet.offline_after_secs > 7 * 24 * 3600 {
            return Err(ConfigError(format!(
                "{} is at most 3600 and {} at most 604800",
                name("fleet.lease_secs"),
                name("fleet.offline_after_secs")
            )));
        }
        if self.approvals.ttl_secs > 30 * 24 * 3600 {
            return Err(ConfigError(format!(
                "{}: at most 2592000 (30 days)",
                name("approvals.ttl_secs")
            )));
        }
        at_least(
            "database.max_connections",
            u64::from(self.database.max_connections),
            1,
        )?;
        at_least(
            "database.connect_timeout_secs",
            self.database.connect_timeout_secs,
            1,
        )?;
        at_least(
            "http.body_limit_bytes",
            self.http.body_limit_bytes as u64,
            1024,
        )?;
        at_least(
            "http.request_timeout_secs",
            self.http.request_timeout_secs,
            1,
        )?;
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            return Err(ConfigError(format!("{}: {e}", name("log.level"))));
        }
        self.smtp_settings()?;
        self.llm_catalog(&|name| std::env::var(name).ok())?;
        for provider in self.sso_providers()? {
            provider
                .validate()
                .map_err(|e| ConfigError(e.to_string()))?;
        }
        if self.secrets.master_key.is_some() && self.secrets.master_key_file.is_some() {
            return Err(ConfigError(
                "secrets.master_key and secrets.master_key_file are both set; choose one"
                    .to_owned(),
            ));
        }
        Ok(())
    }

    /// Outgoing mail settings, checked; `None` when `smtp.host` is not set.
    pub fn smtp_settings(&self) -> Result<Option<SmtpSettings>, ConfigError> {
        let Some(host) = &self.smtp.host else {
            return Ok(None);
        };
        let security = Security::parse(&self.smtp.security).ok_or_else(|| {
            ConfigError("smtp.security: expected starttls, tls or none".to_owned())
        })?;
        let from =
            self.smtp.from.clone().ok_or_else(|| {
                ConfigError("smtp.from: required when smtp.host is set".to_owned())
            })?;
        if self.public_url.is_none() {
            return Err(ConfigError(
                "public_url: required when smtp.host is set (emailed links need it)".to_owned(),
            ));
        }
        let settings = SmtpSettings {
            host: host.clone(),
            port: self.smtp.port,
            security,
            username: self.smtp.username.clone(),
            password: self.smtp.password.clone().map(Zeroizing::new),
            from,
        };
        settings.validate().map_err(ConfigError)?;
        Ok(Some(settings))
    }

    /// The single sign-on providers, checked: a mistake names the provider and the field.
    pub fn sso_providers(&self) -> Result<Vec<SsoProvider>, ConfigError> {
        let mut providers = Vec::new();
        for p in &self.sso.providers {
            let default_role = match p.default_role.as_str() {
                "none" => None,
                other => Some(other.parse::<Role>().map_err(|_| {
                    ConfigError(format!(
                        "sso.providers `{}`: default_role: expected viewer, member, admin or none",
                        p.id
                    ))
                })?),
            };
            providers.push(SsoProvider {
                id: p.id.clone(),
                name: p.name.clone(),
                issuer: p.issuer.clone(),
                client_id: p.client_id.clone(),
                scopes: p.scopes.clone(),
                organization: p.organization.clone(),
                role_claim: p.role_claim.clone(),
                role_map: p.role_map.clone(),
                default_role,
                link_existing_accounts: p.link_existing_accounts,
            });
        }
        Ok(providers)
    }

    /// The installation's model catalog, checked. `env` reads the variables that
    /// `api_key = "env:NAME"` names.
    pub fn llm_catalog(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<switchboard_llm::catalog::Catalog, ConfigError> {
        use std::time::Duration;
        use switchboard_llm::catalog::{kind_from_name, Catalog, Model, Provider};
        use switchboard_llm::client::{Endpoint, Timeouts};
        let mut catalog = Catalog {
            providers: Vec::new(),
            default_model: self.llm.default_model.clone(),
            embedding_model: self.llm.embedding_model.clone(),
        };
        for p in &self.llm.providers {
            let at = |field: &str, message: &str| {
                ConfigError(format!("llm.providers `{}`: {field}: {message}", p.name))
            };
            let kind = kind_from_name(&p.kind)
                .ok_or_else(|| at("kind", "expected openai or anthropic"))?;
            let api_key = match p.api_key.as_deref() {
                None | Some("") => None,
                Some(value) => {
                    let name = value.strip_prefix("env:").ok_or_else(|| {
                        at(
                            "api_key",
                            "write `env:NAME` and put the key in that environment variable \
                             (keys are not kept in the file)",
                        )
                    })?;
                    Some(env(name).filter(|v| !v.is_empty()).ok_or_else(|| {
                        at(
                            "api_key",
                            &format!("the environment variable {name} is not set"),
                        )
                    })?)
                }
            };
            if p.first_byte_timeout_secs == 0 || p.idle_timeout_secs == 0 {
                return Err(at("timeouts", "must be at least 1 second"));
            }
            catalog.providers.push(Provider {
                name: p.name.clone(),
                endpoint: Endpoint {
                    kind,
                    base_url: p.base_url.clone(),
                    api_key,
                    timeouts: Timeouts {
                        connect: Duration::from_secs(5),
                        first_byte: Duration::from_secs(p.first_byte_timeout_secs),
                        idle: Duration::from_secs(p.idle_timeout_secs),
                    },
                    retries: p.retries,
                },
                models: p
                    .models
                    .iter()
                    .map(|m| Model {
                        name: m.name.clone(),
                        input_usd_per_mtok: m.input_usd_per_mtok,
                        output_usd_per_mtok: m.output_usd_per_mtok,
                        fallbacks: m.fallbacks.clone(),
                    })
                    .collect(),
            });
        }
        catalog
            .validate()
            .map_err(|e| ConfigError(format!("llm: {e}")))?;
        Ok(catalog)
    }

    /// The database URL: `database.url`, or the SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        self.database.url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}",
                self.data_dir.join("switchboard.db").display()
            )
        })
    }

    pub fn master_key_file(&self) -> PathBuf {
        self.secrets
            .master_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("master.key"))
    }

    /// Whether clients reach the hub over TLS (judged from `public_url`).
    pub fn tls(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }

    /// The effective configuration as TOML, with every secret key masked (URLs keep all but
    /// their password).
    pub fn to_masked_toml(&self) -> String {
        let mut shown = self.clone();
        shown.database.url = Some(self.database_url());
        if shown.secrets.master_key.is_none() {
            shown.secrets.master_key_file = Some(self.master_key_file());
        }
        let mut table = match toml::Table::try_from(&shown) {
            Ok(table) => table,
            Err(e) => return format!("# cannot render the configuration: {e}\n"),
        };
        for key in KEYS.iter().filter(|k| k.secret) {
            let masked = match lookup(&table, key.path).and_then(toml::Value::as_str) {
                Some(url) if url.contains("://") => switchboard_store::redact_url(url),
                Some(_) => "***".to_owned(),
                None => continue,
            };
            insert(&mut table, key.path, toml::Value::String(masked));
        }
        toml::to_string_pretty(&table).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        use std::io::Write as _;
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn defaults_need_no_configuration() {
        let config = load(None, &env(&[]), &Overrides::default()).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.database_url(), "sqlite://./data/switchboard.db");
        assert_eq!(config.master_key_file(), PathBuf::from("./data/master.key"));
        assert_eq!(config.http.body_limit_bytes, 1024 * 1024);
        assert!(!config.tls());
    }

    #[test]
    fn layers_apply_in_order_file_env_flags() {
        let f = file("listen = \"127.0.0.1:7000\"\ndata_dir = \"/tmp/a\"\n[http]\nrequest_timeout_secs = 9\n");
        let e = env(&[
            ("SWITCHBOARD_LISTEN", "127.0.0.1:7001"),
            ("SWITCHBOARD_HTTP_REQUEST_TIMEOUT_SECS", "11"),
        ]);
        let config = load(Some(f.path()), &e, &Overrides::default()).unwrap();
        assert_eq!(
            config.listen.to_string(),
            "127.0.0.1:7001",
            "env beats file"
        );
        assert_eq!(
            config.data_dir,
            PathBuf::from("/tmp/a"),
            "file beats default"
        );
        assert_eq!(config.http.request_timeout_secs, 11);
        let flags = Overrides {
            listen: Some("127.0.0.1:7002".into()),
            data_dir: Some("/tmp/b".into()),
        };
        let config = load(Some(f.path()), &e, &flags).unwrap();
        assert_eq!(
            config.listen.to_string(),
            "127.0.0.1:7002",
            "flags beat env"
        );
        assert_eq!(config.data_dir, PathBuf::from("/tmp/b"));
        assert_eq!(config.database_url(), "sqlite:///tmp/b/switchboard.db");
    }

    #[test]
    fn database_url_comes_from_database_url_env() {
        let config = load(
            None,
            &env(&[("DATABASE_URL", "postgres://u:pw@h/db")]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(config.database_url(), "postgres://u:pw@h/db");
        assert!(config.to_masked_toml().contains("postgres://u:***@h/db"));
        assert!(!config.to_masked_toml().contains("pw@"));
    }

    #[test]
    fn approval_waiting_time_is_bounded_and_set_by_file_or_env() {
        let config = load(None, &env(&[]), &Overrides::default()).unwrap();
        assert_eq!(config.approvals.ttl_secs, 3600);
        let f = file("[approvals]\nttl_secs = 900\n");
        let config = load(Some(f.path()), &env(&[]), &Overrides::default()).unwrap();
        assert_eq!(config.approvals.ttl_secs, 900);
        let config = load(
            Some(f.path()),
            &env(&[("SWITCHBOARD_APPROVALS_TTL_SECS", "120")]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(config.approvals.ttl_secs, 120, "env beats the file");
        for bad in ["5", "99999999"] {
            let err = load(
                None,
                &env(&[("SWITCHBOARD_APPROVALS_TTL_SECS", bad)]),
                &Overrides::default(),
            )
            .unwrap_err();
            assert!(err.0.contains("SWITCHBOARD_APPROVALS_TTL_SECS"), "{err}");
        }
    }

    #[test]
    fn unknown_keys_are_named() {
        let f = file("lisen = \"127.0.0.1:1\"\n");
        let err = load(Some(f.path()), &env(&[]), &Overrides::default()).unwrap_err();
        assert!(err.0.contains("lisen"), "{err}");
        let f = file("[database]\nurll = \"x\"\n");
        let err = load(Some(f.path()), &env(&[]), &Overrides::default()).unwrap_err();
        assert!(
            err.0.contains("urll") && err.0.contains("database"),
            "{err}"
        );
        let err = load(
            None,
            &env(&[("SWITCHBOARD_LISTN", "x")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.0.contains("SWITCHBOARD_LISTN"), "{err}");
    }

    #[test]
    fn bad_values_are_named_with_their_source() {
        let err = load(
            None,
            &env(&[("SWITCHBOARD_LISTEN", "nowhere")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.0.contains("SWITCHBOARD_LISTEN"), "{err}");
        let err = load(
            None,
            &env(&[("SWITCHBOARD_HTTP_BODY_LIMIT_BYTES", "lots")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.0.contains("SWITCHBOARD_HTTP_BODY_LIMIT_BYTES"), "{err}");
        let f = file("[http]\nrequest_timeout_secs = \"soon\"\n");
        let err = load(Some(f.path()), &env(&[]), &Overrides::default()).unwrap_err();
        assert!(err.0.contains("http.request_timeout_secs"), "{err}");
        let err = load(
            None,
            &env(&[("DATABASE_URL", "mysql://x")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.0.contains("DATABASE_URL"), "{err}");
        let err = load(
            None,
            &env(&[("SWITCHBOARD_LOG_FORMAT", "xml")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.0.contains("SWITCHBOARD_LOG_FORMAT"), "{err}");
        let f = file("listen = [1, 2\n");
        let err = load(Some(f.path()), &env(&[]), &Overrides::default()).unwrap_err();
        assert!(err.0.contains(&f.path().display().to_string()), "{err}");
    }

    #[test]
    fn secrets_are_masked_in_show() {
        let config = load(
            None,
            &env(&[("SWITCHBOARD_MASTER_KEY", "c2VjcmV0")]),
            &Overrides::default(),
        )
        .unwrap();
        let shown = config.to_masked_toml();
        assert!(shown.contains("master_key = \"***\""), "{shown}");
        assert!(!shown.contains("c2VjcmV0"), "{shown}");
    }

    #[test]
    fn every_key_is_documented() {
        let docs = include_str!("../../../docs/configuration.md");
        for key in KEYS {
            assert!(
                docs.contains(&format!("`{}`", key.path)),
                "{} is not documented",
                key.path
            );
            for var in key.env {
                assert!(
                    docs.contains(&format!("`{var}`")),
                    "{var} is not documented"
                );
            }
        }
    }
}
