//! The platform team's configuration: one TOML file for the defaults every tenant starts from
//! and the sizes of the node, with any key overridable from the environment.
//!
//! Precedence, lowest first: built-in defaults, the file, `RULEBOX_<SECTION>__<KEY>` variables
//! (e.g. `RULEBOX_LIMITS__FUEL=5000000`), then explicit command-line flags. A key the program
//! does not know is an error, not a silent no-op: a typo in `timout_ms` must not leave a tenant
//! fenced by a limit the operator believes they changed.

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use rulebox_auth_core::Settings;
use rulebox_proxy::quota::QuotaDefaults;
use rulebox_runtime::RuntimeConfig;
use rulebox_runtime_api::{Limits, Outbound};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Environment variables that override file keys start with this; the section and key are
/// separated by a double underscore so keys may keep their single underscores.
pub const ENV_PREFIX: &str = "RULEBOX_";

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PlatformConfig {
    pub server: ServerSection,
    /// What a tenant gets when its policy does not say otherwise.
    pub limits: LimitsSection,
    pub quotas: QuotasSection,
    pub runtime: RuntimeSection,
    pub logs: LogsSection,
    pub tokens: TokensSection,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSection {
    pub listen: String,
    pub data_dir: PathBuf,
    /// bcrypt cost of new password hashes.
    pub bcrypt_cost: u32,
    /// How many proxies stand in front (a load balancer: 1; a CDN then a balancer: 2):
    /// client IPs are then read from `X-Forwarded-For` instead of the TCP peer.
    /// Brute-force protection keys on them.
    pub trusted_proxies: u32,
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./data"),
            bcrypt_cost: Settings::default().bcrypt_cost,
            trusted_proxies: 0,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsSection {
    pub fuel: u64,
    pub timeout_ms: u64,
    pub memory_mb: u64,
    pub max_input_bytes: u64,
    pub max_output_bytes: u64,
    pub max_log_bytes: u64,
    /// Hosts every tenant may reach; usually empty, so each tenant's allow-list is explicit.
    pub allow_hosts: Vec<String>,
    pub max_outbound_requests: u32,
    pub outbound_timeout_ms: u64,
    pub max_response_bytes: u64,
}

impl Default for LimitsSection {
    fn default() -> Self {
        let l = Limits::default();
        Self {
            fuel: l.fuel,
            timeout_ms: l.timeout_ms,
            memory_mb: l.memory_bytes >> 20,
            max_input_bytes: l.max_input_bytes,
            max_output_bytes: l.max_output_bytes,
            max_log_bytes: l.max_log_bytes,
            allow_hosts: l.outbound.allow_hosts,
            max_outbound_requests: l.outbound.max_requests,
            outbound_timeout_ms: l.outbound.request_timeout_ms,
            max_response_bytes: l.outbound.max_response_bytes,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct QuotasSection {
    /// Calls one tenant may have in flight at once.
    pub tenant_concurrency: u32,
    /// Calls per second per tenant (token bucket); absent means unlimited.
    pub tenant_rate: Option<u32>,
}

impl Default for QuotasSection {
    fn default() -> Self {
        let q = QuotaDefaults::default();
        Self {
            tenant_concurrency: q.concurrency,
            tenant_rate: q.rate_per_sec,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RuntimeSection {
    /// Calls in flight at once on this node.
    pub max_concurrent: usize,
    /// Pool slots; at least `max_concurrent`.
    pub pool_slots: u32,
    /// The most memory any tenant can be granted (the size of a pool slot).
    pub max_memory_mb: u64,
    /// Calls executing guest code at once; normally the core count.
    pub cpu_slots: usize,
    pub module_cache_mb: u64,
}

impl Default for RuntimeSection {
    fn default() -> Self {
        let r = RuntimeConfig::default();
        Self {
            max_concurrent: r.max_concurrent,
            pool_slots: r.pool_slots,
            max_memory_mb: r.max_memory_bytes >> 20,
            cpu_slots: r.cpu_slots,
            module_cache_mb: r.module_cache_bytes >> 20,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LogsSection {
    /// How long tenants' execution logs are kept, e.g. "30d" or "12h".
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
}

impl Default for LogsSection {
    fn default() -> Self {
        Self {
            retention: Settings::default().log_retention,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TokensSection {
    #[serde(with = "humantime_serde")]
    pub access_token_ttl: Duration,
    /// The longest ID-token lifetime; each client picks its own up to it.
    #[serde(with = "humantime_serde")]
    pub id_token_ttl: Duration,
    /// How long a login's refresh tokens live, rotations included (absolute).
    #[serde(with = "humantime_serde")]
    pub refresh_token_ttl: Duration,
    /// How long a refresh token may sit unused (each rotation starts it again).
    #[serde(with = "humantime_serde")]
    pub refresh_token_idle_ttl: Duration,
    /// One deadline for all tenant code of one login.
    #[serde(with = "humantime_serde")]
    pub pipeline_deadline: Duration,
}

impl Default for TokensSection {
    fn default() -> Self {
        let s = Settings::default();
        Self {
            access_token_ttl: Duration::from_secs(s.access_token_ttl_secs),
            id_token_ttl: Duration::from_secs(s.id_token_ttl_secs),
            refresh_token_ttl: Duration::from_secs(s.refresh_token_ttl_secs),
            refresh_token_idle_ttl: Duration::from_secs(s.refresh_token_idle_ttl_secs),
            pipeline_deadline: Duration::from_millis(s.pipeline_deadline_ms),
        }
    }
}

/// Why a configuration was refused; each says which key and what would be accepted.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Syntax errors, unknown keys and wrong types, with the key path and the source (file or
    /// environment variable) that set it.
    #[error("{0}")]
    Parse(String),
    #[error("{}", .0.join("\n"))]
    Invalid(Vec<String>),
}

impl PlatformConfig {
    /// Built-in defaults, then `file` (when given), then the environment `vars`.
    pub fn load(
        file: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<PlatformConfig, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(PlatformConfig::default()));
        if let Some(path) = file {
            // Read it ourselves: figment treats a missing file as empty, and a config the
            // operator named but we could not read must stop the start-up.
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?;
            figment = figment.merge(Toml::string(&text));
            extract(&figment, &path.display().to_string())?;
        }
        let mut overrides: Vec<(String, String)> = vars
            .into_iter()
            // Only SECTION__KEY names: other RULEBOX_* variables (RULEBOX_LOG,
            // RULEBOX_SECRETS_KEY, ...) are not configuration keys.
            .filter(|(k, _)| k.strip_prefix(ENV_PREFIX).is_some_and(|r| r.contains("__")))
            .collect();
        overrides.sort();
        for (var, value) in overrides {
            let key = var[ENV_PREFIX.len()..].to_ascii_lowercase();
            let (section, field) = key.split_once("__").unwrap_or((key.as_str(), ""));
            let text = format!("[{section}]\n{field} = {}", toml_value(&value));
            let next = figment.clone().merge(Toml::string(&text));
            // One variable at a time, so an error names the variable that caused it.
            extract(&next, &var)?;
            figment = next;
        }
        let config = extract(&figment, "the configuration")?;
        config.validate()?;
        Ok(config)
    }

    /// Semantic checks the types cannot express; all problems at once, so one run of
    /// `rulebox config check` lists everything to fix.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut errors = Vec::new();
        let mut check = |ok: bool, msg: String| {
            if !ok {
                errors.push(msg);
            }
        };
        check(
            self.server.listen.parse::<SocketAddr>().is_ok(),
            format!(
                "server.listen: {:?} is not an address like 127.0.0.1:8080",
                self.server.listen
            ),
        );
        check(
            (4..=31).contains(&self.server.bcrypt_cost),
            format!(
                "server.bcrypt_cost: {} is outside bcrypt's 4..=31",
                self.server.bcrypt_cost
            ),
        );
        let ceiling = self.runtime_config(None).ceiling();
        let l = &self.limits;
        check(l.fuel > 0, "limits.fuel: must be greater than 0".into());
        check(
            l.fuel <= ceiling.fuel,
            format!(
                "limits.fuel: {} is above the ceiling {}",
                l.fuel, ceiling.fuel
            ),
        );
        check(
            (1..=ceiling.timeout_ms).contains(&l.timeout_ms),
            format!(
                "limits.timeout_ms: {} is outside 1..={}",
                l.timeout_ms, ceiling.timeout_ms
            ),
        );
        check(
            l.memory_mb >= 1 && l.memory_mb <= self.runtime.max_memory_mb,
            format!(
                "limits.memory_mb: {} is outside 1..={} (runtime.max_memory_mb)",
                l.memory_mb, self.runtime.max_memory_mb
            ),
        );
        for (key, value, max) in [
            (
                "limits.max_input_bytes",
                l.max_input_bytes,
                ceiling.max_input_bytes,
            ),
            (
                "limits.max_output_bytes",
                l.max_output_bytes,
                ceiling.max_output_bytes,
            ),
            (
                "limits.max_log_bytes",
                l.max_log_bytes,
                ceiling.max_log_bytes,
            ),
            (
                "limits.outbound_timeout_ms",
                l.outbound_timeout_ms,
                ceiling.outbound.request_timeout_ms,
            ),
            (
                "limits.max_response_bytes",
                l.max_response_bytes,
                ceiling.outbound.max_response_bytes,
            ),
        ] {
            check(
                (1..=max).contains(&value),
                format!("{key}: {value} is outside 1..={max}"),
            );
        }
        check(
            l.max_outbound_requests <= ceiling.outbound.max_requests,
            format!(
                "limits.max_outbound_requests: {} is above the ceiling {}",
                l.max_outbound_requests, ceiling.outbound.max_requests
            ),
        );
        for host in &l.allow_hosts {
            check(
                !host.trim().is_empty() && !host.contains('/'),
                format!("limits.allow_hosts: {host:?} is not a host or *.domain pattern"),
            );
        }
        check(
            self.quotas.tenant_concurrency >= 1,
            "quotas.tenant_concurrency: must be at least 1".into(),
        );
        check(
            self.quotas.tenant_rate != Some(0),
            "quotas.tenant_rate: 0 would refuse every call; leave it out for no limit".into(),
        );
        let r = &self.runtime;
        check(
            r.max_concurrent >= 1,
            "runtime.max_concurrent: must be at least 1".into(),
        );
        check(
            r.pool_slots as usize >= r.max_concurrent,
            format!(
                "runtime.pool_slots: {} is below runtime.max_concurrent {}",
                r.pool_slots, r.max_concurrent
            ),
        );
        check(
            r.cpu_slots >= 1,
            "runtime.cpu_slots: must be at least 1".into(),
        );
        check(
            (1..=4096).contains(&r.max_memory_mb),
            format!(
                "runtime.max_memory_mb: {} is outside 1..=4096",
                r.max_memory_mb
            ),
        );
        check(
            self.logs.retention >= Duration::from_secs(1),
            "logs.retention: must be at least 1s".into(),
        );
        let t = &self.tokens;
        for (key, d) in [
            ("tokens.access_token_ttl", t.access_token_ttl),
            ("tokens.id_token_ttl", t.id_token_ttl),
            ("tokens.refresh_token_ttl", t.refresh_token_ttl),
            ("tokens.refresh_token_idle_ttl", t.refresh_token_idle_ttl),
        ] {
            check(
                d >= Duration::from_secs(1),
                format!("{key}: must be at least 1s"),
            );
        }
        check(
            t.pipeline_deadline >= Duration::from_millis(1),
            "tokens.pipeline_deadline: must be at least 1ms".into(),
        );
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(errors))
        }
    }

    /// The default limits of tenants without a policy.
    pub fn default_limits(&self) -> Limits {
        let l = &self.limits;
        Limits {
            fuel: l.fuel,
            timeout_ms: l.timeout_ms,
            memory_bytes: l.memory_mb << 20,
            max_input_bytes: l.max_input_bytes,
            max_output_bytes: l.max_output_bytes,
            max_log_bytes: l.max_log_bytes,
            outbound: Outbound {
                allow_hosts: l.allow_hosts.clone(),
                max_requests: l.max_outbound_requests,
                request_timeout_ms: l.outbound_timeout_ms,
                max_response_bytes: l.max_response_bytes,
            },
            ..Limits::default()
        }
    }

    pub fn runtime_config(&self, artifact_dir: Option<PathBuf>) -> RuntimeConfig {
        let r = &self.runtime;
        RuntimeConfig {
            max_concurrent: r.max_concurrent,
            pool_slots: r.pool_slots,
            max_memory_bytes: r.max_memory_mb << 20,
            module_cache_bytes: r.module_cache_mb << 20,
            cpu_slots: r.cpu_slots,
            artifact_dir,
            defaults: self.default_limits(),
            ..RuntimeConfig::default()
        }
    }

    pub fn quotas(&self) -> QuotaDefaults {
        QuotaDefaults {
            concurrency: self.quotas.tenant_concurrency,
            rate_per_sec: self.quotas.tenant_rate,
        }
    }

    pub fn settings(&self) -> Settings {
        let t = &self.tokens;
        Settings {
            bcrypt_cost: self.server.bcrypt_cost,
            trusted_proxies: self.server.trusted_proxies,
            access_token_ttl_secs: t.access_token_ttl.as_secs(),
            id_token_ttl_secs: t.id_token_ttl.as_secs(),
            refresh_token_ttl_secs: t.refresh_token_ttl.as_secs(),
            refresh_token_idle_ttl_secs: t.refresh_token_idle_ttl.as_secs(),
            pipeline_deadline_ms: u64::try_from(t.pipeline_deadline.as_millis())
                .unwrap_or(u64::MAX),
            log_retention: self.logs.retention,
            default_limits: self.default_limits(),
            ..Settings::default()
        }
    }
}

/// An environment value as a TOML value: numbers, booleans, arrays and quoted strings pass
/// through; anything else is taken as a bare string, so `RULEBOX_SERVER__LISTEN=0.0.0.0:80`
/// needs no quotes.
fn toml_value(raw: &str) -> String {
    let probe = format!("v = {raw}");
    if raw.trim().is_empty() || probe.parse::<toml::Table>().is_err() {
        toml::Value::String(raw.to_owned()).to_string()
    } else {
        raw.to_owned()
    }
}

/// Deserializes, naming `source` (a file or an environment variable) in every error.
fn extract(figment: &Figment, source: &str) -> Result<PlatformConfig, ConfigError> {
    figment.extract().map_err(|err| {
        let problems = err
            .into_iter()
            .map(|e| {
                if e.path.is_empty() {
                    format!("{source}: {}", e.kind)
                } else {
                    format!("{source}: {}: {}", e.path.join("."), e.kind)
                }
            })
            .collect::<Vec<_>>();
        ConfigError::Parse(problems.join("\n"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(f.path(), text).expect("write config");
        f
    }

    fn load(text: &str, vars: &[(&str, &str)]) -> Result<PlatformConfig, ConfigError> {
        let f = write(text);
        PlatformConfig::load(
            Some(f.path()),
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn file_then_environment_override_the_defaults() {
        let c = load(
            "[limits]\nfuel = 5000000\ntimeout_ms = 200\n[logs]\nretention = \"7d\"\n",
            &[
                ("RULEBOX_LIMITS__TIMEOUT_MS", "300"),
                ("RULEBOX_SERVER__LISTEN", "0.0.0.0:9000"),
                ("RULEBOX_LOG", "debug"),
                ("RULEBOX_SECRETS_KEY", "not a config key"),
            ],
        )
        .expect("valid");
        assert_eq!(c.limits.fuel, 5_000_000);
        assert_eq!(c.limits.timeout_ms, 300);
        assert_eq!(c.server.listen, "0.0.0.0:9000");
        assert_eq!(c.logs.retention, Duration::from_secs(7 * 86_400));
        assert_eq!(c.limits.memory_mb, LimitsSection::default().memory_mb);
        assert_eq!(c.default_limits().timeout_ms, 300);
        assert_eq!(c.settings().log_retention, Duration::from_secs(7 * 86_400));
    }

    #[test]
    fn an_unknown_key_is_named() {
        let err = load("[limits]\ntimout_ms = 200\n", &[]).expect_err("typo");
        let msg = err.to_string();
        assert!(msg.contains("timout_ms"), "{msg}");
        assert!(matches!(err, ConfigError::Parse(_)));
    }

    #[test]
    fn a_wrong_type_names_the_key() {
        let err = load("[limits]\nfuel = \"lots\"\n", &[]).expect_err("type");
        assert!(err.to_string().contains("limits.fuel"), "{err}");
        let err = load("", &[("RULEBOX_LIMITS__FUEL", "lots")]).expect_err("env type");
        let msg = err.to_string();
        assert!(
            msg.contains("RULEBOX_LIMITS__FUEL") && msg.contains("limits.fuel"),
            "{msg}"
        );
    }

    #[test]
    fn syntax_errors_are_reported() {
        let err = load("[limits\nfuel = 1\n", &[]).expect_err("syntax");
        assert!(matches!(err, ConfigError::Parse(_)), "{err}");
    }

    #[test]
    fn every_semantic_problem_is_listed_at_once() {
        let err = load(
            "[server]\nbcrypt_cost = 40\nlisten = \"nowhere\"\n[limits]\nmemory_mb = 4096\ntimeout_ms = 0\n[runtime]\npool_slots = 1\n",
            &[],
        )
        .expect_err("invalid");
        let ConfigError::Invalid(problems) = err else {
            panic!("expected Invalid, got {err}");
        };
        for key in [
            "server.bcrypt_cost",
            "server.listen",
            "limits.memory_mb",
            "limits.timeout_ms",
            "runtime.pool_slots",
        ] {
            assert!(
                problems.iter().any(|p| p.starts_with(key)),
                "{key} missing from {problems:?}"
            );
        }
    }

    #[test]
    fn a_missing_file_is_an_error() {
        let err = PlatformConfig::load(Some(Path::new("/nonexistent/rulebox.toml")), [])
            .expect_err("missing");
        assert!(matches!(err, ConfigError::Read { .. }));
    }

    #[test]
    fn defaults_are_valid_and_round_trip() {
        let c = PlatformConfig::load(None, []).expect("defaults");
        assert_eq!(c, PlatformConfig::default());
        let text = toml::to_string(&c).expect("serialize");
        let f = write(&text);
        let again = PlatformConfig::load(Some(f.path()), []).expect("reload");
        assert_eq!(again, c);
    }
}
