//! A bulk write described once per table: its name, its columns (each with its SQL
//! type, its part in the upsert, and how to read it from a row), and what a conflict
//! on its key does. The statement is generated from the description the first time it
//! is used, and kept: a batch goes as one array per column, `unnest`ed on the server,
//! in one statement and one round trip.

use std::sync::OnceLock;

use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;

use crate::StoreError;
use crate::bulk::UpsertCounts;

/// One column's values for a batch: the array PostgreSQL `unnest`s.
pub(crate) type Values<'a> = Box<dyn ToSql + Sync + Send + 'a>;

/// The array of `value` over `rows`: what a [`Column`] reads from a batch.
pub(crate) fn each<'a, R, T>(rows: &'a [&'a R], value: impl Fn(&'a R) -> T) -> Values<'a>
where
    T: ToSql + Sync + Send + 'a,
{
    Box::new(rows.iter().map(|r| value(r)).collect::<Vec<T>>())
}

/// What a column does in the upsert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Part of the conflict key.
    Key,
    /// Content: a change in it is a change of the row (its version moves).
    Compared,
    /// Written with the row, but no change by itself (provenance, search text, the
    /// time a report was fetched).
    Carried,
}

/// A column of a bulk-written table.
pub(crate) struct Column<R: 'static> {
    pub name: &'static str,
    /// The element type of the column's array (`text`, `uuid`, `jsonb`, ...).
    pub sql_type: &'static str,
    pub role: Role,
    pub values: Read<R>,
}

/// How a column's array is read from a batch.
pub(crate) type Read<R> = for<'a> fn(&'a [&'a R]) -> Values<'a>;

impl<R> Column<R> {
    /// A column of the conflict key.
    pub const fn key(name: &'static str, sql_type: &'static str, values: Read<R>) -> Self {
        Self {
            name,
            sql_type,
            role: Role::Key,
            values,
        }
    }

    /// A content column: a change in it is a change of the row.
    pub const fn compared(name: &'static str, sql_type: &'static str, values: Read<R>) -> Self {
        Self {
            name,
            sql_type,
            role: Role::Compared,
            values,
        }
    }

    /// A column written with the row that is no change by itself.
    pub const fn carried(name: &'static str, sql_type: &'static str, values: Read<R>) -> Self {
        Self {
            name,
            sql_type,
            role: Role::Carried,
            values,
        }
    }
}

/// What a row already held under the same key becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnConflict {
    /// Replaced, whatever it held.
    Replace,
    /// Updated only when a compared column differs, and then stamped.
    UpdateWhenChanged(Stamp),
}

/// What a row updated because its content changed is stamped with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stamp {
    None,
    /// The next `record_version`.
    Version,
    /// The next `record_version` and `updated_at = now()`.
    VersionAndTime,
}

/// Rows of one key given twice in a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Duplicates {
    /// The caller sends each key once (one statement may not touch a row twice).
    NoneSent,
    /// The server keeps one of them (`DISTINCT ON` the key).
    OneKept,
}

/// What the statement reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// How many rows were inserted and how many updated ([`UpsertCounts`]).
    Counts,
    /// How many rows were written.
    RowCount,
}

/// A table written in bulk, and its statement once generated.
pub(crate) struct Table<R: 'static> {
    pub name: &'static str,
    pub columns: &'static [Column<R>],
    pub on_conflict: OnConflict,
    pub duplicates: Duplicates,
    pub outcome: Outcome,
    /// The entity type under which the same statement indexes each row's source
    /// identifiers (the rows' `id` and `identifiers` columns) in `source_identifiers`.
    pub identifiers_of: Option<&'static str>,
    pub statement: OnceLock<String>,
}

/// Counts what the `upserted` step inserted and updated.
const COUNT_UPSERTED: &str =
    "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted";

/// Indexes each `input` row's identifiers (an `id`, and `identifiers` as a jsonb array of
/// `{system, value}`) under `entity_type`: a value already indexed moves to this row.
pub(crate) fn index_identifiers_sql(entity_type: &str) -> String {
    format!(
        "INSERT INTO source_identifiers AS si (entity_type, system, value, entity_id)
    SELECT DISTINCT ON (i.system, i.value) '{entity_type}', i.system, i.value, input.id
    FROM input, jsonb_to_recordset(input.identifiers) AS i(system text, value text)
    ORDER BY i.system, i.value
    ON CONFLICT (entity_type, system, value) DO UPDATE SET entity_id = EXCLUDED.entity_id
    WHERE si.entity_id IS DISTINCT FROM EXCLUDED.entity_id"
    )
}

impl<R> Table<R> {
    /// The upsert statement, generated on first use.
    pub fn statement(&self) -> &str {
        self.statement.get_or_init(|| self.generate())
    }

    fn names(&self, role: Option<Role>, prefix: &str) -> String {
        self.columns
            .iter()
            .filter(|c| role.is_none_or(|r| c.role == r))
            .map(|c| format!("{prefix}{}", c.name))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn generate(&self) -> String {
        let name = self.name;
        let all = self.names(None, "");
        let keys = self.names(Some(Role::Key), "");
        let arrays = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| format!("${}::{}[]", i + 1, c.sql_type))
            .collect::<Vec<_>>()
            .join(", ");
        let input = format!("WITH input AS (SELECT * FROM unnest({arrays}) AS t({all}))");
        let rows = match self.duplicates {
            Duplicates::NoneSent => "SELECT * FROM input".to_owned(),
            Duplicates::OneKept => format!("SELECT DISTINCT ON ({keys}) * FROM input"),
        };
        let set = || {
            self.columns
                .iter()
                .filter(|c| c.role != Role::Key)
                .map(|c| format!("{0} = EXCLUDED.{0}", c.name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let conflict = match self.on_conflict {
            OnConflict::Replace => format!("ON CONFLICT ({keys}) DO UPDATE SET {}", set()),
            OnConflict::UpdateWhenChanged(stamp) => {
                let stamp = match stamp {
                    Stamp::None => "",
                    Stamp::Version => ", version = nextval('record_version')",
                    Stamp::VersionAndTime => {
                        ", updated_at = now(), version = nextval('record_version')"
                    }
                };
                format!(
                    "ON CONFLICT ({keys}) DO UPDATE SET {}{stamp}
    WHERE ({}) IS DISTINCT FROM ({})",
                    set(),
                    self.names(Some(Role::Compared), "existing."),
                    self.names(Some(Role::Compared), "EXCLUDED."),
                )
            }
        };
        let insert = format!("INSERT INTO {name} AS existing ({all})\n    {rows}\n    {conflict}");
        let indexed = self
            .identifiers_of
            .map(|entity| format!(",\nindexed AS ({})", index_identifiers_sql(entity)))
            .unwrap_or_default();
        match self.outcome {
            Outcome::Counts => format!(
                "{input},\nupserted AS ({insert}\n    RETURNING (xmax = 0) AS inserted){indexed}\n{COUNT_UPSERTED}"
            ),
            Outcome::RowCount => format!("{input}{indexed}\n{insert}"),
        }
    }

    /// The batch's parameters: each column's array, in the statement's order.
    fn values<'a>(&self, rows: &'a [&'a R]) -> Vec<Values<'a>> {
        self.columns.iter().map(|c| (c.values)(rows)).collect()
    }

    /// Writes `rows` and counts what was inserted and updated (the rest was unchanged,
    /// or, from `total` rows given, left out as duplicates).
    pub async fn upsert(
        &self,
        client: &impl GenericClient,
        rows: &[&R],
        total: usize,
    ) -> Result<UpsertCounts, StoreError> {
        debug_assert_eq!(self.outcome, Outcome::Counts, "{}", self.name);
        if rows.is_empty() {
            return Ok(UpsertCounts::default());
        }
        let values = self.values(rows);
        let params: Vec<&(dyn ToSql + Sync)> = values
            .iter()
            .map(|v| v.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let statement = client.prepare_cached(self.statement()).await?;
        let row = client.query_one(&statement, &params).await?;
        Ok(UpsertCounts::from_counts(row.get(0), row.get(1), total))
    }

    /// Writes `rows`; returns how many were written.
    pub async fn write(&self, client: &impl GenericClient, rows: &[&R]) -> Result<u64, StoreError> {
        debug_assert_eq!(self.outcome, Outcome::RowCount, "{}", self.name);
        if rows.is_empty() {
            return Ok(0);
        }
        let values = self.values(rows);
        let params: Vec<&(dyn ToSql + Sync)> = values
            .iter()
            .map(|v| v.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let statement = client.prepare_cached(self.statement()).await?;
        Ok(client.execute(&statement, &params).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Row {
        code: String,
        name: String,
        note: Option<String>,
    }

    const COLUMNS: &[Column<Row>] = &[
        Column::key("code", "text", |rows| each(rows, |r| r.code.as_str())),
        Column::compared("name", "text", |rows| each(rows, |r| r.name.as_str())),
        Column::carried("note", "text", |rows| each(rows, |r| r.note.as_deref())),
    ];

    fn table(on_conflict: OnConflict, duplicates: Duplicates, outcome: Outcome) -> Table<Row> {
        Table {
            name: "things",
            columns: COLUMNS,
            on_conflict,
            duplicates,
            outcome,
            identifiers_of: None,
            statement: OnceLock::new(),
        }
    }

    /// The statement with its whitespace collapsed, to compare with a literal.
    fn flat(sql: &str) -> String {
        sql.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn a_versioned_table_updates_only_changed_rows_and_counts() {
        let t = table(
            OnConflict::UpdateWhenChanged(Stamp::VersionAndTime),
            Duplicates::NoneSent,
            Outcome::Counts,
        );
        assert_eq!(
            flat(t.statement()),
            "WITH input AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS t(code, name, note)), \
             upserted AS (INSERT INTO things AS existing (code, name, note) SELECT * FROM input \
             ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, note = EXCLUDED.note, \
             updated_at = now(), version = nextval('record_version') \
             WHERE (existing.name) IS DISTINCT FROM (EXCLUDED.name) \
             RETURNING (xmax = 0) AS inserted) \
             SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted"
        );
    }

    #[test]
    fn a_replaced_table_keeps_one_row_of_each_key_and_counts_rows() {
        let t = table(OnConflict::Replace, Duplicates::OneKept, Outcome::RowCount);
        assert_eq!(
            flat(t.statement()),
            "WITH input AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS t(code, name, note)) \
             INSERT INTO things AS existing (code, name, note) SELECT DISTINCT ON (code) * FROM input \
             ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, note = EXCLUDED.note"
        );
    }

    #[test]
    fn stamps_name_what_they_move() {
        let with = |stamp| {
            flat(
                table(
                    OnConflict::UpdateWhenChanged(stamp),
                    Duplicates::NoneSent,
                    Outcome::Counts,
                )
                .statement(),
            )
        };
        assert!(!with(Stamp::None).contains("nextval"));
        assert!(
            with(Stamp::Version)
                .contains("note = EXCLUDED.note, version = nextval('record_version') WHERE")
        );
        assert!(!with(Stamp::Version).contains("updated_at"));
    }

    #[test]
    fn identifiers_are_indexed_in_the_same_statement() {
        let mut t = table(
            OnConflict::UpdateWhenChanged(Stamp::Version),
            Duplicates::NoneSent,
            Outcome::Counts,
        );
        t.identifiers_of = Some("staff");
        let sql = flat(t.statement());
        assert!(sql.contains(
            "RETURNING (xmax = 0) AS inserted), indexed AS (INSERT INTO source_identifiers"
        ));
        assert!(sql.contains("SELECT DISTINCT ON (i.system, i.value) 'staff', i.system"));
        assert!(sql.ends_with("FROM upserted"));
    }

    #[test]
    fn each_column_gives_one_array_in_order() {
        let t = table(OnConflict::Replace, Duplicates::NoneSent, Outcome::RowCount);
        let a = Row {
            code: "a".into(),
            name: "A".into(),
            note: None,
        };
        let rows = [&a, &a];
        let values = t.values(&rows);
        assert_eq!(values.len(), COLUMNS.len());
        assert_eq!(format!("{:?}", values[0]), r#"["a", "a"]"#);
        assert_eq!(format!("{:?}", values[2]), "[None, None]");
    }

    #[test]
    fn a_statement_is_generated_once() {
        let t = table(OnConflict::Replace, Duplicates::NoneSent, Outcome::RowCount);
        assert!(std::ptr::eq(t.statement(), t.statement()));
    }
}
