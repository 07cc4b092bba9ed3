//! Decision hash (placeholder).
