//! Migration engine against a real PostgreSQL: every test gets a database of its own.

// Tests read what they set up: a column that does not decode is a failed test.
#![allow(clippy::disallowed_methods)]

mod adopt;
mod backfill;
mod engine;
mod fixtures;
mod schema;
