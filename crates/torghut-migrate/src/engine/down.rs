//! `down`: migrations reverted in reverse order.

use super::*;

impl Migrator {
    /// Reverts applied migrations newer than `to` (`"base"` reverts all), newest first, each in one
    /// transaction with the removal of its history row. In prod it needs `allow_destructive` and a
    /// reason.
    pub async fn down(
        &mut self,
        to: &str,
        prod: bool,
        allow_destructive: bool,
        reason: Option<&str>,
    ) -> Result<DownReport, MigrateError> {
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        if prod && !(allow_destructive && reason.is_some()) {
            return Err(MigrateError::Refused(
                "refusing `migrate down` with APP_ENV=prod: it can destroy data; pass --allow-destructive and --reason TEXT".into(),
            ));
        }
        let target_pos = if to == "base" {
            None
        } else {
            Some(
                self.set
                    .position(to)
                    .ok_or_else(|| MigrateError::UnknownTarget(to.to_string()))?,
            )
        };
        let reason = reason.map(str::to_string);
        let (reverted, _) = self
            .locked(move |m| {
                Box::pin(async move { m.down_locked(target_pos, reason.as_deref()).await })
            })
            .await?;
        let status = self.status().await?;
        Ok(DownReport {
            reverted,
            current: status.current,
        })
    }

    pub(super) async fn down_locked(
        &mut self,
        target_pos: Option<usize>,
        reason: Option<&str>,
    ) -> Result<Vec<String>, MigrateError> {
        let status = self.status().await?;
        if let Some(d) = status.dirty.first() {
            return Err(MigrateError::Dirty(d.clone()));
        }
        if !status.unknown_applied.is_empty() {
            return Err(MigrateError::UnknownApplied(status.unknown_applied.clone()));
        }
        if let Some(pos) = target_pos {
            let id = &self.set.all()[pos].id;
            if !status.applied.iter().any(|a| &a.id == id) {
                return Err(MigrateError::BadTarget(format!(
                    "{id} is not applied; `down --to` takes an applied migration (or `base`)"
                )));
            }
        }
        let to_revert: Vec<Migration> = status
            .applied
            .iter()
            .rev()
            .filter_map(|a| {
                let pos = self.set.position(&a.id)?;
                (target_pos.is_none_or(|t| pos > t)).then(|| self.set.all()[pos].clone())
            })
            .collect();
        let mut done = Vec::new();
        for m in to_revert {
            if m.down_no_transaction {
                self.revert_no_transaction(&m, &done, reason).await?;
                done.push(m.id.clone());
                continue;
            }
            let start = Instant::now();
            let timeouts = self.timeouts_sql(true);
            let host = self.opts.host.clone();
            let tx = self.client.transaction().await?;
            let run = async {
                tx.batch_execute(&timeouts).await?;
                tx.batch_execute(&m.down).await?;
                history::forget_backfill(&tx, &m.id).await?;
                Recorder::new(&host, TOOL_VERSION)
                    .reverted(&tx, &m.id, reason, start.elapsed().as_millis() as i64)
                    .await?;
                Ok::<(), tokio_postgres::Error>(())
            }
            .await;
            match run {
                Ok(()) => {
                    tx.commit().await?;
                    done.push(m.id.clone());
                }
                Err(e) => {
                    let _ = tx.rollback().await;
                    return Err(self
                        .migration_failed(Action::Down, &m.id, e, &done, false)
                        .await);
                }
            }
        }
        Ok(done)
    }

    /// Reverts one migration whose `down.sql` is marked `-- torghut:no-transaction`: the history
    /// row is marked dirty first, the statements run one by one, then the row is removed. If a
    /// statement fails the row stays dirty (`repair` after a person has looked).
    pub(super) async fn revert_no_transaction(
        &mut self,
        m: &Migration,
        done: &[String],
        reason: Option<&str>,
    ) -> Result<(), MigrateError> {
        let start = Instant::now();
        history::mark_dirty(&self.client, &m.id).await?;
        self.run_marked_dirty(Action::Down, m, &m.down, reason, done)
            .await?;
        let tx = self.client.transaction().await?;
        Recorder::new(&self.opts.host, TOOL_VERSION)
            .reverted(&tx, &m.id, reason, start.elapsed().as_millis() as i64)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
