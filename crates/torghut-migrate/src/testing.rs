//! For the test suites of the crates above this one (feature `testdb`): a database migrated to
//! the latest revision, cloned from a template that is built once per test process.

// Test support: a failure to migrate the template fails the test that asked for it.
#![allow(clippy::expect_used)]

use torghut_testdb::TestDb;

use crate::{MigrateOptions, MigrationSet, Migrator};

/// A new database at the latest revision, migrated by the test server's superuser, cloned from
/// the template `key` (one template per key and process).
pub async fn migrated_db(key: &str) -> TestDb {
    torghut_testdb::from_template(key, |db| async move {
        let mut m = Migrator::new(
            db.connect().await,
            MigrationSet::embedded(),
            MigrateOptions::default(),
        );
        m.up(None).await.expect("migrate up");
        drop(m);
    })
    .await
}
