//! The HTTP service against a real PostgreSQL: routes, problems, hostile payloads, readiness,
//! OpenAPI, metrics, and recovery after the database restarts.

mod hashes;
mod hostile;
mod idempotency;
mod old_routes;
mod openapi;
mod outage;
mod readiness;
mod routes;
mod support;
