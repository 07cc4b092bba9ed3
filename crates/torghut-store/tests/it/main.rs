//! Store API against a real PostgreSQL: each test gets a freshly migrated database.

mod cursors;
mod decisions;
mod executions;
mod positions;
mod reviews;
mod strategies;
mod support;
mod trail;
