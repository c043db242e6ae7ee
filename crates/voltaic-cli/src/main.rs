//! `voltaic`: battery state, health and power sources, as text or JSON.
//!
//! Exit codes: 0 success (also when the machine has no battery), 1 error, 2 usage error. A closed
//! standard output (`voltaic | head -1`) ends the program quietly with 0.

mod json;
mod text;

use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use voltaic::{Kind, Manager, Snapshot};

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
    /// Print the report again whenever a value changes.
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
    /// Seconds between readings.
    #[arg(long, short = 'n', default_value_t = 5.0, value_parser = parse_interval)]
    interval: f64,
    /// Stop after this many readings (default: run until interrupted).
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
            // The message may quote a path or a recording: escaped like every device string.
            let message = format!("{e:#}");
            let _ = writeln!(
                io::stderr(),
                "voltaic: error: {}",
                voltaic::core::text::escape(&message)
            );
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
            emit(&render(&snapshot, hidden, &cli.output, false))
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
        Some(Command::Watch(args)) => watch(&manager, cli, args),
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

fn render(snapshot: &Snapshot, hidden: usize, output: &OutputArgs, compact: bool) -> String {
    if output.json {
        let doc = json::Document {
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
        };
        let mut text = if compact {
            serde_json::to_string(&doc)
        } else {
            serde_json::to_string_pretty(&doc)
        }
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        text.push('\n');
        text
    } else {
        text::report(
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

/// Prints a reading, then another each time something changed: text reports separated by a blank
/// line, or one compact JSON document per line (NDJSON).
fn watch(manager: &Manager, cli: &Cli, args: &WatchArgs) -> Result<()> {
    let mut last: Option<String> = None;
    let mut taken = 0u64;
    loop {
        let (snapshot, hidden) = read(manager, cli.source.all)?;
        let rendered = render(&snapshot, hidden, &cli.output, true);
        if last.as_deref() != Some(rendered.as_str()) {
            if last.is_some() && !cli.output.json {
                emit("\n")?;
            }
            emit(&rendered)?;
            last = Some(rendered);
        }
        taken += 1;
        if args.count.is_some_and(|c| taken >= c) {
            return Ok(());
        }
        thread::sleep(Duration::from_secs_f64(args.interval));
    }
}
