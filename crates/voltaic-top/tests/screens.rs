//! Every screen of the viewer, drawn into a `TestBackend` from the sample trees and real fixtures,
//! snapshotted as text (in `tests/snapshots/`) so that a change to a screen is reviewed as text.
//! Colours are checked separately: no screen draws with a colour that vanishes on its background.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;
use ratatui::text::Span;
use voltaic::Manager;
use voltaic_top::{App, Event, Key, Options, Sample, Theme, Units};

/// 2024-02-04 12:00:00 UTC: the samples' clock (shown in UTC: offset 0).
const START: u64 = 1_707_048_000;

/// Both sizes every screen is drawn at.
const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

/// The test data: `tests/samples` and `tests/linux-fixtures` are links to the workspace's `samples/` and
/// voltaic-core's Linux fixtures, stored in the package so that its tests run on their own.
fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

fn sample_tree(name: &str) -> PathBuf {
    data().join("samples").join(name)
}

fn fixture(name: &str) -> PathBuf {
    data().join("linux-fixtures").join(name)
}

/// Copies a fixture's uevent lines (without its `#` provenance header) into `dir/<name>/uevent`.
fn install_uevent(dir: &Path, name: &str, fixture_file: &str) {
    let text = fs::read_to_string(fixture(fixture_file)).expect("fixture");
    let mut body = String::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        body.push_str(line);
        body.push('\n');
    }
    let device = dir.join(name);
    fs::create_dir_all(&device).unwrap();
    fs::write(device.join("uevent"), body).unwrap();
    fs::write(device.join("type"), "Battery\n").unwrap();
}

/// Two batteries side by side. These are two real captures from two different ThinkPads put in one
/// tree: `samples/thinkpad-ac` (AC + BAT0, FRU 42T4977, i3status #180/#186) and the T450's removable
/// BAT1 (SANYO 45N1775, TLP #169) from the fixtures. No machine had exactly this pair.
fn two_battery_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for device in ["AC", "BAT0"] {
        let from = sample_tree("thinkpad-ac").join(device);
        fs::create_dir_all(dir.path().join(device)).unwrap();
        for file in ["uevent", "type"] {
            fs::copy(from.join(file), dir.path().join(device).join(file)).unwrap();
        }
    }
    install_uevent(
        dir.path(),
        "BAT1",
        "linux-thinkpad-t450-bat1-empty-unknown.uevent",
    );
    dir
}

fn options(theme: Theme, all: bool, source: &str) -> Options {
    Options {
        interval: Duration::from_secs(1),
        units: Units::Human,
        theme,
        all,
        source: source.to_owned(),
        prefill: Vec::new(),
    }
}

/// Feeds `count` samples of `manager`, one a second from [`START`] (`first` seconds in).
fn feed(app: &mut App, manager: &Manager, first: u64, count: u64) {
    for i in first..first + count {
        app.update(Event::Sample(Sample {
            at: UNIX_EPOCH + Duration::from_secs(START + i),
            utc_offset_s: 0,
            reading: manager.snapshot().map_err(|e| e.to_string()),
        }));
    }
}

/// An app that has sampled the recording at `path` 30 times.
fn app_for(path: &Path, options: Options) -> App {
    let manager = Manager::replay(path).expect("recording");
    let mut app = App::new(options);
    feed(&mut app, &manager, 0, 30);
    app
}

fn draw(app: &mut App, width: u16, height: u16) -> Buffer {
    app.update(Event::Resize { width, height });
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| voltaic_top::render(app, f)).unwrap();
    terminal.backend().buffer().clone()
}

/// The buffer as text, one line per row, trailing blanks trimmed.
fn text(buffer: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let mut line = String::new();
        let mut skip = 0;
        for x in 0..buffer.area.width {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let symbol = buffer[(x, y)].symbol();
            skip = Span::raw(symbol).width().saturating_sub(1);
            line.push_str(symbol);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// One letter per cell for its foreground colour (`.` the terminal's own), to review where colour goes.
fn colour_map(buffer: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let line: String = (0..buffer.area.width)
            .map(|x| match buffer[(x, y)].fg {
                Color::Reset => '.',
                Color::Red => 'r',
                Color::Green => 'g',
                Color::Yellow => 'y',
                Color::Blue => 'b',
                Color::Magenta => 'm',
                Color::Cyan => 'c',
                Color::LightRed => 'R',
                Color::LightGreen => 'G',
                Color::LightYellow => 'Y',
                Color::LightBlue => 'B',
                Color::LightMagenta => 'M',
                Color::LightCyan => 'C',
                _ => '?',
            })
            .collect();
        out.push_str(line.trim_end_matches('.'));
        out.push('\n');
    }
    out
}

/// No cell is drawn with a colour that vanishes on the theme's background; no cell sets a background.
fn assert_readable(buffer: &Buffer, theme: Theme, what: &str) {
    for cell in &buffer.content {
        assert_eq!(cell.bg, Color::Reset, "{what}: a background colour is set");
        let bad = match theme {
            Theme::Mono => cell.fg != Color::Reset,
            Theme::Light => matches!(
                cell.fg,
                Color::Yellow
                    | Color::LightYellow
                    | Color::LightCyan
                    | Color::LightGreen
                    | Color::LightMagenta
                    | Color::LightBlue
                    | Color::LightRed
            ),
            Theme::Dark => matches!(cell.fg, Color::Blue),
        } || matches!(
            cell.fg,
            Color::Black | Color::White | Color::Gray | Color::DarkGray | Color::Rgb(..)
        );
        assert!(!bad, "{what}: {:?} drawn in {:?}", cell.symbol(), cell.fg);
    }
}

/// Snapshots `app` at both sizes, checking readability in its theme.
fn snap(name: &str, app: &mut App) {
    let theme = app.options().theme;
    for (w, h) in SIZES {
        let buffer = draw(app, w, h);
        assert_readable(&buffer, theme, name);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), text(&buffer));
    }
}

#[test]
fn one_battery_chromebook() {
    let mut app = app_for(
        &sample_tree("chromebook"),
        options(Theme::Dark, false, "replay samples/chromebook"),
    );
    let screen = text(&draw(&mut app, 80, 24));
    for must in [
        "L17M3PB0",
        "71 %",
        "discharging",
        "13 h 25 min to empty",
        "Voltage V",
    ] {
        assert!(screen.contains(must), "{must} missing:\n{screen}");
    }
    snap("chromebook", &mut app);
}

#[test]
fn one_battery_thinkpad_on_ac() {
    let mut app = app_for(
        &sample_tree("thinkpad-ac"),
        options(Theme::Dark, false, "replay samples/thinkpad-ac"),
    );
    let screen = text(&draw(&mut app, 120, 40));
    // No temperature in this capture: the chart says so rather than drawing nothing.
    assert!(screen.contains("unavailable: the battery does not report its temperature"));
    snap("thinkpad_ac", &mut app);
}

#[test]
fn dell_held_by_a_charge_limit() {
    let mut app = app_for(
        &sample_tree("dell-charge-limit"),
        options(Theme::Dark, false, "replay samples/dell-charge-limit"),
    );
    snap("dell_charge_limit", &mut app);
}

#[test]
fn two_batteries_overview_and_tabs() {
    let tree = two_battery_tree();
    let mut app = app_for(
        tree.path(),
        options(Theme::Dark, false, "replay two-thinkpads"),
    );
    let screen = text(&draw(&mut app, 120, 40));
    assert!(
        screen.contains("Overview") && screen.contains("42T4977") && screen.contains("45N1775")
    );
    // Σ energy ÷ Σ full = (8.30 + 0.00) / (25.50 + 22.53) = 17.3 %.
    assert!(screen.contains("17.3 %"), "{screen}");
    snap("two_batteries_overview", &mut app);
    app.update(Event::Key(Key::Right));
    snap("two_batteries_bat0", &mut app);
    app.update(Event::Key(Key::Right));
    snap("two_batteries_bat1", &mut app);
    // Wraps around to the overview.
    app.update(Event::Key(Key::Tab));
    assert_eq!(app.selected_tab(), 0);
}

#[test]
fn clicking_a_tab_selects_it() {
    let tree = two_battery_tree();
    let mut app = app_for(
        tree.path(),
        options(Theme::Dark, false, "replay two-thinkpads"),
    );
    let buffer = draw(&mut app, 120, 40);
    let top = text(&buffer).lines().next().unwrap().to_owned();
    let column = top.find("45N1775").unwrap() as u16;
    app.update(Event::Click { column, row: 0 });
    assert_eq!(app.selected_tab(), 2);
    // A click elsewhere changes nothing.
    app.update(Event::Click { column, row: 5 });
    assert_eq!(app.selected_tab(), 2);
    let column = top.find("Overview").unwrap() as u16;
    app.update(Event::Click { column, row: 0 });
    assert_eq!(app.selected_tab(), 0);
}

#[test]
fn charging_and_discharging_are_told_apart() {
    // Two real readings of one ThinkPad's BAT0 (00HW022, xmobar #315): (A) discharging at 27.8 W,
    // then (B) charging at 30.0 W. The capture does not say how far apart they were; here ten
    // samples of each, a second apart.
    let dir = tempfile::tempdir().unwrap();
    install_uevent(
        dir.path(),
        "BAT0",
        "linux-thinkpad-00hw022-bat0-a-discharging.uevent",
    );
    let manager = Manager::replay(dir.path()).unwrap();
    let mut app = App::new(options(Theme::Dark, false, "replay 00HW022 A then B"));
    feed(&mut app, &manager, 0, 10);
    install_uevent(
        dir.path(),
        "BAT0",
        "linux-thinkpad-00hw022-bat0-b-charging.uevent",
    );
    feed(&mut app, &manager, 10, 10);
    let screen = text(&draw(&mut app, 120, 40));
    assert!(screen.contains("▲ charging") && screen.contains("▼ discharging"));
    snap("power_direction_change", &mut app);
}

#[test]
fn no_battery_says_so_and_hints_at_all() {
    let mut app = app_for(
        &sample_tree("logitech-mouse"),
        options(Theme::Dark, false, "replay samples/logitech-mouse"),
    );
    let screen = text(&draw(&mut app, 80, 24));
    assert!(screen.contains("No battery found."));
    assert!(screen.contains("1 peripheral battery is hidden: `voltaic top --all` shows them."));
    snap("no_battery", &mut app);
}

#[test]
fn peripherals_with_all() {
    let mut app = app_for(
        &sample_tree("logitech-mouse"),
        options(Theme::Dark, true, "replay samples/logitech-mouse"),
    );
    let screen = text(&draw(&mut app, 80, 24));
    assert!(screen.contains("Wireless Mouse M560"));
    assert!(screen.contains("level normal"));
    snap("peripheral", &mut app);
}

#[test]
fn help_overlay() {
    let mut app = app_for(
        &sample_tree("chromebook"),
        options(Theme::Dark, false, "replay samples/chromebook"),
    );
    app.update(Event::Key(Key::Char('?')));
    snap("help", &mut app);
    app.update(Event::Key(Key::Char('x')));
    assert!(!app.help_shown());
}

#[test]
fn si_units() {
    let mut app = app_for(
        &sample_tree("chromebook"),
        options(Theme::Dark, false, "replay samples/chromebook"),
    );
    app.update(Event::Key(Key::Char('u')));
    let screen = text(&draw(&mut app, 120, 40));
    for must in ["48300 s to empty", "104148 J", "300.35 K", "Temperature K"] {
        assert!(screen.contains(must), "{must} missing:\n{screen}");
    }
    snap("si_units", &mut app);
}

#[test]
fn paused_with_a_read_error() {
    let mut app = app_for(
        &sample_tree("chromebook"),
        options(Theme::Dark, false, "replay samples/chromebook"),
    );
    app.update(Event::Sample(Sample {
        at: UNIX_EPOCH + Duration::from_secs(START + 30),
        utc_offset_s: 0,
        reading: Err("reading /sys/class/power_supply: permission denied".into()),
    }));
    app.update(Event::Key(Key::Char('p')));
    let screen = text(&draw(&mut app, 80, 24));
    let status = screen.lines().last().unwrap();
    assert!(status.contains("paused"), "{status}");
    app.update(Event::Key(Key::Char('+')));
    snap("paused_interval", &mut app);
}

#[test]
fn light_and_mono_themes() {
    for (theme, name) in [
        (Theme::Light, "light"),
        (Theme::Dark, "dark"),
        (Theme::Mono, "mono"),
    ] {
        let tree = two_battery_tree();
        let mut app = app_for(tree.path(), options(theme, false, "replay two-thinkpads"));
        let overview = draw(&mut app, 120, 40);
        assert_readable(&overview, theme, name);
        let manager = Manager::replay(sample_tree("chromebook")).unwrap();
        let mut app = App::new(options(theme, false, "replay samples/chromebook"));
        feed(&mut app, &manager, 0, 30);
        let buffer = draw(&mut app, 80, 24);
        assert_readable(&buffer, theme, name);
        let mut out = text(&buffer);
        let _ = write!(
            out,
            "\n-- foreground colours (. = the terminal's own) --\n{}",
            colour_map(&buffer)
        );
        insta::assert_snapshot!(format!("theme_{name}_80x24"), out);
    }
}

#[test]
fn before_the_first_sample_and_too_small() {
    let mut app = App::new(options(Theme::Dark, false, "this machine"));
    let screen = text(&draw(&mut app, 80, 24));
    assert!(screen.contains("reading the batteries…"));
    insta::assert_snapshot!("reading_80x24", screen);
    let mut app = app_for(
        &sample_tree("chromebook"),
        options(Theme::Dark, false, "replay samples/chromebook"),
    );
    let screen = text(&draw(&mut app, 40, 10));
    assert!(screen.contains("needs at least 50×14"));
    insta::assert_snapshot!("too_small_40x10", screen);
}

#[test]
fn resizing_redraws_at_the_new_size() {
    let mut app = app_for(
        &sample_tree("chromebook"),
        options(Theme::Dark, false, "replay samples/chromebook"),
    );
    for (w, h) in [(80, 24), (50, 14), (200, 60), (120, 40)] {
        let screen = text(&draw(&mut app, w, h));
        assert!(screen.contains("L17M3PB0"), "{w}x{h}:\n{screen}");
        assert!(screen.contains("71 %"), "{w}x{h}:\n{screen}");
    }
}

#[test]
fn a_long_history_stays_bounded_and_draws() {
    let mut app = App::new(options(Theme::Dark, false, "replay samples/chromebook"));
    let manager = Manager::replay(sample_tree("chromebook")).unwrap();
    feed(&mut app, &manager, 0, voltaic_top::HISTORY_LEN as u64 + 100);
    let id = app.batteries()[0].id.clone();
    assert_eq!(app.history(&id).unwrap().len(), voltaic_top::HISTORY_LEN);
    let screen = text(&draw(&mut app, 120, 40));
    assert!(
        screen.contains("12:01:40") && screen.contains("12:11:39"),
        "{screen}"
    );
}

/// At the smallest size the viewer draws (and just above), a chart area too small for charts says so
/// instead of drawing chart titles over nothing.
#[test]
fn too_small_for_charts_says_so() {
    let mut app = app_for(
        &sample_tree("chromebook"),
        options(Theme::Dark, false, "replay samples/chromebook"),
    );
    for (width, height) in [(50, 14), (60, 18), (80, 20)] {
        let screen = text(&draw(&mut app, width, height));
        assert!(screen.contains("charts need"), "{width}×{height}\n{screen}");
        assert!(!screen.contains("Charge %"), "{width}×{height}\n{screen}");
        assert!(screen.contains("L17M3PB0"), "{width}×{height}\n{screen}");
    }
    let screen = text(&draw(&mut app, 80, 24));
    assert!(
        screen.contains("Charge %") && !screen.contains("charts need"),
        "{screen}"
    );

    let tree = two_battery_tree();
    let mut app = app_for(tree.path(), options(Theme::Dark, false, "replay two"));
    app.update(Event::Key(Key::Left));
    let screen = text(&draw(&mut app, 50, 14));
    assert!(screen.contains("Overview"), "{screen}");
    assert!(screen.contains("charts need"), "{screen}");
}

/// Device strings with escape sequences, a bidi override and a newline are drawn escaped, with the same
/// rule as the `voltaic` text report (`\x1b`, `\u{202e}`): nothing a terminal would act on reaches a cell.
#[test]
fn device_strings_are_drawn_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hostile.record");
    fs::write(
        &file,
        "voltaic-record 1\n[linux \"BAT\\u{1b}]0;t\\u{7}\\nX\"]\nPOWER_SUPPLY_TYPE = \"Battery\"\n\
         POWER_SUPPLY_STATUS = \"Charging\"\nPOWER_SUPPLY_CAPACITY = \"50\"\n\
         POWER_SUPPLY_MODEL_NAME = \"M\\u{202e}odel\"\n\
         [linux \"AC\\u{9b}\"]\nPOWER_SUPPLY_TYPE = \"Mains\"\nPOWER_SUPPLY_ONLINE = \"1\"\n",
    )
    .unwrap();
    let mut app = app_for(&file, options(Theme::Mono, true, "replay \x1b[2J"));
    let screen = text(&draw(&mut app, 120, 40));
    assert!(
        !screen
            .chars()
            .any(|c| c != '\n' && voltaic::core::text::is_unsafe(c)),
        "{screen}"
    );
    for shown in ["BAT\\x1b]0;t\\x07", "AC\\u{9b}", "replay \\x1b[2J", "Model"] {
        assert!(screen.contains(shown), "{shown} not in\n{screen}");
    }
}
