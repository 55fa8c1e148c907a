//! Where apps are served (promise P10): each app on an origin of its own,
//! `<app-id>.<APPS_DOMAIN>`, so that no two apps (and no app and this site) share an origin's
//! storage, cookies or service workers. The server tells an app's requests apart by their Host.

use url::Url;

use super::ids::AppId;

/// The apps' domain and the scheme they are served with (the site's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppHosts {
    scheme: String,
    /// Lower case, with the port when there is one: `apps.localhost:3000`.
    domain: String,
}

impl AppHosts {
    /// The apps' hosts beside the site at `public_url`: under `apps_domain`, or by default
    /// `apps.localhost` with the site's port.
    pub fn new(public_url: &Url, apps_domain: Option<&str>) -> Result<Self, String> {
        let domain = match apps_domain.map(str::trim).filter(|d| !d.is_empty()) {
            Some(domain) => domain.to_ascii_lowercase(),
            None => match public_url.port() {
                Some(port) => format!("apps.localhost:{port}"),
                None => "apps.localhost".to_owned(),
            },
        };
        let valid = Url::parse(&format!("{}://x.{domain}/", public_url.scheme()))
            .is_ok_and(|url| url.path() == "/" && url.username().is_empty());
        let site = public_url.host_str().unwrap_or_default();
        let host = domain.split(':').next().unwrap_or_default();
        // Never the site's host or a parent of it (the site's requests would be taken for an
        // app's), and never below it but on this machine: apps must not be same-site with it.
        let clashes = host == site
            || site.ends_with(&format!(".{host}"))
            || (host.ends_with(&format!(".{site}")) && site != "localhost");
        if !valid || clashes {
            return Err(domain);
        }
        Ok(Self {
            scheme: public_url.scheme().to_owned(),
            domain,
        })
    }

    /// The app's own origin.
    pub fn origin(&self, app: AppId) -> String {
        format!(
            "{}://{}.{}",
            self.scheme,
            app.as_uuid().simple(),
            self.domain
        )
    }

    /// Every app origin, as a CSP source: where the site's pages may frame apps from.
    pub fn frame_source(&self) -> String {
        format!("{}://*.{}", self.scheme, self.domain)
    }

    /// The app a request's Host names, in its one spelling (32 lower-case hex digits); None for
    /// any other host.
    pub fn app_of_host(&self, host: &str) -> Option<AppId> {
        let host = host.to_ascii_lowercase();
        let label = host.strip_suffix(&self.domain)?.strip_suffix('.')?;
        let id = uuid::Uuid::try_parse(label).ok()?;
        (id.simple().to_string() == label).then(|| AppId::from_uuid(id))
    }

    /// Whether a request's Host is under the apps' domain at all (an app's or not).
    pub fn is_apps_host(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        host == self.domain
            || host
                .strip_suffix(&self.domain)
                .is_some_and(|rest| rest.ends_with('.'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts() -> AppHosts {
        AppHosts::new(&Url::parse("http://localhost:3000").unwrap(), None).unwrap()
    }

    #[test]
    fn each_app_has_its_own_origin_under_the_apps_domain() {
        let app = AppId::from_uuid(uuid::Uuid::from_u128(0xabc));
        let origin = hosts().origin(app);
        assert_eq!(
            origin,
            "http://00000000000000000000000000000abc.apps.localhost:3000"
        );
        assert_eq!(
            hosts().app_of_host(origin.strip_prefix("http://").unwrap()),
            Some(app)
        );
        assert_eq!(hosts().frame_source(), "http://*.apps.localhost:3000");
    }

    #[test]
    fn other_spellings_and_hosts_name_no_app() {
        let hosts = hosts();
        let id = "00000000-0000-0000-0000-000000000abc";
        assert_eq!(
            hosts.app_of_host(&format!("{id}.apps.localhost:3000")),
            None
        );
        assert_eq!(hosts.app_of_host("localhost:3000"), None);
        assert_eq!(hosts.app_of_host("apps.localhost:3000"), None);
        assert_eq!(
            hosts.app_of_host("x.00000000000000000000000000000abc.apps.localhost:3000"),
            None
        );
        assert_eq!(
            hosts.app_of_host("00000000000000000000000000000abc.apps.localhost:3001"),
            None
        );
        assert!(hosts.is_apps_host("apps.localhost:3000"));
        assert!(hosts.is_apps_host("x.y.apps.localhost:3000"));
        assert!(!hosts.is_apps_host("localhost:3000"));
        assert!(!hosts.is_apps_host("evilapps.localhost:3000"));
    }

    #[test]
    fn the_apps_domain_is_never_the_sites_own() {
        let site = Url::parse("https://custodian.example").unwrap();
        assert!(AppHosts::new(&site, Some("custodian.example")).is_err());
        assert!(AppHosts::new(&site, Some("apps.custodian.example")).is_err());
        let deep = Url::parse("https://app.custodian.example").unwrap();
        assert!(AppHosts::new(&deep, Some("custodian.example")).is_err());
        assert!(AppHosts::new(&site, Some("bad domain")).is_err());
        assert_eq!(
            AppHosts::new(&site, Some("Usercontent.Example"))
                .unwrap()
                .origin(AppId::from_uuid(uuid::Uuid::nil())),
            "https://00000000000000000000000000000000.usercontent.example"
        );
    }
}
