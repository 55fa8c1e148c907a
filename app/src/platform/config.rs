//! Settings, from command-line flags or environment variables, each with a default that works on
//! a developer machine with a local PostgreSQL.

use std::{net::SocketAddr, path::PathBuf};

use clap::Args;
use thiserror::Error;
use url::Url;

use super::region::Region;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("PUBLIC_URL {0:?} is not an http(s) URL with a host; set it like https://custodian.example.com")]
    PublicUrl(String),
    #[error(
        "TRUSTED_PROXIES has {0:?}, which is neither an IP address nor a network like 10.0.0.0/8"
    )]
    TrustedProxies(String),
    #[error(
        "MAIL_TRANSPORT {0:?} is neither \"file\" nor an smtp:// or smtps:// URL with a host; \
         set it like smtps://user:password@mail.example.com"
    )]
    MailTransport(String),
    #[error(
        "REGION_DATABASE_URLS has a bad entry ({0}); list region=URL pairs separated by commas, \
         like us-east=postgres://user@host/custodian_us_east,eu-west=postgres://…"
    )]
    RegionDatabaseUrls(String),
    #[error(
        "DELETION_GRACE_DAYS ({0}) plus BACKUP_RETENTION_DAYS ({1}) is over 30: a deleted account \
         must be gone from every backup within 30 days of the request"
    )]
    Retention(u8, u8),
    #[error(
        "APPS_DOMAIN {0:?} is not a domain (with an optional port) apart from the site's; set it \
         like usercontent.example"
    )]
    AppsDomain(String),
}

/// The promise's figures (P8): days from a deletion request to the hard delete, and days a
/// backup is kept; together at most 30, so no copy outlives the promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub deletion_grace_days: u8,
    pub backup_days: u8,
}

impl Retention {
    /// The longest time, in days, from a deletion request until no copy is left.
    pub const PROMISED_DAYS: u8 = 30;

    pub fn new(deletion_grace_days: u8, backup_days: u8) -> Result<Self, ConfigError> {
        if u16::from(deletion_grace_days) + u16::from(backup_days) > u16::from(Self::PROMISED_DAYS)
        {
            return Err(ConfigError::Retention(deletion_grace_days, backup_days));
        }
        Ok(Self {
            deletion_grace_days,
            backup_days,
        })
    }

    pub fn deletion_grace(self) -> time::Duration {
        time::Duration::days(self.deletion_grace_days.into())
    }
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            deletion_grace_days: 14,
            backup_days: 14,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// PostgreSQL URL of the role that owns the schema and runs migrations. The database is
    /// created if it does not exist.
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/custodian",
        hide_env_values = true
    )]
    pub database_url: String,

    /// PostgreSQL URL that logs in as custodian_app directly. When unset, the server's pool uses
    /// DATABASE_URL and switches every connection to custodian_app.
    #[arg(long, global = true, env = "APP_DATABASE_URL", hide_env_values = true)]
    pub app_database_url: Option<String>,

    /// Each region's database (`us-east=postgres://…,eu-west=postgres://…`); by default,
    /// databases named after DATABASE_URL's on the same server.
    #[arg(
        long,
        global = true,
        env = "REGION_DATABASE_URLS",
        hide_env_values = true
    )]
    pub region_database_urls: Option<String>,

    /// Address and port the server listens on.
    #[arg(
        long,
        global = true,
        env = "SITE_ADDR",
        default_value = "127.0.0.1:3000"
    )]
    pub site_addr: SocketAddr,

    /// Address people reach the site at; https turns on Secure cookies, the __Host- prefix and
    /// HSTS. Defaults to http://SITE_ADDR.
    #[arg(long, global = true, env = "PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Directory for generated keys and local mail.
    #[arg(long, global = true, env = "DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Key-encryption key file, generated (mode 0600) when missing. Defaults to
    /// DATA_DIR/keys/kek.key.
    #[arg(long, global = true, env = "KEY_FILE")]
    pub key_file: Option<PathBuf>,

    /// The key-encryption key itself (base64 of 32 bytes), e.g. from a secret manager; when set,
    /// no key file is read or written.
    #[arg(
        long,
        global = true,
        env = "KEY_ENCRYPTION_KEY",
        hide_env_values = true
    )]
    pub key_encryption_key: Option<String>,

    /// The key that wraps the tenants' data keys once `custodian keys rotate-kek` installed one
    /// (base64, mode 0600). Defaults to DATA_DIR/keys/data-key-wrapping.key; until it exists,
    /// the key-encryption key wraps them itself.
    #[arg(long, global = true, env = "WRAPPING_KEY_FILE")]
    pub wrapping_key_file: Option<PathBuf>,

    /// "file" writes each mail as an .eml file in DATA_DIR/mail; an smtp:// or smtps:// URL
    /// sends it through that server.
    #[arg(
        long,
        global = true,
        env = "MAIL_TRANSPORT",
        default_value = "file",
        hide_env_values = true
    )]
    pub mail_transport: String,

    /// Reverse proxies whose X-Forwarded-For is believed: addresses or networks, separated by
    /// commas. Empty: the header is ignored and the peer address is the client.
    #[arg(long, global = true, env = "TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,

    /// Sign-in, sign-up and password-reset attempts allowed per client network per minute.
    #[arg(long, global = true, env = "AUTH_RATE_LIMIT", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    pub auth_rate_limit: u32,

    /// Minutes a re-authentication opens sensitive actions for (sudo mode); at most 10.
    #[arg(long, global = true, env = "SUDO_MINUTES", default_value_t = 10, value_parser = clap::value_parser!(u8).range(1..=10))]
    pub sudo_minutes: u8,

    /// Days from an account deletion request to the hard delete (1 to 30).
    #[arg(long, global = true, env = "DELETION_GRACE_DAYS", default_value_t = 14, value_parser = clap::value_parser!(u8).range(1..=30))]
    pub deletion_grace_days: u8,

    /// Days a backup is kept before `backup prune` deletes it; with DELETION_GRACE_DAYS at most 30.
    #[arg(long, global = true, env = "BACKUP_RETENTION_DAYS", default_value_t = 14, value_parser = clap::value_parser!(u8).range(1..=30))]
    pub backup_retention_days: u8,

    /// The domain (with its port, if any) under which each app has its own origin,
    /// `<app-id>.<APPS_DOMAIN>`. In production, a registrable domain of its own (never a
    /// subdomain of the site's). Defaults to `apps.localhost` with PUBLIC_URL's port: Chromium
    /// resolves every `*.localhost` to this machine.
    #[arg(long, global = true, env = "APPS_DOMAIN")]
    pub apps_domain: Option<String>,

    /// Lets an app's egress reach private, loopback and link-local addresses: for tests and
    /// local development only, never in production.
    #[arg(
        long,
        global = true,
        env = "EGRESS_ALLOW_PRIVATE_ADDRESSES",
        default_value_t = false
    )]
    pub egress_allow_private_addresses: bool,

    /// A PEM file of further certificate authorities an app's egress trusts (an internal CA).
    #[arg(long, global = true, env = "EGRESS_CA_FILE")]
    pub egress_ca_file: Option<PathBuf>,

    /// Seconds an egress request may take, its answer included (1 to 120).
    #[arg(long, global = true, env = "EGRESS_TIMEOUT_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u8).range(1..=120))]
    pub egress_timeout_seconds: u8,

    /// Directory with the compiled site (WASM, CSS, static files).
    #[arg(
        long,
        global = true,
        env = "LEPTOS_SITE_ROOT",
        default_value = "target/site"
    )]
    pub site_root: PathBuf,
}

/// How mail leaves the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailTransport {
    Directory(PathBuf),
    Smtp(Url),
}

impl MailTransport {
    /// Where mail leaves from, for people: the mail server's host, never its credentials.
    pub fn origin(&self) -> String {
        match self {
            Self::Directory(_) => {
                "this server, which keeps it as files (a development setup)".to_owned()
            }
            Self::Smtp(url) => format!(
                "the mail server {} (SMTP), in whichever region it runs",
                url.host_str().unwrap_or("(unnamed)")
            ),
        }
    }
}

impl Settings {
    /// Settings from an argument list (the program name first), e.g. for tests and tools.
    pub fn from_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        #[derive(clap::Parser)]
        struct Only {
            #[command(flatten)]
            settings: Settings,
        }
        <Only as clap::Parser>::try_parse_from(args).map(|only| only.settings)
    }

    pub fn public_url(&self) -> Result<Url, ConfigError> {
        // On this machine alone, "localhost" rather than the loopback address: browsers accept
        // it as a secure context, and WebAuthn needs a domain name, never an IP address.
        let raw = self.public_url.clone().unwrap_or_else(|| {
            if self.site_addr.ip().is_loopback() {
                format!("http://localhost:{}", self.site_addr.port())
            } else {
                format!("http://{}", self.site_addr)
            }
        });
        match Url::parse(&raw) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
            _ => Err(ConfigError::PublicUrl(raw)),
        }
    }

    pub fn region_urls(&self) -> Result<Vec<(Region, String)>, ConfigError> {
        super::regions::region_urls(&self.database_url, self.region_database_urls.as_deref())
    }

    /// Where each app has its own origin, beside the site at `public_url`.
    pub fn app_hosts(&self, public_url: &Url) -> Result<super::app_hosts::AppHosts, ConfigError> {
        super::app_hosts::AppHosts::new(public_url, self.apps_domain.as_deref())
            .map_err(ConfigError::AppsDomain)
    }

    pub fn retention(&self) -> Result<Retention, ConfigError> {
        Retention::new(self.deletion_grace_days, self.backup_retention_days)
    }

    pub fn outbound(&self) -> super::outbound::OutboundSettings {
        super::outbound::OutboundSettings {
            allow_private: self.egress_allow_private_addresses,
            extra_ca_file: self.egress_ca_file.clone(),
            timeout: std::time::Duration::from_secs(self.egress_timeout_seconds.into()),
        }
    }

    pub fn sudo_window(&self) -> time::Duration {
        time::Duration::minutes(self.sudo_minutes.into())
    }

    pub fn key_file(&self) -> PathBuf {
        self.key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("keys").join("kek.key"))
    }

    pub fn wrapping_key_file(&self) -> PathBuf {
        self.wrapping_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("keys").join("data-key-wrapping.key"))
    }

    pub fn trusted_proxies(&self) -> Result<Vec<ipnet::IpNet>, ConfigError> {
        super::client::parse_trusted_proxies(&self.trusted_proxies)
            .map_err(ConfigError::TrustedProxies)
    }

    pub fn mail_transport(&self) -> Result<MailTransport, ConfigError> {
        if self.mail_transport == "file" {
            return Ok(MailTransport::Directory(self.data_dir.join("mail")));
        }
        let invalid = || ConfigError::MailTransport(redact_url(&self.mail_transport));
        let url = Url::parse(&self.mail_transport).map_err(|_| invalid())?;
        if matches!(url.scheme(), "smtp" | "smtps") && url.host().is_some() {
            Ok(MailTransport::Smtp(url))
        } else {
            Err(invalid())
        }
    }
}

/// A URL fit for a log line or an error message: any password is replaced.
fn redact_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) => {
            if url.password().is_some() {
                // Only fails for URLs that cannot have credentials, which this one has.
                let _ = url.set_password(Some("***"));
            }
            url.to_string()
        }
        Err(_) => "(unparseable URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(args: &[&str]) -> Settings {
        Settings::from_args(std::iter::once("custodian").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn public_url_defaults_to_the_site_address() {
        let s = settings(&["--site-addr", "127.0.0.1:4000"]);
        assert_eq!(s.public_url().unwrap().as_str(), "http://localhost:4000/");
        assert_eq!(s.public_url().unwrap().scheme(), "http");
    }

    #[test]
    fn https_public_url_is_detected_and_junk_is_refused() {
        let https = settings(&["--public-url", "https://c.example"]);
        assert_eq!(https.public_url().unwrap().scheme(), "https");
        assert!(settings(&["--public-url", "ftp://c.example"])
            .public_url()
            .is_err());
        assert!(settings(&["--public-url", "not a url"])
            .public_url()
            .is_err());
    }

    #[test]
    fn mail_transport_is_a_directory_or_smtp() {
        let s = settings(&["--data-dir", "/srv/c"]);
        assert_eq!(
            s.mail_transport().unwrap(),
            MailTransport::Directory("/srv/c/mail".into())
        );
        let smtp = settings(&["--mail-transport", "smtps://u:p@mail.example:465"]);
        assert!(matches!(
            smtp.mail_transport().unwrap(),
            MailTransport::Smtp(_)
        ));
        let bad = settings(&["--mail-transport", "carrier-pigeon://u:secret@x"]);
        let message = bad.mail_transport().unwrap_err().to_string();
        assert!(!message.contains("secret"), "{message}");
    }

    #[test]
    fn key_file_defaults_into_the_data_directory() {
        let s = settings(&["--data-dir", "/srv/c"]);
        assert_eq!(s.key_file(), PathBuf::from("/srv/c/keys/kek.key"));
    }

    #[test]
    fn redaction_hides_passwords() {
        assert_eq!(
            redact_url("postgres://app:hunter2@db:5432/c"),
            "postgres://app:***@db:5432/c"
        );
    }
}
