//! Object keys as S3 writes them into event notifications: the one codec the
//! handlers decode with and `invoke` (and the handlers' test fixtures) encode
//! with, so a local event and a real one spell a key the same way.
//!
//! S3 form-encodes the key (`application/x-www-form-urlencoded`: space as
//! `+`) but leaves `/` as is: "red flower.jpg" arrives as "red+flower.jpg";
//! `:`, `=`, `+` and non-ASCII bytes are percent-encoded.
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html>

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// What S3 leaves unescaped (a space is escaped as `+`, after this set).
const EVENT_KEY_ESCAPES: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'*')
    .remove(b'/')
    .remove(b' ');

/// Why a key from an event is not S3's encoding of a UTF-8 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyDecodeError {
    /// A `%` without two hex digits: S3 always writes `%` itself as `%25`.
    StrayPercent {
        byte: usize,
    },
    NotUtf8(String),
}

impl std::fmt::Display for KeyDecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyDecodeError::StrayPercent { byte } => {
                write!(f, "`%` at byte {byte} is not followed by two hex digits")
            }
            KeyDecodeError::NotUtf8(error) => write!(f, "decoded bytes are not UTF-8 ({error})"),
        }
    }
}

impl std::error::Error for KeyDecodeError {}

/// The key as S3 writes it into an event notification.
pub fn encode_event_key(key: &str) -> String {
    utf8_percent_encode(key, EVENT_KEY_ESCAPES)
        .to_string()
        .replace(' ', "+")
}

/// The key an event's `object.key` names: `+` is a space, `%XX` a byte, and
/// the bytes must be UTF-8 (S3 keys are). A stray `%` is refused rather than
/// passed through as the percent-encoding crate would.
pub fn decode_event_key(raw: &str) -> Result<String, KeyDecodeError> {
    let bytes = raw.as_bytes();
    for (byte, _) in raw.match_indices('%') {
        let hex = |offset: usize| bytes.get(byte + offset).is_some_and(u8::is_ascii_hexdigit);
        if !(hex(1) && hex(2)) {
            return Err(KeyDecodeError::StrayPercent { byte });
        }
    }
    percent_decode_str(&raw.replace('+', " "))
        .decode_utf8()
        .map(|key| key.into_owned())
        .map_err(|error| KeyDecodeError::NotUtf8(error.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn keys_are_encoded_the_way_s3_does() {
        assert_eq!(encode_event_key("red flower.jpg"), "red+flower.jpg");
        assert_eq!(
            encode_event_key("photos/my photo.jpg"),
            "photos/my+photo.jpg"
        );
        assert_eq!(
            encode_event_key("data/dt=2026-11-22/a:b+c.csv"),
            "data/dt%3D2026-11-22/a%3Ab%2Bc.csv"
        );
        assert_eq!(encode_event_key("photos/Zoë.jpg"), "photos/Zo%C3%AB.jpg");
        assert_eq!(
            encode_event_key("uploads/(1) copy~.txt"),
            "uploads/%281%29+copy%7E.txt"
        );
    }

    #[test]
    fn keys_decode_exactly_as_s3_encodes_them() {
        assert_eq!(
            decode_event_key("data/my+file%2B1+%C3%BC.csv").unwrap(),
            "data/my file+1 ü.csv"
        );
        assert_eq!(decode_event_key("plain/key.txt").unwrap(), "plain/key.txt");
        assert_eq!(decode_event_key("100%25+sure").unwrap(), "100% sure");
        assert_eq!(decode_event_key("%e2%82%ac").unwrap(), "€");
    }

    #[test]
    fn malformed_key_encodings_are_rejected() {
        assert!(
            decode_event_key("bad%2")
                .unwrap_err()
                .to_string()
                .contains("byte 3")
        );
        assert!(decode_event_key("bad%zz").is_err());
        assert!(
            decode_event_key("%C3")
                .unwrap_err()
                .to_string()
                .contains("not UTF-8")
        );
    }

    #[test]
    fn encoding_round_trips_through_the_decoder() {
        for key in [
            "data/my file+1 ü.csv",
            "100% sure",
            "uploads/(1) copy~.txt",
            "a/b:c=d&e?f#g",
        ] {
            assert_eq!(decode_event_key(&encode_event_key(key)).unwrap(), key);
        }
        assert_eq!(
            encode_event_key("data/my file+1 ü.csv"),
            "data/my+file%2B1+%C3%BC.csv"
        );
    }
}
