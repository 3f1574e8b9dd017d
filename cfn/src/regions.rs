//! The regions the AWS SDK for Rust knows, by partition.
//!
//! Copied from the partition table the SDK's endpoint resolvers embed
//! (`aws-sdk-sts` 1.124.0, `src/endpoint_lib.rs`, partitions v1.1). A
//! region code that merely looks right (`eu-west-9`) is refused: a typo
//! would otherwise surface as a DNS failure in the middle of a deploy; the
//! same table gives `AWS::Partition` and `AWS::URLSuffix` their values
//! (`crate::intrinsic`). The
//! CLI's test `regions_match_the_sdk` fails when the locked SDK knows a
//! region this table lacks, so a new region is one line here.

/// One region: its code, its partition and the partition's DNS suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownRegion {
    pub code: &'static str,
    pub partition: &'static str,
    pub dns_suffix: &'static str,
}

/// Every region, sorted by code.
pub const KNOWN_REGIONS: &[KnownRegion] = &[
    KnownRegion {
        code: "af-south-1",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "ap-east-1",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "ap-east-2",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "ap-northeast-1",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "ap-northeast-2",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "ap-northeast-3",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "ap-south-1",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "ap-south-2",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "ap-southeast-1",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "ap-southeast-2",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "ap-southeast-3",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "ap-southeast-4",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "ap-southeast-5",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "ap-southeast-6",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "ap-southeast-7",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "ca-central-1",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "ca-west-1",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "cn-north-1",
        partition: "aws-cn",
        dns_suffix: "amazonaws.com.cn",
    },
    KnownRegion {
        code: "cn-northwest-1",
        partition: "aws-cn",
        dns_suffix: "amazonaws.com.cn",
    },
    KnownRegion {
        code: "eu-central-1",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "eu-central-2",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "eu-isoe-west-1",
        partition: "aws-iso-e",
        dns_suffix: "cloud.adc-e.uk",
    },
    KnownRegion {
        code: "eu-north-1",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "eu-south-1",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "eu-south-2",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "eu-west-1",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "eu-west-2",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "eu-west-3",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "eusc-de-east-1",
        partition: "aws-eusc",
        dns_suffix: "amazonaws.eu",
    },
    KnownRegion {
        code: "il-central-1",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "me-central-1",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "me-south-1",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "mx-central-1",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "sa-east-1",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "us-east-1",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "us-east-2",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "us-gov-east-1",
        partition: "aws-us-gov",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "us-gov-west-1",
        partition: "aws-us-gov",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "us-iso-east-1",
        partition: "aws-iso",
        dns_suffix: "c2s.ic.gov",
    },
    KnownRegion {
        code: "us-iso-west-1",
        partition: "aws-iso",
        dns_suffix: "c2s.ic.gov",
    },
    KnownRegion {
        code: "us-isob-east-1",
        partition: "aws-iso-b",
        dns_suffix: "sc2s.sgov.gov",
    },
    KnownRegion {
        code: "us-isob-west-1",
        partition: "aws-iso-b",
        dns_suffix: "sc2s.sgov.gov",
    },
    KnownRegion {
        code: "us-isof-east-1",
        partition: "aws-iso-f",
        dns_suffix: "csp.hci.ic.gov",
    },
    KnownRegion {
        code: "us-isof-south-1",
        partition: "aws-iso-f",
        dns_suffix: "csp.hci.ic.gov",
    },
    KnownRegion {
        code: "us-west-1",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
    KnownRegion {
        code: "us-west-2",
        partition: "aws",
        dns_suffix: "amazonaws.com",
    },
];

/// The region `code`, if the SDK knows it.
pub fn lookup(code: &str) -> Option<&'static KnownRegion> {
    KNOWN_REGIONS
        .binary_search_by(|region| region.code.cmp(code))
        .ok()
        .and_then(|index| KNOWN_REGIONS.get(index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_so_lookup_can_bisect() {
        assert!(
            KNOWN_REGIONS
                .windows(2)
                .all(|pair| pair[0].code < pair[1].code)
        );
    }

    #[test]
    fn lookup_finds_partitions() {
        assert_eq!(lookup("eu-west-1").map(|r| r.partition), Some("aws"));
        assert_eq!(lookup("cn-north-1").map(|r| r.partition), Some("aws-cn"));
        assert_eq!(
            lookup("us-gov-west-1").map(|r| r.partition),
            Some("aws-us-gov")
        );
        assert_eq!(lookup("eu-west-9"), None);
    }
}
