//! `voltaic log`, `voltaic history`, `voltaic report`: the battery history kept in an SQLite file.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use voltaic::{Battery, Kind, Manager, Watcher};
use voltaic_history::{
    BatteryHistory, Logger, LoggerLock, Retention, SessionKind, Store, analyse, date, date_time,
    report,
};

use crate::text::fmt_duration;

#[derive(Subcommand)]
pub enum Command {
    /// Record the batteries into the history database, in the foreground until interrupted: a sample
    /// on every change, and at least one per --idle minutes otherwise; old samples are folded into
    /// hourly summaries.
    Log(LogArgs),
    /// Summarise the stored history per battery: capacity trend, cycles, charge and discharge sessions,
    /// time on battery per day.
    History(HistoryArgs),
    /// Write the battery report: one self-contained HTML page with charts of health, charge level,
    /// power draw and cycles.
    Report(ReportArgs),
}

#[derive(Args)]
pub struct DbArgs {
    /// The history database [default: voltaic/history.sqlite in the data directory: $XDG_DATA_HOME or
    /// ~/.local/share, ~/Library/Application Support, %LOCALAPPDATA%].
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
}

#[derive(Args)]
pub struct LogArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Seconds between readings where the OS does not announce changes (a replay, a system without a
    /// notification path), and while a battery charges or discharges (firmware does not announce every
    /// percent). Elsewhere the logger sleeps until the OS announces a change.
    #[arg(long, short = 'n', default_value_t = 10.0, value_parser = parse_interval)]
    interval: f64,
    /// Minutes between samples while nothing changes (1 to 60).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=60))]
    idle: u64,
    /// Days every sample is kept before it is folded into hourly min/max/mean.
    #[arg(long, value_name = "DAYS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=36_500))]
    keep_detail: u64,
    /// Days hourly summaries and events are kept.
    #[arg(long, value_name = "DAYS", default_value_t = 730, value_parser = clap::value_parser!(u64).range(1..=36_500))]
    keep_hourly: u64,
    /// Stop after this many readings (default: run until interrupted).
    #[arg(long, hide = true)]
    count: Option<u64>,
}

#[derive(Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    db: DbArgs,
    /// How far back: a number with s, m, h, d or w (`7d`, `12h`, `2w`).
    #[arg(long, default_value = "7d", value_parser = parse_age)]
    since: Duration,
    /// Print one row per battery and day as CSV.
    #[arg(long, conflicts_with = "json")]
    csv: bool,
}

#[derive(Args)]
pub struct ReportArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Where to write the report (`-` for standard output).
    #[arg(long, short = 'o', default_value = "battery-report.html")]
    output: PathBuf,
    /// How far back: a number with s, m, h, d or w.
    #[arg(long, default_value = "365d", value_parser = parse_age)]
    since: Duration,
}

fn parse_interval(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if v.is_finite() && (0.1..=3600.0).contains(&v) {
        Ok(v)
    } else {
        Err("the interval must be between 0.1 and 3600 seconds".into())
    }
}

fn parse_age(s: &str) -> Result<Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}`: expected a number and a unit, like 7d"))?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" | "" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(format!("`{s}`: the unit must be s, m, h, d or w")),
    };
    n.checked_mul(secs)
        .filter(|v| *v <= 100 * 366 * 86_400)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("`{s}` is more than a century"))
}

/// Runs one history subcommand.
pub fn run(
    command: &Command,
    manager: &Manager,
    json: bool,
    all: bool,
    verbose: bool,
) -> Result<()> {
    match command {
        Command::Log(args) => {
            if json {
                bail!("`voltaic log` records into the database; --json does not apply");
            }
            log(args, manager, all, verbose)
        }
        Command::History(args) => history(args, json),
        Command::Report(args) => {
            if json {
                bail!("`voltaic report` writes HTML; for JSON use `voltaic history --json`");
            }
            write_report(args)
        }
    }
}

fn db_path(args: &DbArgs) -> Result<PathBuf> {
    match &args.db {
        Some(p) => Ok(p.clone()),
        None => voltaic_history::default_path().context(
            "no data directory: set HOME (XDG_DATA_HOME, LOCALAPPDATA on Windows) or give --db PATH",
        ),
    }
}

/// Opens the database for reading; a missing file is an error that says how to create one.
fn open_existing(args: &DbArgs) -> Result<Store> {
    let path = db_path(args)?;
    if !path.exists() {
        bail!(
            "no battery history at {} yet: run `voltaic log` to record some (or give --db PATH)",
            path.display()
        );
    }
    Store::open(&path).with_context(|| format!("cannot open {}", path.display()))
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// The logger's seam to the batteries: block until they changed or `timeout` passed, then read them.
///
/// [`Changes`] sleeps until the OS announces a change; [`Poll`] is the fallback that reads every `interval`.
trait Readings {
    fn next(&mut self, timeout: Duration) -> Result<Vec<Battery>>;
}

/// Sleeps in the library's [`Watcher`] until the OS announces a change (or the watcher's own fallback
/// poll, every `interval` while a battery charges or discharges, finds one), at most `timeout`.
struct Changes {
    watcher: Watcher,
    all: bool,
    first: bool,
}

impl Readings for Changes {
    fn next(&mut self, timeout: Duration) -> Result<Vec<Battery>> {
        if !self.first {
            self.watcher
                .wait(Some(timeout))
                .context("cannot wait for battery changes")?;
        }
        self.first = false;
        Ok(self
            .watcher
            .snapshot()
            .batteries
            .iter()
            .filter(|b| self.all || b.kind == Kind::System)
            .cloned()
            .collect())
    }
}

/// Reads [`Manager::snapshot`] every `interval` (at most `timeout` apart): where the OS announces
/// nothing (a replay, a system voltaic has no notification path for).
struct Poll<'a> {
    manager: &'a Manager,
    interval: Duration,
    all: bool,
    first: bool,
}

impl Readings for Poll<'_> {
    fn next(&mut self, timeout: Duration) -> Result<Vec<Battery>> {
        if !self.first {
            thread::sleep(self.interval.min(timeout));
        }
        self.first = false;
        let mut batteries = self
            .manager
            .batteries()
            .context("cannot read the batteries")?;
        if !self.all {
            batteries.retain(|b| b.kind == Kind::System);
        }
        Ok(batteries)
    }
}

fn log(args: &LogArgs, manager: &Manager, all: bool, verbose: bool) -> Result<()> {
    let path = db_path(&args.db)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the directory {}", dir.display()))?;
    }
    let _lock = LoggerLock::acquire(&path)?;
    let mut store =
        Store::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    let retention = Retention {
        detail: Duration::from_secs(args.keep_detail * 86_400),
        hourly: Duration::from_secs(args.keep_hourly * 86_400),
    };
    let idle = Duration::from_secs(args.idle * 60);
    let mut logger = Logger::new(idle, retention);
    eprintln!(
        "voltaic: logging to {} (process {}); samples on change, at least every {} min; \
         detail kept {} days, hourly {} days",
        path.display(),
        std::process::id(),
        args.idle,
        args.keep_detail,
        args.keep_hourly
    );
    let interval = Duration::from_secs_f64(args.interval);
    let watcher = manager
        .watch()
        .ok()
        .filter(Watcher::is_native)
        .map(|mut watcher| {
            watcher.set_poll_interval(interval);
            watcher
        });
    let mut readings: Box<dyn Readings + '_> = match watcher {
        Some(watcher) => Box::new(Changes {
            watcher,
            all,
            first: true,
        }),
        None => Box::new(Poll {
            manager,
            interval,
            all,
            first: true,
        }),
    };
    log_loop(
        &mut store,
        &mut logger,
        readings.as_mut(),
        idle,
        args.count,
        verbose,
    )
}

/// The logging loop: wait for a change (or the idle timeout), hand the reading to the logger.
fn log_loop(
    store: &mut Store,
    logger: &mut Logger,
    readings: &mut dyn Readings,
    idle: Duration,
    count: Option<u64>,
    verbose: bool,
) -> Result<()> {
    let mut taken = 0u64;
    while count.is_none_or(|c| taken < c) {
        let batteries = readings.next(idle)?;
        let now = unix_now();
        let seen = logger
            .observe(store, now, &batteries)
            .with_context(|| format!("cannot record into {}", store.path().display()))?;
        if verbose && (seen.samples > 0 || seen.events > 0) {
            eprintln!(
                "voltaic: {} stored {} sample(s), {} event(s)",
                date_time(now),
                seen.samples,
                seen.events
            );
        }
        if seen.compacted > 0 {
            eprintln!(
                "voltaic: folded {} old samples into hourly summaries",
                seen.compacted
            );
        }
        taken += 1;
    }
    Ok(())
}

/// A device string made safe for a terminal: control characters (escape sequences) replaced.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

fn history(args: &HistoryArgs, json: bool) -> Result<()> {
    let store = open_existing(&args.db)?;
    let now = unix_now();
    let histories = analyse(&store, now.saturating_sub(secs(args.since)), now)
        .with_context(|| format!("cannot read {}", store.path().display()))?;
    let out = if json {
        let mut text = serde_json::to_string_pretty(&serde_json::json!({
            "database": store.path(),
            "since": now.saturating_sub(secs(args.since)),
            "batteries": histories,
        }))?;
        text.push('\n');
        text
    } else if args.csv {
        csv(&histories)
    } else {
        text(&histories, args.since, store.path())
    };
    crate::emit(&out)
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0u32), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / f64::from(n))
}

fn session_line(out: &mut String, h: &BatteryHistory, kind: SessionKind) {
    let sessions: Vec<_> = h.sessions.iter().filter(|s| s.kind == kind).collect();
    let n = sessions.len();
    let _ = write!(
        out,
        "  {:<12}{n} session{}",
        kind.as_str(),
        if n == 1 { "" } else { "s" }
    );
    if let Some(d) = mean(sessions.iter().map(|s| (s.end - s.start) as f64)) {
        let _ = write!(
            out,
            ", {} each on average",
            fmt_duration(Duration::from_secs(d as u64))
        );
    }
    if let Some(p) = mean(sessions.iter().filter_map(|s| s.average_power_w)) {
        let _ = write!(out, ", at {p:.1} W");
    }
    out.push('\n');
}

/// `capacity   24.04 Wh of 23.51 Wh design (102.3 %); trend -9.5 points a year …`
fn capacity_line(out: &mut String, h: &BatteryHistory) {
    let _ = write!(out, "  {:<12}", "capacity");
    match (h.energy_full_wh, h.energy_full_design_wh) {
        (Some(f), Some(d)) if d > 0.0 => {
            let _ = write!(
                out,
                "{f:.2} Wh of {d:.2} Wh design ({:.1} %)",
                f / d * 100.0
            );
        }
        (Some(f), _) => {
            let _ = write!(out, "{f:.2} Wh full");
        }
        _ => out.push_str("not reported"),
    }
    match &h.trend {
        Some(t) => {
            let _ = write!(
                out,
                "; trend {:+.1} points a year over {} days",
                t.per_year, t.days
            );
            if let Some(d) = &t.reaches_threshold_date {
                let _ = write!(
                    out,
                    ", {:.0} % around {d}",
                    voltaic_history::HEALTH_THRESHOLD
                );
            }
        }
        None => out.push_str("; too few days for a trend"),
    }
    out.push('\n');
}

fn text(histories: &[BatteryHistory], since: Duration, db: &Path) -> String {
    let mut out = String::new();
    if histories.is_empty() {
        let _ = writeln!(
            out,
            "No battery history in the last {} in {}.",
            fmt_duration(since),
            db.display()
        );
    }
    for h in histories {
        let _ = writeln!(out, "{}", printable(&h.identity.to_string()));
        if let (Some(first), Some(last)) = (h.first, h.last) {
            let _ = writeln!(
                out,
                "  {:<12}{} to {} UTC ({} samples, {} hourly summaries)",
                "recorded",
                date_time(first),
                date_time(last),
                h.samples,
                h.hours
            );
        }
        capacity_line(&mut out, h);
        match (h.cycles_first, h.cycles_last) {
            (Some(a), Some(b)) if a != b => {
                let _ = writeln!(out, "  {:<12}{a} → {b}", "cycles");
            }
            (_, Some(b)) => {
                let _ = writeln!(out, "  {:<12}{b}", "cycles");
            }
            _ => {}
        }
        session_line(&mut out, h, SessionKind::Charge);
        session_line(&mut out, h, SessionKind::Discharge);
        if let Some(m) = mean(h.on_battery.iter().map(|d| d.seconds as f64)) {
            let _ = writeln!(
                out,
                "  {:<12}{} a day on average, over {} day{} with use",
                "on battery",
                fmt_duration(Duration::from_secs(m as u64)),
                h.on_battery.len(),
                if h.on_battery.len() == 1 { "" } else { "s" }
            );
        }
        if h.hours > 0 {
            let _ = writeln!(
                out,
                "  {:<12}sessions come from the samples kept in full; older data is hourly",
                ""
            );
        }
        let recent: Vec<_> = h.sessions.iter().rev().take(8).collect();
        if !recent.is_empty() {
            let _ = writeln!(out, "  latest sessions:");
        }
        for s in recent.into_iter().rev() {
            let pct = |p: Option<f64>| p.map_or_else(|| "?".to_owned(), |p| format!("{p:.0} %"));
            let _ = writeln!(
                out,
                "    {}  {:<9}  {:>5} → {:<5}  {:>10}  {}",
                date_time(s.start),
                s.kind.as_str(),
                pct(s.start_percentage),
                pct(s.end_percentage),
                fmt_duration(Duration::from_secs(
                    u64::try_from(s.end - s.start).unwrap_or(0)
                )),
                s.average_power_w
                    .map(|p| format!("{p:.1} W"))
                    .unwrap_or_default()
            );
        }
        out.push('\n');
    }
    out
}

/// Quotes a CSV field when it needs it (RFC 4180); control characters are replaced.
fn csv_field(s: &str) -> String {
    let s = printable(s);
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// One row per battery and UTC day.
fn csv(histories: &[BatteryHistory]) -> String {
    let mut out = String::from(
        "vendor,model,serial,date,health_percent,energy_full_wh,cycle_count,on_battery_s,\
         charge_sessions,discharge_sessions,discharge_mean_power_w\n",
    );
    for h in histories {
        let mut dates: Vec<&str> = h.capacity.iter().map(|d| d.date.as_str()).collect();
        dates.extend(h.on_battery.iter().map(|d| d.date.as_str()));
        dates.sort_unstable();
        dates.dedup();
        let num = |v: Option<f64>, decimals: usize| {
            v.map(|v| format!("{v:.decimals$}")).unwrap_or_default()
        };
        for day in dates {
            let cap = h.capacity.iter().find(|d| d.date == day);
            let on = h
                .on_battery
                .iter()
                .find(|d| d.date == day)
                .map_or(0, |d| d.seconds);
            let in_day = |kind| {
                h.sessions
                    .iter()
                    .filter(move |s| s.kind == kind && date(s.start) == day)
            };
            let _ = writeln!(
                out,
                "{},{},{},{day},{},{},{},{on},{},{},{}",
                csv_field(&h.identity.vendor),
                csv_field(&h.identity.model),
                csv_field(&h.identity.serial),
                num(cap.and_then(|c| c.health_percent), 2),
                num(cap.and_then(|c| c.energy_full_wh), 3),
                cap.and_then(|c| c.cycle_count)
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
                in_day(SessionKind::Charge).count(),
                in_day(SessionKind::Discharge).count(),
                num(
                    mean(in_day(SessionKind::Discharge).filter_map(|s| s.average_power_w)),
                    2
                ),
            );
        }
    }
    out
}

fn write_report(args: &ReportArgs) -> Result<()> {
    let store = open_existing(&args.db)?;
    let now = unix_now();
    let histories = analyse(&store, now.saturating_sub(secs(args.since)), now)
        .with_context(|| format!("cannot read {}", store.path().display()))?;
    let html = report::render(&histories, now);
    if args.output == Path::new("-") {
        return crate::emit(&html);
    }
    std::fs::write(&args.output, html)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    eprintln!("voltaic: wrote {}", args.output.display());
    Ok(())
}

/// How far back `voltaic top` pre-fills its charts from the history.
const TOP_PREFILL: i64 = 6 * 3600;

/// The last hours of stored samples for each battery `manager` reads now, keyed by its OS id, to start
/// `voltaic top`'s charts with. Empty when there is no history database or it cannot be read: the viewer
/// must open without it.
pub fn top_prefill(manager: &Manager, all: bool) -> Vec<(String, Vec<voltaic_top::Point>)> {
    let Some(path) = voltaic_history::default_path().filter(|p| p.exists()) else {
        return Vec::new();
    };
    let (Ok(store), Ok(batteries)) = (Store::open(&path), manager.batteries()) else {
        return Vec::new();
    };
    let since = unix_now() - TOP_PREFILL;
    batteries
        .iter()
        .filter(|b| all || b.kind == Kind::System)
        .filter_map(|b| {
            let samples = store
                .samples(&voltaic_history::Identity::of(b), since)
                .ok()?;
            let points = samples
                .into_iter()
                .map(|s| voltaic_top::Point {
                    t: s.time as f64,
                    percentage: s.percentage,
                    state: s.state,
                    power_w: s.power_w,
                    voltage_v: s.voltage_v,
                    temperature_c: s.temperature_c,
                })
                .collect();
            Some((b.id.clone(), points))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        assert_eq!(parse_age("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_age("12h"), Ok(Duration::from_secs(12 * 3600)));
        assert_eq!(parse_age("2w"), Ok(Duration::from_secs(14 * 86_400)));
        assert_eq!(parse_age("30"), Ok(Duration::from_secs(30 * 86_400)));
        assert!(parse_age("7y").is_err());
        assert!(parse_age("d").is_err());
        assert!(parse_age("99999999999999d").is_err());
    }

    #[test]
    fn csv_fields_are_quoted_and_cleaned() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"x\""), "\"say \"\"x\"\"\"");
        assert_eq!(csv_field("\u{1b}[2J"), "\u{FFFD}[2J");
    }
}
