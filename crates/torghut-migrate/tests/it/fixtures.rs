//! Migration sets for tests: the embedded chain plus broken, edited, missing and divergent variants.

use std::time::Duration;

use torghut_migrate::{MigrateOptions, Migration, MigrationSet, Migrator};
use torghut_testdb::TestDb;

/// The embedded migrations plus `extra`.
pub fn with_extra(extra: &[(&str, &str, &str)]) -> MigrationSet {
    let mut list: Vec<Migration> = MigrationSet::embedded().all().to_vec();
    for (id, up, down) in extra {
        list.push(Migration::new(id, up, down).unwrap());
    }
    MigrationSet::from_vec(list).unwrap()
}

/// The embedded migrations with the `up` of `id` replaced.
pub fn edited(id: &str, up: &str) -> MigrationSet {
    let list = MigrationSet::embedded()
        .all()
        .iter()
        .map(|m| {
            if m.id == id {
                Migration::new(&m.id, up, &m.down).unwrap()
            } else {
                m.clone()
            }
        })
        .collect();
    MigrationSet::from_vec(list).unwrap()
}

/// The embedded migrations without `id`.
pub fn without(id: &str) -> MigrationSet {
    let list = MigrationSet::embedded()
        .all()
        .iter()
        .filter(|m| m.id != id)
        .cloned()
        .collect();
    MigrationSet::from_vec(list).unwrap()
}

/// Fast options for tests.
pub fn opts() -> MigrateOptions {
    MigrateOptions {
        lock_wait: Duration::from_secs(30),
        lock_timeout: Duration::from_secs(2),
        statement_timeout: Duration::from_secs(60),
        lock_retries: 2,
        host: "test-host".into(),
        ..MigrateOptions::default()
    }
}

pub async fn migrator(db: &TestDb, set: MigrationSet) -> Migrator {
    Migrator::new(db.connect().await, set, opts())
}

/// Number of migration advisory locks currently held in the database.
pub async fn locks_held(db: &TestDb) -> i64 {
    let c = db.connect().await;
    c.query_one(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        &[],
    )
    .await
    .unwrap()
    .get(0)
}

pub async fn history_ids(db: &TestDb) -> Vec<String> {
    let c = db.connect().await;
    c.query(
        "SELECT id FROM torghut_meta.schema_history ORDER BY version",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

pub async fn table_exists(db: &TestDb, name: &str) -> bool {
    let c = db.connect().await;
    c.query_one("SELECT to_regclass($1) IS NOT NULL", &[&name])
        .await
        .unwrap()
        .get(0)
}
