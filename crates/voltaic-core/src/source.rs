//! Power sources: AC adapters, USB(-PD) ports, wireless chargers, UPSes.

use crate::derived::Derived;

/// One external power source at one moment.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct PowerSource {
    /// The OS's name for the source (`AC`, `ADP1`, `ucsi-source-psy-USBC000:001`, `AdapterDetails`).
    pub id: String,
    /// What sort of source it is.
    pub kind: SourceKind,
    /// Whether it is supplying power now.
    pub online: Option<bool>,
    /// The active USB port type, e.g. `PD` or `C` (Linux `usb_type`, the bracketed entry).
    pub usb_type: Option<String>,
    /// Voltage now (for USB-PD: the negotiated contract), in volts.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_impl::rounded"))]
    pub voltage_v: Option<f64>,
    /// Current now (for USB-PD: the negotiated contract), in amperes.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_impl::rounded"))]
    pub current_a: Option<f64>,
    /// Power now (for USB-PD: the contract, volts × amperes), in watts.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_impl::rounded"))]
    pub power_w: Option<f64>,
    /// The highest voltage the source offers, in volts.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_impl::rounded"))]
    pub voltage_max_v: Option<f64>,
    /// The highest current the source offers, in amperes.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_impl::rounded"))]
    pub current_max_a: Option<f64>,
    /// The rated or limiting power of the source, in watts.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_impl::rounded"))]
    pub power_max_w: Option<f64>,
    /// The adapter's name or model, where the OS gives one.
    pub name: Option<String>,
    /// The adapter's maker.
    pub vendor: Option<String>,
    /// The adapter's serial number.
    pub serial: Option<String>,
    /// Which of the values above were computed rather than reported.
    pub derived: Derived,
}

impl PowerSource {
    /// An empty record for source `id`: every value unknown.
    #[must_use]
    pub fn new(id: impl Into<String>, kind: SourceKind) -> Self {
        PowerSource {
            id: id.into(),
            kind,
            online: None,
            usb_type: None,
            voltage_v: None,
            current_a: None,
            power_w: None,
            voltage_max_v: None,
            current_max_a: None,
            power_max_w: None,
            name: None,
            vendor: None,
            serial: None,
            derived: Derived::default(),
        }
    }
}

/// What sort of power source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum SourceKind {
    /// A mains adapter (barrel or brick; Linux `Mains`, Windows AC line).
    Mains,
    /// A USB port (Type-C, PD, BC1.2).
    Usb,
    /// A wireless (inductive) charger.
    Wireless,
    /// An uninterruptible power supply.
    Ups,
}

impl SourceKind {
    /// The lower-case word used in text and JSON output.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Mains => "mains",
            SourceKind::Usb => "usb",
            SourceKind::Wireless => "wireless",
            SourceKind::Ups => "ups",
        }
    }
}
