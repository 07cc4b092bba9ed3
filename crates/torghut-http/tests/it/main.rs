//! The HTTP service against a real PostgreSQL: routes, problems, hostile payloads, readiness,
//! OpenAPI, metrics, and recovery after the database restarts.

// Tests read what they set up: a column that does not decode is a failed test.
#![allow(clippy::disallowed_methods)]

mod hashes;
mod hostile;
mod idempotency;
mod old_routes;
mod openapi;
mod outage;
mod readiness;
mod routes;
mod support;
