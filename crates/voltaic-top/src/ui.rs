//! Drawing: [`render`] turns an [`App`] into a frame. It reads only the `App` (no OS call, no clock),
//! so every screen is reproducible in a `TestBackend`.

use std::collections::VecDeque;

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, Borders, Cell, Chart, Clear, Dataset, GraphType, Paragraph, Row, Table, Wrap,
};
use voltaic::core::text::escape;
use voltaic::{Battery, Field, Kind, PowerSource, State, Summary, WarningLevel};

use crate::app::{App, HISTORY_LEN, Point, Tab};
use crate::theme::Palette;
use crate::units::{self, Units};

/// The smallest terminal the viewer draws into; below it a message asks for more room.
pub const MIN_SIZE: (u16, u16) = (50, 14);

/// A chart needs this many rows (its title and three rows of plot) to show anything; a chart area
/// with fewer rows per chart says so instead of drawing empty titles.
const MIN_CHART_ROWS: u16 = 4;

/// Charts span at least this many seconds, so that a young history grows from the right.
const MIN_WINDOW_S: f64 = 60.0;

/// Marks a value voltaic worked out rather than read.
const DERIVED: &str = "*";

/// Draws the whole screen.
pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        let text = format!(
            "voltaic top needs at least {}×{} (this terminal is {}×{}); q quits",
            MIN_SIZE.0, MIN_SIZE.1, area.width, area.height
        );
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
        return;
    }
    let palette = app.options().theme.palette();
    let [tabs, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    render_tabs(app, frame, tabs);
    if app.samples() == 0 {
        frame.render_widget(
            Paragraph::new("reading the batteries…").alignment(Alignment::Center),
            centered(body, body.width, 1),
        );
    } else if app.batteries().is_empty() {
        render_no_battery(app, frame, body);
    } else {
        match app.current() {
            Tab::Overview => render_overview(app, &palette, frame, body),
            Tab::Battery(i) => render_battery(app, &palette, frame, body, i),
        }
    }
    render_status(app, &palette, frame, status);
    if app.help_shown() {
        render_help(app, frame, area);
    }
}

/// The title of each tab and the columns it covers on the tab row (start, width).
pub(crate) fn tab_titles(app: &App) -> Vec<(Tab, String, u16, u16)> {
    let batteries = app.batteries();
    let mut x = 0u16;
    let mut out = Vec::new();
    for tab in app.tabs() {
        let title = match tab {
            Tab::Overview => " Overview ".to_owned(),
            Tab::Battery(i) => {
                let b = &batteries[i];
                let name = b.display_name();
                // Two packs of the same model: tell them apart by device name.
                let twin = batteries
                    .iter()
                    .filter(|o| o.display_name() == name)
                    .count()
                    > 1;
                // Device strings are shown through the command's one escaping rule.
                if twin && name != b.id {
                    format!(" {} ({}) ", escape(name), escape(&b.id))
                } else {
                    format!(" {} ", escape(name))
                }
            }
        };
        let width = Span::raw(title.as_str()).width() as u16;
        out.push((tab, title, x, width));
        x = x.saturating_add(width + 1);
    }
    out
}

/// The tab drawn at this cell, if any (tabs are on the top row).
pub(crate) fn tab_at(app: &App, column: u16, row: u16) -> Option<Tab> {
    if row != 0 || column >= app.size().0 {
        return None;
    }
    tab_titles(app)
        .into_iter()
        .find(|(_, _, x, w)| (*x..x.saturating_add(*w)).contains(&column))
        .map(|(tab, ..)| tab)
}

fn render_tabs(app: &App, frame: &mut Frame, area: Rect) {
    let selected = app.selected_tab();
    let mut spans = Vec::new();
    for (i, (_, title, _, _)) in tab_titles(app).into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw(" "));
        }
        let style = if i == selected {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        } else {
            Style::new()
        };
        spans.push(Span::styled(title, style));
    }
    let tabs = Line::from(spans);
    let used = tabs.width() as u16;
    frame.render_widget(tabs, area);
    let label = format!("voltaic top · {} ", escape(&app.options().source));
    let width = Span::raw(label.as_str()).width() as u16;
    if used + 2 + width <= area.width {
        let right = Rect {
            x: area.right() - width,
            width,
            ..area
        };
        frame.render_widget(
            Span::styled(label, Style::new().add_modifier(Modifier::DIM)),
            right,
        );
    }
}

fn render_status(app: &App, palette: &Palette, frame: &mut Frame, area: Rect) {
    let mut right = Vec::new();
    if let Some((t, offset)) = app.last_sample() {
        right.push(format!("sampled {}", units::clock(t, offset)));
    }
    right.push(format!("every {}", Units::interval(app.interval())));
    right.push("? help".to_owned());
    let right = format!("{} ", right.join(" · "));
    let right_width = Span::raw(right.as_str()).width() as u16;

    let mut left = vec![Span::raw(" ")];
    if app.paused() {
        left.push(Span::styled(
            " paused ",
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        ));
        left.push(Span::raw(" "));
    }
    match app.notice() {
        Some(n) if n.problem => left.push(Span::styled(
            n.text.clone(),
            Style::new().fg(palette.warn).add_modifier(Modifier::BOLD),
        )),
        Some(n) if !(app.paused() && n.text == "paused") => left.push(Span::raw(n.text.clone())),
        _ if app.samples() == 0 => left.push(Span::raw("reading…")),
        _ => {}
    }
    let [left_area, right_area] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(right_width)]).areas(area);
    frame.render_widget(Line::from(left), left_area);
    frame.render_widget(
        Span::styled(right, Style::new().add_modifier(Modifier::DIM)),
        right_area,
    );
}

fn render_help(app: &App, frame: &mut Frame, area: Rect) {
    let rows: [(&str, String); 8] = [
        ("← → h l", "previous / next battery".to_owned()),
        ("Tab Shift-Tab", "next / previous battery".to_owned()),
        ("click a tab", "show that tab".to_owned()),
        (
            "+ -",
            format!(
                "longer / shorter interval (now {})",
                Units::interval(app.interval())
            ),
        ),
        ("p  space", "pause / resume sampling".to_owned()),
        (
            "u",
            format!("human ↔ SI units (now {})", app.units().name()),
        ),
        ("?", "this help".to_owned()),
        ("q  Esc  Ctrl-C", "quit".to_owned()),
    ];
    let mut lines: Vec<Line> = rows
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(
                    format!(" {k:<15}"),
                    Style::new().add_modifier(Modifier::BOLD),
                ),
                Span::raw(what.clone()),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::raw(format!(
        " Charts keep the last {HISTORY_LEN} samples. Power: above 0 charging,"
    )));
    lines.push(Line::raw(
        " below 0 discharging. * = worked out by voltaic, not read.",
    ));
    lines.push(Line::raw(format!(
        " Theme: {} (--theme light|dark|auto).",
        app.options().theme.as_str()
    )));
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "any key closes this help",
        Style::new().add_modifier(Modifier::DIM),
    ));
    let width = lines
        .iter()
        .map(Line::width)
        .max()
        .unwrap_or(0)
        .saturating_add(3) as u16;
    let height = lines.len() as u16 + 2;
    let popup = centered(area, width, height);
    let last = lines.len() - 1;
    lines[last] = lines[last].clone().alignment(Alignment::Center);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(Span::styled(
            " Keys ",
            Style::new().add_modifier(Modifier::BOLD),
        ))),
        popup,
    );
}

fn render_no_battery(app: &App, frame: &mut Frame, area: Rect) {
    let mut lines = vec![
        Line::styled(
            "No battery found.",
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Line::raw(""),
    ];
    let sources = app.power_sources();
    if sources.is_empty() {
        lines.push(Line::raw("No power source is reported either."));
    } else {
        lines.push(Line::raw("Power sources:"));
        for s in sources {
            lines.push(Line::raw(format!("  {}", source_text(s))));
        }
    }
    let hidden = app.hidden_peripherals();
    if hidden > 0 {
        let noun = if hidden == 1 {
            "peripheral battery is"
        } else {
            "peripheral batteries are"
        };
        lines.push(Line::raw(""));
        lines.push(Line::raw(format!(
            "{hidden} {noun} hidden: `voltaic top --all` shows them."
        )));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Still sampling: a battery that appears is shown. q quits.",
        Style::new().add_modifier(Modifier::DIM),
    ));
    let width = lines.iter().map(Line::width).max().unwrap_or(0) as u16 + 4;
    let height = lines.len() as u16 + 2;
    let boxed = centered(area, width, height);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().padding(ratatui::widgets::Padding::horizontal(1))),
        boxed,
    );
}

/// A rectangle of at most `width`×`height` centred in `area`.
fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

// ------------------------------------------------------------------------------------------------
// One battery

fn render_battery(app: &App, palette: &Palette, frame: &mut Frame, area: Rect, i: usize) {
    let b = &app.batteries()[i];
    let units = app.units();
    let details_height = if area.height >= 34 { 11 } else { 9 };
    let [gauge, charts, details] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Fill(1),
        Constraint::Length(details_height),
    ])
    .areas(area);
    render_gauge(b, app.warning(&b.id), units, palette, frame, gauge);
    if too_small_for_charts(frame, charts, 2) {
        render_details(b, app.power_sources(), units, frame, details);
        return;
    }
    let empty = VecDeque::new();
    let history = app.history(&b.id).unwrap_or(&empty);
    let offset = app.last_sample().map_or(0, |(_, o)| o);
    let [top, bottom] =
        Layout::vertical([Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)]).areas(charts);
    let halves = Layout::horizontal([Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)]).spacing(2);
    let [charge, power] = halves.areas(top);
    let [voltage, temperature] = halves.areas(bottom);
    let window = Window::of(history, offset);

    let series = |f: fn(&Point) -> Option<f64>| -> Vec<(f64, f64)> {
        history
            .iter()
            .filter_map(|p| Some((p.t - window.end, f(p)?)))
            .collect()
    };
    let charge_data = series(|p| p.percentage);
    render_line_chart(
        frame,
        charge,
        &window,
        &LineChart {
            title: "Charge %",
            what: "its charge in percent",
            data: &charge_data,
            color: palette.charge,
            fixed: Some((0.0, 100.0)),
            pad: 1.0,
            decimals: 0,
        },
    );
    render_power_chart(frame, power, &window, history, palette);
    let voltage_data = series(|p| p.voltage_v);
    render_line_chart(
        frame,
        voltage,
        &window,
        &LineChart {
            title: "Voltage V",
            what: "its voltage",
            data: &voltage_data,
            color: palette.voltage,
            fixed: None,
            pad: 0.05,
            decimals: 2,
        },
    );
    let temperature_data: Vec<(f64, f64)> = history
        .iter()
        .filter_map(|p| Some((p.t - window.end, units.temperature_value(p.temperature_c?))))
        .collect();
    let temperature_title = format!("Temperature {}", units.temperature_unit());
    render_line_chart(
        frame,
        temperature,
        &window,
        &LineChart {
            title: &temperature_title,
            what: "its temperature",
            data: &temperature_data,
            color: palette.temperature,
            fixed: None,
            pad: 0.5,
            decimals: 1,
        },
    );
    render_details(b, app.power_sources(), units, frame, details);
}

/// When `area` has fewer than [`MIN_CHART_ROWS`] rows for each of its `rows` rows of charts, says so in
/// it (when there is a row to say it in) and returns true: the caller draws no chart.
fn too_small_for_charts(frame: &mut Frame, area: Rect, rows: u16) -> bool {
    let need = MIN_CHART_ROWS * rows;
    if area.height >= need {
        return false;
    }
    if area.height > 0 {
        let text = format!(
            "charts need {} more rows: enlarge the terminal",
            need - area.height
        );
        frame.render_widget(
            Paragraph::new(text)
                .alignment(Alignment::Center)
                .wrap(Wrap { trim: true }),
            area,
        );
    }
    true
}

/// The state word, with the derived mark.
fn state_text(b: &Battery) -> String {
    let mut s = b.state.to_string();
    if b.derived.contains(Field::State) {
        s.push_str(DERIVED);
    }
    s
}

fn state_color(state: State, percentage: Option<f64>, palette: &Palette) -> Color {
    match state {
        State::Empty => palette.warn,
        State::Discharging if percentage.is_some_and(|p| p <= 10.0) => palette.warn,
        State::Discharging => palette.discharging,
        State::Charging | State::Full => palette.charging,
        _ => palette.accent,
    }
}

fn mark(b: &Battery, field: Field) -> &'static str {
    if b.derived.contains(field) {
        DERIVED
    } else {
        ""
    }
}

fn render_gauge(
    b: &Battery,
    warning: WarningLevel,
    units: Units,
    palette: &Palette,
    frame: &mut Frame,
    area: Rect,
) {
    let color = state_color(b.state, b.percentage, palette);
    let mut title = vec![
        Span::styled(" Charge: ", Style::new().add_modifier(Modifier::BOLD)),
        Span::styled(
            state_text(b),
            Style::new().fg(color).add_modifier(Modifier::BOLD),
        ),
    ];
    if warning != WarningLevel::None {
        title.push(warning_span(warning, palette));
    }
    if let Some(t) = b.time_to_empty {
        title.push(Span::raw(format!(
            " · {}{} to empty",
            units.duration(t),
            mark(b, Field::TimeToEmpty)
        )));
    }
    if let Some(t) = b.time_to_full {
        title.push(Span::raw(format!(
            " · {}{} to full",
            units.duration(t),
            mark(b, Field::TimeToFull)
        )));
    }
    if let Some(w) = b.power_w {
        title.push(Span::raw(format!(
            " · {}{}",
            units.power(w),
            mark(b, Field::Power)
        )));
    }
    if let Some(limit) = b.charge_end_threshold {
        title.push(Span::raw(format!(" · limit {limit} %")));
    }
    let [title_row, bar_row] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
    frame.render_widget(Line::from(title), title_row);
    let bar = match (b.percentage, b.level) {
        (Some(p), _) => {
            let label = format!(" {}{}", units::percent(p), mark(b, Field::Percentage));
            bar_line(p, bar_row.width, &label, color)
        }
        (None, Some(level)) => Line::raw(format!(
            " level {} (the device gives no percentage)",
            level.as_str()
        )),
        (None, None) => Line::raw(" charge unknown: the device reports none"),
    };
    frame.render_widget(bar, bar_row);
}

/// A horizontal bar `percent` full, `width` cells wide including `label` (drawn after the bar in the
/// terminal's own colour, never on top of the fill, so it reads on any background).
fn bar_line(percent: f64, width: u16, label: &str, color: Color) -> Line<'static> {
    const PARTIAL: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
    let label_width = Span::raw(label).width() as u16;
    let cells = width.saturating_sub(label_width + 2).max(1) as usize;
    let eighths = ((percent.clamp(0.0, 100.0) / 100.0) * (cells * 8) as f64).round() as usize;
    let (full, part) = (eighths / 8, eighths % 8);
    let mut filled = "█".repeat(full);
    filled.push_str(PARTIAL[part]);
    let used = full + usize::from(part > 0);
    let rest = "░".repeat(cells.saturating_sub(used));
    Line::from(vec![
        Span::raw(" "),
        Span::styled(filled, Style::new().fg(color)),
        Span::styled(rest, Style::new().add_modifier(Modifier::DIM)),
        Span::styled(label.to_owned(), Style::new().add_modifier(Modifier::BOLD)),
    ])
}

// ------------------------------------------------------------------------------------------------
// Charts

/// The time span the charts show, ending at the newest sample.
struct Window {
    /// Newest sample, seconds since the epoch.
    end: f64,
    /// Seconds shown.
    span: f64,
    offset: i32,
}

impl Window {
    fn of(history: &VecDeque<Point>, offset: i32) -> Window {
        let end = history.back().map_or(0.0, |p| p.t);
        let start = history.front().map_or(end, |p| p.t);
        Window {
            end,
            span: (end - start).max(MIN_WINDOW_S),
            offset,
        }
    }

    fn x_axis(&self, show_labels: bool) -> Axis<'static> {
        let axis = Axis::default().bounds([-self.span, 0.0]);
        if show_labels {
            axis.labels([
                Line::raw(units::clock(self.end - self.span, self.offset)),
                Line::raw(units::clock(self.end, self.offset)),
            ])
            .labels_alignment(Alignment::Right)
        } else {
            axis
        }
    }
}

struct LineChart<'a> {
    title: &'a str,
    /// Completes "the battery does not report …".
    what: &'a str,
    data: &'a [(f64, f64)],
    color: Color,
    /// Fixed y bounds (charge: 0–100), else fitted to the data.
    fixed: Option<(f64, f64)>,
    /// The least margin above and below the data (in the value's unit).
    pad: f64,
    decimals: usize,
}

fn chart_block(title: Vec<Span<'static>>) -> Block<'static> {
    Block::new().borders(Borders::TOP).title(Line::from(title))
}

fn title_span(title: &str) -> Span<'static> {
    Span::styled(
        format!(" {title} "),
        Style::new().add_modifier(Modifier::BOLD),
    )
}

fn render_unavailable(frame: &mut Frame, area: Rect, block: Block<'_>, what: &str) {
    let inner = block.inner(area);
    frame.render_widget(block, area);
    frame.render_widget(
        Paragraph::new(format!("unavailable: the battery does not report {what}"))
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true }),
        centered(inner, inner.width, 2),
    );
}

/// y bounds around `values`, at least `pad` above and below, never empty.
fn fit(values: impl Iterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let margin = ((hi - lo) * 0.1).max(pad);
    (lo - margin, hi + margin)
}

fn y_labels(lo: f64, hi: f64, decimals: usize) -> Vec<Line<'static>> {
    [lo, f64::midpoint(lo, hi), hi]
        .into_iter()
        .map(|v| Line::raw(format!("{v:.decimals$}")))
        .collect()
}

fn render_line_chart(frame: &mut Frame, area: Rect, window: &Window, chart: &LineChart<'_>) {
    let block = chart_block(vec![title_span(chart.title)]);
    if chart.data.is_empty() {
        render_unavailable(frame, area, block, chart.what);
        return;
    }
    let (lo, hi) = chart
        .fixed
        .unwrap_or_else(|| fit(chart.data.iter().map(|p| p.1), chart.pad));
    let datasets = vec![
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(chart.color))
            .data(chart.data),
    ];
    frame.render_widget(
        Chart::new(datasets)
            .block(block)
            .x_axis(window.x_axis(area.height >= 9))
            .y_axis(
                Axis::default()
                    .bounds([lo, hi])
                    .labels(y_labels(lo, hi, chart.decimals)),
            ),
        area,
    );
}

/// Which way power flows at a sample, for the power chart's colours.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Flow {
    /// Charging: drawn above 0.
    In,
    /// Discharging: drawn below 0.
    Out,
    /// 0 W.
    Idle,
    /// A rate whose direction the OS does not give (e.g. a few mW while "not charging"): drawn
    /// above 0 in the terminal's own colour, and said so in the legend.
    Unknown,
}

impl Flow {
    /// The direction and the value to plot, for a sample with a rate.
    fn of(p: &Point) -> Option<(Flow, f64)> {
        let w = p.power_w?;
        Some(match p.signed_power() {
            Some(s) if s > 0.0 => (Flow::In, s),
            Some(s) if s < 0.0 => (Flow::Out, s),
            Some(_) => (Flow::Idle, 0.0),
            None => (Flow::Unknown, w),
        })
    }
}

/// Consecutive samples with the same direction, as separate line segments so that a charging line
/// never joins a discharging one.
fn flow_runs(points: impl Iterator<Item = (f64, Flow, f64)>) -> Vec<(Flow, Vec<(f64, f64)>)> {
    let mut runs: Vec<(Flow, Vec<(f64, f64)>)> = Vec::new();
    for (x, flow, w) in points {
        match runs.last_mut() {
            Some((f, run)) if *f == flow => run.push((x, w)),
            _ => runs.push((flow, vec![(x, w)])),
        }
    }
    runs
}

/// The power chart's title and legend, in the longest wording that fits `width`.
fn power_legend(palette: &Palette, unknown: bool, width: u16) -> Vec<Span<'static>> {
    let wordings: [(&str, &str, &str); 3] = [
        ("▲ charging", "▼ discharging", "? direction unknown"),
        ("▲ charging", "▼ discharging", "? unknown"),
        ("▲ in", "▼ out", "? unknown"),
    ];
    let mut legend = Vec::new();
    for (charging, discharging, other) in wordings {
        legend = vec![
            title_span("Power W"),
            Span::styled(charging, Style::new().fg(palette.charging)),
            Span::raw(" "),
            Span::styled(discharging, Style::new().fg(palette.discharging)),
            Span::raw(" "),
        ];
        if unknown {
            legend.push(Span::raw(other));
            legend.push(Span::raw(" "));
        }
        if Line::from(legend.clone()).width() + 2 <= usize::from(width) {
            break;
        }
    }
    legend
}

fn render_power_chart(
    frame: &mut Frame,
    area: Rect,
    window: &Window,
    history: &VecDeque<Point>,
    palette: &Palette,
) {
    let points: Vec<(f64, Flow, f64)> = history
        .iter()
        .filter_map(|p| {
            let (flow, w) = Flow::of(p)?;
            Some((p.t - window.end, flow, w))
        })
        .collect();
    let unknown = points.iter().any(|p| p.1 == Flow::Unknown);
    let block = chart_block(power_legend(palette, unknown, area.width));
    if points.is_empty() {
        render_unavailable(frame, area, block, "its power");
        return;
    }
    let top = points
        .iter()
        .map(|p| p.2.abs())
        .fold(0.0, f64::max)
        .max(0.8)
        * 1.2;
    let runs = flow_runs(points.into_iter());
    let datasets: Vec<Dataset> = runs
        .iter()
        .map(|(flow, data)| {
            let color = match flow {
                Flow::In => palette.charging,
                Flow::Out => palette.discharging,
                Flow::Idle | Flow::Unknown => Color::Reset,
            };
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::new().fg(color))
                .data(data)
        })
        .collect();
    frame.render_widget(
        Chart::new(datasets)
            .block(block)
            .x_axis(window.x_axis(area.height >= 9))
            .y_axis(Axis::default().bounds([-top, top]).labels(vec![
                Line::raw(format!("-{top:.1}")),
                Line::raw("0"),
                Line::raw(format!("+{top:.1}")),
            ])),
        area,
    );
}

// ------------------------------------------------------------------------------------------------
// Details

/// A titled list of label/value rows (no title: a note).
struct Section {
    title: &'static str,
    rows: Vec<(String, String)>,
}

impl Section {
    /// The section as lines `width` columns wide: values that do not fit wrap under themselves,
    /// labels stay in their column. A row with an empty label is a value on its own.
    fn lines(&self, width: u16) -> Vec<Line<'static>> {
        let mut lines = Vec::new();
        if !self.title.is_empty() {
            lines.push(Line::styled(
                self.title,
                Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            ));
        }
        for (label, value) in &self.rows {
            let indent = if label.is_empty() {
                0
            } else {
                label_width(label)
            };
            let room = usize::from(width).saturating_sub(indent).max(8);
            for (i, part) in wrap(value, room).into_iter().enumerate() {
                let head = if i == 0 { label.as_str() } else { "" };
                lines.push(Line::raw(format!("{head:<indent$}{part}")));
            }
        }
        lines
    }
}

/// Splits `text` into pieces at most `width` columns wide, at spaces where possible.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let mut word = word.to_owned();
        loop {
            let used = Span::raw(line.as_str()).width();
            let need = Span::raw(word.as_str()).width() + usize::from(used > 0);
            if used + need <= width {
                if used > 0 {
                    line.push(' ');
                }
                line.push_str(&word);
                break;
            }
            if used > 0 {
                out.push(std::mem::take(&mut line));
                continue;
            }
            // A word longer than the line: cut it.
            let cut: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            out.push(cut);
            if word.is_empty() {
                break;
            }
        }
    }
    if !line.is_empty() || out.is_empty() {
        out.push(line);
    }
    out
}

/// Labels take this many columns (longer ones, such as USB port names, one more than their width).
const LABEL_WIDTH: usize = 10;

fn label_width(label: &str) -> usize {
    (Span::raw(label).width() + 1).max(LABEL_WIDTH)
}

#[allow(clippy::too_many_lines)] // one row per model field, in display order
fn battery_sections(b: &Battery, sources: &[PowerSource], units: Units) -> Vec<Section> {
    let mut pack = Vec::new();
    for (label, value) in [
        ("vendor", &b.vendor),
        ("model", &b.model),
        ("serial", &b.serial),
    ] {
        if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
            pack.push((label.to_owned(), escape(v).into_owned()));
        }
    }
    if b.technology != voltaic::Technology::Unknown {
        pack.push(("chemistry".into(), b.technology.as_str().replace('_', " ")));
    }
    if let Some(d) = b.manufacture_date {
        pack.push(("made".into(), d.to_string()));
    }
    if let Some(c) = b.cycle_count {
        pack.push(("cycles".into(), c.to_string()));
    }
    let kind = match b.kind {
        Kind::System => "",
        _ => " (peripheral)",
    };
    pack.push(("device".into(), format!("{}{kind}", escape(&b.id))));

    let mut energy = Vec::new();
    for (label, value, field) in [
        ("now", b.energy_wh, Field::Energy),
        ("full", b.energy_full_wh, Field::EnergyFull),
        ("design", b.energy_full_design_wh, Field::EnergyFullDesign),
    ] {
        if let Some(v) = value {
            energy.push((
                label.into(),
                format!("{}{}", units.energy(v), mark(b, field)),
            ));
        }
    }
    if let Some(h) = b.health_percent {
        energy.push(("health".into(), format!("{h:.1} %")));
    }
    if let Some(w) = b.power_w {
        energy.push((
            "power".into(),
            format!("{}{}", units.power(w), mark(b, Field::Power)),
        ));
    }
    if let Some(v) = b.voltage_v {
        energy.push(("voltage".into(), format!("{v:.2} V")));
    }
    if let Some(a) = b.current_a {
        energy.push((
            "current".into(),
            format!("{a:.2} A{}", mark(b, Field::Current)),
        ));
    }
    if let Some(t) = b.temperature_c {
        energy.push(("temp".into(), units.temperature(t)));
    }
    if energy.is_empty() {
        energy.push(("none".into(), "reported".into()));
    }

    let mut charging = vec![("state".to_owned(), state_text(b))];
    // The OS's own word, when it is not simply ours (e.g. "Unknown" for a state voltaic inferred).
    if let Some(raw) = b
        .state_raw
        .as_ref()
        .filter(|raw| !raw.eq_ignore_ascii_case(&b.state.to_string()))
    {
        charging.push(("OS says".into(), raw.clone()));
    }
    if let Some(t) = b.time_to_empty {
        charging.push((
            "to empty".into(),
            format!("{}{}", units.duration(t), mark(b, Field::TimeToEmpty)),
        ));
    }
    if let Some(t) = b.time_to_full {
        charging.push((
            "to full".into(),
            format!("{}{}", units.duration(t), mark(b, Field::TimeToFull)),
        ));
    }
    let limits: Vec<String> = [
        ("start", b.charge_start_threshold),
        ("stop", b.charge_end_threshold),
    ]
    .into_iter()
    .filter_map(|(n, v)| v.map(|v| format!("{n} {v} %")))
    .collect();
    if !limits.is_empty() {
        charging.push(("limits".into(), limits.join(", ")));
    }
    if let Some(mode) = b.charge_behaviour {
        charging.push(("mode".into(), mode.as_str().replace('_', " ")));
    }
    if let Some(ext) = b.external_power {
        charging.push(("on AC".into(), if ext { "yes" } else { "no" }.to_owned()));
    }
    if let Some(reason) = &b.state_reason {
        charging.push(("why".into(), escape(reason).into_owned()));
    }

    let mut sections = vec![
        Section {
            title: "Pack",
            rows: pack,
        },
        Section {
            title: "Energy",
            rows: energy,
        },
        Section {
            title: "Charging",
            rows: charging,
        },
        sources_section(sources),
    ];
    // Each derived value carries the mark; the note says what it means.
    if b.derived.iter().next().is_some() {
        sections.push(Section {
            title: "",
            rows: vec![(String::new(), format!("{DERIVED} worked out by voltaic"))],
        });
    }
    sections
}

fn source_text(s: &PowerSource) -> String {
    let mut parts = vec![escape(&s.id).into_owned(), s.kind.as_str().to_owned()];
    parts.push(
        match s.online {
            Some(true) => "online",
            Some(false) => "offline",
            None => "state unknown",
        }
        .to_owned(),
    );
    if let Some(t) = &s.usb_type {
        parts.push(escape(t).into_owned());
    }
    if let Some(w) = s.power_w {
        let mark = if s.derived.contains(Field::Power) {
            DERIVED
        } else {
            ""
        };
        parts.push(format!("{w:.1} W{mark}"));
    }
    if let Some(w) = s.power_max_w {
        parts.push(format!("rated {w:.0} W"));
    }
    parts.join("  ")
}

fn sources_section(sources: &[PowerSource]) -> Section {
    let rows = if sources.is_empty() {
        vec![("none".to_owned(), "reported".to_owned())]
    } else {
        sources
            .iter()
            .map(|s| {
                let text = source_text(s);
                let id = escape(&s.id);
                let rest = text.strip_prefix(&*id).unwrap_or(&text).trim_start();
                (id.into_owned(), rest.to_owned())
            })
            .collect()
    };
    Section {
        title: "Power sources",
        rows,
    }
}

fn render_details(
    b: &Battery,
    sources: &[PowerSource],
    units: Units,
    frame: &mut Frame,
    area: Rect,
) {
    render_sections(&battery_sections(b, sources, units), frame, area);
}

/// Lays sections out in columns, each section below the previous while it fits, else in the next
/// column; what does not fit in the last column is cut.
fn render_sections(sections: &[Section], frame: &mut Frame, area: Rect) {
    let columns = (area.width / 26).clamp(1, 4);
    let areas = Layout::horizontal(vec![
        Constraint::Ratio(1, u32::from(columns));
        columns.into()
    ])
    .spacing(1)
    .split(area);
    let mut column = 0usize;
    let mut content: Vec<Vec<Line>> = vec![Vec::new(); areas.len()];
    for (i, s) in sections.iter().enumerate() {
        let mut lines = s.lines(areas[column].width);
        let used = content[column].len();
        let columns_after = areas.len() - column - 1;
        // A column of its own while there are columns enough for the rest, else below the last.
        let spread = sections.len() - i <= columns_after;
        if used > 0
            && (spread || used + 1 + lines.len() > usize::from(area.height))
            && columns_after > 0
        {
            column += 1;
            lines = s.lines(areas[column].width);
        }
        if !content[column].is_empty() {
            content[column].push(Line::raw(""));
        }
        content[column].extend(lines);
    }
    for (lines, a) in content.into_iter().zip(areas.iter()) {
        frame.render_widget(Paragraph::new(lines), *a);
    }
}

// ------------------------------------------------------------------------------------------------
// Overview

/// " · warning low", in the warning colour.
fn warning_span(level: WarningLevel, palette: &Palette) -> Span<'static> {
    Span::styled(
        format!(" · warning {level}"),
        Style::new().fg(palette.warn).add_modifier(Modifier::BOLD),
    )
}

/// One line per battery, in the battery's overview colour.
fn series_datasets<'a>(series: &'a [Vec<(f64, f64)>], palette: &Palette) -> Vec<Dataset<'a>> {
    series
        .iter()
        .enumerate()
        .map(|(i, data)| {
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::new().fg(palette.series(i)))
                .data(data)
        })
        .collect()
}

fn render_overview(app: &App, palette: &Palette, frame: &mut Frame, area: Rect) {
    let batteries = app.batteries();
    let sources = app.power_sources();
    let table_height = batteries.len() as u16 + 2;
    let sources_height = sources.len().max(1) as u16 + 1;
    let [gauge, table, charts, sources_area] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(table_height),
        Constraint::Fill(1),
        Constraint::Length(sources_height),
    ])
    .areas(area);
    render_combined_gauge(app.summary(), app.units(), palette, frame, gauge);
    render_battery_table(batteries, app.units(), palette, frame, table);
    if !too_small_for_charts(frame, charts, 1) {
        render_overview_charts(app, palette, frame, charts);
    }

    let mut lines = vec![Line::styled(
        "Power sources",
        Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
    )];
    if sources.is_empty() {
        lines.push(Line::raw("none reported"));
    }
    for s in sources {
        lines.push(Line::raw(source_text(s)));
    }
    frame.render_widget(Paragraph::new(lines), sources_area);
}

/// The charge of all system batteries together (the machine summary of `voltaic::Summary`).
fn render_combined_gauge(
    summary: &Summary,
    units: Units,
    palette: &Palette,
    frame: &mut Frame,
    area: Rect,
) {
    let [title_row, bar_row] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
    let mut title = vec![Span::styled(
        " All batteries ",
        Style::new().add_modifier(Modifier::BOLD),
    )];
    let Some(percent) = summary.percentage else {
        title.push(Span::raw(
            "combined charge unknown: the system batteries report no energy or percentage",
        ));
        frame.render_widget(Line::from(title), title_row);
        return;
    };
    match (summary.energy_wh, summary.energy_full_wh) {
        (Some(energy), Some(full)) => title.push(Span::raw(format!(
            "{} of {} (Σ energy ÷ Σ full)",
            units.energy(energy),
            units.energy(full)
        ))),
        _ => title.push(Span::raw("(percentages weighted by capacity)")),
    }
    if summary.warning != WarningLevel::None {
        title.push(warning_span(summary.warning, palette));
    }
    frame.render_widget(Line::from(title), title_row);
    frame.render_widget(
        bar_line(
            percent,
            bar_row.width,
            &format!(" {percent:.1} %"),
            palette.accent,
        ),
        bar_row,
    );
}

/// One row per battery, with its colour in the overview's charts.
fn render_battery_table(
    batteries: &[Battery],
    units: Units,
    palette: &Palette,
    frame: &mut Frame,
    table: Rect,
) {
    let header = Row::new(
        [
            "", "battery", "device", "charge", "state", "power", "time", "health",
        ]
        .map(|h| Cell::from(h).style(Style::new().add_modifier(Modifier::BOLD))),
    );
    let rows: Vec<Row> = batteries
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let charge = match (b.percentage, b.level) {
                (Some(p), _) => format!("{}{}", units::percent(p), mark(b, Field::Percentage)),
                (None, Some(l)) => l.as_str().to_owned(),
                (None, None) => "?".to_owned(),
            };
            let time = match (b.time_to_empty, b.time_to_full) {
                (Some(t), _) => format!("{} to empty", units.duration(t)),
                (None, Some(t)) => format!("{} to full", units.duration(t)),
                _ => String::new(),
            };
            let kind = if b.kind == Kind::System {
                ""
            } else {
                " (peripheral)"
            };
            Row::new(vec![
                Cell::from(Span::styled("━━", Style::new().fg(palette.series(i)))),
                Cell::from(format!("{}{kind}", escape(b.display_name()))),
                Cell::from(escape(&b.id).into_owned()),
                Cell::from(charge),
                Cell::from(Span::styled(
                    state_text(b),
                    Style::new().fg(state_color(b.state, b.percentage, palette)),
                )),
                Cell::from(
                    b.power_w
                        .map(|w| format!("{}{}", units.power(w), mark(b, Field::Power)))
                        .unwrap_or_default(),
                ),
                Cell::from(time),
                Cell::from(
                    b.health_percent
                        .map(|h| format!("{h:.1} %"))
                        .unwrap_or_default(),
                ),
            ])
        })
        .collect();
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(2),
                Constraint::Fill(3),
                Constraint::Fill(2),
                Constraint::Length(8),
                Constraint::Length(14),
                Constraint::Length(9),
                Constraint::Fill(2),
                Constraint::Length(7),
            ],
        )
        .header(header)
        .column_spacing(1)
        .block(
            Block::new()
                .borders(Borders::TOP)
                .title(title_span("Batteries")),
        ),
        table,
    );
}

/// Every battery's charge and power over time, one colour each.
fn render_overview_charts(app: &App, palette: &Palette, frame: &mut Frame, charts: Rect) {
    let batteries = app.batteries();
    let offset = app.last_sample().map_or(0, |(_, o)| o);
    let empty = VecDeque::new();
    let histories: Vec<&VecDeque<Point>> = batteries
        .iter()
        .map(|b| app.history(&b.id).unwrap_or(&empty))
        .collect();
    let end = histories
        .iter()
        .filter_map(|h| h.back().map(|p| p.t))
        .fold(f64::NEG_INFINITY, f64::max);
    let start = histories
        .iter()
        .filter_map(|h| h.front().map(|p| p.t))
        .fold(f64::INFINITY, f64::min);
    let window = Window {
        end,
        span: (end - start).max(MIN_WINDOW_S),
        offset,
    };
    let charge: Vec<Vec<(f64, f64)>> = histories
        .iter()
        .map(|h| {
            h.iter()
                .filter_map(|p| Some((p.t - end, p.percentage?)))
                .collect()
        })
        .collect();
    let power: Vec<Vec<(f64, f64)>> = histories
        .iter()
        .map(|h| {
            h.iter()
                .filter_map(|p| Some((p.t - end, p.signed_power()?)))
                .collect()
        })
        .collect();
    let [charge_area, power_area] =
        Layout::horizontal([Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)])
            .spacing(2)
            .areas(charts);
    let labels = charts.height >= 9;
    if charge.iter().all(Vec::is_empty) {
        render_unavailable(
            frame,
            charge_area,
            chart_block(vec![title_span("Charge %")]),
            "its charge in percent",
        );
    } else {
        frame.render_widget(
            Chart::new(series_datasets(&charge, palette))
                .block(chart_block(vec![title_span("Charge %")]))
                .x_axis(window.x_axis(labels))
                .y_axis(
                    Axis::default()
                        .bounds([0.0, 100.0])
                        .labels(y_labels(0.0, 100.0, 0)),
                ),
            charge_area,
        );
    }
    let power_title = vec![title_span("Power W"), Span::raw("above 0 charging ")];
    if power.iter().all(Vec::is_empty) {
        render_unavailable(
            frame,
            power_area,
            chart_block(power_title),
            "its power with a direction",
        );
    } else {
        let top = power
            .iter()
            .flatten()
            .map(|p| p.1.abs())
            .fold(0.0, f64::max)
            .max(0.8)
            * 1.2;
        frame.render_widget(
            Chart::new(series_datasets(&power, palette))
                .block(chart_block(power_title))
                .x_axis(window.x_axis(labels))
                .y_axis(Axis::default().bounds([-top, top]).labels(vec![
                    Line::raw(format!("-{top:.1}")),
                    Line::raw("0"),
                    Line::raw(format!("+{top:.1}")),
                ])),
            power_area,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_is_proportional_and_label_outside() {
        let line = bar_line(50.0, 30, " 50 %", Color::Reset);
        let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text, " ███████████▌░░░░░░░░░░░ 50 %");
        let text: String = bar_line(0.0, 20, " 0 %", Color::Reset)
            .spans
            .iter()
            .map(|s| s.content.as_ref())
            .collect();
        assert_eq!(text, " ░░░░░░░░░░░░░░ 0 %");
        let text: String = bar_line(140.0, 20, " x", Color::Reset)
            .spans
            .iter()
            .map(|s| s.content.as_ref())
            .collect();
        assert_eq!(text, " ████████████████ x");
    }

    #[test]
    fn values_wrap_at_spaces_and_long_words_are_cut() {
        assert_eq!(
            wrap("Wireless Mouse M560", 15),
            vec!["Wireless Mouse", "M560"]
        );
        assert_eq!(wrap("402d-e4-3c-53-0a", 10), vec!["402d-e4-3c", "-53-0a"]);
        assert_eq!(wrap("", 10), vec![""]);
        assert_eq!(wrap("a b", 10), vec!["a b"]);
    }

    #[test]
    fn fitted_bounds_are_never_empty() {
        assert_eq!(fit([12.0, 12.0].into_iter(), 0.05), (11.95, 12.05));
        assert_eq!(fit(std::iter::empty(), 0.05), (0.0, 1.0));
        let (lo, hi) = fit([10.0, 20.0].into_iter(), 0.05);
        assert!((lo - 9.0).abs() < 1e-9 && (hi - 21.0).abs() < 1e-9);
    }

    #[test]
    fn power_runs_split_on_direction_changes() {
        let point = |state, power_w| Point {
            t: 0.0,
            percentage: None,
            state,
            power_w,
            voltage_v: None,
            temperature_c: None,
        };
        let samples = [
            point(State::Discharging, Some(2.0)),
            point(State::Discharging, Some(3.0)),
            point(State::Charging, Some(4.0)),
            point(State::NotCharging, Some(0.0)),
            point(State::NotCharging, Some(0.01)),
            point(State::Unknown, None),
        ];
        let runs = flow_runs(
            samples
                .iter()
                .enumerate()
                .filter_map(|(i, p)| Flow::of(p).map(|(f, w)| (i as f64, f, w))),
        );
        let shape: Vec<(Flow, Vec<(f64, f64)>)> = runs;
        assert_eq!(
            shape,
            vec![
                (Flow::Out, vec![(0.0, -2.0), (1.0, -3.0)]),
                (Flow::In, vec![(2.0, 4.0)]),
                (Flow::Idle, vec![(3.0, 0.0)]),
                (Flow::Unknown, vec![(4.0, 0.01)]),
            ]
        );
    }
}
