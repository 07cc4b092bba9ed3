//! `verify`: the live schema against the catalog the migrations build.

use super::*;

impl Migrator {
    /// Builds the schema the migrations produce up to `upto` (inclusive) in a scratch schema inside a
    /// transaction that is rolled back, and compares the live managed schema with it.
    pub async fn compare_with_expected(
        &mut self,
        upto: Option<&str>,
    ) -> Result<CatalogDiff, MigrateError> {
        let end = match upto {
            None => 0,
            Some(id) => {
                self.set
                    .position(id)
                    .ok_or_else(|| MigrateError::UnknownTarget(id.to_string()))?
                    + 1
            }
        };
        let migrations: Vec<Migration> = self.set.all()[..end].to_vec();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let scratch = format!("torghut_expected_{}_{nanos}", std::process::id());
        let tx = self.client.transaction().await?;
        let result = async {
            tx.batch_execute(&format!(
                "SET LOCAL lock_timeout = '5s'; CREATE SCHEMA {scratch}; SET LOCAL search_path = {scratch};"
            ))
            .await?;
            // Backfills change rows, never the schema: they are left out.
            for m in migrations.iter().filter(|m| m.backfill.is_empty()) {
                let sql = if m.no_transaction {
                    strip_concurrently(&m.up)
                } else {
                    m.up.clone()
                };
                tx.batch_execute(&sql).await?;
            }
            let expected = catalog::read_catalog(&tx, &scratch).await?;
            tx.batch_execute(&format!("SET LOCAL search_path = {MANAGED_SCHEMA}"))
                .await?;
            let live = catalog::read_catalog(&tx, MANAGED_SCHEMA).await?;
            Ok::<_, tokio_postgres::Error>((expected, live))
        }
        .await;
        let _ = tx.rollback().await;
        let (expected, live) = result?;
        Ok(catalog::diff(&expected, &live, IGNORED_TABLES))
    }

    /// Checks applied checksums against the files and the live catalog against the one expected at
    /// the current revision. Changes nothing.
    pub async fn verify(&mut self) -> Result<VerifyReport, MigrateError> {
        let status = self.status().await?;
        let current = status
            .applied
            .iter()
            .rev()
            .find(|a| self.set.get(&a.id).is_some())
            .map(|a| a.id.clone());
        let catalog = self.compare_with_expected(current.as_deref()).await?;
        let clean = catalog.is_clean()
            && status.checksum_mismatches.is_empty()
            && status.unknown_applied.is_empty()
            && status.dirty.is_empty();
        Ok(VerifyReport {
            current,
            checksum_mismatches: status.checksum_mismatches,
            unknown_applied: status.unknown_applied,
            dirty: status.dirty,
            catalog,
            clean,
        })
    }
}

/// Removes `CONCURRENTLY` so a no-transaction migration can be replayed inside a transaction when
/// building the expected catalog.
fn strip_concurrently(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    for word in sql.split_inclusive(char::is_whitespace) {
        if word.trim().eq_ignore_ascii_case("concurrently") {
            continue;
        }
        out.push_str(word);
    }
    out
}
