//! Windows power-setting notifications: what a `POWERBROADCAST_SETTING` says changed.
//!
//! The watcher registers for two power settings (`PowerSettingRegisterNotification` with
//! `DEVICE_NOTIFY_CALLBACK`); each callback hands over a `POWERBROADCAST_SETTING` (MS docs
//! "POWERBROADCAST_SETTING structure", winuser.h): the setting's GUID (16 bytes, `Data1` `Data2`
//! `Data3` little-endian, `Data4` as stored), `DataLength` (a little-endian DWORD), then `DataLength`
//! bytes of data. For the two settings voltaic asks for, the data is one DWORD (MS docs "Power Setting
//! GUIDs"):
//!
//! - `GUID_ACDC_POWER_SOURCE` {5D3E9A59-E9D5-4B00-A6BD-FF34FF516548}: a `SYSTEM_POWER_CONDITION`,
//!   0 = AC (`PoAc`), 1 = battery (`PoDc`), 2 = a short-term source such as a UPS (`PoHot`);
//! - `GUID_BATTERY_PERCENTAGE_REMAINING` {A7AD8041-B45A-4CAE-87A3-EECBB468A9E1}: the remaining
//!   charge of all batteries together, 0–100.
//!
//! [`parse_power_setting`] reads those bytes and says what they mean, or why they are not a value it
//! knows. The watcher only uses the answer to decide whether to read again (it then compares readings),
//! so an unknown setting is reported, never guessed.

use std::fmt;

/// `GUID_ACDC_POWER_SOURCE` (winnt.h), as one number in the GUID's text order.
pub const GUID_ACDC_POWER_SOURCE: u128 = 0x5d3e_9a59_e9d5_4b00_a6bd_ff34_ff51_6548;

/// `GUID_BATTERY_PERCENTAGE_REMAINING` (winnt.h), as one number in the GUID's text order.
pub const GUID_BATTERY_PERCENTAGE_REMAINING: u128 = 0xa7ad_8041_b45a_4cae_87a3_eecb_b468_a9e1;

/// The fixed part of a `POWERBROADCAST_SETTING`: the GUID (16 bytes) and `DataLength` (4 bytes).
pub const POWER_SETTING_HEADER: usize = 20;

/// The most data bytes looked at: the settings voltaic registers for carry 4; a callback passes at
/// most this much after the header (a larger `DataLength` is then rejected, never read).
pub const MAX_POWER_SETTING_DATA: usize = 64;

/// The system's power source (`SYSTEM_POWER_CONDITION`, winnt.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PowerCondition {
    /// `PoAc`: on AC power.
    Ac,
    /// `PoDc`: on battery.
    Dc,
    /// `PoHot`: on a short-term source such as a UPS.
    ShortTerm,
}

/// What one power-setting notification says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PowerSetting {
    /// `GUID_ACDC_POWER_SOURCE`: the machine now runs from this source.
    PowerSource(PowerCondition),
    /// `GUID_BATTERY_PERCENTAGE_REMAINING`: all batteries together hold this percentage (0–100).
    BatteryPercentage(u8),
}

/// Why the bytes of a notification are not a value [`parse_power_setting`] knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PowerSettingError {
    /// Fewer bytes than the GUID and `DataLength`.
    Truncated {
        /// The bytes given.
        len: usize,
    },
    /// `DataLength` does not match the bytes that follow the header.
    LengthMismatch {
        /// What `DataLength` says.
        declared: u32,
        /// The data bytes given.
        given: usize,
    },
    /// A setting GUID other than the two voltaic registers for (as one number, text order).
    UnknownSetting(u128),
    /// A known setting whose data is not one DWORD.
    WrongDataLength {
        /// The setting.
        setting: u128,
        /// Its `DataLength`.
        len: u32,
    },
    /// A known setting with a value its documentation does not define.
    UnknownValue {
        /// The setting.
        setting: u128,
        /// The DWORD it carried.
        value: u32,
    },
}

impl fmt::Display for PowerSettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PowerSettingError::Truncated { len } => write!(
                f,
                "a power-setting notification of {len} bytes (at least {POWER_SETTING_HEADER} expected)"
            ),
            PowerSettingError::LengthMismatch { declared, given } => write!(
                f,
                "DataLength says {declared} bytes but {given} follow the header"
            ),
            PowerSettingError::UnknownSetting(guid) => {
                write!(
                    f,
                    "power setting {} is not one voltaic watches",
                    GuidText(guid)
                )
            }
            PowerSettingError::WrongDataLength { setting, len } => write!(
                f,
                "power setting {} carries {len} bytes, not a DWORD",
                GuidText(setting)
            ),
            PowerSettingError::UnknownValue { setting, value } => write!(
                f,
                "power setting {} carries {value}, which its documentation does not define",
                GuidText(setting)
            ),
        }
    }
}

impl std::error::Error for PowerSettingError {}

/// A GUID number in registry form, `{5D3E9A59-E9D5-4B00-A6BD-FF34FF516548}`.
struct GuidText(u128);

impl fmt::Display for GuidText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = self.0;
        write!(
            f,
            "{{{:08X}-{:04X}-{:04X}-{:04X}-{:012X}}}",
            g >> 96,
            (g >> 80) & 0xFFFF,
            (g >> 64) & 0xFFFF,
            (g >> 48) & 0xFFFF,
            g & 0xFFFF_FFFF_FFFF
        )
    }
}

/// The GUID in memory (`Data1` u32, `Data2` u16, `Data3` u16 little-endian, then the 8 bytes of
/// `Data4`) as one number in text order.
fn guid(bytes: [u8; 16]) -> u128 {
    let [a0, a1, a2, a3, b0, b1, c0, c1, d @ ..] = bytes;
    let data1 = u32::from_le_bytes([a0, a1, a2, a3]);
    let data2 = u16::from_le_bytes([b0, b1]);
    let data3 = u16::from_le_bytes([c0, c1]);
    (u128::from(data1) << 96)
        | (u128::from(data2) << 80)
        | (u128::from(data3) << 64)
        | u128::from(u64::from_be_bytes(d))
}

/// Reads a `POWERBROADCAST_SETTING` (the header and exactly `DataLength` data bytes, as a callback
/// received it) and says what it means (layouts in the module docs). Total: any bytes give a value or
/// a reason.
///
/// # Errors
/// A [`PowerSettingError`] naming what is wrong: too short, a `DataLength` that does not match, a
/// setting other than the two voltaic watches, data that is not one DWORD, or an undefined value.
pub fn parse_power_setting(bytes: &[u8]) -> Result<PowerSetting, PowerSettingError> {
    let Some((head, data)) = bytes.split_first_chunk::<POWER_SETTING_HEADER>() else {
        return Err(PowerSettingError::Truncated { len: bytes.len() });
    };
    let [g @ .., l0, l1, l2, l3] = *head;
    let declared = u32::from_le_bytes([l0, l1, l2, l3]);
    if usize::try_from(declared).ok() != Some(data.len()) {
        return Err(PowerSettingError::LengthMismatch {
            declared,
            given: data.len(),
        });
    }
    let setting = guid(g);
    if setting != GUID_ACDC_POWER_SOURCE && setting != GUID_BATTERY_PERCENTAGE_REMAINING {
        return Err(PowerSettingError::UnknownSetting(setting));
    }
    let Ok(dword) = <[u8; 4]>::try_from(data) else {
        return Err(PowerSettingError::WrongDataLength {
            setting,
            len: declared,
        });
    };
    let value = u32::from_le_bytes(dword);
    let unknown = PowerSettingError::UnknownValue { setting, value };
    if setting == GUID_ACDC_POWER_SOURCE {
        let condition = match value {
            0 => PowerCondition::Ac,
            1 => PowerCondition::Dc,
            2 => PowerCondition::ShortTerm,
            _ => return Err(unknown),
        };
        return Ok(PowerSetting::PowerSource(condition));
    }
    match u8::try_from(value) {
        Ok(percent) if percent <= 100 => Ok(PowerSetting::BatteryPercentage(percent)),
        _ => Err(unknown),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `GUID_ACDC_POWER_SOURCE` as it lies in memory: Data1 5D3E9A59, Data2 E9D5 and Data3 4B00
    /// little-endian, then Data4 A6 BD FF 34 FF 51 65 48 (winnt.h; MS docs "Power Setting GUIDs").
    const ACDC: [u8; 16] = [
        0x59, 0x9A, 0x3E, 0x5D, 0xD5, 0xE9, 0x00, 0x4B, 0xA6, 0xBD, 0xFF, 0x34, 0xFF, 0x51, 0x65,
        0x48,
    ];
    /// `GUID_BATTERY_PERCENTAGE_REMAINING` {A7AD8041-B45A-4CAE-87A3-EECBB468A9E1} in memory.
    const PERCENT: [u8; 16] = [
        0x41, 0x80, 0xAD, 0xA7, 0x5A, 0xB4, 0xAE, 0x4C, 0x87, 0xA3, 0xEE, 0xCB, 0xB4, 0x68, 0xA9,
        0xE1,
    ];

    /// A POWERBROADCAST_SETTING: GUID, DataLength (LE DWORD), data.
    fn setting(guid: [u8; 16], data: &[u8]) -> Vec<u8> {
        let mut bytes = guid.to_vec();
        bytes.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
        bytes.extend_from_slice(data);
        bytes
    }

    #[test]
    fn ac_dc_source_values_are_the_system_power_conditions() {
        // SYSTEM_POWER_CONDITION (winnt.h): PoAc 0, PoDc 1, PoHot 2, as a little-endian DWORD.
        for (value, condition) in [
            (0u32, PowerCondition::Ac),
            (1, PowerCondition::Dc),
            (2, PowerCondition::ShortTerm),
        ] {
            let bytes = setting(ACDC, &value.to_le_bytes());
            assert_eq!(bytes.len(), 24);
            assert_eq!(
                parse_power_setting(&bytes),
                Ok(PowerSetting::PowerSource(condition))
            );
        }
        let bad = setting(ACDC, &3u32.to_le_bytes());
        let err = parse_power_setting(&bad).unwrap_err();
        assert_eq!(
            err,
            PowerSettingError::UnknownValue {
                setting: GUID_ACDC_POWER_SOURCE,
                value: 3
            }
        );
        assert_eq!(
            err.to_string(),
            "power setting {5D3E9A59-E9D5-4B00-A6BD-FF34FF516548} carries 3, which its documentation \
             does not define"
        );
    }

    #[test]
    fn battery_percentage_is_zero_to_one_hundred() {
        for percent in [0u8, 1, 57, 100] {
            let bytes = setting(PERCENT, &u32::from(percent).to_le_bytes());
            assert_eq!(
                parse_power_setting(&bytes),
                Ok(PowerSetting::BatteryPercentage(percent))
            );
        }
        for value in [101u32, 255, 0x100, u32::MAX] {
            assert_eq!(
                parse_power_setting(&setting(PERCENT, &value.to_le_bytes())),
                Err(PowerSettingError::UnknownValue {
                    setting: GUID_BATTERY_PERCENTAGE_REMAINING,
                    value
                })
            );
        }
    }

    #[test]
    fn wrong_lengths_and_other_settings_are_refused_with_a_reason() {
        assert_eq!(
            parse_power_setting(&ACDC),
            Err(PowerSettingError::Truncated { len: 16 })
        );
        assert_eq!(
            parse_power_setting(&[]),
            Err(PowerSettingError::Truncated { len: 0 })
        );
        // A BYTE where a DWORD belongs.
        assert_eq!(
            parse_power_setting(&setting(PERCENT, &[42])),
            Err(PowerSettingError::WrongDataLength {
                setting: GUID_BATTERY_PERCENTAGE_REMAINING,
                len: 1
            })
        );
        // DataLength says 4, two bytes follow (a callback never passes more than it was given).
        let mut short = setting(ACDC, &[0, 0, 0, 0]);
        short.truncate(22);
        let err = parse_power_setting(&short).unwrap_err();
        assert_eq!(
            err,
            PowerSettingError::LengthMismatch {
                declared: 4,
                given: 2
            }
        );
        assert!(err.to_string().contains("DataLength says 4"));
        // GUID_LIDSWITCH_STATE_CHANGE {BA3E0F4D-B817-4094-A2D1-D56379E6A0F3}: a real setting, not ours.
        let lid = [
            0x4D, 0x0F, 0x3E, 0xBA, 0x17, 0xB8, 0x94, 0x40, 0xA2, 0xD1, 0xD5, 0x63, 0x79, 0xE6,
            0xA0, 0xF3,
        ];
        let err = parse_power_setting(&setting(lid, &1u32.to_le_bytes())).unwrap_err();
        assert_eq!(
            err,
            PowerSettingError::UnknownSetting(0xba3e_0f4d_b817_4094_a2d1_d563_79e6_a0f3)
        );
        assert_eq!(
            err.to_string(),
            "power setting {BA3E0F4D-B817-4094-A2D1-D56379E6A0F3} is not one voltaic watches"
        );
    }

    #[test]
    fn any_bytes_give_an_answer() {
        // Every proper prefix of a valid message is refused, and so is every single-byte change of
        // it: in the GUID another setting, in DataLength a mismatch, in the data an undefined value.
        let good = setting(ACDC, &1u32.to_le_bytes());
        assert!(parse_power_setting(&good).is_ok());
        for end in 0..good.len() {
            assert!(parse_power_setting(&good[..end]).is_err(), "{end}");
        }
        for i in 0..good.len() {
            let mut b = good.clone();
            b[i] ^= 0xFF;
            assert!(parse_power_setting(&b).is_err(), "byte {i}");
        }
    }
}
