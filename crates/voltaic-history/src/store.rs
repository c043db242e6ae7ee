//! The SQLite store: one file, WAL journal, a versioned schema with migrations.
//!
//! Values are stored as scaled integers (mWh, mW, mV, centi-percent, deci-°C): SQLite packs small integers
//! into 1–4 bytes where a REAL always takes 8, which keeps a month of one-minute samples for two batteries
//! at a few MB. The precision kept (1 mWh, 1 mW, 0.01 %) is finer than any gauge reports meaningfully.
//!
//! Durability: `journal_mode=WAL` with `synchronous=FULL` makes every committed transaction durable across a
//! process kill and a power loss (<https://www.sqlite.org/wal.html>, "synchronous" in
//! <https://www.sqlite.org/pragma.html>); an interrupted transaction is rolled back when the file is next
//! opened.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use voltaic::{Battery, State};

use crate::error::{Error, ErrorKind, Result};

/// The schema version this build writes (`PRAGMA user_version`).
///
/// History: 1 kept the battery identity in every sample row and REAL columns; 2 moved identities into the
/// `battery` table, stores scaled integers, and added the `hourly` and `events` tables.
pub const SCHEMA_VERSION: i32 = 2;

/// How long SQLite waits for another connection's write lock before giving up (a `history` run reading
/// while the logger commits).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const SCHEMA_BATTERY: &str = "
CREATE TABLE battery (
    id INTEGER PRIMARY KEY,
    vendor TEXT NOT NULL,
    model TEXT NOT NULL,
    serial TEXT NOT NULL,
    UNIQUE (vendor, model, serial)
);
";

const SCHEMA_DATA: &str = "
-- One row per reading. state: 0 unknown, 1 charging, 2 discharging, 3 full, 4 not charging, 5 empty.
CREATE TABLE samples (
    battery INTEGER NOT NULL REFERENCES battery(id),
    t INTEGER NOT NULL,             -- Unix time, seconds
    state INTEGER NOT NULL,
    percentage INTEGER,             -- centi-percent
    energy_mwh INTEGER,
    energy_full_mwh INTEGER,
    energy_full_design_mwh INTEGER,
    power_mw INTEGER,
    voltage_mv INTEGER,
    temperature_dc INTEGER,         -- deci-degrees Celsius
    cycle_count INTEGER,
    health INTEGER,                 -- centi-percent
    external_power INTEGER,         -- 0, 1 or NULL
    PRIMARY KEY (battery, t)
) WITHOUT ROWID;
-- Older samples folded into hours: min/max/mean of the values that vary, means of the slow ones.
CREATE TABLE hourly (
    battery INTEGER NOT NULL REFERENCES battery(id),
    hour INTEGER NOT NULL,          -- Unix time of the hour's start
    n INTEGER NOT NULL,             -- samples folded in
    discharging INTEGER NOT NULL,   -- of which discharging
    percentage_min INTEGER, percentage_max INTEGER, percentage_mean INTEGER,
    power_min INTEGER, power_max INTEGER, power_mean INTEGER,
    temperature_min INTEGER, temperature_max INTEGER, temperature_mean INTEGER,
    energy_full_mwh INTEGER,
    health INTEGER,
    cycle_count INTEGER,
    PRIMARY KEY (battery, hour)
) WITHOUT ROWID;
-- kind: 0 plugged in, 1 unplugged, 2 full, 3 charge limit reached.
CREATE TABLE events (
    battery INTEGER NOT NULL REFERENCES battery(id),
    t INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    percentage INTEGER,
    PRIMARY KEY (battery, t, kind)
) WITHOUT ROWID;
";

/// Version 1 → 2, after the v1 `samples` table was renamed `samples_v1` and the v2 tables were created:
/// identities move out of the sample rows, REAL columns become scaled integers.
const MIGRATE_1_TO_2_COPY: &str = "
INSERT INTO battery (vendor, model, serial)
    SELECT DISTINCT coalesce(vendor, ''), coalesce(model, ''), coalesce(serial, '') FROM samples_v1;
INSERT OR REPLACE INTO samples (battery, t, state, percentage, energy_mwh, energy_full_mwh,
        energy_full_design_mwh, power_mw, cycle_count, health)
    SELECT b.id, s.t,
        CASE s.state WHEN 'charging' THEN 1 WHEN 'discharging' THEN 2 WHEN 'full' THEN 3
            WHEN 'not_charging' THEN 4 WHEN 'empty' THEN 5 ELSE 0 END,
        round(s.percentage * 100), round(s.energy_wh * 1000), round(s.energy_full_wh * 1000),
        round(s.energy_full_design_wh * 1000), round(s.power_w * 1000), s.cycle_count,
        CASE WHEN s.energy_full_design_wh > 0 THEN round(s.energy_full_wh / s.energy_full_design_wh * 10000) END
    FROM samples_v1 s JOIN battery b
        ON b.vendor = coalesce(s.vendor, '') AND b.model = coalesce(s.model, '') AND b.serial = coalesce(s.serial, '');
DROP TABLE samples_v1;
";

/// Which pack a sample belongs to: vendor, model and serial as the pack reports them (empty when not
/// reported). The OS's device name (`BAT0`, a Windows device path) is not part of it: it can change between
/// boots and does not follow a pack moved to another slot.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, serde::Serialize)]
pub struct Identity {
    /// Maker of the pack.
    pub vendor: String,
    /// Model or FRU name.
    pub model: String,
    /// Serial number.
    pub serial: String,
}

impl Identity {
    /// The identity of `battery` (trimmed; missing values are empty). A battery that reports none of the
    /// three is known by its OS device name instead, as the model (`BAT0`): the only name it has.
    #[must_use]
    pub fn of(battery: &Battery) -> Identity {
        let get = |v: &Option<String>| v.as_deref().unwrap_or("").trim().to_owned();
        let mut identity = Identity {
            vendor: get(&battery.vendor),
            model: get(&battery.model),
            serial: get(&battery.serial),
        };
        if identity == Identity::default() {
            battery.id.trim().clone_into(&mut identity.model);
        }
        identity
    }
}

/// Shows `vendor model (serial …)`, or `unidentified battery` when the pack gave nothing. Device strings are
/// shown as given: callers escape for their output (HTML, terminal).
impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = [self.vendor.as_str(), self.model.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        match (name.is_empty(), self.serial.is_empty()) {
            (true, true) => f.write_str("unidentified battery"),
            (true, false) => write!(f, "battery {}", self.serial),
            (false, true) => f.write_str(&name),
            (false, false) => write!(f, "{name} (serial {})", self.serial),
        }
    }
}

/// One reading of one battery, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Unix time, seconds.
    pub time: i64,
    /// What the battery was doing.
    pub state: State,
    /// State of charge, percent.
    pub percentage: Option<f64>,
    /// Energy now, Wh.
    pub energy_wh: Option<f64>,
    /// Energy when last full, Wh.
    pub energy_full_wh: Option<f64>,
    /// Design energy, Wh.
    pub energy_full_design_wh: Option<f64>,
    /// Charge or discharge rate, W (magnitude).
    pub power_w: Option<f64>,
    /// Terminal voltage, V.
    pub voltage_v: Option<f64>,
    /// Pack temperature, °C.
    pub temperature_c: Option<f64>,
    /// Charge cycles counted by the pack.
    pub cycle_count: Option<u32>,
    /// Full ÷ design, percent.
    pub health_percent: Option<f64>,
    /// Whether the machine was on external power.
    pub external_power: Option<bool>,
}

impl Sample {
    /// The stored form of `battery` read at `time` (Unix seconds).
    #[must_use]
    pub fn from_battery(battery: &Battery, time: i64) -> Sample {
        Sample {
            time,
            state: battery.state,
            percentage: battery.percentage,
            energy_wh: battery.energy_wh,
            energy_full_wh: battery.energy_full_wh,
            energy_full_design_wh: battery.energy_full_design_wh,
            power_w: battery.power_w,
            voltage_v: battery.voltage_v,
            temperature_c: battery.temperature_c,
            cycle_count: battery.cycle_count,
            health_percent: battery.health_percent,
            external_power: battery.external_power,
        }
    }
}

/// Something that happened to a battery, recorded when the logger saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// External power connected.
    Plugged,
    /// External power disconnected.
    Unplugged,
    /// The battery reported full.
    Full,
    /// Charging stopped below full on external power (a charge limit or the firmware holding the charge).
    LimitReached,
}

impl EventKind {
    /// The snake-case word used in JSON and the report.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Plugged => "plugged",
            EventKind::Unplugged => "unplugged",
            EventKind::Full => "full",
            EventKind::LimitReached => "limit_reached",
        }
    }

    fn code(self) -> i64 {
        match self {
            EventKind::Plugged => 0,
            EventKind::Unplugged => 1,
            EventKind::Full => 2,
            EventKind::LimitReached => 3,
        }
    }

    fn from_code(code: i64) -> Option<EventKind> {
        Some(match code {
            0 => EventKind::Plugged,
            1 => EventKind::Unplugged,
            2 => EventKind::Full,
            3 => EventKind::LimitReached,
            _ => return None,
        })
    }
}

/// An event with its time and the charge at that moment.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Event {
    /// Unix time, seconds.
    pub time: i64,
    /// What happened.
    pub kind: EventKind,
    /// State of charge then, percent.
    pub percentage: Option<f64>,
}

/// Minimum, maximum and mean of a value over an hour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Mean of the samples.
    pub mean: f64,
}

/// One hour of compacted samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Hourly {
    /// Unix time of the hour's start.
    pub hour: i64,
    /// Samples folded in.
    pub samples: u32,
    /// Of which were discharging.
    pub discharging: u32,
    /// State of charge, percent.
    pub percentage: Option<Stat>,
    /// Charge or discharge rate, W.
    pub power_w: Option<Stat>,
    /// Pack temperature, °C.
    pub temperature_c: Option<Stat>,
    /// Mean energy when full, Wh.
    pub energy_full_wh: Option<f64>,
    /// Mean health, percent.
    pub health_percent: Option<f64>,
    /// Highest cycle count seen.
    pub cycle_count: Option<u32>,
}

/// How long each level of detail is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Every sample is kept this long, then folded into hourly min/max/mean.
    pub detail: Duration,
    /// Hourly rows and events are kept this long, then deleted.
    pub hourly: Duration,
}

impl Default for Retention {
    /// Full detail for 30 days, hourly for two years.
    fn default() -> Self {
        Retention {
            detail: Duration::from_secs(30 * 86_400),
            hourly: Duration::from_secs(730 * 86_400),
        }
    }
}

/// What a compaction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Compacted {
    /// Samples folded into hourly rows and deleted.
    pub samples: u64,
    /// Hourly rows deleted for being older than the hourly retention.
    pub hours_dropped: u64,
    /// Events deleted for being older than the hourly retention.
    pub events_dropped: u64,
}

/// The history database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens the database at `path`, creating it (not its directory) when missing, and migrates an older
    /// schema to [`SCHEMA_VERSION`].
    ///
    /// # Errors
    /// [`ErrorKind::NewerSchema`] for a file written by a newer voltaic, [`ErrorKind::NotADatabase`] for a
    /// file that is not SQLite, [`ErrorKind::Full`] when the disk is full, [`ErrorKind::Database`] otherwise.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        let path = path.as_ref().to_owned();
        let conn = Connection::open(&path).map_err(|e| Error::sqlite("opening", &path, e))?;
        let mut store = Store { conn, path };
        store.setup()?;
        Ok(store)
    }

    /// The file this store reads and writes.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn setup(&mut self) -> Result<()> {
        let path = self.path.clone();
        let err = |e| Error::sqlite("setting up", &path, e);
        self.conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        // Reading the schema first turns "file is not a database" into a clear error before anything else.
        let version: i32 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(err)?;
        if version > SCHEMA_VERSION {
            return Err(Error::new(
                ErrorKind::NewerSchema,
                format!(
                    "{}: schema version {version} was written by a newer voltaic (this one reads up to {SCHEMA_VERSION})",
                    self.path.display()
                ),
            ));
        }
        if version == 0 {
            // Must precede the first table: incremental vacuum lets compaction give pages back to the disk.
            self.conn
                .execute_batch("PRAGMA auto_vacuum = INCREMENTAL")
                .map_err(err)?;
        }
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::new(
                ErrorKind::Database,
                format!(
                    "{}: cannot use the WAL journal (SQLite chose {mode})",
                    self.path.display()
                ),
            ));
        }
        self.conn
            .execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .map_err(err)?;
        self.migrate(version)
    }

    fn migrate(&mut self, from: i32) -> Result<()> {
        if from == SCHEMA_VERSION {
            return Ok(());
        }
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction()
            .map_err(|e| Error::sqlite("migrating", &path, e))?;
        let run = |sql: &str| {
            tx.execute_batch(sql)
                .map_err(|e| Error::sqlite("migrating", &path, e))
        };
        match from {
            0 => {
                run(SCHEMA_BATTERY)?;
                run(SCHEMA_DATA)?;
            }
            1 => {
                run("ALTER TABLE samples RENAME TO samples_v1")?;
                run(SCHEMA_BATTERY)?;
                run(SCHEMA_DATA)?;
                run(MIGRATE_1_TO_2_COPY)?;
            }
            other => {
                return Err(Error::new(
                    ErrorKind::Database,
                    format!("{}: unknown schema version {other}", path.display()),
                ));
            }
        }
        run(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
        tx.commit()
            .map_err(|e| Error::sqlite("migrating", &path, e))
    }

    /// Caps the database file at about `max_bytes` (SQLite's `max_page_count`, for this connection): a write
    /// that would grow it further fails with [`ErrorKind::Full`] and stores nothing, and what was stored
    /// before stays. Returns the cap in bytes, rounded to whole pages.
    pub fn limit_size(&self, max_bytes: u64) -> Result<u64> {
        let err = |e| Error::sqlite("limiting the size of", &self.path, e);
        let page: i64 = self
            .conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .map_err(err)?;
        let page = u64::try_from(page).unwrap_or(4096).max(1);
        let pages = (max_bytes / page).max(1);
        let set: i64 = self
            .conn
            .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
                r.get(0)
            })
            .map_err(err)?;
        Ok(u64::try_from(set).unwrap_or(0) * page)
    }

    fn battery_id(tx: &rusqlite::Transaction<'_>, identity: &Identity) -> rusqlite::Result<i64> {
        let mut find = tx.prepare_cached(
            "SELECT id FROM battery WHERE vendor = ?1 AND model = ?2 AND serial = ?3",
        )?;
        let ident = params![identity.vendor, identity.model, identity.serial];
        if let Some(id) = find.query_row(ident, |r| r.get(0)).optional()? {
            return Ok(id);
        }
        tx.prepare_cached("INSERT INTO battery (vendor, model, serial) VALUES (?1, ?2, ?3)")?
            .execute(ident)?;
        Ok(tx.last_insert_rowid())
    }

    /// Stores samples and events in one transaction: all of them are stored, or (on any error) none.
    /// A sample with the same battery and time as a stored one replaces it.
    pub fn insert(
        &mut self,
        samples: &[(Identity, Sample)],
        events: &[(Identity, Event)],
    ) -> Result<()> {
        let path = self.path.clone();
        let err = |e| Error::sqlite("writing to", &path, e);
        let tx = self.conn.transaction().map_err(err)?;
        {
            let mut ids: Vec<(&Identity, i64)> = Vec::new();
            let mut id_of = |tx: &rusqlite::Transaction<'_>, identity| -> rusqlite::Result<i64> {
                if let Some(&(_, id)) = ids.iter().find(|(i, _)| *i == identity) {
                    return Ok(id);
                }
                let id = Self::battery_id(tx, identity)?;
                ids.push((identity, id));
                Ok(id)
            };
            let mut put = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO samples (battery, t, state, percentage, energy_mwh, energy_full_mwh,
                     energy_full_design_mwh, power_mw, voltage_mv, temperature_dc, cycle_count, health,
                     external_power) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                )
                .map_err(err)?;
            for (identity, s) in samples {
                let id = id_of(&tx, identity).map_err(err)?;
                put.execute(params![
                    id,
                    s.time,
                    state_code(s.state),
                    scale(s.percentage, 100.0),
                    scale(s.energy_wh, 1000.0),
                    scale(s.energy_full_wh, 1000.0),
                    scale(s.energy_full_design_wh, 1000.0),
                    scale(s.power_w, 1000.0),
                    scale(s.voltage_v, 1000.0),
                    scale(s.temperature_c, 10.0),
                    s.cycle_count,
                    scale(s.health_percent, 100.0),
                    s.external_power,
                ])
                .map_err(err)?;
            }
            let mut put = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO events (battery, t, kind, percentage) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(err)?;
            for (identity, e) in events {
                let id = id_of(&tx, identity).map_err(err)?;
                put.execute(params![
                    id,
                    e.time,
                    e.kind.code(),
                    scale(e.percentage, 100.0)
                ])
                .map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    /// Every battery with stored data, sorted.
    pub fn batteries(&self) -> Result<Vec<Identity>> {
        let err = |e| Error::sqlite("reading", &self.path, e);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT vendor, model, serial FROM battery ORDER BY vendor, model, serial",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Identity {
                    vendor: r.get(0)?,
                    model: r.get(1)?,
                    serial: r.get(2)?,
                })
            })
            .map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    fn id(&self, identity: &Identity) -> Result<Option<i64>> {
        self.conn
            .prepare_cached(
                "SELECT id FROM battery WHERE vendor = ?1 AND model = ?2 AND serial = ?3",
            )
            .and_then(|mut s| {
                s.query_row(
                    params![identity.vendor, identity.model, identity.serial],
                    |r| r.get(0),
                )
                .optional()
            })
            .map_err(|e| Error::sqlite("reading", &self.path, e))
    }

    /// Runs `sql` (with `?1` the battery's row id and `?2` the time bound) for `identity`, mapping each row.
    fn rows_of<T>(
        &self,
        identity: &Identity,
        since: i64,
        sql: &str,
        map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let Some(id) = self.id(identity)? else {
            return Ok(Vec::new());
        };
        let err = |e| Error::sqlite("reading", &self.path, e);
        let mut stmt = self.conn.prepare_cached(sql).map_err(err)?;
        let rows = stmt.query_map(params![id, since], map).map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    /// The samples of `identity` taken at or after `since` (Unix seconds), oldest first.
    pub fn samples(&self, identity: &Identity, since: i64) -> Result<Vec<Sample>> {
        self.rows_of(
            identity,
            since,
            "SELECT t, state, percentage, energy_mwh, energy_full_mwh, energy_full_design_mwh, power_mw,
             voltage_mv, temperature_dc, cycle_count, health, external_power
             FROM samples WHERE battery = ?1 AND t >= ?2 ORDER BY t",
            |r| {
                Ok(Sample {
                    time: r.get(0)?,
                    state: state_from_code(r.get(1)?),
                    percentage: unscale(r.get(2)?, 100.0),
                    energy_wh: unscale(r.get(3)?, 1000.0),
                    energy_full_wh: unscale(r.get(4)?, 1000.0),
                    energy_full_design_wh: unscale(r.get(5)?, 1000.0),
                    power_w: unscale(r.get(6)?, 1000.0),
                    voltage_v: unscale(r.get(7)?, 1000.0),
                    temperature_c: unscale(r.get(8)?, 10.0),
                    cycle_count: r.get(9)?,
                    health_percent: unscale(r.get(10)?, 100.0),
                    external_power: r.get(11)?,
                })
            },
        )
    }

    /// The hourly rows of `identity` from `since` on, oldest first.
    pub fn hourly(&self, identity: &Identity, since: i64) -> Result<Vec<Hourly>> {
        self.rows_of(
            identity,
            since,
            "SELECT hour, n, discharging, percentage_min, percentage_max, percentage_mean, power_min,
             power_max, power_mean, temperature_min, temperature_max, temperature_mean, energy_full_mwh,
             health, cycle_count FROM hourly WHERE battery = ?1 AND hour >= ?2 ORDER BY hour",
            |r| {
                let min_max_mean = |i: usize, div: f64| -> rusqlite::Result<Option<Stat>> {
                    Ok(
                        match (
                            unscale(r.get(i)?, div),
                            unscale(r.get(i + 1)?, div),
                            unscale(r.get(i + 2)?, div),
                        ) {
                            (Some(min), Some(max), Some(mean)) => Some(Stat { min, max, mean }),
                            _ => None,
                        },
                    )
                };
                Ok(Hourly {
                    hour: r.get(0)?,
                    samples: r.get(1)?,
                    discharging: r.get(2)?,
                    percentage: min_max_mean(3, 100.0)?,
                    power_w: min_max_mean(6, 1000.0)?,
                    temperature_c: min_max_mean(9, 10.0)?,
                    energy_full_wh: unscale(r.get(12)?, 1000.0),
                    health_percent: unscale(r.get(13)?, 100.0),
                    cycle_count: r.get(14)?,
                })
            },
        )
    }

    /// The events of `identity` from `since` on, oldest first. A kind this build does not know (written by
    /// a newer one) is left out rather than guessed.
    pub fn events(&self, identity: &Identity, since: i64) -> Result<Vec<Event>> {
        let rows = self.rows_of(
            identity,
            since,
            "SELECT t, kind, percentage FROM events WHERE battery = ?1 AND t >= ?2 ORDER BY t, kind",
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get(2)?)),
        )?;
        Ok(rows
            .into_iter()
            .filter_map(|(time, kind, pct)| {
                Some(Event {
                    time,
                    kind: EventKind::from_code(kind)?,
                    percentage: unscale(pct, 100.0),
                })
            })
            .collect())
    }

    /// Number of stored samples, all batteries.
    pub fn sample_count(&self) -> Result<u64> {
        self.conn
            .query_row("SELECT count(*) FROM samples", [], |r| r.get::<_, i64>(0))
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(|e| Error::sqlite("reading", &self.path, e))
    }

    /// Folds samples older than `retention.detail` (whole hours) into hourly rows, deletes hourly rows
    /// and events older than `retention.hourly`, and gives the freed pages back to the file system. One
    /// transaction: an interruption leaves the store as it was.
    pub fn compact(&mut self, now: i64, retention: &Retention) -> Result<Compacted> {
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        let cutoff = now.saturating_sub(secs(retention.detail)).div_euclid(3600) * 3600;
        let drop_before = now.saturating_sub(secs(retention.hourly));
        let path = self.path.clone();
        let err = |e| Error::sqlite("compacting", &path, e);
        let tx = self.conn.transaction().map_err(err)?;
        // Merging into an existing hour (samples written late, or a shorter retention than before) keeps
        // min/max exact and weights the means by sample count. SQLite's two-argument min/max return NULL if
        // either side is NULL, hence the coalesce on both sides.
        tx.execute(
            "INSERT INTO hourly (battery, hour, n, discharging, percentage_min, percentage_max, percentage_mean,
                power_min, power_max, power_mean, temperature_min, temperature_max, temperature_mean,
                energy_full_mwh, health, cycle_count)
             SELECT battery, (t / 3600) * 3600, count(*), sum(state = 2),
                min(percentage), max(percentage), round(avg(percentage)),
                min(power_mw), max(power_mw), round(avg(power_mw)),
                min(temperature_dc), max(temperature_dc), round(avg(temperature_dc)),
                round(avg(energy_full_mwh)), round(avg(health)), max(cycle_count)
             FROM samples WHERE t < ?1 GROUP BY battery, t / 3600
             ON CONFLICT (battery, hour) DO UPDATE SET
                percentage_min = min(coalesce(percentage_min, excluded.percentage_min), coalesce(excluded.percentage_min, percentage_min)),
                percentage_max = max(coalesce(percentage_max, excluded.percentage_max), coalesce(excluded.percentage_max, percentage_max)),
                percentage_mean = round((coalesce(percentage_mean, excluded.percentage_mean) * n + coalesce(excluded.percentage_mean, percentage_mean) * excluded.n) / (n + excluded.n)),
                power_min = min(coalesce(power_min, excluded.power_min), coalesce(excluded.power_min, power_min)),
                power_max = max(coalesce(power_max, excluded.power_max), coalesce(excluded.power_max, power_max)),
                power_mean = round((coalesce(power_mean, excluded.power_mean) * n + coalesce(excluded.power_mean, power_mean) * excluded.n) / (n + excluded.n)),
                temperature_min = min(coalesce(temperature_min, excluded.temperature_min), coalesce(excluded.temperature_min, temperature_min)),
                temperature_max = max(coalesce(temperature_max, excluded.temperature_max), coalesce(excluded.temperature_max, temperature_max)),
                temperature_mean = round((coalesce(temperature_mean, excluded.temperature_mean) * n + coalesce(excluded.temperature_mean, temperature_mean) * excluded.n) / (n + excluded.n)),
                energy_full_mwh = coalesce(excluded.energy_full_mwh, energy_full_mwh),
                health = coalesce(excluded.health, health),
                cycle_count = max(coalesce(cycle_count, excluded.cycle_count), coalesce(excluded.cycle_count, cycle_count)),
                discharging = discharging + excluded.discharging,
                n = n + excluded.n",
            [cutoff],
        )
        .map_err(err)?;
        let samples = tx
            .execute("DELETE FROM samples WHERE t < ?1", [cutoff])
            .map_err(err)?;
        let hours_dropped = tx
            .execute("DELETE FROM hourly WHERE hour < ?1", [drop_before])
            .map_err(err)?;
        let events_dropped = tx
            .execute("DELETE FROM events WHERE t < ?1", [drop_before])
            .map_err(err)?;
        tx.commit().map_err(err)?;
        self.conn
            .execute_batch("PRAGMA incremental_vacuum; PRAGMA wal_checkpoint(TRUNCATE);")
            .map_err(|e| Error::sqlite("compacting", &self.path, e))?;
        Ok(Compacted {
            samples: samples as u64,
            hours_dropped: hours_dropped as u64,
            events_dropped: events_dropped as u64,
        })
    }

    /// SQLite's own consistency check (`PRAGMA integrity_check`): `Ok(())` or the problems it lists.
    pub fn check(&self) -> Result<()> {
        let err = |e| Error::sqlite("checking", &self.path, e);
        let mut stmt = self.conn.prepare("PRAGMA integrity_check").map_err(err)?;
        let lines: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .map_err(err)?
            .collect::<rusqlite::Result<_>>()
            .map_err(err)?;
        if lines.len() == 1 && lines[0] == "ok" {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::Corrupt,
                format!("{}: {}", self.path.display(), lines.join("; ")),
            ))
        }
    }
}

fn state_code(state: State) -> i64 {
    match state {
        State::Charging => 1,
        State::Discharging => 2,
        State::Full => 3,
        State::NotCharging => 4,
        State::Empty => 5,
        _ => 0,
    }
}

fn state_from_code(code: i64) -> State {
    match code {
        1 => State::Charging,
        2 => State::Discharging,
        3 => State::Full,
        4 => State::NotCharging,
        5 => State::Empty,
        _ => State::Unknown,
    }
}

/// `value × factor` rounded, for storage; values beyond ±2^53 (never a real reading) are not stored.
fn scale(value: Option<f64>, factor: f64) -> Option<i64> {
    value
        .map(|v| (v * factor).round())
        .filter(|v| v.is_finite() && v.abs() < 9.0e15)
        .map(|v| v as i64)
}

fn unscale(value: Option<i64>, factor: f64) -> Option<f64> {
    value.map(|v| v as f64 / factor)
}
