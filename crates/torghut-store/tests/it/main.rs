//! Store API against a real PostgreSQL: each test gets a freshly migrated database.

// Tests read what they set up: a column that does not decode is a failed test.
#![allow(clippy::disallowed_methods)]

mod cursors;
mod decisions;
mod executions;
mod positions;
mod reviews;
mod strategies;
mod support;
mod trail;
