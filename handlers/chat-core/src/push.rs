//! Web Push's rules that are not cryptography: which endpoints may be
//! sent to (checked when the HTTP API stores a subscription, and again by
//! the notify function, on the addresses a name resolves to), and what a
//! push service's answer means. The encryption and the VAPID signature are
//! the chat-push crate's, which only the notify function links.

use std::net::IpAddr;

use aws_lambda_events::http;

/// Why an endpoint is not one to send to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("not a URL")]
    Unparsable,
    #[error("must be https")]
    NotHttps,
    #[error("{0} is a private, loopback or link-local address")]
    Internal(IpAddr),
}

/// The endpoint as a URI, if it is one to send to: https, and never an
/// internal address (loopback, private, link-local, unique-local,
/// unspecified, multicast); `allow_local` (`chatctl --local`) admits
/// http and 127.0.0.1 for a push service on this machine. A host name is
/// checked again once resolved ([`check_address`]).
pub fn check_endpoint(endpoint: &str, allow_local: bool) -> Result<http::Uri, EndpointError> {
    let uri: http::Uri = endpoint.parse().map_err(|_| EndpointError::Unparsable)?;
    let host = uri.host().ok_or(EndpointError::Unparsable)?;
    match uri.scheme_str() {
        Some("https") => {}
        Some("http") if allow_local => {}
        _ => return Err(EndpointError::NotHttps),
    }
    if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
        check_address(ip, allow_local)?;
    }
    Ok(uri)
}

/// Whether `ip` (an endpoint's address, as written or as resolved) may be sent to.
pub fn check_address(ip: IpAddr, allow_local: bool) -> Result<(), EndpointError> {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    if allow_local && ip.is_loopback() {
        return Ok(());
    }
    let internal = match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                // 100.64.0.0/10, carrier-grade NAT
                || (v4.octets()[0] == 100 && (64..128).contains(&v4.octets()[1]))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // fc00::/7, unique local
                || (first & 0xffc0) == 0xfe80 // fe80::/10, link local
        }
    };
    match internal {
        true => Err(EndpointError::Internal(ip)),
        false => Ok(()),
    }
}

/// What a push service's answer means for the subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// 404 or 410: the subscription expired or was revoked; remove it.
    Gone,
    /// 429 or 5xx: try again later, with back-off (after `Retry-After`
    /// seconds when the service said).
    Retry,
    /// Anything else (400, 401, 403, 413): this notification will never
    /// be accepted; neither retried nor a reason to remove the subscription.
    Refused,
}

pub fn outcome(status: u16) -> Outcome {
    match status {
        200..=299 => Outcome::Delivered,
        404 | 410 => Outcome::Gone,
        429 | 500..=599 => Outcome::Retry,
        _ => Outcome::Refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_at_internal_addresses_are_refused() {
        for endpoint in [
            "https://fcm.googleapis.com/fcm/send/abc",
            "https://updates.push.services.mozilla.com/wpush/v2/abc",
            "https://203.0.113.9/push",
        ] {
            assert!(check_endpoint(endpoint, false).is_ok(), "{endpoint}");
        }
        assert_eq!(
            check_endpoint("http://push.example.net/abc", false),
            Err(EndpointError::NotHttps)
        );
        assert_eq!(
            check_endpoint("ftp://x/y", true),
            Err(EndpointError::NotHttps)
        );
        assert_eq!(
            check_endpoint("not a url", false),
            Err(EndpointError::Unparsable)
        );
        for internal in [
            "https://127.0.0.1/x",
            "https://10.1.2.3/x",
            "https://172.16.0.1/x",
            "https://192.168.1.1/x",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/x",
            "https://0.0.0.0/x",
            "https://[::1]/x",
            "https://[fd00::1]/x",
            "https://[fe80::1]/x",
            "https://[::ffff:127.0.0.1]/x",
            "https://[::ffff:10.0.0.1]/x",
        ] {
            assert!(
                matches!(
                    check_endpoint(internal, false),
                    Err(EndpointError::Internal(_))
                ),
                "{internal}"
            );
        }
        // Under `--local` a push service on this machine, and nothing else internal.
        assert!(check_endpoint("http://127.0.0.1:8999/push/1", true).is_ok());
        assert!(matches!(
            check_endpoint("http://10.0.0.1/x", true),
            Err(EndpointError::Internal(_))
        ));
        assert!(check_address("8.8.8.8".parse().expect("ip"), false).is_ok());
        assert!(check_address("192.168.0.7".parse().expect("ip"), false).is_err());
    }

    #[test]
    fn a_push_services_answer_says_what_to_do() {
        assert_eq!(outcome(201), Outcome::Delivered);
        assert_eq!(outcome(404), Outcome::Gone);
        assert_eq!(outcome(410), Outcome::Gone);
        assert_eq!(outcome(429), Outcome::Retry);
        assert_eq!(outcome(503), Outcome::Retry);
        assert_eq!(outcome(400), Outcome::Refused);
        assert_eq!(outcome(413), Outcome::Refused);
    }
}
