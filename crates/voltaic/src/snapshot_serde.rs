//! A [`Snapshot`]'s serde form is the `voltaic --json` document: `{"schema_version":1,"batteries":[…],
//! "power_sources":[…],"skipped":[…],"summary":{…}}` (the schema is `voltaic.schema.json` in the voltaic-cli crate).
//! Reading one back checks the schema version and ignores keys it does not know (a newer document's
//! additions), so that what the command saved reads back into the model.

use serde::de::Error as _;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Battery, PowerSource, Skipped, Snapshot, Summary, WarningConfig, WarningLevel};

/// The version of the document layout: bumped only on an incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

impl Serialize for Snapshot {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut doc = s.serialize_struct("Snapshot", 5)?;
        doc.serialize_field("schema_version", &SCHEMA_VERSION)?;
        doc.serialize_field("batteries", &self.batteries)?;
        doc.serialize_field("power_sources", &self.power_sources)?;
        doc.serialize_field("skipped", &self.skipped)?;
        // The machine summary with the default warning thresholds, as `voltaic --json` prints it.
        let summary = Summary::new(
            &self.batteries,
            &self.power_sources,
            &WarningConfig::default(),
            WarningLevel::None,
        );
        doc.serialize_field("summary", &summary)?;
        doc.end()
    }
}

#[derive(Deserialize)]
struct Document {
    schema_version: u32,
    batteries: Vec<Battery>,
    power_sources: Vec<PowerSource>,
    #[serde(default)]
    skipped: Vec<Skipped>,
}

impl<'de> Deserialize<'de> for Snapshot {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Snapshot, D::Error> {
        let doc = Document::deserialize(d)?;
        if doc.schema_version != SCHEMA_VERSION {
            return Err(D::Error::custom(format_args!(
                "schema_version {} is not {SCHEMA_VERSION}, the one this voltaic reads",
                doc.schema_version
            )));
        }
        Ok(Snapshot {
            batteries: doc.batteries,
            power_sources: doc.power_sources,
            skipped: doc.skipped,
        })
    }
}
