//! `voltaic`: battery state, health and power sources, as text or JSON.
//!
//! Exit codes: 0 success (also when the machine has no battery), 1 error, 2 usage error. A closed
//! standard output (`voltaic | head -1`) ends the program quietly with 0.

mod json;
mod text;
mod watch;

use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use voltaic::{Kind, Manager, Snapshot, Summary};

#[derive(Parser)]
#[command(
    name = "voltaic",
    version,
    about = "Battery state, health and power sources, as text or JSON",
    after_help = "Exit codes: 0 ok (also when there is no battery), 1 error, 2 usage.\n\
                  Colour only on a terminal; never with NO_COLOR set.\n\
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
    /// `voltaic record` file, or Linux uevent text.
    #[arg(long, value_name = "PATH", global = true)]
    replay: Option<PathBuf>,
    /// Include peripheral batteries (mice, keyboards, game pads, headsets).
    #[arg(long, short = 'a', global = true)]
    all: bool,
}

#[derive(Args, Clone)]
struct OutputArgs {
    /// Print one JSON document (schema: voltaic.schema.json) instead of text.
    #[arg(long, global = true)]
    json: bool,
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
    /// Always colour (still not with NO_COLOR set).
    Always,
    /// Never colour.
    Never,
}

#[derive(Subcommand)]
enum Command {
    /// Show the batteries and power sources (the default).
    Show,
    /// Print every device's raw record, as the OS gave it, for a bug report; `--replay` reads it back.
    Record,
    /// Wait for changes and print one line (text) or one JSON document (--json, NDJSON) per change,
    /// with the time and what changed. Sleeps until the OS announces a change where it can.
    Watch(WatchArgs),
    /// Watch the batteries in a terminal viewer: a tab per battery, charge gauge, charts over time,
    /// details. Keys: ←/→ switch battery, + / - interval, p pause, u units, ? help, q quit.
    Top(TopArgs),
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(io::stderr(), "voltaic: error: {e:#}");
            ExitCode::FAILURE
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
    let manager = manager(&cli.source)?;
    match &cli.command {
        None | Some(Command::Show) => {
            let (snapshot, hidden) = read(&manager, cli.source.all)?;
            emit(&render(&snapshot, hidden, &cli.output))
        }
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
                let _ = writeln!(out, "# unreadable {}: {}", skipped.id, skipped.reason);
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
    }
}

/// Runs the terminal viewer.
fn top(manager: Manager, cli: &Cli, args: &TopArgs) -> Result<()> {
    if cli.output.json {
        anyhow::bail!(
            "`voltaic top` draws in the terminal; --json does not apply (try `voltaic watch --json`)"
        );
    }
    let no_color = matches!(cli.output.color, ColorChoice::Never)
        || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme = match args.theme {
        _ if no_color => voltaic_top::Theme::Mono,
        ThemeArg::Auto => voltaic_top::Theme::from_env(),
        ThemeArg::Light => voltaic_top::Theme::Light,
        ThemeArg::Dark => voltaic_top::Theme::Dark,
    };
    let source = match &cli.source.replay {
        Some(path) => format!("replay {}", path.display()),
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
    };
    voltaic_top::run(manager, options).context("voltaic top")
}

/// A reading, with peripherals left out unless `all`; also returns how many were left out.
fn read(manager: &Manager, all: bool) -> Result<(Snapshot, usize)> {
    let mut snapshot = manager.snapshot().context("cannot read the batteries")?;
    let before = snapshot.batteries.len();
    if !all {
        snapshot.batteries.retain(|b| b.kind == Kind::System);
    }
    let hidden = before - snapshot.batteries.len();
    Ok((snapshot, hidden))
}

/// The `--json` document of a reading and its summary.
fn render_json<'a>(snapshot: &'a Snapshot, summary: &Summary) -> json::Document<'a> {
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
        summary: json::SummaryView::new(summary),
    }
}

fn render(snapshot: &Snapshot, hidden: usize, output: &OutputArgs) -> String {
    let summary = Summary::new(
        &snapshot.batteries,
        &snapshot.power_sources,
        &voltaic::WarningConfig::default(),
        voltaic::WarningLevel::None,
    );
    if output.json {
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
    // https://no-color.org: any non-empty NO_COLOR disables colour.
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    match choice {
        ColorChoice::Never => false,
        _ if no_color => false,
        ColorChoice::Always => true,
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
