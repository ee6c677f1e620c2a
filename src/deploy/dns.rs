//! The DNS records that point a custom domain at the distribution, for the
//! person who owns the zone (chatctl never changes DNS).

/// A DNS record to create for a custom domain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DnsRecord {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The target: the distribution's domain name.
    pub value: String,
    /// For Route 53 alias records: CloudFront's hosted zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias_hosted_zone_id: Option<String>,
    pub note: String,
}

/// The hosted zone id of every CloudFront distribution, for Route 53 aliases.
/// <https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-to-cloudfront-distribution.html>
pub const CLOUDFRONT_HOSTED_ZONE_ID: &str = "Z2FDTNDATAQYW2";

/// What points `domain` at the distribution: a CNAME (any DNS provider, but
/// not at a zone's apex), or Route 53 alias A and AAAA records (apex too;
/// the distribution serves IPv6).
pub fn dns_records(domain: &str, distribution_domain: &str) -> Vec<DnsRecord> {
    let alias = |kind: &str| DnsRecord {
        name: domain.to_string(),
        kind: kind.to_string(),
        value: distribution_domain.to_string(),
        alias_hosted_zone_id: Some(CLOUDFRONT_HOSTED_ZONE_ID.to_string()),
        note: "Route 53 alias (works at a zone apex too); or the CNAME".to_string(),
    };
    vec![
        DnsRecord {
            name: domain.to_string(),
            kind: "CNAME".to_string(),
            value: distribution_domain.to_string(),
            alias_hosted_zone_id: None,
            note: "any DNS provider, for a name below the zone apex; or the two aliases"
                .to_string(),
        },
        alias("A"),
        alias("AAAA"),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_custom_domain_gets_a_cname_and_route_53_aliases_to_the_distribution() {
        let records = super::dns_records("chat.example.com", "d111.cloudfront.net");
        let kinds: Vec<(&str, &str, &str, Option<&str>)> = records
            .iter()
            .map(|r| {
                (
                    r.name.as_str(),
                    r.kind.as_str(),
                    r.value.as_str(),
                    r.alias_hosted_zone_id.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("chat.example.com", "CNAME", "d111.cloudfront.net", None),
                (
                    "chat.example.com",
                    "A",
                    "d111.cloudfront.net",
                    Some("Z2FDTNDATAQYW2")
                ),
                (
                    "chat.example.com",
                    "AAAA",
                    "d111.cloudfront.net",
                    Some("Z2FDTNDATAQYW2")
                ),
            ]
        );
    }
}
