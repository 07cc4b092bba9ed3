//! `repair`: a dirty migration resolved, or an edited checksum accepted, after a person checked.

use super::*;

impl Migrator {
    /// Resolves a dirty migration or accepts an edited checksum, after a person has checked. Needs a
    /// reason, which is logged.
    pub async fn repair(
        &mut self,
        action: RepairAction,
        reason: &str,
    ) -> Result<RepairReport, MigrateError> {
        if reason.trim().is_empty() {
            return Err(MigrateError::Refused(
                "`migrate repair` needs --reason TEXT saying what was checked".into(),
            ));
        }
        let reason = reason.trim().to_string();
        let (r, _) = self
            .locked(move |m| Box::pin(async move { m.repair_locked(action, &reason).await }))
            .await?;
        Ok(r)
    }

    pub(super) async fn repair_locked(
        &mut self,
        action: RepairAction,
        reason: &str,
    ) -> Result<RepairReport, MigrateError> {
        let status = self.status().await?;
        // The change of the history and its run-log row commit together, or neither does.
        let tx = self.client.transaction().await?;
        let (id, what, detail) = match &action {
            RepairAction::MarkApplied | RepairAction::MarkRolledBack => {
                let Some(id) = status.dirty.first().cloned() else {
                    return Err(MigrateError::Refused(
                        "no dirty migration to repair (see `torghut migrate status`)".into(),
                    ));
                };
                if matches!(action, RepairAction::MarkApplied) {
                    history::clear_dirty(&tx, &id).await?;
                    (id, "marked applied", "dirty marker cleared".to_string())
                } else {
                    history::remove(&tx, &id).await?;
                    (id, "marked rolled back", "history row removed".to_string())
                }
            }
            RepairAction::AcceptChecksum(id) => {
                let Some(mm) = status.checksum_mismatches.iter().find(|m| &m.id == id) else {
                    return Err(MigrateError::Refused(format!(
                        "{id} has no checksum mismatch to accept (see `torghut migrate status`)"
                    )));
                };
                history::set_checksum(&tx, id, &mm.file).await?;
                (
                    id.clone(),
                    "accepted checksum",
                    format!("checksum {} -> {}", mm.recorded, mm.file),
                )
            }
        };
        Recorder::new(&self.opts.host, TOOL_VERSION)
            .record(
                &tx,
                LogEntry {
                    action: Action::Repair,
                    migration_id: Some(&id),
                    outcome: Outcome::Ok,
                    reason: Some(reason),
                    detail: Some(&format!("{what}: {detail}")),
                    duration_ms: None,
                },
            )
            .await?;
        tx.commit().await?;
        Ok(RepairReport {
            id,
            action: what.to_string(),
        })
    }
}
