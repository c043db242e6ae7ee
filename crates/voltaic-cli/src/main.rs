//! `voltaic`: battery state, health and power sources, as text or JSON.
//!
//! Exit codes: 0 success (also when the machine has no battery), 1 error, 2 usage error. A closed
//! standard output (`voltaic | head -1`) ends the program quietly with 0.
//!
//! On Linux with glibc the program starts at the C `main` itself (`no_main`): std's own start-up
//! (`lang_start`) reads `/proc/self/maps` to place a stack guard and installs a stack-overflow handler
//! with its own signal stack, about 65 k instructions and 14 system calls: a quarter of a whole
//! `voltaic --json` once the dynamic loader and clap were out of its way. The parsers are bounded in
//! depth, so a stack overflow is not an expected failure (without the handler it ends the process by
//! SIGSEGV, not with a message; a panic aborts instead of exiting with 101). What start-up did that the
//! program relies on (SIGPIPE ignored, standard output flushed) is done in [`main`].
#![cfg_attr(all(target_os = "linux", target_env = "gnu", not(test)), no_main)]

mod extra;
mod history;
mod json;
mod limit;
mod metrics;
mod quick_args;
mod serve;
mod text;
mod watch;

use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use voltaic::{Manager, Snapshot, Summary};

#[derive(Parser)]
#[command(
    name = "voltaic",
    version,
    about = "Battery state, health and power sources, as text, JSON or metrics",
    after_help = "Exit codes: 0 ok (also when there is no battery), 1 error, 2 usage.\n\
                  Colour only on a terminal and without NO_COLOR, unless --color always.\n\
                  Values marked * were worked out by voltaic rather than reported by the device."
)]
struct Cli {
    #[command(flatten)]
    source: SourceArgs,
    #[command(flatten)]
    output: OutputArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Args, Clone)]
struct SourceArgs {
    /// Read a recording instead of this machine: a directory laid out like /sys/class/power_supply, a
    /// `voltaic record` file, Linux uevent text, macOS `ioreg -a` plist or `ioreg` text, Windows
    /// BatteryQuery dumps, `Win32_Battery` listings or `powercfg /batteryreport /xml`, FreeBSD
    /// `acpiconf -i`, OpenBSD `sysctl hw.sensors` / `apm`, NetBSD `envstat` or `envstat -x` output.
    #[arg(long, value_name = "PATH", global = true)]
    replay: Option<PathBuf>,
    /// Include peripheral batteries (mice, keyboards, game pads, headsets).
    #[arg(long, short = 'a', global = true)]
    all: bool,
}

#[derive(Args, Clone)]
struct OutputArgs {
    /// Print one JSON document (schema: voltaic.schema.json) instead of text; `--format json`.
    #[arg(long, global = true, conflicts_with = "format")]
    json: bool,
    /// Output format: text, json, or openmetrics (Prometheus / node_exporter textfile collector).
    #[arg(long, value_enum, global = true)]
    format: Option<extra::Format>,
    /// When to colour text output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    color: ColorChoice,
    /// Also list devices that were seen but are not shown, with the reason.
    #[arg(long, short = 'v', global = true)]
    verbose: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum ColorChoice {
    /// Colour when standard output is a terminal and NO_COLOR is not set.
    Auto,
    /// Always colour (also with NO_COLOR set: an explicit flag wins, as no-color.org says).
    Always,
    /// Never colour.
    Never,
}

#[derive(Subcommand)]
enum Command {
    /// Show the batteries and power sources (the default).
    Show,
    /// Print every device's raw record, as the OS gave it, for a bug report; `--replay` reads it back.
    /// The record is its own text form (so that `--replay` reads it); --json does not apply.
    Record,
    /// Wait for changes and print one line (text) or one JSON document (--json, NDJSON) per change,
    /// with the time and what changed. Sleeps until the OS announces a change where it can.
    Watch(WatchArgs),
    /// Watch the batteries in a terminal viewer: a tab per battery, charge gauge, charts over time,
    /// details. Keys: ←/→ switch battery, + / - interval, p pause, u units, ? help, q quit.
    Top(TopArgs),
    /// Serve the metrics over HTTP for Prometheus: GET /metrics, read afresh at every scrape.
    Serve(extra::ServeArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to standard output.
    Completions(extra::CompletionsArgs),
    /// Print the manual page (roff) to standard output.
    #[command(hide = true)]
    Man,
    /// Show or set charge limits (thresholds) and charge behaviour: `limit`, `limit set --end 80
    /// [--start 75]`, `limit clear`, `limit behaviour auto|inhibit-charge|force-discharge`.
    Limit(limit::LimitArgs),
    #[command(flatten)]
    History(history::Command),
}

#[derive(Args)]
struct TopArgs {
    /// Seconds between readings (0.25 to 60; `+` and `-` change it while running).
    #[arg(long, short = 'n', default_value_t = 1.0, value_parser = parse_top_interval)]
    interval: f64,
    /// Human units (Wh, °C, "3 h 05 min") or SI units (J, K, seconds); `u` switches.
    #[arg(long, value_enum, default_value_t = UnitsArg::Human)]
    units: UnitsArg,
    /// Colours for a light or dark terminal background; `auto` reads COLORFGBG, else dark.
    /// NO_COLOR or `--color never` draws without colour.
    #[arg(long, value_enum, default_value_t = ThemeArg::Auto)]
    theme: ThemeArg,
    #[command(flatten)]
    not_for_top: extra::NotForTop,
}

#[derive(Clone, Copy, ValueEnum)]
enum UnitsArg {
    /// Wh, W, °C, hours and minutes.
    Human,
    /// J, W, K, seconds.
    Si,
}

#[derive(Clone, Copy, ValueEnum)]
enum ThemeArg {
    /// From the COLORFGBG environment variable when set, else dark.
    Auto,
    /// For a light background.
    Light,
    /// For a dark background.
    Dark,
}

fn parse_top_interval(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    let (min, max) = (
        voltaic_top::MIN_INTERVAL.as_secs_f64(),
        voltaic_top::MAX_INTERVAL.as_secs_f64(),
    );
    if v.is_finite() && (min..=max).contains(&v) {
        Ok(v)
    } else {
        Err(format!(
            "the interval must be between {min} and {max} seconds"
        ))
    }
}

#[derive(Args)]
struct WatchArgs {
    /// Fallback polling, in seconds: how often to re-read where the OS does not announce changes
    /// (default 5; on Linux only while a battery charges or discharges, default 30).
    #[arg(long, short = 'n', value_parser = parse_interval)]
    interval: Option<f64>,
    /// Stop after printing this many lines (text: groups of lines) or documents (default: run until
    /// interrupted or the output is closed).
    #[arg(long)]
    count: Option<u64>,
}

fn parse_interval(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if v.is_finite() && (0.1..=86_400.0).contains(&v) {
        Ok(v)
    } else {
        Err("the interval must be between 0.1 and 86400 seconds".into())
    }
}

/// The C entry point (Linux with glibc; see the crate docs). glibc has already handed the arguments to
/// std (`std::env::args_os` reads them from its `.init_array` hook), so they are not read from here.
#[cfg(all(target_os = "linux", target_env = "gnu", not(test)))]
#[allow(unsafe_code)] // the entry point must have the C name `main`
#[unsafe(no_mangle)]
extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    // SAFETY: setting a signal's disposition to SIG_IGN, before any other thread exists. A write to a
    // closed pipe then fails with EPIPE, which `run` turns into a quiet exit, as under std's start-up.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let code = run_main();
    // std's start-up flushed standard output at exit; a last line without a newline would be lost.
    let _ = io::stdout().flush();
    code.into()
}

#[cfg(not(all(target_os = "linux", target_env = "gnu", not(test))))]
fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(run_main())
}

/// The program: its exit code.
fn run_main() -> u8 {
    const SUCCESS: u8 = 0;
    const FAILURE: u8 = 1;
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let cli = quick_args::parse(&args).unwrap_or_else(Cli::parse);
    match run(&cli) {
        Ok(()) => SUCCESS,
        Err(e) if is_broken_pipe(&e) => SUCCESS,
        Err(e) if e.is::<limit::Reported>() => FAILURE,
        Err(e) => {
            // The message may quote a path or a recording: escaped like every device string.
            let message = format!("{e:#}");
            let _ = writeln!(
                io::stderr(),
                "voltaic: error: {}",
                voltaic::core::text::escape(&message)
            );
            FAILURE
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<io::Error>())
        .any(|io| io.kind() == io::ErrorKind::BrokenPipe)
}

fn manager(source: &SourceArgs) -> Result<Manager> {
    match &source.replay {
        Some(path) => {
            Manager::replay(path).with_context(|| format!("cannot replay {}", path.display()))
        }
        None => Manager::new().context("cannot read this machine's batteries"),
    }
}

fn run(cli: &Cli) -> Result<()> {
    match &cli.command {
        Some(Command::Completions(args)) => return emit(&extra::completions::<Cli>(args.shell)),
        Some(Command::Man) => return emit(&extra::man_page::<Cli>()?),
        Some(Command::Record) if extra::format(&cli.output).is_some() => {
            extra::usage_error::<Cli>(
                "--json and --format do not apply here: `voltaic record` writes the text form that \
                 --replay reads",
            );
        }
        Some(Command::Serve(args))
            if args.not_here.any() || extra::format(&cli.output).is_some() =>
        {
            extra::usage_error::<Cli>(
                "--json, --format and -v do not apply to `voltaic serve`: it serves metrics",
            );
        }
        Some(Command::Watch(_))
            if extra::format(&cli.output) == Some(extra::Format::Openmetrics) =>
        {
            extra::usage_error::<Cli>(
                "--format openmetrics does not apply to `voltaic watch`: Prometheus scrapes `voltaic serve`, \
                 or reads `voltaic --format openmetrics` through node_exporter's textfile collector",
            );
        }
        Some(Command::Top(args))
            if args.not_for_top.any() || cli.output.json || cli.output.format.is_some() =>
        {
            extra::usage_error::<Cli>(
                "--json, --format and -v do not apply to `voltaic top` (try `voltaic watch --json`)",
            );
        }
        _ => {}
    }
    if let Some(Command::Limit(args)) = &cli.command {
        return limit::run(&cli.source, extra::wants_json(&cli.output), args);
    }
    let manager = manager(&cli.source)?;
    match &cli.command {
        None | Some(Command::Show) => {
            let (snapshot, hidden) = read(&manager, cli.source.all)?;
            emit(&render(&snapshot, hidden, &cli.output))
        }
        Some(Command::Serve(args)) => extra::serve(manager, cli.source.all, args),
        // Handled above: completions and the manual need no manager, and `limit` opens its own (writable
        // replays).
        Some(Command::Completions(_) | Command::Man | Command::Limit(_)) => Ok(()),
        Some(Command::Record) => {
            let (devices, unreadable) = manager.raw().context("cannot read the devices")?;
            let mut out = format!(
                "# voltaic {} record of {} ({} {})\n# Attach this file to a bug report; `voltaic --replay FILE` shows it.\n",
                env!("CARGO_PKG_VERSION"),
                if manager.is_replay() {
                    "a recording"
                } else {
                    "this machine"
                },
                std::env::consts::OS,
                std::env::consts::ARCH,
            );
            for skipped in &unreadable {
                let _ = writeln!(
                    out,
                    "# unreadable {}: {}",
                    voltaic::core::text::escape(&skipped.id),
                    voltaic::core::text::escape(&skipped.reason)
                );
            }
            out.push_str(&voltaic::core::record::print(&devices));
            emit(&out)
        }
        Some(Command::Watch(args)) => watch::run(
            &manager,
            cli.source.all,
            &cli.output,
            args.interval,
            args.count,
        ),
        Some(Command::Top(args)) => top(manager, cli, args),
        Some(Command::History(command)) => history::run(
            command,
            &manager,
            extra::wants_json(&cli.output),
            cli.source.all,
            cli.output.verbose,
        ),
    }
}

/// Runs the terminal viewer.
fn top(manager: Manager, cli: &Cli, args: &TopArgs) -> Result<()> {
    let no_color = match cli.output.color {
        ColorChoice::Never => true,
        ColorChoice::Always => false,
        ColorChoice::Auto => std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
    };
    let theme = match args.theme {
        _ if no_color => voltaic_top::Theme::Mono,
        ThemeArg::Auto => voltaic_top::Theme::from_env(),
        ThemeArg::Light => voltaic_top::Theme::Light,
        ThemeArg::Dark => voltaic_top::Theme::Dark,
    };
    let source = match &cli.source.replay {
        Some(path) => format!(
            "replay {}",
            voltaic::core::text::escape(&path.display().to_string())
        ),
        None => "this machine".to_owned(),
    };
    let options = voltaic_top::Options {
        interval: Duration::from_secs_f64(args.interval),
        units: match args.units {
            UnitsArg::Human => voltaic_top::Units::Human,
            UnitsArg::Si => voltaic_top::Units::Si,
        },
        theme,
        all: cli.source.all,
        source,
        // The last hours from `voltaic log`'s history, when this machine has one (not for a replay).
        prefill: if cli.source.replay.is_none() {
            history::top_prefill(&manager, cli.source.all)
        } else {
            Vec::new()
        },
    };
    voltaic_top::run(manager, options).context("voltaic top")
}

/// A reading, with peripherals left out unless `all`; also returns how many were left out.
fn read(manager: &Manager, all: bool) -> Result<(Snapshot, usize)> {
    let mut snapshot = manager.snapshot().context("cannot read the batteries")?;
    let before = snapshot.batteries.len();
    if !all {
        extra::hide_peripherals(&mut snapshot);
    }
    let hidden = before - snapshot.batteries.len();
    Ok((snapshot, hidden))
}

/// The `--json` document of a reading and its summary.
fn render_json<'a>(snapshot: &'a Snapshot, summary: &'a Summary) -> json::Document<'a> {
    json::Document {
        schema_version: json::SCHEMA_VERSION,
        batteries: snapshot
            .batteries
            .iter()
            .map(json::BatteryView::new)
            .collect(),
        power_sources: snapshot
            .power_sources
            .iter()
            .map(json::SourceView::new)
            .collect(),
        skipped: snapshot
            .skipped
            .iter()
            .map(json::SkippedView::new)
            .collect(),
        summary,
    }
}

fn render(snapshot: &Snapshot, hidden: usize, output: &OutputArgs) -> String {
    if extra::format(output) == Some(extra::Format::Openmetrics) {
        return metrics::render(snapshot, metrics::Flavor::OpenMetrics);
    }
    let summary = Summary::new(
        &snapshot.batteries,
        &snapshot.power_sources,
        &voltaic::WarningConfig::default(),
        voltaic::WarningLevel::None,
    );
    if extra::wants_json(output) {
        let doc = render_json(snapshot, &summary);
        let mut text =
            serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        text.push('\n');
        text
    } else {
        let style = text::Style {
            color: use_color(output.color),
        };
        text::summary_line(&summary, style)
            + &text::report(
                &snapshot.batteries,
                &snapshot.power_sources,
                &snapshot.skipped,
                hidden,
                output.verbose,
                text::Style {
                    color: use_color(output.color),
                },
            )
    }
}

fn use_color(choice: ColorChoice) -> bool {
    // https://no-color.org: any non-empty NO_COLOR disables colour by default; an explicit
    // `--color always` still colours ("user-level configuration ... should override NO_COLOR").
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    match choice {
        ColorChoice::Never => false,
        ColorChoice::Always => true,
        ColorChoice::Auto if no_color => false,
        ColorChoice::Auto => {
            io::stdout().is_terminal() && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
        }
    }
}

fn emit(text: &str) -> Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}
