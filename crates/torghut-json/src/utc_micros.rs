//! `#[serde(with = ...)]` helpers that give typed structs the payload form of date-times.
//!
//! chrono's own `Serialize` writes RFC 3339 with 0, 3, 6 or 9 fraction digits and the value's
//! own offset (`2026-02-10T09:30:00.250Z`, `2026-02-10T10:30:00+01:00`); a serializer cannot tell
//! such a string from any other, so [`AuditJson::from_serialize`](crate::AuditJson::from_serialize)
//! keeps it as written. Fields that should carry the payload form
//! (`2026-02-10T09:30:00.250000Z`, see [`format_datetime`]) say so:
//!
//! ```
//! use chrono::{DateTime, TimeZone, Utc};
//!
//! #[derive(serde::Serialize)]
//! struct Fill {
//!     #[serde(with = "torghut_json::utc_micros")]
//!     filled_at: DateTime<Utc>,
//!     #[serde(with = "torghut_json::utc_micros::option")]
//!     cancelled_at: Option<DateTime<Utc>>,
//! }
//!
//! let at = Utc.with_ymd_and_hms(2026, 2, 10, 9, 30, 0).unwrap();
//! let fill = Fill { filled_at: at, cancelled_at: None };
//! let (json, _) = torghut_json::AuditJson::from_serialize(&fill, &Default::default()).unwrap();
//! assert_eq!(json.as_str(), r#"{"filled_at":"2026-02-10T09:30:00.000000Z","cancelled_at":null}"#);
//! ```

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serializer};

use crate::format_datetime;

/// Writes the date-time in UTC with exactly six fraction digits and `Z`.
pub fn serialize<S: Serializer, Tz: TimeZone>(
    dt: &DateTime<Tz>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_datetime(dt))
}

/// Reads any RFC 3339 date-time (as chrono does), converted to UTC.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    DateTime::<FixedOffset>::deserialize(deserializer).map(|dt| dt.with_timezone(&Utc))
}

/// The same for `Option<DateTime<_>>` (`None` is `null`).
pub mod option {
    use super::*;

    /// Writes `null`, or the date-time as [`super::serialize`] does.
    pub fn serialize<S: Serializer, Tz: TimeZone>(
        dt: &Option<DateTime<Tz>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match dt {
            Some(dt) => serializer.serialize_some(&format_datetime(dt)),
            None => serializer.serialize_none(),
        }
    }

    /// Reads `null` or an RFC 3339 date-time, converted to UTC.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<DateTime<FixedOffset>>::deserialize(deserializer)
            .map(|o| o.map(|dt| dt.with_timezone(&Utc)))
    }
}
