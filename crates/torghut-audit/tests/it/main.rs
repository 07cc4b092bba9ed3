//! Audit integrity through a real PostgreSQL: capture and refusals as the runtime role and as the owner,
//! tamper detection by `verify`, checkpoints and archival.

// Tests read what they set up: a column that does not decode is a failed test.
#![allow(clippy::disallowed_methods)]

mod anchors;
mod archive;
mod attacks;
mod checkpoints;
mod enforcement;
mod legacy;
mod render;
mod since;
mod support;
mod tamper;
mod upgrade;
