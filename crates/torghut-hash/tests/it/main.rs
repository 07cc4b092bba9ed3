//! Integration tests of the decision hash.

mod api;
mod lines;
mod robustness;
mod support;
mod vectors;
