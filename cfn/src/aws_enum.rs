//! [`aws_enum!`](crate::aws_enum): CloudFormation's string enums (stack and
//! event statuses, change-set actions and replacements) as Rust enums, the
//! one definition deploy and diff both use.

/// A CloudFormation enum: each value as AWS spells it, and an `Unknown` arm
/// that carries a value newer than this code verbatim (as the SDK's own
/// enums do), so a new value is neither an error nor taken for a known one.
/// It prints, compares (`status == "UPDATE_COMPLETE"`) and serializes as
/// that spelling: JSON output and saved plans hold exactly what AWS sent.
#[macro_export]
macro_rules! aws_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$variant_meta:meta])* $variant:ident = $text:literal,)+ }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum $name {
            $($(#[$variant_meta])* $variant,)+
            /// A value this version does not know, as AWS sent it.
            Unknown(String),
        }

        impl $name {
            /// AWS's spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Unknown(text) => text,
                }
            }
        }

        impl ::std::convert::From<&str> for $name {
            fn from(text: &str) -> Self {
                match text {
                    $($text => $name::$variant,)+
                    other => $name::Unknown(other.to_owned()),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                // `pad`, not `write_str`: event lines align a status in a column.
                f.pad(self.as_str())
            }
        }

        impl ::std::cmp::PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl ::std::cmp::PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl $crate::__serde::Serialize for $name {
            fn serialize<S: $crate::__serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::__serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::std::result::Result<Self, D::Error> {
                <::std::string::String as $crate::__serde::Deserialize>::deserialize(deserializer)
                    .map(|text| $name::from(text.as_str()))
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::aws_enum! {
        /// A test enum.
        Sample {
            /// Documented.
            One = "ONE",
            Two = "Two",
        }
    }

    #[test]
    fn known_and_unknown_values_keep_aws_spelling() {
        assert_eq!(Sample::from("ONE"), Sample::One);
        assert_eq!(Sample::from("THREE"), Sample::Unknown("THREE".into()));
        assert!(Sample::Two == "Two");
        assert_eq!(format!("{:<5}|", Sample::One), "ONE  |");
        for value in [Sample::One, Sample::Unknown("THREE".into())] {
            let json = serde_json::to_string(&value).unwrap();
            assert_eq!(json, format!("\"{}\"", value.as_str()));
            assert_eq!(serde_json::from_str::<Sample>(&json).unwrap(), value);
        }
    }
}
