//! `adopt`: a database the old service's Alembic chain built, taken over at its revision.

use super::*;

impl Migrator {
    /// Adopts a database that the old service's Alembic chain manages: checks the live schema against
    /// the schema expected at its `alembic_version`, then records the migrations up to it as applied.
    /// `alembic_version` is left as it is.
    pub async fn adopt(&mut self, reason: Option<&str>) -> Result<AdoptReport, MigrateError> {
        let reason = reason.map(str::to_string);
        let (r, _) = self
            .locked(move |m| Box::pin(async move { m.adopt_locked(reason.as_deref()).await }))
            .await?;
        Ok(r)
    }

    pub(super) async fn adopt_locked(
        &mut self,
        reason: Option<&str>,
    ) -> Result<AdoptReport, MigrateError> {
        let Some(version) = self.alembic_version().await? else {
            return Err(MigrateError::NotAdoptable(
                "no alembic_version table: this database was not built by the old service (use `migrate up` for a new database)".into(),
            ));
        };
        let Some(pos) = self
            .set
            .position(&version)
            .filter(|p| *p < LEGACY_REVISIONS)
        else {
            return Err(MigrateError::NotAdoptable(format!(
                "alembic_version is {version:?}, which is not one of the old service's revisions this tool can adopt ({})",
                self.set.all()[..LEGACY_REVISIONS.min(self.set.all().len())]
                    .iter()
                    .map(|m| m.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        let applied = history::read_applied(&self.client).await?;
        if !applied.is_empty() {
            let expected: Vec<&str> = self.set.all()[..=pos]
                .iter()
                .map(|m| m.id.as_str())
                .collect();
            let have: Vec<&str> = applied.iter().map(|a| a.id.as_str()).collect();
            if have.len() >= expected.len() && have[..expected.len()] == expected[..] {
                return Ok(AdoptReport {
                    alembic_version: version,
                    recorded: Vec::new(),
                    already_adopted: true,
                    unmanaged_tables: Vec::new(),
                });
            }
            return Err(MigrateError::NotAdoptable(format!(
                "the database already has a torghut history ({}) that does not match alembic_version {version:?}",
                have.join(", ")
            )));
        }
        let diff = self.compare_with_expected(Some(&version)).await?;
        if !diff.is_clean() {
            let detail = render_diff(&diff);
            let _ = self
                .record(LogEntry {
                    action: Action::Adopt,
                    migration_id: Some(&version),
                    outcome: Outcome::Failed,
                    reason,
                    detail: Some(&detail),
                    duration_ms: None,
                })
                .await;
            return Err(MigrateError::AdoptDrift {
                revision: version,
                diff,
            });
        }
        let host = self.opts.host.clone();
        let migrations: Vec<Migration> = self.set.all()[..=pos].to_vec();
        let tx = self.client.transaction().await?;
        for m in &migrations {
            history::insert_history(
                &tx,
                &NewHistoryRow {
                    adopted: true,
                    ..NewHistoryRow::of(m, &host, TOOL_VERSION)
                },
            )
            .await?;
        }
        let detail = format!(
            "adopted from alembic_version {version}; recorded {}",
            migrations
                .iter()
                .map(|m| m.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        Recorder::new(&host, TOOL_VERSION)
            .record(
                &tx,
                LogEntry {
                    action: Action::Adopt,
                    migration_id: Some(&version),
                    outcome: Outcome::Ok,
                    reason,
                    detail: Some(&detail),
                    duration_ms: None,
                },
            )
            .await?;
        tx.commit().await?;
        Ok(AdoptReport {
            alembic_version: version,
            recorded: migrations.into_iter().map(|m| m.id).collect(),
            already_adopted: false,
            unmanaged_tables: diff.unmanaged_tables,
        })
    }
}

/// How many leading migrations reproduce the old Alembic chain (adoptable revisions).
pub const LEGACY_REVISIONS: usize = 5;
