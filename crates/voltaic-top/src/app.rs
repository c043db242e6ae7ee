//! The viewer's state and how each event changes it. No IO and no clock: time comes in with the
//! samples, so [`App::update`] is deterministic and tested without a terminal.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use voltaic::core::estimate::Estimator;
use voltaic::core::warning::Charge;
use voltaic::{
    Battery, EstimatorConfig, Kind, PowerSource, Snapshot, State, Summary, WarningConfig,
    WarningLevel,
};

use crate::theme::Theme;
use crate::ui;
use crate::units::{self, Units};

/// How many samples each battery's charts keep (10 minutes at the default 1 s interval).
pub const HISTORY_LEN: usize = 600;

/// The shortest sampling interval `-` and `--interval` allow.
pub const MIN_INTERVAL: Duration = Duration::from_millis(250);

/// The longest sampling interval `+` and `--interval` allow.
pub const MAX_INTERVAL: Duration = Duration::from_secs(60);

/// The intervals `+` and `-` step through, in milliseconds.
const STEPS_MS: [u64; 11] = [
    250, 500, 1000, 2000, 3000, 5000, 10_000, 15_000, 20_000, 30_000, 60_000,
];

/// What the viewer starts with.
#[derive(Debug, Clone)]
pub struct Options {
    /// Time between samples; clamped to [`MIN_INTERVAL`]…[`MAX_INTERVAL`].
    pub interval: Duration,
    /// Human or SI units.
    pub units: Units,
    /// The palette.
    pub theme: Theme,
    /// Show peripheral batteries (mice, keyboards, game pads) too.
    pub all: bool,
    /// Where the readings come from, shown in the tab bar (`this machine`, `replay samples/chromebook`).
    pub source: String,
    /// Points to start the charts with, per battery id, oldest first (from a stored history); see
    /// [`App::prefill`].
    pub prefill: Vec<(String, Vec<Point>)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            interval: Duration::from_secs(1),
            units: Units::Human,
            theme: Theme::Dark,
            all: false,
            source: "this machine".into(),
            prefill: Vec::new(),
        }
    }
}

/// A key press, independent of the terminal library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// ←
    Left,
    /// →
    Right,
    /// ↑
    Up,
    /// ↓
    Down,
    /// Tab
    Tab,
    /// Shift-Tab
    BackTab,
    /// Escape
    Esc,
    /// Enter
    Enter,
    /// A printable character.
    Char(char),
    /// A character with Control held (`Ctrl('c')`).
    Ctrl(char),
    /// Any other key.
    Other,
}

/// One reading of the batteries, taken by the sampler.
#[derive(Debug, Clone)]
pub struct Sample {
    /// When the reading was taken.
    pub at: SystemTime,
    /// The local time zone's offset from UTC at that moment, in seconds (for the clock times shown).
    pub utc_offset_s: i32,
    /// What was read, or why reading failed.
    pub reading: Result<Snapshot, String>,
}

/// Something that happened: input, a resize, or a sample.
#[derive(Debug, Clone)]
pub enum Event {
    /// A key was pressed.
    Key(Key),
    /// The left mouse button was pressed at this cell.
    Click {
        /// Column, from 0 at the left.
        column: u16,
        /// Row, from 0 at the top.
        row: u16,
    },
    /// The terminal now has this size.
    Resize {
        /// Columns.
        width: u16,
        /// Rows.
        height: u16,
    },
    /// The sampler read the batteries.
    Sample(Sample),
}

/// What the caller must do after an [`App::update`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Nothing beyond redrawing.
    None,
    /// Leave the viewer.
    Quit,
    /// Tell the sampler to use this interval from now on.
    SetInterval(Duration),
    /// Tell the sampler to stop (`true`) or resume (`false`) sampling.
    Pause(bool),
}

/// One tab of the tab bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// All batteries at a glance (present when there are two or more).
    Overview,
    /// The battery at this index of [`App::batteries`].
    Battery(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Selected {
    Overview,
    Battery(String),
}

/// One battery's values at one sample, kept for the charts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// When, in seconds since the Unix epoch.
    pub t: f64,
    /// State of charge, in percent.
    pub percentage: Option<f64>,
    /// The state (which gives the power's direction).
    pub state: State,
    /// Charge or discharge rate (magnitude), in watts.
    pub power_w: Option<f64>,
    /// Terminal voltage, in volts.
    pub voltage_v: Option<f64>,
    /// Temperature, in degrees Celsius.
    pub temperature_c: Option<f64>,
}

impl Point {
    fn of(battery: &Battery, t: f64) -> Point {
        Point {
            t,
            percentage: battery.percentage,
            state: battery.state,
            power_w: battery.power_w,
            voltage_v: battery.voltage_v,
            temperature_c: battery.temperature_c,
        }
    }

    /// The power with its direction as the sign (charging +, discharging −); `None` when there is no
    /// rate, or a non-zero rate whose direction is unknown.
    #[must_use]
    pub fn signed_power(&self) -> Option<f64> {
        let p = self.power_w?;
        match self.state {
            State::Charging => Some(p),
            State::Discharging | State::Empty => Some(-p),
            _ if p == 0.0 => Some(0.0),
            _ => None,
        }
    }
}

/// A status-line message: what last happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The message.
    pub text: String,
    /// Whether it reports a problem (drawn as a warning).
    pub problem: bool,
}

/// The viewer's whole state.
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools)] // independent flags: paused, help shown, quitting, reads failing
pub struct App {
    options: Options,
    interval: Duration,
    units: Units,
    paused: bool,
    help: bool,
    quit: bool,
    size: (u16, u16),
    batteries: Vec<Battery>,
    sources: Vec<PowerSource>,
    hidden_peripherals: usize,
    history: BTreeMap<String, VecDeque<Point>>,
    selected: Selected,
    samples: u64,
    last_sample: Option<(f64, i32)>,
    notice: Option<Notice>,
    failing: bool,
    /// Per battery: its steady time estimator and warning level.
    steady: Vec<(String, Estimator, WarningLevel)>,
    summary: Summary,
}

impl App {
    /// A viewer that has not sampled yet.
    #[must_use]
    pub fn new(mut options: Options) -> App {
        let interval = clamp_interval(options.interval);
        let prefill = std::mem::take(&mut options.prefill);
        let mut app = App {
            units: options.units,
            options,
            interval,
            paused: false,
            help: false,
            quit: false,
            size: (80, 24),
            batteries: Vec::new(),
            sources: Vec::new(),
            hidden_peripherals: 0,
            history: BTreeMap::new(),
            selected: Selected::Overview,
            samples: 0,
            last_sample: None,
            notice: None,
            failing: false,
            steady: Vec::new(),
            summary: Summary::new(&[], &[], &WarningConfig::default(), WarningLevel::None),
        };
        for (id, points) in prefill {
            app.prefill(&id, points);
        }
        app
    }

    /// Starts battery `id`'s charts with `points` (from a stored history), before the first sample: the
    /// newest [`HISTORY_LEN`] in time order, all older than the points already there. A battery that is
    /// not in the first sample loses them, as any battery that goes away does.
    pub fn prefill(&mut self, id: &str, points: impl IntoIterator<Item = Point>) {
        let h = self.history.entry(id.to_owned()).or_default();
        let before = h.front().map_or(f64::INFINITY, |p| p.t);
        let mut old: Vec<Point> = points
            .into_iter()
            .filter(|p| p.t.is_finite() && p.t < before)
            .collect();
        old.sort_by(|a, b| a.t.total_cmp(&b.t));
        let room = HISTORY_LEN.saturating_sub(h.len());
        for p in old.into_iter().rev().take(room) {
            h.push_front(p);
        }
    }

    /// Applies one event; returns what the caller must do besides redrawing.
    pub fn update(&mut self, event: Event) -> Action {
        match event {
            Event::Key(key) => self.key(key),
            Event::Click { column, row } => {
                if self.help {
                    self.help = false;
                } else if let Some(tab) = ui::tab_at(self, column, row) {
                    self.select(tab);
                }
                Action::None
            }
            Event::Resize { width, height } => {
                self.size = (width, height);
                Action::None
            }
            Event::Sample(sample) => {
                self.sample(sample);
                Action::None
            }
        }
    }

    fn key(&mut self, key: Key) -> Action {
        if key == Key::Ctrl('c') {
            self.quit = true;
            return Action::Quit;
        }
        if self.help {
            // Any key closes the help, and does nothing else.
            self.help = false;
            return Action::None;
        }
        match key {
            Key::Char('q') | Key::Esc => {
                self.quit = true;
                Action::Quit
            }
            Key::Char('?') => {
                self.help = true;
                Action::None
            }
            Key::Right | Key::Char('l') | Key::Tab => {
                self.step_tab(true);
                Action::None
            }
            Key::Left | Key::Char('h') | Key::BackTab => {
                self.step_tab(false);
                Action::None
            }
            Key::Char('u') => {
                self.units = self.units.toggled();
                self.note(format!("units: {}", self.units.as_str()));
                Action::None
            }
            Key::Char('+' | '=') => self.change_interval(true),
            Key::Char('-' | '_') => self.change_interval(false),
            Key::Char('p' | ' ') => {
                self.paused = !self.paused;
                self.note(if self.paused { "paused" } else { "resumed" }.to_owned());
                Action::Pause(self.paused)
            }
            _ => Action::None,
        }
    }

    fn change_interval(&mut self, longer: bool) -> Action {
        let ms = self.interval.as_millis() as u64;
        let next = if longer {
            STEPS_MS.iter().copied().find(|&s| s > ms)
        } else {
            STEPS_MS.iter().rev().copied().find(|&s| s < ms)
        };
        if let Some(next) = next {
            self.interval = Duration::from_millis(next);
            self.note(format!("interval {}", Units::interval(self.interval)));
            Action::SetInterval(self.interval)
        } else {
            let bound = if longer { "longest" } else { "shortest" };
            self.note(format!(
                "interval {} (the {bound})",
                Units::interval(self.interval)
            ));
            Action::None
        }
    }

    fn sample(&mut self, sample: Sample) {
        let t = sample
            .at
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        self.last_sample = Some((t, sample.utc_offset_s));
        self.samples += 1;
        let snapshot = match sample.reading {
            Ok(snapshot) => snapshot,
            Err(reason) => {
                // Keep the last values on screen: a failed read says nothing about the battery.
                self.failing = true;
                self.notice = Some(Notice {
                    text: format!("read error: {}", voltaic::core::text::escape(&reason)),
                    problem: true,
                });
                return;
            }
        };
        if self.failing {
            self.failing = false;
            self.note("reading again".to_owned());
        }
        let before: Vec<String> = self.batteries.iter().map(|b| b.id.clone()).collect();
        let mut batteries = snapshot.batteries;
        self.steady(&mut batteries, &snapshot.power_sources, t);
        let total = batteries.len();
        if !self.options.all {
            batteries.retain(|b| b.kind == Kind::System);
        }
        self.hidden_peripherals = total - batteries.len();
        // Announce changes only after the first sample: at start every battery "appears".
        if self.samples > 1 {
            let appeared: Vec<&str> = batteries
                .iter()
                .filter(|b| !before.contains(&b.id))
                .map(|b| b.id.as_str())
                .collect();
            let gone: Vec<&str> = before
                .iter()
                .filter(|id| !batteries.iter().any(|b| &b.id == *id))
                .map(String::as_str)
                .collect();
            let mut changes = Vec::new();
            if !appeared.is_empty() {
                changes.push(format!("{} appeared", appeared.join(", ")));
            }
            if !gone.is_empty() {
                changes.push(format!("{} gone", gone.join(", ")));
            }
            if !changes.is_empty() {
                let at = units::clock(t, sample.utc_offset_s);
                self.note(format!("{} at {at}", changes.join("; ")));
            }
        }
        self.history
            .retain(|id, _| batteries.iter().any(|b| &b.id == id));
        for b in &batteries {
            let h = self.history.entry(b.id.clone()).or_default();
            if h.len() == HISTORY_LEN {
                h.pop_front();
            }
            h.push_back(Point::of(b, t));
        }
        self.batteries = batteries;
        self.sources = snapshot.power_sources;
        self.fix_selection();
    }

    /// Replaces the time estimates by steady ones (an average of the rate over time, see
    /// `voltaic::core::estimate`) and updates the warning levels, with the sample's time `t` (seconds).
    fn steady(&mut self, batteries: &mut [Battery], sources: &[PowerSource], t: f64) {
        let config = WarningConfig::default();
        self.steady
            .retain(|(id, ..)| batteries.iter().any(|b| &b.id == id));
        let at = Duration::try_from_secs_f64(t).unwrap_or_default();
        for b in batteries.iter_mut() {
            let i = self
                .steady
                .iter()
                .position(|(id, ..)| *id == b.id)
                .unwrap_or_else(|| {
                    let estimator = Estimator::new(EstimatorConfig::default());
                    self.steady
                        .push((b.id.clone(), estimator, WarningLevel::None));
                    self.steady.len() - 1
                });
            let (_, estimator, level) = &mut self.steady[i];
            estimator.apply(at, b);
            *level = config.level(&Charge::of(b), *level);
        }
        self.summary = Summary::new(batteries, sources, &config, self.summary.warning);
    }

    /// Keeps the selection on the same battery when others come and go; when the selected one has
    /// gone, falls back to the overview, else the first battery.
    fn fix_selection(&mut self) {
        let overview = self.batteries.len() >= 2;
        let valid = match &self.selected {
            Selected::Overview => overview || self.batteries.is_empty(),
            Selected::Battery(id) => self.batteries.iter().any(|b| &b.id == id),
        };
        if !valid {
            self.selected = match self.batteries.first() {
                Some(_) if overview => Selected::Overview,
                Some(b) => Selected::Battery(b.id.clone()),
                None => Selected::Overview,
            };
        }
    }

    /// Selects the next (or previous) tab, wrapping around at either end.
    fn step_tab(&mut self, forward: bool) {
        let tabs = self.tabs();
        let n = tabs.len();
        if n == 0 {
            return;
        }
        let i = self.selected_tab();
        let next = if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        };
        self.select(tabs[next]);
    }

    fn select(&mut self, tab: Tab) {
        self.selected = match tab {
            Tab::Overview => Selected::Overview,
            Tab::Battery(i) => match self.batteries.get(i) {
                Some(b) => Selected::Battery(b.id.clone()),
                None => return,
            },
        };
    }

    fn note(&mut self, text: String) {
        self.notice = Some(Notice {
            text,
            problem: false,
        });
    }

    /// The tabs, in order: the overview (with two or more batteries), then one per battery.
    #[must_use]
    pub fn tabs(&self) -> Vec<Tab> {
        let overview = (self.batteries.len() >= 2).then_some(Tab::Overview);
        overview
            .into_iter()
            .chain((0..self.batteries.len()).map(Tab::Battery))
            .collect()
    }

    /// The index in [`App::tabs`] of the tab shown (0 when there is none).
    #[must_use]
    pub fn selected_tab(&self) -> usize {
        self.tabs()
            .iter()
            .position(|t| *t == self.current())
            .unwrap_or(0)
    }

    /// The tab shown.
    #[must_use]
    pub fn current(&self) -> Tab {
        match &self.selected {
            Selected::Battery(id) => self
                .batteries
                .iter()
                .position(|b| &b.id == id)
                .map_or(Tab::Overview, Tab::Battery),
            Selected::Overview => Tab::Overview,
        }
    }

    /// The warning level of battery `id` (none when unknown).
    #[must_use]
    pub fn warning(&self, id: &str) -> WarningLevel {
        self.steady
            .iter()
            .find(|(i, ..)| i == id)
            .map_or(WarningLevel::None, |(.., level)| *level)
    }

    /// The system batteries of the last sample taken together.
    #[must_use]
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// The batteries shown (peripherals only with [`Options::all`]), system first.
    #[must_use]
    pub fn batteries(&self) -> &[Battery] {
        &self.batteries
    }

    /// The power sources of the last sample.
    #[must_use]
    pub fn power_sources(&self) -> &[PowerSource] {
        &self.sources
    }

    /// How many peripheral batteries the last sample had that are not shown (no [`Options::all`]).
    #[must_use]
    pub fn hidden_peripherals(&self) -> usize {
        self.hidden_peripherals
    }

    /// The samples kept for battery `id`, oldest first (at most [`HISTORY_LEN`]).
    #[must_use]
    pub fn history(&self, id: &str) -> Option<&VecDeque<Point>> {
        self.history.get(id)
    }

    /// The sampling interval.
    #[must_use]
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The units values are shown in.
    #[must_use]
    pub fn units(&self) -> Units {
        self.units
    }

    /// The options the viewer was started with.
    #[must_use]
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Whether sampling is paused.
    #[must_use]
    pub fn paused(&self) -> bool {
        self.paused
    }

    /// Whether the help is shown.
    #[must_use]
    pub fn help_shown(&self) -> bool {
        self.help
    }

    /// Whether the user asked to quit.
    #[must_use]
    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// The terminal size last reported (columns, rows).
    #[must_use]
    pub fn size(&self) -> (u16, u16) {
        self.size
    }

    /// How many samples have arrived (failed reads included).
    #[must_use]
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// When the last sample was taken: seconds since the Unix epoch, and the UTC offset then.
    #[must_use]
    pub fn last_sample(&self) -> Option<(f64, i32)> {
        self.last_sample
    }

    /// The last thing worth telling (a key's effect, a battery coming or going, a read error).
    #[must_use]
    pub fn notice(&self) -> Option<&Notice> {
        self.notice.as_ref()
    }
}

/// `interval` held within [`MIN_INTERVAL`]…[`MAX_INTERVAL`].
#[must_use]
pub fn clamp_interval(interval: Duration) -> Duration {
    interval.clamp(MIN_INTERVAL, MAX_INTERVAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn battery(id: &str, kind: Kind) -> Battery {
        let mut b = Battery::new(id, kind);
        b.percentage = Some(50.0);
        b
    }

    fn snapshot(ids: &[&str]) -> Snapshot {
        let mut s = Snapshot::default();
        s.batteries = ids.iter().map(|id| battery(id, Kind::System)).collect();
        s
    }

    fn sample(app: &mut App, secs: u64, snapshot: Snapshot) {
        app.update(Event::Sample(Sample {
            at: UNIX_EPOCH + Duration::from_secs(1_707_048_000 + secs),
            utc_offset_s: 0,
            reading: Ok(snapshot),
        }));
    }

    fn app_with(ids: &[&str]) -> App {
        let mut app = App::new(Options::default());
        sample(&mut app, 0, snapshot(ids));
        app
    }

    fn key(app: &mut App, key: Key) -> Action {
        app.update(Event::Key(key))
    }

    #[test]
    fn quit_keys() {
        for k in [Key::Char('q'), Key::Esc, Key::Ctrl('c')] {
            let mut app = app_with(&["BAT0"]);
            assert_eq!(key(&mut app, k), Action::Quit);
            assert!(app.should_quit());
        }
        let mut app = app_with(&["BAT0"]);
        assert_eq!(key(&mut app, Key::Char('x')), Action::None);
        assert!(!app.should_quit());
    }

    #[test]
    fn tabs_wrap_around_both_ways() {
        let mut app = app_with(&["BAT0", "BAT1"]);
        assert_eq!(
            app.tabs(),
            vec![Tab::Overview, Tab::Battery(0), Tab::Battery(1)]
        );
        assert_eq!(app.current(), Tab::Overview);
        key(&mut app, Key::Right);
        assert_eq!(app.current(), Tab::Battery(0));
        key(&mut app, Key::Char('l'));
        assert_eq!(app.current(), Tab::Battery(1));
        key(&mut app, Key::Tab);
        assert_eq!(app.current(), Tab::Overview);
        key(&mut app, Key::BackTab);
        assert_eq!(app.current(), Tab::Battery(1));
        key(&mut app, Key::Char('h'));
        key(&mut app, Key::Left);
        assert_eq!(app.current(), Tab::Overview);
        assert_eq!(app.selected_tab(), 0);
    }

    #[test]
    fn one_battery_has_no_overview_and_switching_stays_put() {
        let mut app = app_with(&["BAT0"]);
        assert_eq!(app.tabs(), vec![Tab::Battery(0)]);
        assert_eq!(app.current(), Tab::Battery(0));
        key(&mut app, Key::Right);
        assert_eq!(app.current(), Tab::Battery(0));
    }

    #[test]
    fn no_battery_switching_does_nothing() {
        let mut app = app_with(&[]);
        assert!(app.tabs().is_empty());
        key(&mut app, Key::Right);
        key(&mut app, Key::BackTab);
        assert_eq!(app.selected_tab(), 0);
    }

    #[test]
    fn selection_follows_the_battery_when_others_come_and_go() {
        let mut app = app_with(&["BAT0", "BAT1"]);
        key(&mut app, Key::Right);
        key(&mut app, Key::Right);
        assert_eq!(app.current(), Tab::Battery(1));
        // BAT0 goes: BAT1 is now the only battery, at index 0, and stays selected.
        sample(&mut app, 1, snapshot(&["BAT1"]));
        assert_eq!(app.current(), Tab::Battery(0));
        assert_eq!(app.batteries()[0].id, "BAT1");
        assert_eq!(
            app.notice().map(|n| n.text.as_str()),
            Some("BAT0 gone at 12:00:01")
        );
        // BAT0 comes back in front of it: still BAT1 selected, now at index 1.
        sample(&mut app, 2, snapshot(&["BAT0", "BAT1"]));
        assert_eq!(app.current(), Tab::Battery(1));
        assert_eq!(
            app.notice().map(|n| n.text.as_str()),
            Some("BAT0 appeared at 12:00:02")
        );
    }

    #[test]
    fn selected_battery_gone_falls_back() {
        let mut app = app_with(&["BAT0", "BAT1", "BAT2"]);
        key(&mut app, Key::Left);
        assert_eq!(app.current(), Tab::Battery(2));
        // Two left: the overview remains and is selected.
        sample(&mut app, 1, snapshot(&["BAT0", "BAT1"]));
        assert_eq!(app.current(), Tab::Overview);
        // One left: the overview goes with the second battery; the remaining one is selected.
        sample(&mut app, 2, snapshot(&["BAT1"]));
        assert_eq!(app.current(), Tab::Battery(0));
        // None left.
        sample(&mut app, 3, snapshot(&[]));
        assert!(app.tabs().is_empty());
        assert_eq!(app.selected_tab(), 0);
        assert_eq!(
            app.notice().map(|n| n.text.as_str()),
            Some("BAT1 gone at 12:00:03")
        );
        // One comes back: selected.
        sample(&mut app, 4, snapshot(&["BAT9"]));
        assert_eq!(app.current(), Tab::Battery(0));
    }

    #[test]
    fn first_sample_announces_nothing() {
        let app = app_with(&["BAT0", "BAT1"]);
        assert_eq!(app.notice(), None);
    }

    #[test]
    fn interval_steps_are_bounded() {
        let mut app = App::new(Options {
            interval: Duration::from_secs(1),
            ..Options::default()
        });
        assert_eq!(
            key(&mut app, Key::Char('+')),
            Action::SetInterval(Duration::from_secs(2))
        );
        assert_eq!(app.notice().map(|n| n.text.as_str()), Some("interval 2 s"));
        for _ in 0..20 {
            key(&mut app, Key::Char('+'));
        }
        assert_eq!(app.interval(), MAX_INTERVAL);
        assert_eq!(key(&mut app, Key::Char('+')), Action::None);
        assert_eq!(
            app.notice().map(|n| n.text.as_str()),
            Some("interval 60 s (the longest)")
        );
        for _ in 0..20 {
            key(&mut app, Key::Char('-'));
        }
        assert_eq!(app.interval(), MIN_INTERVAL);
        assert_eq!(key(&mut app, Key::Char('-')), Action::None);
        assert_eq!(
            app.notice().map(|n| n.text.as_str()),
            Some("interval 250 ms (the shortest)")
        );
    }

    #[test]
    fn interval_off_the_steps_moves_to_the_next_step() {
        let mut app = App::new(Options {
            interval: Duration::from_millis(1500),
            ..Options::default()
        });
        assert_eq!(
            key(&mut app, Key::Char('-')),
            Action::SetInterval(Duration::from_secs(1))
        );
        let mut app = App::new(Options {
            interval: Duration::from_millis(1500),
            ..Options::default()
        });
        assert_eq!(
            key(&mut app, Key::Char('=')),
            Action::SetInterval(Duration::from_secs(2))
        );
    }

    #[test]
    fn start_interval_is_clamped() {
        let app = App::new(Options {
            interval: Duration::from_millis(1),
            ..Options::default()
        });
        assert_eq!(app.interval(), MIN_INTERVAL);
        let app = App::new(Options {
            interval: Duration::from_secs(3600),
            ..Options::default()
        });
        assert_eq!(app.interval(), MAX_INTERVAL);
    }

    #[test]
    fn pause_toggles_and_tells_the_sampler() {
        let mut app = app_with(&["BAT0"]);
        assert_eq!(key(&mut app, Key::Char('p')), Action::Pause(true));
        assert!(app.paused());
        assert_eq!(app.notice().map(|n| n.text.as_str()), Some("paused"));
        assert_eq!(key(&mut app, Key::Char('p')), Action::Pause(false));
        assert!(!app.paused());
        assert_eq!(app.notice().map(|n| n.text.as_str()), Some("resumed"));
    }

    #[test]
    fn units_toggle() {
        let mut app = app_with(&["BAT0"]);
        assert_eq!(app.units(), Units::Human);
        key(&mut app, Key::Char('u'));
        assert_eq!(app.units(), Units::Si);
        key(&mut app, Key::Char('u'));
        assert_eq!(app.units(), Units::Human);
    }

    #[test]
    fn help_opens_and_any_key_closes_it_without_acting() {
        let mut app = app_with(&["BAT0", "BAT1"]);
        key(&mut app, Key::Char('?'));
        assert!(app.help_shown());
        // `q` closes the help rather than quitting; → does not switch tabs.
        assert_eq!(key(&mut app, Key::Char('q')), Action::None);
        assert!(!app.help_shown() && !app.should_quit());
        key(&mut app, Key::Char('?'));
        key(&mut app, Key::Right);
        assert!(!app.help_shown());
        assert_eq!(app.current(), Tab::Overview);
        // A click closes it too; Ctrl-C still quits from the help.
        key(&mut app, Key::Char('?'));
        app.update(Event::Click { column: 0, row: 5 });
        assert!(!app.help_shown());
        key(&mut app, Key::Char('?'));
        assert_eq!(key(&mut app, Key::Ctrl('c')), Action::Quit);
    }

    #[test]
    fn prefill_starts_the_charts_and_yields_to_samples() {
        let point = |t: f64| Point {
            t,
            percentage: Some(50.0),
            state: State::Discharging,
            power_w: Some(7.5),
            voltage_v: None,
            temperature_c: None,
        };
        let stored: Vec<Point> = (0..HISTORY_LEN + 10)
            .map(|i| point(1_707_000_000.0 + i as f64 * 60.0))
            .rev()
            .collect();
        let mut app = App::new(Options {
            prefill: vec![("BAT0".into(), stored), ("BAT9".into(), vec![point(1.0)])],
            ..Options::default()
        });
        let h = app.history("BAT0").unwrap();
        assert_eq!(h.len(), HISTORY_LEN, "only the newest points are kept");
        assert!(
            h.iter().zip(h.iter().skip(1)).all(|(a, b)| a.t < b.t),
            "time order"
        );
        assert_eq!(h.front().map(|p| p.t), Some(1_707_000_000.0 + 600.0));
        sample(&mut app, 1, snapshot(&["BAT0"]));
        let h = app.history("BAT0").unwrap();
        assert_eq!(
            h.len(),
            HISTORY_LEN,
            "a sample pushes out the oldest stored point"
        );
        assert!(
            app.history("BAT9").is_none(),
            "a battery not present loses its points"
        );
    }

    #[test]
    fn history_is_bounded_and_follows_the_batteries() {
        let mut app = app_with(&["BAT0", "BAT1"]);
        for s in 1..(HISTORY_LEN as u64 + 50) {
            sample(&mut app, s, snapshot(&["BAT0", "BAT1"]));
        }
        let h = app.history("BAT0").map(VecDeque::len);
        assert_eq!(h, Some(HISTORY_LEN));
        // The oldest samples were dropped.
        let first = app.history("BAT0").and_then(|h| h.front()).map(|p| p.t);
        assert_eq!(first, Some(1_707_048_000.0 + 50.0));
        sample(&mut app, 10_000, snapshot(&["BAT0"]));
        assert!(app.history("BAT1").is_none());
    }

    #[test]
    fn peripherals_are_hidden_unless_all() {
        let mut s = snapshot(&["BAT0"]);
        s.batteries
            .push(battery("hidpp_battery_5", Kind::Peripheral));
        let mut app = App::new(Options::default());
        sample(&mut app, 0, s.clone());
        assert_eq!(app.batteries().len(), 1);
        assert_eq!(app.hidden_peripherals(), 1);
        let mut app = App::new(Options {
            all: true,
            ..Options::default()
        });
        sample(&mut app, 0, s);
        assert_eq!(app.batteries().len(), 2);
        assert_eq!(app.hidden_peripherals(), 0);
        assert_eq!(app.current(), Tab::Overview);
    }

    #[test]
    fn read_errors_keep_the_last_values() {
        let mut app = app_with(&["BAT0"]);
        app.update(Event::Sample(Sample {
            at: UNIX_EPOCH + Duration::from_secs(1_707_048_001),
            utc_offset_s: 0,
            reading: Err("permission denied".into()),
        }));
        assert_eq!(app.batteries().len(), 1);
        assert_eq!(app.history("BAT0").map(VecDeque::len), Some(1));
        assert!(app.notice().is_some_and(|n| n.problem));
        sample(&mut app, 2, snapshot(&["BAT0"]));
        assert_eq!(app.notice().map(|n| n.text.as_str()), Some("reading again"));
    }

    #[test]
    fn resize_is_remembered() {
        let mut app = app_with(&["BAT0"]);
        app.update(Event::Resize {
            width: 120,
            height: 40,
        });
        assert_eq!(app.size(), (120, 40));
    }

    #[test]
    fn power_sign_follows_the_state() {
        let mut p = Point {
            t: 0.0,
            percentage: None,
            state: State::Charging,
            power_w: Some(5.0),
            voltage_v: None,
            temperature_c: None,
        };
        assert_eq!(p.signed_power(), Some(5.0));
        p.state = State::Discharging;
        assert_eq!(p.signed_power(), Some(-5.0));
        p.state = State::Unknown;
        assert_eq!(p.signed_power(), None);
        p.power_w = Some(0.0);
        assert_eq!(p.signed_power(), Some(0.0));
        p.power_w = None;
        assert_eq!(p.signed_power(), None);
    }

    #[test]
    fn warning_levels_follow_the_charge_with_hysteresis() {
        let mut app = app_with(&[]);
        let reading = |p: f64| {
            let mut s = snapshot(&["BAT0"]);
            s.batteries[0].state = State::Discharging;
            s.batteries[0].percentage = Some(p);
            s
        };
        sample(&mut app, 0, reading(25.0));
        assert_eq!(app.warning("BAT0"), WarningLevel::None);
        sample(&mut app, 1, reading(20.0));
        assert_eq!(app.warning("BAT0"), WarningLevel::Low);
        assert_eq!(app.summary().warning, WarningLevel::Low);
        // 20.5 % is within the margin: still low; 4 % is critical.
        sample(&mut app, 2, reading(20.5));
        assert_eq!(app.warning("BAT0"), WarningLevel::Low);
        sample(&mut app, 3, reading(4.0));
        assert_eq!(app.warning("BAT0"), WarningLevel::Critical);
        assert_eq!(app.warning("gone"), WarningLevel::None);
    }
}
