//! Decoders: raw records in each OS's vocabulary → [`Battery`] and [`PowerSource`].
//!
//! One module per OS, named like the shell that reads its records (`voltaic/src/sys/<os>.rs`). Every
//! decoder is pure and total: any record, however broken, decodes to batteries, sources, or a
//! [`Skipped`] entry saying why the device is not shown. None panics or returns NaN.

mod acpi;
pub mod freebsd;
pub mod linux;
pub mod macos;
pub mod netbsd;
pub mod openbsd;
pub mod windows;

use crate::record::{Os, RawDevice};
use crate::{Battery, PowerSource};

/// What a set of raw records decodes to.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Decoded {
    /// Batteries, system and peripheral, in the order the devices were given.
    pub batteries: Vec<Battery>,
    /// External power sources.
    pub power_sources: Vec<PowerSource>,
    /// Devices that are neither, or not usable, with the reason.
    pub skipped: Vec<Skipped>,
}

impl Decoded {
    /// Adds one decoded battery, or the reason it is not shown.
    pub(crate) fn push(&mut self, battery: Result<Battery, Skipped>) {
        match battery {
            Ok(b) => self.batteries.push(b),
            Err(skip) => self.skipped.push(skip),
        }
    }
}

/// A device that was read but is not shown, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Skipped {
    /// The OS's name for the device.
    pub id: String,
    /// Why it is not shown (`type is BMS`, `battery not present`).
    pub reason: String,
}

impl Skipped {
    /// A skipped device.
    #[must_use]
    pub fn new(id: impl Into<String>, reason: impl Into<String>) -> Self {
        Skipped {
            id: id.into(),
            reason: reason.into(),
        }
    }
}

/// Decodes every device, each with its own OS's decoder. Devices of one OS are decoded together, so that
/// a battery can take context (is a mains adapter online?) from its siblings.
#[must_use]
pub fn decode(devices: &[RawDevice]) -> Decoded {
    let mut out = Decoded::default();
    for os in Os::ALL {
        let group: Vec<&RawDevice> = devices.iter().filter(|d| d.os == os).collect();
        if group.is_empty() {
            continue;
        }
        match os {
            Os::Linux => linux::decode(&group, &mut out),
            Os::FreeBsd => freebsd::decode(&group, &mut out),
            Os::OpenBsd => openbsd::decode(&group, &mut out),
            Os::NetBsd => netbsd::decode(&group, &mut out),
            Os::Windows => windows::decode(&group, &mut out),
            Os::MacOs => macos::decode(&group, &mut out),
        }
    }
    // One plausibility rule for every system's values (derived.rs).
    out.batteries.iter_mut().for_each(finish);
    out.power_sources
        .iter_mut()
        .for_each(crate::derived::plausible_source);
    out
}

/// An identity or status string as the model keeps it: padding (white space, NULs; OEM strings are often
/// padded) trimmed, and control and bidi characters removed ([`crate::text::clean_identity`]); empty →
/// `None`.
#[must_use]
pub fn clean_text(s: &str) -> Option<String> {
    crate::text::clean_identity(s)
}

/// Decodes one battery's record alone (for refresh), given the previous snapshot for context the OS
/// does not repeat in a single device's record (Linux: whether AC was online).
///
/// # Errors
/// A [`Skipped`] when the record no longer describes a usable battery.
pub fn decode_battery(device: &RawDevice, previous: &Battery) -> Result<Battery, Skipped> {
    let mut battery = decode_battery_unchecked(device, previous)?;
    finish(&mut battery);
    Ok(battery)
}

/// What every decoder's battery goes through last: the plausibility rule, and a peripheral's kind from
/// its name where the decoder could not tell (`Other` when the name does not say either).
pub(crate) fn finish(battery: &mut Battery) {
    crate::derived::plausible_battery(battery);
    if battery.kind == crate::Kind::Peripheral && battery.peripheral.is_none() {
        let name = [&battery.model, &battery.vendor]
            .into_iter()
            .flatten()
            .find_map(|n| crate::PeripheralKind::from_name(n));
        battery.peripheral = Some(name.unwrap_or(crate::PeripheralKind::Other));
    }
}

fn decode_battery_unchecked(device: &RawDevice, previous: &Battery) -> Result<Battery, Skipped> {
    match device.os {
        Os::Linux => linux::decode_one(device, previous.external_power),
        Os::FreeBsd => freebsd::decode_one(device, previous.external_power),
        Os::OpenBsd => openbsd::decode_one(device, previous.external_power),
        Os::NetBsd => netbsd::decode_one(device, previous.external_power),
        _ => decode(std::slice::from_ref(device))
            .batteries
            .into_iter()
            .find(|b| b.id == previous.id)
            .ok_or_else(|| {
                Skipped::new(
                    device.id.clone(),
                    "the device no longer reports this battery",
                )
            }),
    }
}
