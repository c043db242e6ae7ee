//! The parts of the command that fit it into its surroundings: `--format`, `voltaic serve`, shell
//! completions, the manual page, and the flags `voltaic top` does not take.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, CommandFactory, ValueEnum};
use voltaic::{Kind, Manager, Skipped, Snapshot};

use crate::metrics::{self, Flavor};
use crate::{OutputArgs, serve};

/// What `voltaic` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A readable block per battery and a line per power source.
    Text,
    /// One JSON document (schema: voltaic.schema.json); the same as --json.
    Json,
    /// The OpenMetrics / Prometheus text exposition (metrics named voltaic_*).
    Openmetrics,
}

/// The format asked for: `--format`, or `--json` (its shorthand); `None` when neither was given.
pub fn format(output: &OutputArgs) -> Option<Format> {
    if output.json {
        Some(Format::Json)
    } else {
        output.format
    }
}

/// Whether JSON was asked for (`--json` or `--format json`).
pub fn wants_json(output: &OutputArgs) -> bool {
    format(output) == Some(Format::Json)
}

#[derive(Args)]
pub struct ServeArgs {
    /// Address and port to listen on. Loopback by default; give another address (e.g. 0.0.0.0:9101)
    /// to let other machines scrape.
    #[arg(long, value_name = "ADDR:PORT", default_value = serve::DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// It serves metrics: the output flags are hidden here and refused.
    #[command(flatten)]
    pub not_here: NotForTop,
}

#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Output flags of the other commands that `voltaic top` and `voltaic serve` do not take: hidden from
/// their `--help` (a subcommand's own argument shadows the global one) and a usage error when given.
#[derive(Args)]
pub struct NotForTop {
    #[arg(long = "json", id = "json", hide = true)]
    json: bool,
    // Same type as the global flag: clap hands a subcommand's global values up to the parent.
    #[arg(long = "format", id = "format", value_enum, hide = true)]
    format: Option<Format>,
    #[arg(long = "verbose", short = 'v', id = "verbose", hide = true)]
    verbose: bool,
}

impl NotForTop {
    /// Whether any of them was given.
    pub fn any(&self) -> bool {
        self.json || self.format.is_some() || self.verbose
    }
}

/// Ends the program with a usage error (exit 2) in clap's form.
pub fn usage_error<C: CommandFactory>(message: &str) -> ! {
    C::command()
        .error(clap::error::ErrorKind::ArgumentConflict, message)
        .exit()
}

/// The completion script for `shell`.
pub fn completions<C: CommandFactory>(shell: clap_complete::Shell) -> String {
    let mut command = C::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "voltaic", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The manual page, `voltaic.1`, in roff.
pub fn man_page<C: CommandFactory>() -> Result<String> {
    let mut out = Vec::new();
    clap_mangen::Man::new(C::command())
        .render(&mut out)
        .context("cannot write the manual page")?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Moves the peripheral batteries out of `snapshot` into its skipped devices, saying that `--all`
/// shows them (so that `-v` lists them).
pub fn hide_peripherals(snapshot: &mut Snapshot) {
    let (shown, hidden): (Vec<_>, Vec<_>) = std::mem::take(&mut snapshot.batteries)
        .into_iter()
        .partition(|b| b.kind == Kind::System);
    snapshot.batteries = shown;
    snapshot.skipped.extend(hidden.into_iter().map(|b| {
        let reason = format!("peripheral battery ({}): --all shows it", b.display_name());
        Skipped::new(b.id, reason)
    }));
}

/// `voltaic serve`: reads afresh at every scrape; peripherals only with `--all`.
pub fn serve(manager: Manager, all: bool, args: &ServeArgs) -> Result<()> {
    let listener = serve::bind(args.listen)?;
    let local = listener.local_addr().unwrap_or(args.listen);
    eprintln!("voltaic: serving http://{local}/metrics");
    let scrape = move |flavor: Flavor| -> Result<String> {
        let mut snapshot = manager.snapshot().context("cannot read the batteries")?;
        if !all {
            hide_peripherals(&mut snapshot);
        }
        Ok(metrics::render(&snapshot, flavor))
    };
    serve::run(&listener, &(Arc::new(scrape) as Arc<serve::Scrape>))
}
