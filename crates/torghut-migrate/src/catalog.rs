//! The live catalog of a schema (tables, columns, types, nullability, defaults, constraints,
//! indexes, triggers and functions) and a readable diff between two catalogs.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use tokio_postgres::GenericClient;

/// One column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    /// `format_type` of the column, e.g. `character varying(32)`.
    pub data_type: String,
    /// `NOT NULL`.
    pub not_null: bool,
    /// The default expression as Postgres prints it.
    pub default: Option<String>,
}

/// One table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Table {
    /// Columns by name.
    pub columns: BTreeMap<String, Column>,
    /// Constraint definitions by name.
    pub constraints: BTreeMap<String, String>,
    /// Index definitions by name (schema qualification removed).
    pub indexes: BTreeMap<String, String>,
    /// Trigger definitions by name (schema qualification removed).
    pub triggers: BTreeMap<String, String>,
}

/// The catalog of one schema.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Catalog {
    /// Tables by name.
    pub tables: BTreeMap<String, Table>,
    /// Function definitions by signature (schema qualification removed).
    pub functions: BTreeMap<String, String>,
}

fn unqualify(def: &str, schema: &str) -> String {
    let quoted = format!("\"{schema}\".");
    def.replace(&format!("{schema}."), "").replace(&quoted, "")
}

/// Reads the catalog of `schema`. The caller's `search_path` should be `schema` so that printed
/// expressions are not schema-qualified differently between two schemas.
pub async fn read_catalog<C: GenericClient>(
    client: &C,
    schema: &str,
) -> Result<Catalog, tokio_postgres::Error> {
    let mut cat = Catalog::default();
    let rows = client
        .query(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY 1",
            &[&schema],
        )
        .await?;
    for r in rows {
        cat.tables.insert(r.try_get(0)?, Table::default());
    }
    let rows = client
        .query(
            "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, \
                    pg_get_expr(d.adbin, d.adrelid) \
             FROM pg_attribute a \
             JOIN pg_class c ON c.oid = a.attrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped",
            &[&schema],
        )
        .await?;
    for r in rows {
        let table: String = r.try_get(0)?;
        if let Some(t) = cat.tables.get_mut(&table) {
            t.columns.insert(
                r.try_get(1)?,
                Column {
                    data_type: r.try_get(2)?,
                    not_null: r.try_get(3)?,
                    default: r
                        .try_get::<_, Option<String>>(4)?
                        .map(|d| unqualify(&d, schema)),
                },
            );
        }
    }
    let rows = client
        .query(
            "SELECT c.relname::text, k.conname::text, pg_get_constraintdef(k.oid) \
             FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1",
            &[&schema],
        )
        .await?;
    for r in rows {
        let table: String = r.try_get(0)?;
        if let Some(t) = cat.tables.get_mut(&table) {
            t.constraints.insert(
                r.try_get(1)?,
                unqualify(&r.try_get::<_, String>(2)?, schema),
            );
        }
    }
    let rows = client
        .query(
            "SELECT t.relname::text, i.relname::text, pg_get_indexdef(x.indexrelid) \
             FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = $1",
            &[&schema],
        )
        .await?;
    for r in rows {
        let table: String = r.try_get(0)?;
        if let Some(t) = cat.tables.get_mut(&table) {
            t.indexes.insert(
                r.try_get(1)?,
                unqualify(&r.try_get::<_, String>(2)?, schema),
            );
        }
    }
    let rows = client
        .query(
            "SELECT c.relname::text, g.tgname::text, pg_get_triggerdef(g.oid), g.tgenabled::text \
             FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND NOT g.tgisinternal",
            &[&schema],
        )
        .await?;
    for r in rows {
        let table: String = r.try_get(0)?;
        if let Some(t) = cat.tables.get_mut(&table) {
            // The definition and when it fires: a disabled trigger (or one set to fire only on
            // replicas, or always) is drift, even though its definition is unchanged.
            let def = unqualify(&r.try_get::<_, String>(2)?, schema);
            let state = trigger_state(&r.try_get::<_, String>(3)?);
            t.triggers.insert(r.try_get(1)?, format!("{def} [{state}]"));
        }
    }
    let rows = client
        .query(
            "SELECT p.proname::text || '(' || pg_get_function_identity_arguments(p.oid) || ')', \
                    pg_get_functiondef(p.oid) \
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
             WHERE n.nspname = $1 AND p.prokind IN ('f', 'p')",
            &[&schema],
        )
        .await?;
    for r in rows {
        cat.functions.insert(
            r.try_get(0)?,
            unqualify(&r.try_get::<_, String>(1)?, schema),
        );
    }
    Ok(cat)
}

/// One difference between the expected and the live catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// Where: `table executions`, `table executions, column status`, `function f(integer)`.
    pub object: String,
    /// What the expected catalog has (`None`: nothing).
    pub expected: Option<String>,
    /// What the live database has (`None`: nothing).
    pub found: Option<String>,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.expected, &self.found) {
            (Some(e), None) => write!(f, "{}: missing (expected {e})", self.object),
            (None, Some(x)) => write!(f, "{}: unexpected ({x})", self.object),
            (Some(e), Some(x)) => write!(f, "{}: expected {e}, found {x}", self.object),
            (None, None) => write!(f, "{}", self.object),
        }
    }
}

/// The comparison of a live catalog with the expected one.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CatalogDiff {
    /// Drift in managed objects: each fails verification.
    pub differences: Vec<Difference>,
    /// Tables present in the live schema that the migrations do not manage: listed, not failed.
    pub unmanaged_tables: Vec<String>,
}

impl CatalogDiff {
    /// True when the managed objects match.
    pub fn is_clean(&self) -> bool {
        self.differences.is_empty()
    }
}

fn col_desc(c: &Column) -> String {
    let mut s = c.data_type.clone();
    if c.not_null {
        s.push_str(" NOT NULL");
    }
    if let Some(d) = &c.default {
        s.push_str(" DEFAULT ");
        s.push_str(d);
    }
    s
}

fn diff_maps(
    out: &mut Vec<Difference>,
    prefix: &str,
    kind: &str,
    expected: &BTreeMap<String, String>,
    found: &BTreeMap<String, String>,
) {
    for (name, e) in expected {
        match found.get(name) {
            None => out.push(Difference {
                object: format!("{prefix}{kind} {name}"),
                expected: Some(e.clone()),
                found: None,
            }),
            Some(f) if f != e => out.push(Difference {
                object: format!("{prefix}{kind} {name}"),
                expected: Some(e.clone()),
                found: Some(f.clone()),
            }),
            _ => {}
        }
    }
    for (name, f) in found {
        if !expected.contains_key(name) {
            out.push(Difference {
                object: format!("{prefix}{kind} {name}"),
                expected: None,
                found: Some(f.clone()),
            });
        }
    }
}

/// A trigger of the managed schema that does not fire as created (`ALTER TABLE ... DISABLE
/// TRIGGER`, or set to fire only on replicas or always).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerNotEnabled {
    pub table: String,
    pub trigger: String,
    /// `disabled`, `enabled on replicas only` or `enabled always`.
    pub state: &'static str,
}

/// The triggers of `schema` whose names start with `prefix` that are not enabled as created.
pub async fn triggers_not_enabled(
    client: &tokio_postgres::Client,
    schema: &str,
    prefix: &str,
) -> Result<Vec<TriggerNotEnabled>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT c.relname::text, g.tgname::text, g.tgenabled::text \
             FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND NOT g.tgisinternal AND g.tgenabled <> 'O' \
               AND starts_with(g.tgname::text, $2) \
             ORDER BY 1, 2",
            &[&schema, &prefix],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(TriggerNotEnabled {
                table: r.try_get(0)?,
                trigger: r.try_get(1)?,
                state: trigger_state(&r.try_get::<_, String>(2)?),
            })
        })
        .collect()
}

/// What `pg_trigger.tgenabled` says, in words.
fn trigger_state(tgenabled: &str) -> &'static str {
    match tgenabled {
        "O" => "enabled",
        "D" => "disabled",
        "R" => "enabled on replicas only",
        "A" => "enabled always",
        _ => "unknown state",
    }
}

/// Compares `found` with `expected`. Tables in `found` that `expected` lacks and whose names are in
/// `ignore` are skipped; other extra tables are listed as unmanaged.
pub fn diff(expected: &Catalog, found: &Catalog, ignore: &[&str]) -> CatalogDiff {
    let mut d = CatalogDiff::default();
    for (tname, et) in &expected.tables {
        let Some(ft) = found.tables.get(tname) else {
            d.differences.push(Difference {
                object: format!("table {tname}"),
                expected: Some("a table".into()),
                found: None,
            });
            continue;
        };
        let prefix = format!("table {tname}, ");
        for (cname, ec) in &et.columns {
            match ft.columns.get(cname) {
                None => d.differences.push(Difference {
                    object: format!("{prefix}column {cname}"),
                    expected: Some(col_desc(ec)),
                    found: None,
                }),
                Some(fc) => {
                    if fc.data_type != ec.data_type {
                        d.differences.push(Difference {
                            object: format!("{prefix}column {cname} type"),
                            expected: Some(ec.data_type.clone()),
                            found: Some(fc.data_type.clone()),
                        });
                    }
                    if fc.not_null != ec.not_null {
                        let n = |b: bool| if b { "NOT NULL" } else { "nullable" }.to_string();
                        d.differences.push(Difference {
                            object: format!("{prefix}column {cname} nullability"),
                            expected: Some(n(ec.not_null)),
                            found: Some(n(fc.not_null)),
                        });
                    }
                    if fc.default != ec.default {
                        let n =
                            |x: &Option<String>| x.clone().unwrap_or_else(|| "no default".into());
                        d.differences.push(Difference {
                            object: format!("{prefix}column {cname} default"),
                            expected: Some(n(&ec.default)),
                            found: Some(n(&fc.default)),
                        });
                    }
                }
            }
        }
        for (cname, fc) in &ft.columns {
            if !et.columns.contains_key(cname) {
                d.differences.push(Difference {
                    object: format!("{prefix}column {cname}"),
                    expected: None,
                    found: Some(col_desc(fc)),
                });
            }
        }
        diff_maps(
            &mut d.differences,
            &prefix,
            "constraint",
            &et.constraints,
            &ft.constraints,
        );
        diff_maps(
            &mut d.differences,
            &prefix,
            "index",
            &et.indexes,
            &ft.indexes,
        );
        diff_maps(
            &mut d.differences,
            &prefix,
            "trigger",
            &et.triggers,
            &ft.triggers,
        );
    }
    for tname in found.tables.keys() {
        if !expected.tables.contains_key(tname) && !ignore.contains(&tname.as_str()) {
            d.unmanaged_tables.push(tname.clone());
        }
    }
    for (name, e) in &expected.functions {
        match found.functions.get(name) {
            None => d.differences.push(Difference {
                object: format!("function {name}"),
                expected: Some("a function".into()),
                found: None,
            }),
            Some(f) if f != e => d.differences.push(Difference {
                object: format!("function {name}"),
                expected: Some("the migrations' definition".into()),
                found: Some("a different definition".into()),
            }),
            _ => {}
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(cols: &[(&str, &str, bool)]) -> Table {
        Table {
            columns: cols
                .iter()
                .map(|(n, t, nn)| {
                    (
                        n.to_string(),
                        Column {
                            data_type: t.to_string(),
                            not_null: *nn,
                            default: None,
                        },
                    )
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn diff_reports_types_nullability_missing_extra_and_unmanaged() {
        let mut e = Catalog::default();
        e.tables.insert(
            "t".into(),
            table(&[("a", "integer", true), ("b", "text", false)]),
        );
        let mut f = Catalog::default();
        f.tables.insert(
            "t".into(),
            table(&[("a", "bigint", false), ("c", "text", false)]),
        );
        f.tables.insert("other".into(), Table::default());
        f.tables.insert("alembic_version".into(), Table::default());
        let d = diff(&e, &f, &["alembic_version"]);
        let text: Vec<String> = d.differences.iter().map(|x| x.to_string()).collect();
        assert!(
            text.contains(&"table t, column a type: expected integer, found bigint".to_string()),
            "{text:?}"
        );
        assert!(text.contains(
            &"table t, column a nullability: expected NOT NULL, found nullable".to_string()
        ));
        assert!(text.contains(&"table t, column b: missing (expected text)".to_string()));
        assert!(text.contains(&"table t, column c: unexpected (text)".to_string()));
        assert_eq!(d.unmanaged_tables, vec!["other".to_string()]);
        assert!(!d.is_clean());
        assert!(diff(&e, &e, &[]).is_clean());
    }
}
