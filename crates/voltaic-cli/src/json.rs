//! The `--json` document: a stable, documented view of the model (schema: `schema/voltaic.schema.json`).
//!
//! The view is built here rather than by serializing the model directly so that the keys and units are
//! a contract of the command, independent of how the library's structs evolve.

use serde::Serialize;
use voltaic::{Battery, Field, PowerSource, Skipped, Technology};

/// Version of the document layout; bumped only on an incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
pub struct Document<'a> {
    pub schema_version: u32,
    pub batteries: Vec<BatteryView<'a>>,
    pub power_sources: Vec<SourceView<'a>>,
    pub skipped: Vec<SkippedView<'a>>,
    /// The machine as a whole (the model's serde form: one shape with the library's).
    pub summary: &'a voltaic::Summary,
}

/// One change, in a `voltaic watch --json` document.
#[derive(Serialize)]
pub struct EventView<'a> {
    event: &'static str,
    /// The device, or null for the machine as a whole.
    id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<&'static str>,
}

impl<'a> EventView<'a> {
    pub fn new(e: &'a voltaic::Event) -> Self {
        let (from, to) = match e {
            voltaic::Event::WarningChanged { from, to, .. } => {
                (Some(from.as_str()), Some(to.as_str()))
            }
            _ => (None, None),
        };
        EventView {
            event: e.kind(),
            id: e.id(),
            from,
            to,
        }
    }
}

/// A `voltaic watch --json` line: when, what changed, then the whole reading.
#[derive(Serialize)]
pub struct WatchDocument<'a> {
    pub time: String,
    pub events: Vec<EventView<'a>>,
    #[serde(flatten)]
    pub reading: Document<'a>,
}

#[derive(Serialize)]
pub struct BatteryView<'a> {
    id: &'a str,
    kind: &'static str,
    peripheral: Option<&'static str>,
    state: &'static str,
    state_raw: Option<&'a str>,
    state_reason: Option<&'a str>,
    percentage: Option<f64>,
    level: Option<&'static str>,
    energy_wh: Option<f64>,
    energy_full_wh: Option<f64>,
    energy_full_design_wh: Option<f64>,
    power_w: Option<f64>,
    voltage_v: Option<f64>,
    current_a: Option<f64>,
    health_percent: Option<f64>,
    time_to_empty_s: Option<u64>,
    time_to_full_s: Option<u64>,
    cycle_count: Option<u32>,
    temperature_c: Option<f64>,
    vendor: Option<&'a str>,
    model: Option<&'a str>,
    serial: Option<&'a str>,
    technology: Option<&'static str>,
    manufacture_date: Option<String>,
    charge_start_threshold: Option<u8>,
    charge_end_threshold: Option<u8>,
    charge_behaviour: Option<&'static str>,
    external_power: Option<bool>,
    derived: Vec<&'static str>,
}

#[derive(Serialize)]
pub struct SourceView<'a> {
    id: &'a str,
    kind: &'static str,
    online: Option<bool>,
    usb_type: Option<&'a str>,
    voltage_v: Option<f64>,
    current_a: Option<f64>,
    power_w: Option<f64>,
    voltage_max_v: Option<f64>,
    current_max_a: Option<f64>,
    power_max_w: Option<f64>,
    name: Option<&'a str>,
    vendor: Option<&'a str>,
    serial: Option<&'a str>,
    derived: Vec<&'static str>,
}

#[derive(Serialize)]
pub struct SkippedView<'a> {
    id: &'a str,
    reason: &'a str,
}

/// Rounds to 4 decimals, as the model's serde form does (the same function): finer digits are below
/// any gauge's resolution and only add noise.
fn round(v: Option<f64>) -> Option<f64> {
    v.map(voltaic::core::serde_impl::round)
}

impl<'a> BatteryView<'a> {
    pub fn new(b: &'a Battery) -> Self {
        BatteryView {
            id: &b.id,
            kind: b.kind.as_str(),
            peripheral: b.peripheral.map(voltaic::PeripheralKind::as_str),
            state: b.state.as_str(),
            state_raw: b.state_raw.as_deref(),
            state_reason: b.state_reason.as_deref(),
            percentage: round(b.percentage),
            level: b.level.map(voltaic::Level::as_str),
            energy_wh: round(b.energy_wh),
            energy_full_wh: round(b.energy_full_wh),
            energy_full_design_wh: round(b.energy_full_design_wh),
            power_w: round(b.power_w),
            voltage_v: round(b.voltage_v),
            current_a: round(b.current_a),
            health_percent: round(b.health_percent),
            time_to_empty_s: b.time_to_empty.map(|d| d.as_secs()),
            time_to_full_s: b.time_to_full.map(|d| d.as_secs()),
            cycle_count: b.cycle_count,
            temperature_c: round(b.temperature_c),
            vendor: b.vendor.as_deref(),
            model: b.model.as_deref(),
            serial: b.serial.as_deref(),
            technology: (b.technology != Technology::Unknown).then(|| b.technology.as_str()),
            manufacture_date: b.manufacture_date.map(|d| d.to_string()),
            charge_start_threshold: b.charge_start_threshold,
            charge_end_threshold: b.charge_end_threshold,
            charge_behaviour: b.charge_behaviour.map(voltaic::ChargeBehaviour::as_str),
            external_power: b.external_power,
            derived: b.derived.iter().map(Field::key).collect(),
        }
    }
}

impl<'a> SourceView<'a> {
    pub fn new(s: &'a PowerSource) -> Self {
        SourceView {
            id: &s.id,
            kind: s.kind.as_str(),
            online: s.online,
            usb_type: s.usb_type.as_deref(),
            voltage_v: round(s.voltage_v),
            current_a: round(s.current_a),
            power_w: round(s.power_w),
            voltage_max_v: round(s.voltage_max_v),
            current_max_a: round(s.current_max_a),
            power_max_w: round(s.power_max_w),
            name: s.name.as_deref(),
            vendor: s.vendor.as_deref(),
            serial: s.serial.as_deref(),
            derived: s.derived.iter().map(Field::key).collect(),
        }
    }
}

impl<'a> SkippedView<'a> {
    pub fn new(s: &'a Skipped) -> Self {
        SkippedView {
            id: &s.id,
            reason: &s.reason,
        }
    }
}
