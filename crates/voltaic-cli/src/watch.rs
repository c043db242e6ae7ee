//! `voltaic watch`: one line (text) or one NDJSON document per change, as the OS announces them.
//!
//! The first output lists everything present (as `battery_added` / `power_source_changed`); after that
//! the command sleeps in the library's [`voltaic::Watcher`] until something changes. On Unix it also
//! watches standard output, so that a closed pipe ends it at once even while nothing changes.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Context, Result};
use voltaic::{Battery, Event, Kind, Manager, PowerSource, Snapshot, Watcher};

use crate::{OutputArgs, emit, json, render_json};

/// Runs the watch until `count` outputs were printed (for ever without), or standard output closes.
pub fn run(
    manager: &Manager,
    all: bool,
    output: &OutputArgs,
    interval: Option<f64>,
    count: Option<u64>,
) -> Result<()> {
    if count == Some(0) {
        return Ok(());
    }
    let mut watcher = manager.watch().context("cannot watch the batteries")?;
    if let Some(seconds) = interval {
        watcher.set_poll_interval(Duration::from_secs_f64(seconds));
    }
    let mut events = present(watcher.snapshot());
    let mut first = true;
    let mut printed = 0u64;
    // Peripherals seen so far: their events are not shown without --all (also once they are gone).
    let mut hidden: Vec<String> = Vec::new();
    loop {
        let snapshot = watcher.snapshot();
        for b in &snapshot.batteries {
            if b.kind != Kind::System && !hidden.contains(&b.id) {
                hidden.push(b.id.clone());
            }
        }
        if !all {
            events.retain(|e| e.id().is_none_or(|id| !hidden.iter().any(|h| h == id)));
        }
        if first || !events.is_empty() {
            first = false;
            let now = jiff::Timestamp::now()
                .round(jiff::Unit::Millisecond)
                .unwrap_or_else(|_| jiff::Timestamp::now());
            let text = if crate::extra::wants_json(output) {
                line_json(&watcher, &events, &now.to_string(), all)
            } else {
                let mut text = lines_text(
                    &snapshot.batteries,
                    &snapshot.power_sources,
                    &events,
                    &now.to_string(),
                );
                // `-v`: the devices seen but not shown, once, with the first reading.
                if printed == 0 && output.verbose {
                    for skipped in &snapshot.skipped {
                        let _ = writeln!(
                            text,
                            "{now} skipped {}: {}",
                            printable(&skipped.id),
                            printable(&skipped.reason)
                        );
                    }
                }
                text
            };
            emit(&text)?;
            printed += 1;
            if count.is_some_and(|c| printed >= c) {
                return Ok(());
            }
        }
        match next(&mut watcher)? {
            Some(next) => events = next,
            None => return Ok(()),
        }
    }
}

/// What is present at the start, as events.
fn present(snapshot: &Snapshot) -> Vec<Event> {
    voltaic::core::event::diff((&[], &[]), (&snapshot.batteries, &snapshot.power_sources))
}

/// Waits for the next changes; `None` when standard output was closed.
#[cfg(unix)]
fn next(watcher: &mut Watcher) -> Result<Option<Vec<Event>>> {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    use std::io;
    use std::os::fd::AsFd;

    let stdout = io::stdout();
    loop {
        let timeout = watcher.next_poll().map(|d| {
            Timespec::try_from(d).unwrap_or(Timespec {
                tv_sec: i64::MAX,
                tv_nsec: 0,
            })
        });
        let mut fds = [
            PollFd::new(&*watcher, PollFlags::IN),
            // No events asked: poll still reports an error (a pipe whose reader has gone) or hang-up.
            PollFd::from_borrowed_fd(stdout.as_fd(), PollFlags::empty()),
        ];
        match poll(&mut fds, timeout.as_ref()) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(io::Error::from(e)).context("waiting for changes"),
        }
        if fds[1]
            .revents()
            .intersects(PollFlags::ERR | PollFlags::HUP | PollFlags::NVAL)
        {
            return Ok(None);
        }
        let events = watcher
            .wait(Some(Duration::ZERO))
            .context("cannot read the batteries")?;
        if !events.is_empty() {
            return Ok(Some(events));
        }
    }
}

/// Waits for the next changes (without a way to watch standard output, a closed pipe is noticed at
/// the next write).
#[cfg(not(unix))]
fn next(watcher: &mut Watcher) -> Result<Option<Vec<Event>>> {
    let events = watcher.wait(None).context("cannot read the batteries")?;
    Ok(Some(events))
}

/// One NDJSON line: the time, the events, the reading with its summary.
fn line_json(watcher: &Watcher, events: &[Event], time: &str, all: bool) -> String {
    let mut snapshot = watcher.snapshot().clone();
    if !all {
        snapshot.batteries.retain(|b| b.kind == Kind::System);
    }
    let doc = json::WatchDocument {
        time: time.to_owned(),
        events: events.iter().map(json::EventView::new).collect(),
        reading: render_json(&snapshot, watcher.summary()),
    };
    let mut text = serde_json::to_string(&doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    text.push('\n');
    text
}

/// One text line per event: time, event, device, and what it says now.
fn lines_text(
    batteries: &[Battery],
    sources: &[PowerSource],
    events: &[Event],
    time: &str,
) -> String {
    let mut out = String::new();
    if events.is_empty() {
        let _ = writeln!(out, "{time} no battery or power source found");
    }
    for e in events {
        let id = e.id().map_or_else(|| "machine".to_owned(), printable);
        let _ = write!(out, "{time} {} {id}", e.kind());
        match e {
            Event::BatteryAdded { id } | Event::BatteryChanged { id } => {
                if let Some(b) = batteries.iter().find(|b| &b.id == id) {
                    let _ = write!(out, ": {}", b.state);
                    if let Some(p) = b.percentage {
                        let _ = write!(out, ", {} %", (p * 10.0).round() / 10.0);
                    }
                    if let Some(t) = b.time_to_empty {
                        let _ = write!(out, ", {} left", crate::text::fmt_duration(t));
                    }
                    if let Some(t) = b.time_to_full {
                        let _ = write!(out, ", {} to full", crate::text::fmt_duration(t));
                    }
                }
            }
            Event::PowerSourceChanged { id } => {
                let state = match sources.iter().find(|s| &s.id == id) {
                    None => "gone",
                    Some(s) if s.online == Some(true) => "online",
                    Some(s) if s.online == Some(false) => "offline",
                    Some(_) => "present",
                };
                let _ = write!(out, ": {state}");
            }
            Event::WarningChanged { from, to, .. } => {
                let _ = write!(out, ": {from} -> {to}");
            }
            _ => {}
        }
        out.push('\n');
    }
    out
}

/// A device name fit for a terminal: control characters shown escaped, never sent.
/// A device string as the terminal may show it (control and bidi characters escaped).
fn printable(id: &str) -> String {
    voltaic::core::text::escape(id).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_in_names_are_escaped() {
        assert_eq!(printable("BAT0"), "BAT0");
        // The one escaping rule of every text output (voltaic_core::text::escape).
        assert_eq!(
            printable("x\x1b[2Jy\n"),
            voltaic::core::text::escape("x\x1b[2Jy\n")
        );
        assert!(!printable("x\x1b[2Jy\n").contains('\x1b'));
    }

    #[test]
    fn text_lines_say_what_changed() {
        let mut b = voltaic::Battery::new("BAT0", Kind::System);
        b.state = voltaic::State::Discharging;
        b.percentage = Some(54.0);
        b.time_to_empty = Some(Duration::from_secs(11400));
        let text = lines_text(
            &[b],
            &[],
            &[
                Event::BatteryChanged { id: "BAT0".into() },
                Event::PowerSourceChanged { id: "AC".into() },
                Event::WarningChanged {
                    id: None,
                    from: voltaic::WarningLevel::None,
                    to: voltaic::WarningLevel::Low,
                },
            ],
            "2026-12-01T02:55:00Z",
        );
        assert_eq!(
            text,
            "2026-12-01T02:55:00Z battery_changed BAT0: discharging, 54 %, 3 h 10 min left\n\
             2026-12-01T02:55:00Z power_source_changed AC: gone\n\
             2026-12-01T02:55:00Z warning_changed machine: none -> low\n"
        );
        assert_eq!(
            lines_text(&[], &[], &[], "2026-12-01T02:55:00Z"),
            "2026-12-01T02:55:00Z no battery or power source found\n"
        );
    }
}
