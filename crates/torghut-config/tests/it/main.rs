//! Integration tests: connections, TLS modes and pools against a fake
//! PostgreSQL server on the loopback interface.

mod connect;
mod fake_server;
mod pool;
