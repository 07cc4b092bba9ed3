//! The JSONB boundary: refusals, coercions, redaction and limits, and round trips through a real
//! PostgreSQL (property tests included).

mod coercions;
mod limits;
mod props;
mod redaction;
mod refusals;
mod roundtrip;
mod support;
