//! Migration engine against a real PostgreSQL: every test gets a database of its own.

mod adopt;
mod backfill;
mod engine;
mod fixtures;
mod schema;
