//! `voltaic limit`: show and set charge thresholds and charge behaviour, and keep them across reboots
//! with one udev rule file.
//!
//! Nothing is written without an explicit `set`, `clear` or `behaviour`; `--dry-run` prints the writes
//! instead. The rule file is the only file outside the battery's own attributes ever written, and
//! `clear --persist` removes only it.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use voltaic::core::limits::{self as plan, Names};
use voltaic::{Battery, ChargeBehaviour, ChargeLimits, Error, ErrorKind, Manager, PlannedWrite};

use crate::SourceArgs;

/// Where `--persist` writes its rule (udev(7): local rules live in /etc/udev/rules.d).
const RULES_DIR: &str = "/etc/udev/rules.d";
/// Overrides [`RULES_DIR`]: for tests, and for packagers who stage files elsewhere.
pub const RULES_DIR_ENV: &str = "VOLTAIC_UDEV_RULES_DIR";
/// The one file `--persist` writes.
pub const RULES_FILE: &str = "90-voltaic-charge-limits.rules";
/// Version of the `voltaic limit --json` layout (schema/limit.schema.json).
const SCHEMA_VERSION: u32 = 1;

#[derive(Args)]
pub struct LimitArgs {
    #[command(subcommand)]
    action: Option<Action>,
    /// Only this battery (its id, as `voltaic` shows it, e.g. BAT0). Default: every system battery.
    #[arg(long, global = true, value_name = "ID")]
    battery: Option<String>,
    /// Print the writes that would be made, and make none.
    #[arg(long, global = true)]
    dry_run: bool,
    /// With --replay DIR: write into that directory's files (for tests and fixture trees). Without it,
    /// a replayed directory is never written.
    #[arg(long, global = true)]
    writable: bool,
}

#[derive(Subcommand)]
enum Action {
    /// Show each battery's limits and behaviour and whether they can be set here (the default).
    Show,
    /// Set the charge thresholds (percent): charging stops at --end and restarts below --start.
    Set(SetArgs),
    /// Charge to full again: end 100 %, start 0 % where the battery has a start threshold, behaviour
    /// auto where it has one.
    Clear(PersistArgs),
    /// Set the charge behaviour: auto, inhibit-charge (hold the charge on AC) or force-discharge (run
    /// from the battery on AC).
    Behaviour(BehaviourArgs),
}

#[derive(Args)]
struct SetArgs {
    /// Stop charging at this percentage (0–100).
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
    end: Option<u8>,
    /// Start charging only below this percentage (0–100, below the end).
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
    start: Option<u8>,
    #[command(flatten)]
    persist: PersistArgs,
}

#[derive(Args)]
struct PersistArgs {
    /// Also keep this across reboots: write (set) or remove (clear) the udev rule file
    /// /etc/udev/rules.d/90-voltaic-charge-limits.rules (Linux only).
    #[arg(long)]
    persist: bool,
}

#[derive(Args)]
struct BehaviourArgs {
    /// What the charger should do.
    #[arg(value_enum)]
    behaviour: BehaviourArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum BehaviourArg {
    /// Charge normally, within the thresholds.
    Auto,
    /// Do not charge although on external power.
    InhibitCharge,
    /// Run from the battery although on external power.
    ForceDischarge,
}

impl From<BehaviourArg> for ChargeBehaviour {
    fn from(b: BehaviourArg) -> Self {
        match b {
            BehaviourArg::Auto => ChargeBehaviour::Auto,
            BehaviourArg::InhibitCharge => ChargeBehaviour::InhibitCharge,
            BehaviourArg::ForceDischarge => ChargeBehaviour::ForceDischarge,
        }
    }
}

/// The `--json` document (schema/limit.schema.json).
#[derive(Serialize)]
struct Document {
    schema_version: u32,
    action: &'static str,
    dry_run: bool,
    batteries: Vec<BatteryView>,
    rule_file: Option<RuleView>,
}

#[derive(Serialize, Default)]
struct BatteryView {
    id: String,
    start: Option<u8>,
    end: Option<u8>,
    behaviour: Option<&'static str>,
    can_set_start: bool,
    can_set_end: bool,
    behaviours: Vec<&'static str>,
    why_not: Option<ErrorView>,
    asked: Option<Asked>,
    writes: Vec<WriteView>,
    kept_as_asked: Option<bool>,
    error: Option<ErrorView>,
}

#[derive(Serialize, Clone, Copy)]
struct Asked {
    start: Option<u8>,
    end: Option<u8>,
    behaviour: Option<&'static str>,
}

#[derive(Serialize)]
struct WriteView {
    target: String,
    value: String,
}

#[derive(Serialize)]
struct ErrorView {
    kind: &'static str,
    message: String,
}

#[derive(Serialize)]
struct RuleView {
    path: String,
    /// `written`, `removed`, `would_write`, `would_remove`, `absent`.
    action: &'static str,
    content: Option<String>,
}

impl ErrorView {
    fn new(e: &Error) -> Self {
        ErrorView {
            kind: kind_name(e.kind()),
            message: clean(&e.to_string()),
        }
    }
}

fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Unsupported => "unsupported",
        ErrorKind::PermissionDenied => "permission_denied",
        ErrorKind::DeviceGone => "device_gone",
        ErrorKind::NotFound => "not_found",
        ErrorKind::InvalidInput => "invalid_input",
        ErrorKind::Rejected => "rejected",
        ErrorKind::InvalidRecording => "invalid_recording",
        _ => "io",
    }
}

/// Device and error text with control characters replaced: ids and messages can come from a
/// replayed tree, and must not drive the terminal.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

/// Runs `voltaic limit …`. Fails when anything asked for was not done as asked.
pub fn run(source: &SourceArgs, json: bool, args: &LimitArgs) -> Result<()> {
    let manager = match (&source.replay, args.writable) {
        (Some(path), true) => Manager::replay_writable(path)
            .with_context(|| format!("cannot replay {} writable", path.display()))?,
        (Some(path), false) => {
            Manager::replay(path).with_context(|| format!("cannot replay {}", path.display()))?
        }
        (None, true) => bail!("--writable applies only with --replay DIR"),
        (None, false) => Manager::new().context("cannot read this machine's batteries")?,
    };
    let mut batteries = manager.batteries().context("cannot read the batteries")?;
    if let Some(id) = &args.battery {
        let known: Vec<String> = batteries.iter().map(|b| clean(&b.id)).collect();
        batteries.retain(|b| &b.id == id);
        if batteries.is_empty() {
            bail!(
                "no battery {} here (batteries: {})",
                clean(id),
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            );
        }
    }
    let action = args.action.as_ref().unwrap_or(&Action::Show);
    if batteries.is_empty() && !matches!(action, Action::Show) {
        bail!("no battery found: there are no charge limits to set");
    }
    let mut doc = Document {
        schema_version: SCHEMA_VERSION,
        action: match action {
            Action::Show => "show",
            Action::Set(_) => "set",
            Action::Clear(_) => "clear",
            Action::Behaviour(_) => "behaviour",
        },
        dry_run: args.dry_run && !matches!(action, Action::Show),
        batteries: Vec::new(),
        rule_file: None,
    };
    let mut rules: Vec<(String, Option<String>)> = Vec::new();
    for b in &batteries {
        let view = act(&manager, b, action, args.dry_run, &mut rules)?;
        doc.batteries.push(view);
    }
    let persist_failed = doc.batteries.iter().any(|v| v.error.is_some());
    if !rules.is_empty() && !persist_failed {
        doc.rule_file = Some(persist(&rules, args.dry_run)?);
    }
    if json {
        let mut text = serde_json::to_string_pretty(&doc)?;
        text.push('\n');
        crate::emit(&text)?;
    } else {
        crate::emit(&render(&doc))?;
    }
    let mut failed = false;
    for v in &doc.batteries {
        if let Some(e) = &v.error {
            eprintln!("voltaic: error: {}: {}", clean(&v.id), e.message);
            failed = true;
        }
    }
    if failed {
        return Err(Reported.into());
    }
    if doc.batteries.iter().any(|v| v.kept_as_asked == Some(false)) {
        bail!("the driver did not keep every value as asked");
    }
    Ok(())
}

/// Failures already printed, one per battery: the command exits 1 without another message.
#[derive(Debug)]
pub struct Reported;

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("reported above")
    }
}

impl std::error::Error for Reported {}

/// Does `action` on one battery (or plans it, for a dry run); a rule change for `--persist` is added
/// to `rules`.
fn act(
    manager: &Manager,
    b: &Battery,
    action: &Action,
    dry_run: bool,
    rules: &mut Vec<(String, Option<String>)>,
) -> Result<BatteryView> {
    let mut view = show(manager, b);
    match action {
        Action::Show => {}
        Action::Set(set) => {
            let asked = ChargeLimits::new(set.start, set.end);
            view.asked = Some(Asked {
                start: set.start,
                end: set.end,
                behaviour: None,
            });
            let kept = apply_limits(manager, b, asked, dry_run, &mut view);
            // A dry run shows the rule it would write, with the values asked for.
            if let Some(kept) = kept.or(dry_run.then_some(asked))
                && set.persist.persist
                && view.error.is_none()
            {
                // The rule sets what the driver kept, for the thresholds that were asked for.
                let kept = ChargeLimits::new(set.start.and(kept.start), set.end.and(kept.end));
                rules.push((b.id.clone(), Some(rule_line(b, &view, kept)?)));
            }
        }
        Action::Clear(persist) => {
            match manager.full_charge_limits(b) {
                Ok(full) => {
                    view.asked = Some(Asked {
                        start: full.start,
                        end: full.end,
                        behaviour: None,
                    });
                    apply_limits(manager, b, full, dry_run, &mut view);
                }
                Err(e) => view.error = Some(ErrorView::new(&e)),
            }
            let inhibited = view
                .behaviour
                .is_some_and(|w| w != ChargeBehaviour::Auto.as_str());
            if view.error.is_none() && inhibited {
                if let Some(asked) = &mut view.asked {
                    asked.behaviour = Some(ChargeBehaviour::Auto.as_str());
                }
                apply_behaviour(manager, b, ChargeBehaviour::Auto, dry_run, &mut view);
            }
            if persist.persist {
                rules.push((b.id.clone(), None));
            }
        }
        Action::Behaviour(arg) => {
            let behaviour = ChargeBehaviour::from(arg.behaviour);
            view.asked = Some(Asked {
                start: None,
                end: None,
                behaviour: Some(behaviour.as_str()),
            });
            apply_behaviour(manager, b, behaviour, dry_run, &mut view);
        }
    }
    Ok(view)
}

/// The present state and what can be set, for one battery.
fn show(manager: &Manager, b: &Battery) -> BatteryView {
    let mut view = BatteryView {
        id: b.id.clone(),
        ..BatteryView::default()
    };
    match manager.charge_control(b) {
        Ok(c) => {
            view.start = c.limits.start;
            view.end = c.limits.end;
            view.behaviour = c.behaviour.map(ChargeBehaviour::as_str);
            view.can_set_start = c.start_target.is_some();
            view.can_set_end = c.end_target.is_some();
            view.behaviours = c.behaviours.iter().map(|b| b.as_str()).collect();
            view.why_not = c.why_not.as_ref().map(ErrorView::new);
        }
        Err(e) => view.error = Some(ErrorView::new(&e)),
    }
    view
}

/// Plans or makes the threshold writes; returns what was read back when writes were made.
fn apply_limits(
    manager: &Manager,
    b: &Battery,
    asked: ChargeLimits,
    dry_run: bool,
    view: &mut BatteryView,
) -> Option<ChargeLimits> {
    if view.error.is_some() {
        return None;
    }
    let planned = match manager.plan_charge_limits(b, asked) {
        Ok(p) => p,
        Err(e) => {
            view.error = Some(ErrorView::new(&e));
            return None;
        }
    };
    view.writes.extend(planned.iter().map(write_view));
    if dry_run {
        return None;
    }
    match manager.set_charge_limits(b, asked) {
        Ok(kept) => {
            view.start = kept.start;
            view.end = kept.end;
            let same = asked.start.is_none_or(|s| kept.start == Some(s))
                && asked.end.is_none_or(|e| kept.end == Some(e));
            view.kept_as_asked = Some(same);
            Some(kept)
        }
        Err(e) => {
            // The message names what was already written; the planned list is not what happened.
            view.writes.clear();
            view.error = Some(ErrorView::new(&e));
            None
        }
    }
}

fn apply_behaviour(
    manager: &Manager,
    b: &Battery,
    behaviour: ChargeBehaviour,
    dry_run: bool,
    view: &mut BatteryView,
) {
    match manager.plan_charge_behaviour(b, behaviour) {
        Ok(w) => view.writes.push(write_view(&w)),
        Err(e) => {
            view.error = Some(ErrorView::new(&e));
            return;
        }
    }
    if dry_run {
        return;
    }
    match manager.set_charge_behaviour(b, behaviour) {
        Ok(kept) => {
            view.behaviour = Some(kept.as_str());
            view.kept_as_asked = Some(view.kept_as_asked.unwrap_or(true) && kept == behaviour);
        }
        Err(e) => {
            view.writes.pop();
            view.error = Some(ErrorView::new(&e));
        }
    }
}

fn write_view(w: &PlannedWrite) -> WriteView {
    WriteView {
        target: clean(&w.target),
        value: w.value.clone(),
    }
}

/// A behaviour as the command line spells it (`inhibit-charge`; JSON uses `inhibit_charge`).
fn word(behaviour: Option<&str>) -> &'static str {
    match behaviour {
        Some("auto") => "auto",
        Some("inhibit_charge") => "inhibit-charge",
        Some("force_discharge") => "force-discharge",
        _ => "-",
    }
}

/// The human report.
fn render(doc: &Document) -> String {
    let mut out = String::new();
    if doc.batteries.is_empty() {
        out.push_str("No battery found.\n");
    }
    let pct = |v: Option<u8>| v.map_or_else(|| "-".to_owned(), |v| format!("{v} %"));
    for v in &doc.batteries {
        let id = clean(&v.id);
        let _ = writeln!(
            out,
            "{id}: charge start {}, end {}, behaviour {}",
            pct(v.start),
            pct(v.end),
            word(v.behaviour)
        );
        if doc.action == "show" {
            if let Some(why) = &v.why_not {
                let _ = writeln!(out, "  cannot set here: {}", why.message);
            } else if v.error.is_none() {
                let mut can: Vec<String> = Vec::new();
                if v.can_set_start {
                    can.push("start".into());
                }
                if v.can_set_end {
                    can.push("end".into());
                }
                if !v.behaviours.is_empty() {
                    let words: Vec<&str> = v.behaviours.iter().map(|b| word(Some(b))).collect();
                    can.push(format!("behaviour ({})", words.join(", ")));
                }
                let _ = writeln!(out, "  can set: {}", can.join(", "));
            }
            continue;
        }
        for w in &v.writes {
            let verb = if doc.dry_run { "would write" } else { "wrote" };
            let _ = writeln!(out, "  {verb} {} to {}", w.value, w.target);
        }
        if let (Some(false), Some(asked)) = (v.kept_as_asked, v.asked) {
            let _ = writeln!(
                out,
                "  the driver kept start {}, end {}, behaviour {} (asked: start {}, end {}, behaviour {})",
                pct(v.start),
                pct(v.end),
                word(v.behaviour),
                pct(asked.start),
                pct(asked.end),
                word(asked.behaviour)
            );
        }
    }
    if let Some(rule) = &doc.rule_file {
        let _ = match rule.action {
            "written" => writeln!(out, "wrote {}:", rule.path),
            "would_write" => writeln!(out, "would write {}:", rule.path),
            "removed" => writeln!(out, "removed {}", rule.path),
            "would_remove" => writeln!(out, "would remove {}", rule.path),
            _ => writeln!(out, "{} does not exist; nothing to remove", rule.path),
        };
        if let Some(content) = &rule.content
            && rule.action != "removed"
            && rule.action != "would_remove"
        {
            out.push_str(content);
        }
    }
    out
}

/// The attribute names a battery's writes use, from the planned targets (Linux paths only).
fn linux_names(view: &BatteryView) -> Names {
    let pick = |candidates: [&'static str; 2]| {
        candidates.into_iter().find(|n| {
            view.writes
                .iter()
                .any(|w| Path::new(&w.target).file_name().is_some_and(|f| f == *n))
        })
    };
    Names {
        start: pick(plan::LINUX_START),
        end: pick(plan::LINUX_END),
    }
}

/// One udev rule that sets `limits` when battery `b` appears.
///
/// udev runs `ATTR{…}="…"` assignments in the order they appear, each as its own write (udev(7)), and
/// the values the firmware kept from before boot are not known then; so a start-and-end rule writes
/// start, end, start ([`voltaic::core::limits::boot_sequence`]): whichever of the first two writes a
/// driver refuses, the pair ends as asked.
fn rule_line(b: &Battery, view: &BatteryView, limits: ChargeLimits) -> Result<String> {
    if view.writes.iter().any(|w| !w.target.starts_with('/')) {
        bail!(
            "--persist writes a udev rule, which this system does not use; on OpenBSD put the values \
             in /etc/sysctl.conf (hw.battery.chargestop=80)"
        );
    }
    // udev matches KERNEL against the device name; a name with quotes or glob characters cannot be
    // written into a rule safely.
    if !b
        .id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
    {
        bail!(
            "battery {} has a name a udev rule cannot match exactly",
            clean(&b.id)
        );
    }
    let mut line = format!(
        "ACTION==\"add\", SUBSYSTEM==\"power_supply\", KERNEL==\"{}\"",
        b.id
    );
    for w in plan::boot_sequence(limits, linux_names(view)) {
        let _ = write!(line, ", ATTR{{{}}}=\"{}\"", w.name, w.value);
    }
    Ok(line)
}

fn rules_path() -> PathBuf {
    let dir = std::env::var_os(RULES_DIR_ENV)
        .filter(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from(RULES_DIR), PathBuf::from);
    dir.join(RULES_FILE)
}

const RULES_HEADER: &str = "# Written by `voltaic limit set --persist`; removed by `voltaic limit clear --persist`.\n\
# Sets the charge limits again when each battery appears (limits reset at boot on most machines).\n";

/// The rule file after setting (`Some(line)`) or clearing (`None`) the given batteries' rules; other
/// batteries' rules are kept. `None` when no rule is left.
fn updated_rules(existing: &str, changes: &[(String, Option<String>)]) -> Option<String> {
    let kernel = |line: &str| {
        line.split("KERNEL==\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .map(str::to_owned)
    };
    let mut lines: Vec<String> = existing
        .lines()
        .filter(|l| l.starts_with("ACTION=="))
        .filter(|l| kernel(l).is_none_or(|k| !changes.iter().any(|(id, _)| *id == k)))
        .map(str::to_owned)
        .collect();
    lines.extend(changes.iter().filter_map(|(_, line)| line.clone()));
    if lines.is_empty() {
        return None;
    }
    let mut text = RULES_HEADER.to_owned();
    for l in lines {
        text.push_str(&l);
        text.push('\n');
    }
    Some(text)
}

/// Writes or removes the rule file (or says what it would do).
fn persist(changes: &[(String, Option<String>)], dry_run: bool) -> Result<RuleView> {
    let path = rules_path();
    let existing = match fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let new = updated_rules(existing.as_deref().unwrap_or(""), changes);
    let shown = path.display().to_string();
    let action = match (&new, &existing, dry_run) {
        (Some(_), _, true) => "would_write",
        (Some(text), _, false) => {
            fs::write(&path, text).with_context(|| {
                format!("cannot write {shown} (run as root, or set {RULES_DIR_ENV})")
            })?;
            "written"
        }
        (None, None, _) => "absent",
        (None, Some(_), true) => "would_remove",
        (None, Some(_), false) => {
            fs::remove_file(&path).with_context(|| format!("cannot remove {shown}"))?;
            "removed"
        }
    };
    Ok(RuleView {
        path: shown,
        action,
        content: new,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_of_other_batteries_are_kept() {
        let bat0 = "ACTION==\"add\", SUBSYSTEM==\"power_supply\", KERNEL==\"BAT0\", ATTR{x}=\"80\"";
        let bat1 = "ACTION==\"add\", SUBSYSTEM==\"power_supply\", KERNEL==\"BAT1\", ATTR{x}=\"60\"";
        let text = updated_rules("", &[("BAT0".into(), Some(bat0.into()))]).unwrap();
        assert!(text.starts_with("# Written by") && text.ends_with(&format!("{bat0}\n")));
        let both = updated_rules(&text, &[("BAT1".into(), Some(bat1.into()))]).unwrap();
        assert_eq!(both.lines().filter(|l| l.starts_with("ACTION")).count(), 2);
        let one = updated_rules(&both, &[("BAT0".into(), None)]).unwrap();
        assert!(!one.contains("BAT0") && one.contains("BAT1"));
        assert_eq!(updated_rules(&one, &[("BAT1".into(), None)]), None);
    }

    #[test]
    fn control_characters_are_not_printed() {
        assert_eq!(clean("BAT\u{1b}[2J0"), "BAT\u{fffd}[2J0");
    }
}
