//! The model's serde form: exactly the `voltaic --json` shape (schema `voltaic.schema.json` of the
//! voltaic-cli crate), so that a document saved from the command and a model serialized by a program are
//! one format, and either reads back into the model.
//!
//! Differences from serde's defaults, each to match that shape: durations are whole seconds under keys
//! ending `_s`; numbers are rounded to 4 decimals (finer digits are below any gauge's resolution); an
//! unknown chemistry is `null`; the manufacture date is `YYYY-MM-DD`; the derived set is the list of
//! the derived values' keys.

use std::time::Duration;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};

use crate::battery::{Date, Technology};
use crate::derived::Derived;

/// Rounds to the 4 decimals of the JSON output.
#[must_use]
pub fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// `Option<f64>` as a number rounded to 4 decimals, or `null`; a non-finite number reads as `None`.
pub(crate) mod rounded {
    use super::{Deserialize, Deserializer, Serializer, round};

    #[allow(clippy::ref_option)] // serde's `with` passes the field by reference
    pub fn serialize<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(x) => s.serialize_some(&round(*x)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.filter(|x| x.is_finite()))
    }
}

/// `Option<Duration>` as whole seconds, or `null`.
pub(crate) mod seconds {
    use super::{Deserialize, Deserializer, Duration, Serializer};

    #[allow(clippy::ref_option)] // serde's `with` passes the field by reference
    pub fn serialize<S: Serializer>(v: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(d) => s.serialize_some(&d.as_secs()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_secs))
    }
}

/// [`Technology`] with `Unknown` as `null`.
pub(crate) mod technology {
    use super::{Deserialize, Deserializer, Serializer, Technology};

    #[allow(clippy::trivially_copy_pass_by_ref)] // serde's `with` passes the field by reference
    pub fn serialize<S: Serializer>(v: &Technology, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Technology::Unknown => s.serialize_none(),
            known => s.serialize_some(known.as_str()),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Technology, D::Error> {
        Ok(Option::<Technology>::deserialize(d)?.unwrap_or(Technology::Unknown))
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(D::Error::custom)
    }
}

impl<'de> Deserialize<'de> for Derived {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Derived, D::Error> {
        let keys = Vec::<std::borrow::Cow<'de, str>>::deserialize(d)?;
        let mut set = Derived::default();
        for key in keys {
            set.insert(key.parse().map_err(D::Error::custom)?);
        }
        Ok(set)
    }
}

/// The machine summary in the `--json` document's `summary` object: seconds, rounded numbers, the
/// state and warning level as their words.
impl serde::Serialize for crate::summary::Summary {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut m = s.serialize_struct("Summary", 9)?;
        m.serialize_field("batteries", &self.batteries)?;
        m.serialize_field("on_battery", &self.on_battery)?;
        m.serialize_field("percentage", &self.percentage.map(round))?;
        m.serialize_field("energy_wh", &self.energy_wh.map(round))?;
        m.serialize_field("energy_full_wh", &self.energy_full_wh.map(round))?;
        m.serialize_field("state", self.state.as_str())?;
        m.serialize_field("time_to_empty_s", &self.time_to_empty.map(|d| d.as_secs()))?;
        m.serialize_field("time_to_full_s", &self.time_to_full.map(|d| d.as_secs()))?;
        m.serialize_field("warning_level", self.warning.as_str())?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::battery::{Battery, Kind, State};
    use crate::source::{PowerSource, SourceKind};

    #[test]
    fn the_json_shape_and_back() {
        let mut b = Battery::new("BAT0", Kind::System);
        b.state = State::NotCharging;
        b.energy_wh = Some(30.930_000_000_000_003);
        b.time_to_empty = Some(Duration::from_secs(4_830));
        b.manufacture_date = Date::new(2019, 7, 29);
        b.derived.insert(crate::derived::Field::Energy);
        let json = serde_json::to_value(&b).unwrap();
        assert_eq!(json["state"], "not_charging");
        assert_eq!(json["energy_wh"], 30.93);
        assert_eq!(json["time_to_empty_s"], 4_830);
        assert_eq!(json["time_to_full_s"], serde_json::Value::Null);
        assert_eq!(json["technology"], serde_json::Value::Null);
        assert_eq!(json["manufacture_date"], "2019-07-29");
        assert_eq!(json["derived"], serde_json::json!(["energy_wh"]));
        assert!(json.get("time_to_empty").is_none());

        let back: Battery = serde_json::from_value(json).unwrap();
        let mut expected = b.clone();
        expected.energy_wh = Some(30.93);
        assert_eq!(back, expected);

        let mut s = PowerSource::new("AC", SourceKind::Mains);
        s.online = Some(true);
        s.power_w = Some(65.000_01);
        let back: PowerSource = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back.power_w, Some(65.0));
        assert_eq!(back.online, Some(true));
    }

    #[test]
    fn a_document_with_bad_values_is_an_error_not_a_wrong_value() {
        let bad_date = r#"{"id":"BAT0","kind":"system","state":"full","derived":[],"technology":null,"manufacture_date":"2019-02-30"}"#;
        assert!(serde_json::from_str::<Battery>(bad_date).is_err());
        let bad_key =
            r#"{"id":"BAT0","kind":"system","state":"full","technology":null,"derived":["volts"]}"#;
        assert!(serde_json::from_str::<Battery>(bad_key).is_err());
        let bad_state =
            r#"{"id":"BAT0","kind":"system","state":"exploding","technology":null,"derived":[]}"#;
        assert!(serde_json::from_str::<Battery>(bad_state).is_err());
    }
}
