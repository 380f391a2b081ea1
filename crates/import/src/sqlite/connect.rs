//! Opening the SQLite target (WAL, busy timeout) and creating or checking its default schema.

#[allow(unused_imports)]
use super::*;

pub(super) fn open_blocking(
    path: PathBuf,
    mapping: Option<Mapping>,
    opts: ConnectOptions,
) -> Result<Inner, ImportError> {
    let mapped = mapping.is_some();
    // A mapping targets an existing practice database: never create an empty file by accident.
    let flags = if mapped {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI
    } else {
        OpenFlags::default()
    };
    if mapped && !path.exists() {
        return Err(ImportError::Unreachable(format!(
            "SQLite file {} does not exist; check the target path",
            path.display()
        )));
    }
    let conn = Connection::open_with_flags(&path, flags)
        .map_err(|e| sqlite_err("opening the SQLite file", e))?;
    conn.busy_timeout(opts.busy_timeout)
        .map_err(|e| sqlite_err("configuring SQLite", e))?;
    let _mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(|e| sqlite_err("switching SQLite to WAL", e))?;
    ensure_schema(&conn, mapped)?;
    let mapping = match mapping {
        Some(m) => {
            validate(&conn, &m)?;
            m
        }
        None => Mapping::default_schema(),
    };
    let sources = mapping.sources();
    let sql = Statements::new(&mapping, &sources, mapped, false);
    Ok(Inner {
        conn: Mutex::new(conn),
        mapping,
        sources,
        sql,
        batch_size: opts.batch_size.max(1),
    })
}

pub(super) fn ensure_schema(conn: &Connection, mapped: bool) -> Result<(), ImportError> {
    let err = |e| sqlite_err("creating the import tables", e);
    conn.execute_batch("BEGIN IMMEDIATE").map_err(err)?;
    let res = (|| -> Result<(), ImportError> {
        conn.execute_batch(schema::SQLITE_META).map_err(err)?;
        let found: Option<String> = conn
            .query_row(
                "SELECT value FROM askara_import_meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .map(Some)
            .or_else(|e| {
                if e == rusqlite::Error::QueryReturnedNoRows {
                    Ok(None)
                } else {
                    Err(e)
                }
            })
            .map_err(err)?;
        if let Some(v) = found.as_deref().and_then(|v| v.parse::<i64>().ok()) {
            if v > SCHEMA_VERSION {
                return Err(schema::too_new(v));
            }
        }
        conn.execute_batch(if mapped {
            schema::SQLITE_LOG
        } else {
            schema::SQLITE_NOTES
        })
        .map_err(err)?;
        conn.execute(
            "INSERT INTO askara_import_meta (key, value) VALUES ('schema_version', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![SCHEMA_VERSION.to_string()],
        )
        .map_err(err)?;
        Ok(())
    })();
    match res {
        Ok(()) => conn.execute_batch("COMMIT").map_err(err),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}
