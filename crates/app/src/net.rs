//! Checks on URLs that tenants give the hub to call (their model providers, their webhooks):
//! http(s) only, and no loopback, private, link-local or unspecified address unless the
//! operator allows it, so a tenant admin cannot make the hub call services on its own
//! network. Host names are not resolved here (documented limitation).

/// Why a URL was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlProblem {
    NotHttp,
    NoHost,
    Private,
}

/// The host of an http(s) URL (without port or brackets).
pub fn host_of(url: &str) -> Result<&str, UrlProblem> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or(UrlProblem::NotHttp)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, h)| h)
        .trim_start_matches('[');
    let host = match host.find(']') {
        Some(end) => &host[..end],
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    if host.is_empty() {
        Err(UrlProblem::NoHost)
    } else {
        Ok(host)
    }
}

/// Whether a host names this machine or a private network.
pub fn is_private_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.to_ascii_lowercase().ends_with(".localhost")
        || match host.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(ip)) => {
                ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified()
            }
            Ok(std::net::IpAddr::V6(ip)) => {
                ip.is_loopback()
                    || ip.is_unspecified()
                    || (ip.segments()[0] & 0xfe00) == 0xfc00
                    || (ip.segments()[0] & 0xffc0) == 0xfe80
            }
            Err(_) => false,
        }
}

/// Checks a tenant's URL. `allow_private` lifts the private-address rule; `allow_hosts`
/// lifts it for the hosts the operator listed.
pub fn check_tenant_url(
    url: &str,
    allow_private: bool,
    allow_hosts: &[String],
) -> Result<(), UrlProblem> {
    let host = host_of(url)?;
    if allow_private || allow_hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        return Ok(());
    }
    if is_private_host(host) {
        return Err(UrlProblem::Private);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_urls_stay_off_private_networks() {
        for ok in [
            "https://api.openai.com/v1",
            "http://llm.example.com:8080/v1",
            "https://8.8.8.8/v1",
            "https://[2001:db8::1]/v1",
            "https://hooks.slack.com/services/T0/B0/x",
        ] {
            assert_eq!(check_tenant_url(ok, false, &[]), Ok(()), "{ok}");
        }
        for bad in [
            "http://127.0.0.1:9999/v1",
            "http://localhost/v1",
            "http://api.localhost/v1",
            "http://10.1.2.3/v1",
            "http://192.168.1.1/v1",
            "http://169.254.169.254/latest",
            "http://[::1]:8080/v1",
            "http://[fd00::1]/v1",
            "http://0.0.0.0/v1",
            "http://user@127.0.0.1/v1",
        ] {
            assert_eq!(
                check_tenant_url(bad, false, &[]),
                Err(UrlProblem::Private),
                "{bad}"
            );
        }
        assert_eq!(
            check_tenant_url("ftp://x/v1", false, &[]),
            Err(UrlProblem::NotHttp)
        );
        assert_eq!(
            check_tenant_url("http:///v1", true, &[]),
            Err(UrlProblem::NoHost)
        );
        assert_eq!(
            check_tenant_url("http://127.0.0.1:9999/v1", true, &[]),
            Ok(())
        );
        let allowed = ["127.0.0.1".to_owned()];
        assert_eq!(
            check_tenant_url("http://127.0.0.1:9/hook", false, &allowed),
            Ok(())
        );
        assert_eq!(
            check_tenant_url("http://127.0.0.2:9/hook", false, &allowed),
            Err(UrlProblem::Private)
        );
    }
}
