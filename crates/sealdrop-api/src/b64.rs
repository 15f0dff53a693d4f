use std::fmt;

use data_encoding::BASE64URL_NOPAD;
use sealdrop_proto::codec::{Decode, DecodeError, Encode};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Bytes carried in JSON as unpadded base64url: how canonical protocol
/// objects (descriptors, invites, acknowledgements…) travel.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct B64(pub Vec<u8>);

impl B64 {
    pub fn of<T: Encode>(value: &T) -> Self {
        Self(value.to_bytes())
    }

    /// Decodes the bytes strictly as a `T`.
    pub fn decode<T: Decode>(&self) -> Result<T, DecodeError> {
        T::from_bytes(&self.0)
    }
}

impl fmt::Debug for B64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "B64({} bytes)", self.0.len())
    }
}

impl Serialize for B64 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&BASE64URL_NOPAD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for B64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        BASE64URL_NOPAD
            .decode(text.as_bytes())
            .map(Self)
            .map_err(|_| serde::de::Error::custom("not unpadded base64url"))
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for B64 {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("canonical protocol bytes, unpadded base64url"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for B64 {}
