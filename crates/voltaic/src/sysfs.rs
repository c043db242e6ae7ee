//! Reading a directory laid out like `/sys/class/power_supply`.
//!
//! This is plain file IO and compiles everywhere: the Linux shell points it at `/sys/class/power_supply`,
//! and `--replay DIR` points it at a copy on any OS. Each device's `uevent` is read in one `read` (a
//! consistent snapshot); attribute files are read only for what the uevent lacks.
//!
//! Three readers share one way of reading a device ([`read_device_text`]): the records of [`read_tree`]
//! (what `voltaic record` prints), the in-place decode of [`decode_tree`] (what a snapshot costs: every
//! text in one buffer, decoded from borrowed [`Properties`], no record built), and [`Kept`], the handles a
//! `Manager` keeps so that a steady refresh is one `pread` of the uevent (plus one per charge-limit
//! attribute the battery has) into a reused buffer, decoded in place without allocating.
//!
//! A tree is untrusted input (`--replay DIR` of a stranger's directory): only attribute names of the
//! power-supply class are read, never every file of a directory; each file, each device and the whole
//! tree have a byte budget and the device count is bounded; every file is opened non-blocking and
//! without following a final symlink, and is read only if the opened handle is a regular file (a FIFO,
//! a device node or `/proc/kmsg` never blocks a reading); this machine's own sysfs holds nothing else, so
//! its files are not asked. Device directories themselves are followed:
//! the entries of the real `/sys/class/power_supply` are symlinks to the device directories.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use voltaic_core::Battery;
use voltaic_core::decode::linux::{
    self as rules, DMI_PRODUCT_NAME, INPUT_NAME, INPUT_UNIQ, Index, Properties, Span,
    USB_WIRELESS_STATUS,
};
use voltaic_core::decode::{Decoded, Skipped};
use voltaic_core::record::{Os, RawDevice};

use crate::error::{Error, Result};
use crate::sys::Dir;

/// Files larger than this are not power-supply attributes (sysfs attributes are at most one page, 64 KiB on
/// the largest page size); reading stops there.
const MAX_FILE: usize = 64 * 1024;
/// What one device may cost in total (its uevent, or every attribute when the uevent is unreadable).
const MAX_DEVICE_BYTES: usize = 128 * 1024;
/// What a whole tree may cost; a real machine's class directory holds a few KiB.
const MAX_TREE_BYTES: usize = 4 * 1024 * 1024;
/// Devices read from one tree (machines with most supplies, phones and docks, list a few dozen).
const MAX_DEVICES: usize = 256;
/// Directory entries considered at all (they are sorted before reading, so listing must stop somewhere).
const MAX_ENTRIES: usize = 4 * MAX_DEVICES;
/// Batteries whose handles a manager keeps at once.
const MAX_KEPT: usize = 32;

/// Attributes that platform drivers add to a battery outside the power-supply property list (so they are
/// never in the uevent): thinkpad_acpi, asus-wmi, dell-laptop, huawei-wmi … hook `charge_control_*` and
/// `charge_behaviour` as plain device attributes (drivers/acpi/battery.c `battery_hook_register`). The
/// `charge_{start,stop}_threshold` names are the older thinkpad_acpi aliases.
const EXTRA_BATTERY_ATTRS: [&str; 6] = [
    "charge_control_start_threshold",
    "charge_control_end_threshold",
    "charge_start_threshold",
    "charge_stop_threshold",
    "charge_behaviour",
    "charge_types",
];

/// The attribute files of the power-supply class (`POWER_SUPPLY_ATTR` entries of
/// drivers/power/supply/power_supply_sysfs.c, plus the hooked attributes above): the only files read
/// one by one when a device's uevent cannot be read.
const ATTRIBUTES: [&str; 83] = [
    "type",
    "status",
    "charge_type",
    "charge_types",
    "health",
    "present",
    "online",
    "authentic",
    "technology",
    "cycle_count",
    "voltage_max",
    "voltage_min",
    "voltage_max_design",
    "voltage_min_design",
    "voltage_now",
    "voltage_avg",
    "voltage_ocv",
    "voltage_boot",
    "current_max",
    "current_now",
    "current_avg",
    "current_boot",
    "power_now",
    "power_avg",
    "charge_full_design",
    "charge_empty_design",
    "charge_full",
    "charge_empty",
    "charge_now",
    "charge_avg",
    "charge_counter",
    "constant_charge_current",
    "constant_charge_current_max",
    "constant_charge_voltage",
    "constant_charge_voltage_max",
    "charge_control_limit",
    "charge_control_limit_max",
    "charge_control_start_threshold",
    "charge_control_end_threshold",
    "charge_start_threshold",
    "charge_stop_threshold",
    "charge_behaviour",
    "input_current_limit",
    "input_voltage_limit",
    "input_power_limit",
    "energy_full_design",
    "energy_empty_design",
    "energy_full",
    "energy_empty",
    "energy_now",
    "energy_avg",
    "capacity",
    "capacity_alert_min",
    "capacity_alert_max",
    "capacity_error_margin",
    "capacity_level",
    "temp",
    "temp_max",
    "temp_min",
    "temp_alert_min",
    "temp_alert_max",
    "temp_ambient",
    "temp_ambient_alert_min",
    "temp_ambient_alert_max",
    "time_to_empty_now",
    "time_to_empty_avg",
    "time_to_full_now",
    "time_to_full_avg",
    "usb_type",
    "scope",
    "precharge_current",
    "charge_term_current",
    "calibrate",
    "manufacture_year",
    "manufacture_month",
    "manufacture_day",
    "model_name",
    "manufacturer",
    "serial_number",
    "charge_full_design_avg",
    "internal_resistance",
    "state_of_health",
    "voltage_now_avg",
];

/// What reading a power-supply directory gave: device records, and devices that could not be read.
#[derive(Debug, Default)]
pub(crate) struct TreeRead {
    pub devices: Vec<RawDevice>,
    pub unreadable: Vec<Skipped>,
}

/// Every device's text in one buffer: names, uevents and attribute values, located by spans.
#[derive(Debug, Default)]
struct TreeText {
    /// Invalid bytes of a file are replaced as it is read.
    text: String,
    spans: Vec<Span>,
    devices: Vec<DeviceText>,
    unreadable: Vec<Skipped>,
}

#[derive(Debug)]
struct DeviceText {
    name: (usize, usize),
    spans: (usize, usize),
    index: Index,
}

impl TreeText {
    fn each(&self) -> impl Iterator<Item = (&str, Properties<'_>)> {
        let text = &self.text;
        self.devices.iter().map(move |d| {
            (
                text.get(d.name.0..d.name.1).unwrap_or_default(),
                Properties::indexed(
                    text,
                    self.spans.get(d.spans.0..d.spans.1).unwrap_or_default(),
                    &d.index,
                ),
            )
        })
    }
}

/// Reads every device under `root` into records, sorted by name. One unreadable device never aborts the
/// listing.
pub(crate) fn read_tree(root: &Path) -> Result<TreeRead> {
    let tree = read_tree_text(root)?;
    let devices = tree
        .each()
        .map(|(name, props)| RawDevice::new(Os::Linux, name, props.to_record()))
        .collect();
    Ok(TreeRead {
        devices,
        unreadable: tree.unreadable,
    })
}

/// Reads and decodes every device under `root` in place (no record is built): what a snapshot costs.
/// Returns the decoded devices and the devices that could not be read.
pub(crate) fn decode_tree(root: &Path) -> Result<(Decoded, Vec<Skipped>)> {
    let tree = read_tree_text(root)?;
    let devices: Vec<(&str, Properties<'_>)> = tree.each().collect();
    let mut decoded = Decoded::default();
    rules::decode_properties(&devices, &mut decoded);
    drop(devices);
    Ok((decoded, tree.unreadable))
}

fn read_tree_text(root: &Path) -> Result<TreeText> {
    read_tree_text_with(root, false)
}

/// [`read_tree_text`]; `fix_utf8`: replace invalid UTF-8 file by file as it is read. Without it, the
/// whole text is checked once at the end, and a tree with a file that is not UTF-8 (an odd OEM string)
/// is read again with it, so that every span still locates its file's text.
fn read_tree_text_with(root: &Path, fix_utf8: bool) -> Result<TreeText> {
    let listing = |e| Error::io("listing power supplies", root, e);
    let class = Dir::open(root).map_err(listing)?;
    // Every name in one buffer, located by spans: no allocation per entry.
    let mut name_text: Vec<u8> = Vec::with_capacity(256);
    let mut names: Vec<(usize, usize)> = Vec::with_capacity(16);
    class
        .each_name(b"", |name| {
            if !name.starts_with(b".") && names.len() < MAX_ENTRIES {
                let at = name_text.len();
                name_text.extend_from_slice(name);
                names.push((at, name_text.len()));
            }
        })
        .map_err(listing)?;
    names.sort_unstable_by(|a, b| name_text[a.0..a.1].cmp(&name_text[b.0..b.1]));
    let machine = machine(root);
    let live = is_live(root);
    let mut tree = TreeText {
        spans: Vec::with_capacity(8 * names.len()),
        devices: Vec::with_capacity(names.len().min(MAX_DEVICES)),
        ..TreeText::default()
    };
    let mut text = Vec::with_capacity(4096);
    for (i, &(start, end)) in names.iter().enumerate() {
        let name = String::from_utf8_lossy(&name_text[start..end]);
        if i >= MAX_DEVICES || text.len() >= MAX_TREE_BYTES {
            tree.unreadable.push(Skipped::new(
                name,
                format!(
                    "not read, nor the {} devices after it: a power-supply directory is read up to {MAX_DEVICES} \
                     devices and {} KiB",
                    names.len() - i - 1,
                    MAX_TREE_BYTES >> 10
                ),
            ));
            break;
        }
        let budget = MAX_DEVICE_BYTES.min(MAX_TREE_BYTES - text.len());
        let name_start = text.len();
        text.extend_from_slice(name.as_bytes());
        let name_end = text.len();
        let span_start = tree.spans.len();
        let device = DevicePath { root, name: &name };
        // The index is built in its place in the list (it is large: no move).
        tree.devices.push(DeviceText {
            name: (name_start, name_end),
            spans: (span_start, span_start),
            index: Index::default(),
        });
        let TreeText { spans, devices, .. } = &mut tree;
        let Some(slot) = devices.last_mut() else {
            break;
        };
        let read = open_device(&class, &device).and_then(|dir| match dir {
            Some(dir) => read_device_text(
                &dir,
                &device,
                &mut text,
                spans,
                &mut slot.index,
                budget,
                How {
                    machine,
                    live,
                    fix_utf8,
                },
            ),
            None => Ok(false),
        });
        match read {
            Ok(true) => slot.spans.1 = spans.len(),
            // Gone between listing and reading (a mouse switched off): simply not there.
            Ok(false) => {
                text.truncate(name_start);
                spans.truncate(span_start);
                devices.pop();
            }
            Err(reason) => {
                text.truncate(name_start);
                spans.truncate(span_start);
                devices.pop();
                tree.unreadable.push(Skipped::new(name, reason));
            }
        }
    }
    tree.text = match String::from_utf8(text) {
        Ok(text) => text,
        Err(_) if !fix_utf8 => return read_tree_text_with(root, true),
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    Ok(tree)
}

/// How a device is read: the machine's product name (this machine's class directory only), whether
/// it is this machine's sysfs (files not checked to be regular files), whether invalid UTF-8 is replaced
/// in each file as it is read.
#[derive(Clone, Copy)]
struct How<'a> {
    machine: Option<&'a str>,
    live: bool,
    fix_utf8: bool,
}

/// Where a device directory is, for the few reads that go by path (a peripheral's context, whether
/// the directory still exists) and for messages.
struct DevicePath<'a> {
    root: &'a Path,
    name: &'a str,
}

impl DevicePath<'_> {
    fn dir(&self) -> PathBuf {
        self.root.join(self.name)
    }
}

/// Opens the device directory `device` in `class`: `Ok(None)` when it is gone (a dangling link);
/// `Err(reason)` when it exists but cannot be opened (not a directory, no permission).
fn open_device(class: &Dir, device: &DevicePath<'_>) -> std::result::Result<Option<Dir>, String> {
    match class.open_dir(device.name) {
        Ok(dir) => Ok(Some(dir)),
        Err(e) if is_gone(&e) => Ok(None),
        Err(e) => Err(format!(
            "uevent unreadable ({}) and no attribute readable",
            describe(&e)
        )),
    }
}

/// Text whose every file was checked (or its invalid bytes replaced) as it was read: this only confirms
/// it, in one pass.
fn into_text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Reads the device `name` under `root` into a record. `Ok(None)` when it no longer exists; `Err(reason)`
/// when it exists but nothing could be read from it.
pub(crate) fn read_device(
    root: &Path,
    name: &str,
) -> std::result::Result<Option<RawDevice>, String> {
    let device = DevicePath { root, name };
    let class = Dir::open(root).map_err(|e| {
        format!(
            "uevent unreadable ({}) and no attribute readable",
            describe(&e)
        )
    });
    let Some(dir) = (match class {
        Ok(class) => open_device(&class, &device)?,
        // No class directory: nothing of the device is left.
        Err(_) if !root.exists() => None,
        Err(reason) => return Err(reason),
    }) else {
        return Ok(None);
    };
    let mut text = Vec::new();
    let mut spans = Vec::new();
    let mut index = Index::default();
    if !read_device_text(
        &dir,
        &device,
        &mut text,
        &mut spans,
        &mut index,
        MAX_DEVICE_BYTES,
        How {
            machine: machine(root),
            live: is_live(root),
            fix_utf8: true,
        },
    )? {
        return Ok(None);
    }
    let text = into_text(text);
    let record = Properties::indexed(&text, &spans, &index).to_record();
    Ok(Some(RawDevice::new(Os::Linux, name, record)))
}

/// Where one device's reading goes: the text it appends to, the spans locating each file's text, and
/// the index of the device's properties (built as each file is read, so that each line is read once).
struct Out<'s> {
    dir: &'s Dir,
    device: &'s DevicePath<'s>,
    text: &'s mut Vec<u8>,
    spans: &'s mut Vec<Span>,
    index: &'s mut Index,
    /// Whether each file must be checked to be a regular file (anything but this machine's sysfs).
    checked: bool,
    /// Whether invalid UTF-8 is replaced in each file as it is read.
    fix_utf8: bool,
}

impl Out<'_> {
    fn push(&mut self, span: Span) {
        self.index.add(self.text, span);
        self.spans.push(span);
    }

    /// The value of `POWER_SUPPLY_` + `name` read so far (one the decoder reads), trimmed.
    fn get(&self, name: &str) -> Option<&[u8]> {
        self.index.get(self.text, name)
    }
}

/// Reads the device directory `dir` into `text` (appending) and `spans`, spending at most `budget`
/// bytes, and indexes its properties into `index` (empty). `Ok(false)` when the device is gone (its
/// directory, or its uevent with ENODEV); `Err(reason)` when it exists but nothing could be read from it.
fn read_device_text(
    dir: &Dir,
    device: &DevicePath<'_>,
    text: &mut Vec<u8>,
    spans: &mut Vec<Span>,
    index: &mut Index,
    budget: usize,
    how: How<'_>,
) -> std::result::Result<bool, String> {
    let How {
        machine,
        live,
        fix_utf8,
    } = how;
    let start = text.len();
    let span_start = spans.len();
    let mut out = Out {
        dir,
        device,
        text,
        spans,
        index,
        checked: !live,
        fix_utf8,
    };
    let left = |out: &Out<'_>| budget.saturating_sub(out.text.len() - start);
    let uevent = read_file_in(&mut out, "uevent", MAX_FILE.min(budget), 2048);
    match uevent {
        Ok(at) => {
            let end = out.text.len();
            out.push(Span::uevent(at, end));
        }
        // ENODEV: the kernel object was deleted as we read it (kernfs); no directory: removed.
        Err(e) if is_deleted(&e) || !device.dir().exists() => return Ok(false),
        // The whole uevent fails when any one property read fails with an error other than
        // ENODEV/ENODATA (power_supply_sysfs.c `power_supply_uevent`): read the attributes one by one.
        // Files failing with ENODEV, ENODATA, EIO, EAGAIN or EACCES are left out: the value is unknown
        // right now, not the device broken.
        Err(uevent_err) => {
            for attr in ATTRIBUTES {
                if left(&out) == 0 {
                    break;
                }
                let budget = left(&out);
                read_attr(attr, &mut out, budget);
            }
            if out.spans.len() == span_start {
                // Nothing of the device left (its directory, or every file of it): gone.
                if uevent_err.kind() == io::ErrorKind::NotFound || !device.dir().exists() {
                    return Ok(false);
                }
                return Err(format!(
                    "uevent unreadable ({}) and no attribute readable",
                    describe(&uevent_err)
                ));
            }
        }
    }
    // Kernels before 4.x leave TYPE out of the uevent; the `type` attribute has always existed.
    if out.get("TYPE").is_none() {
        let budget = left(&out);
        read_attr("type", &mut out, budget);
    }
    if out.get("TYPE").is_none_or(|t| t == b"Battery") {
        // The charge-limit attributes the uevent does not already have, read when the directory has them:
        // one listing rather than a failed open per attribute on the many batteries without them.
        let mut listed = [false; EXTRA_BATTERY_ATTRS.len()];
        let listing = dir.each_name(b"charge_", |name| {
            if let Some(i) = EXTRA_BATTERY_ATTRS
                .iter()
                .position(|a| a.as_bytes() == name)
            {
                listed[i] = true;
            }
        });
        // A directory that cannot be listed: ask for each attribute.
        if listing.is_err() {
            listed = [true; EXTRA_BATTERY_ATTRS.len()];
        }
        // What the uevent had before any of these is read (two of them are aliases of one value).
        let mut present = [false; EXTRA_BATTERY_ATTRS.len()];
        if listed.contains(&true) {
            present = EXTRA_BATTERY_ATTRS.map(|a| out.index.has_attribute(a));
        }
        for ((attr, listed), present) in EXTRA_BATTERY_ATTRS.into_iter().zip(listed).zip(present) {
            if listed && !present {
                let budget = left(&out);
                read_attr(attr, &mut out, budget);
            }
        }
        let peripheral = out.get("SCOPE") == Some(b"Device");
        let has_model = out.get("MODEL_NAME").is_some();
        if peripheral {
            let budget = left(&out);
            peripheral_context(
                &device.dir(),
                &mut PathBuf::new(),
                &mut out,
                has_model,
                budget,
            );
        }
        if let Some(name) = machine {
            push_extra(DMI_PRODUCT_NAME, name.as_bytes(), &mut out);
        }
    }
    Ok(true)
}

/// What a peripheral's power supply does not say itself. The USB interface above its HID device says
/// whether a receiver's peripheral is connected (`wireless_status`, Documentation/ABI/testing/sysfs-bus-usb,
/// Linux 6.5+); a game pad's input device (`device/input/inputN`, a sibling of the supply under the HID
/// device) has the name and Bluetooth address its supply lacks.
fn peripheral_context(
    dir: &Path,
    file: &mut PathBuf,
    out: &mut Out<'_>,
    has_model: bool,
    budget: usize,
) {
    set_path(file, dir, "device/../wireless_status");
    read_extra(file, USB_WIRELESS_STATUS, out, budget);
    if has_model {
        return;
    }
    let inputs = dir.join("device/input");
    let first = fs::read_dir(&inputs).ok().and_then(|entries| {
        entries
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .filter(|n| n.as_encoded_bytes().starts_with(b"input"))
            .take(16)
            .min()
    });
    if let Some(input) = first {
        let input = inputs.join(input);
        for (key, attr) in [(INPUT_NAME, "name"), (INPUT_UNIQ, "uniq")] {
            set_path(file, &input, attr);
            let budget = budget.saturating_sub(out.text.len());
            read_extra(file, key, out, budget);
        }
    }
}

/// Reads the file `path` as the value of `key` (a key the decoder reads beside the device's own).
fn read_extra(path: &Path, key: &'static str, out: &mut Out<'_>, budget: usize) {
    if budget == 0 {
        return;
    }
    if let Ok(at) = read_file(path, out.text, MAX_FILE.min(budget), 128, out.checked) {
        let end = line_end(out.text, at, out.text.len());
        out.push(Span::extra(key, at, end));
    }
}

/// Appends `value` to the text as the value of `key`.
fn push_extra(key: &'static str, value: &[u8], out: &mut Out<'_>) {
    let at = out.text.len();
    out.text.extend_from_slice(value);
    let end = out.text.len();
    out.push(Span::extra(key, at, end));
}

/// Whether `root` is this machine's power-supply class directory (not a replayed copy).
fn is_live(root: &Path) -> bool {
    // The same bytes first (the usual case, no path parsing), then the same components.
    crate::sys::SYSFS_ROOT.is_some_and(|live| root.as_os_str() == live || Path::new(live) == root)
}

/// The machine's product name when `root` is this machine's power-supply class (never for a replay):
/// the decoder's Intel MacBook rule needs it.
fn machine(root: &Path) -> Option<&'static str> {
    is_live(root).then(crate::sys::machine_name).flatten()
}

/// Reads attribute `attr` of `dir` (without its line end) into the text and adds its span; nothing when
/// absent or unreadable.
fn read_attr(attr: &'static str, out: &mut Out<'_>, budget: usize) {
    if budget == 0 {
        return;
    }
    if let Ok(at) = read_file_in(out, attr, MAX_FILE.min(budget), 128) {
        let end = line_end(out.text, at, out.text.len());
        out.push(Span::attribute(attr, at, end));
    }
}

/// `path` = `dir`/`name`, reusing `path`'s buffer (no allocation, no parsing of the path).
fn set_path(path: &mut PathBuf, dir: &Path, name: &str) {
    path.as_mut_os_string().clear();
    path.push(dir);
    path.push(name);
}

/// `end` moved back over a trailing line end (`\n`, `\r\n`), not before `start`.
fn line_end(text: &[u8], start: usize, mut end: usize) -> usize {
    while end > start && matches!(text[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    end
}

/// Appends the file at `path` (at most `limit` bytes) to `text`, returning where it starts; invalid
/// UTF-8 is replaced, not an error (OEM strings are not always UTF-8: battery crate issues #60 and #72).
fn read_file(
    path: &Path,
    text: &mut Vec<u8>,
    limit: usize,
    first: usize,
    checked: bool,
) -> io::Result<usize> {
    let file = if checked {
        open(path)?
    } else {
        open_sysfs(path)?
    };
    append_file(&file, text, limit, first, true)
}

/// Appends the file `name` of the device directory of `out`, as [`read_file`] does (opened relative to
/// the directory's handle; checked to be a regular file when `out.checked`).
fn read_file_in(out: &mut Out<'_>, name: &str, limit: usize, first: usize) -> io::Result<usize> {
    let file = out.dir.open_file(name)?;
    if out.checked && !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is not a regular file",
                out.device.dir().join(name).display()
            ),
        ));
    }
    append_file(&file, out.text, limit, first, out.fix_utf8)
}

/// Appends `file` (at most `limit` bytes, the first read asking for `first`) to `text`, returning where
/// it starts; invalid UTF-8 is replaced when `fix_utf8`.
fn append_file(
    file: &File,
    text: &mut Vec<u8>,
    limit: usize,
    first: usize,
    fix_utf8: bool,
) -> io::Result<usize> {
    let at = text.len();
    read_into(file, text, limit, first)?;
    if fix_utf8 && !text[at..].is_ascii() && std::str::from_utf8(&text[at..]).is_err() {
        let fixed = String::from_utf8_lossy(&text[at..]).into_owned();
        text.truncate(at);
        text.extend_from_slice(fixed.as_bytes());
    }
    Ok(at)
}

/// Opens a file of this machine's sysfs for reading, as [`open`] does but without asking what it is:
/// sysfs (kernfs) holds directories, symbolic links and attribute files, which are regular files, and
/// nothing else (Documentation/filesystems/sysfs.rst), so the check costs a system call and proves nothing.
fn open_sysfs(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    crate::sys::open_flags(&mut options);
    options.open(path)
}

/// Opens `path` for reading without blocking (a FIFO opens at once) and without following a final
/// symlink, and checks on the handle (no stat-then-open race) that it is a regular file.
fn open(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    crate::sys::open_flags(&mut options);
    let file = options.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a regular file", path.display()),
        ));
    }
    Ok(file)
}

/// Appends at most `limit` bytes of `file`, from offset 0, to `buf`, in as few reads as the kernel
/// allows: a sysfs attribute comes whole in one read, and a read shorter than asked is the end of a
/// regular file, so no second read is spent on finding the end. The first read asks for `first` bytes.
fn read_into(file: &File, buf: &mut Vec<u8>, limit: usize, first: usize) -> io::Result<()> {
    let start = buf.len();
    let mut len = 0;
    let mut chunk = limit.min(first);
    loop {
        let n = match crate::sys::append_at(file, buf, chunk - len, len as u64) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                buf.truncate(start);
                return Err(e);
            }
        };
        len += n;
        if n == 0 || len < chunk || chunk == limit {
            return Ok(());
        }
        chunk = (chunk * 2).min(limit);
    }
}

/// Whether a read failed because the device is gone: its files removed (ENOENT), or the kernel object
/// deleted under an open handle (ENODEV, kernfs `kernfs_fop_read_iter`).
fn is_gone(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::NotFound || is_deleted(err)
}

/// ENODEV: the kernel object behind the file was deleted.
fn is_deleted(err: &io::Error) -> bool {
    err.raw_os_error().is_some() && err.raw_os_error() == crate::sys::ENODEV
}

/// A short name for an IO error, naming the errno where there is one (`ENODEV`, `EIO`).
fn describe(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(code) => format!("{} (os error {code})", err.kind()),
        None => err.to_string(),
    }
}

/// Why a kept-handle refresh did not decode the battery.
#[derive(Debug)]
pub(crate) enum Miss {
    /// The device is gone.
    Gone,
    /// The device no longer describes a usable battery.
    NotBattery(Skipped),
    /// Not readable through kept handles (no uevent, a different pack, odd text): read it afresh.
    ReadAfresh,
}

/// The open handles of the batteries a `Manager` has refreshed, so that a steady refresh is one `pread`
/// at offset 0 of the kept uevent descriptor (sysfs regenerates the text at each read from offset 0),
/// plus one per charge-limit attribute the battery was found to have. A handle is dropped when its
/// device goes (ENODEV or ENOENT on read; in a replayed tree also a file unlinked or replaced), and a
/// battery whose identity (maker, model, serial) changed is read afresh: a different pack in the bay.
#[derive(Debug, Default)]
pub(crate) struct Kept {
    devices: Vec<KeptDevice>,
}

#[derive(Debug)]
struct KeptDevice {
    id: String,
    uevent: File,
    /// Charge-limit attributes the battery has (learnt when it was opened; they change only by a
    /// write, but are re-read at each refresh: one `pread` each).
    attrs: Vec<(&'static str, File)>,
    /// The `type` attribute when the uevent lacks TYPE (old kernels): it never changes.
    ty: Option<String>,
    /// MANUFACTURER, MODEL_NAME, SERIAL_NUMBER when the device was opened.
    identity: [Option<String>; 3],
    /// The machine's product name (this machine's class directory only), added to every reading.
    machine: Option<&'static str>,
    /// The read buffer (its length is its capacity: no zeroing on each refresh), and how much of it the
    /// last read filled.
    buf: Vec<u8>,
    used: usize,
    /// The reading before (the buffers are swapped at each read) and where its attributes lay: while
    /// only numbers move, the index of the last reading still holds and no line is read again.
    previous: Vec<u8>,
    attr_spans: [(usize, usize); EXTRA_BATTERY_ATTRS.len()],
    /// Whether `index` indexes the text in `buf` up to `used`.
    indexed: bool,
    index: Index,
}

const IDENTITY: [&str; 3] = ["MANUFACTURER", "MODEL_NAME", "SERIAL_NUMBER"];

impl Kept {
    /// Refreshes `battery` from its device under `root` through kept handles. `verify_files`: also check
    /// that each kept file is still linked (a replayed tree's files can be replaced; sysfs files cannot).
    pub(crate) fn refresh(
        &mut self,
        root: &Path,
        battery: &mut Battery,
        verify_files: bool,
    ) -> std::result::Result<(), Miss> {
        let index = match self.devices.iter().position(|d| d.id == battery.id) {
            Some(i) => i,
            None => self.open(root, &battery.id)?,
        };
        let read = self.devices[index].read(verify_files);
        let index = match read {
            Ok(()) => index,
            Err(e) if is_gone(&e) => {
                // Removed, or removed and registered again under the same name: one reopen tells which.
                self.devices.swap_remove(index);
                let index = self.open(root, &battery.id)?;
                if let Err(e) = self.devices[index].read(verify_files) {
                    self.devices.swap_remove(index);
                    return Err(if is_gone(&e) {
                        Miss::Gone
                    } else {
                        Miss::ReadAfresh
                    });
                }
                index
            }
            Err(_) => {
                self.devices.swap_remove(index);
                return Err(Miss::ReadAfresh);
            }
        };
        let device = &self.devices[index];
        let Some(props) = device.properties() else {
            self.devices.swap_remove(index);
            return Err(Miss::ReadAfresh);
        };
        let same_pack = IDENTITY
            .iter()
            .zip(&device.identity)
            .all(|(key, old)| props.get(key) == old.as_deref());
        if !same_pack {
            self.devices.swap_remove(index);
            return Err(Miss::ReadAfresh);
        }
        let external_power = battery.external_power;
        rules::refresh_battery(battery, &props, external_power).map_err(Miss::NotBattery)
    }

    /// Opens the device `id` under `root` and keeps it; its index.
    fn open(&mut self, root: &Path, id: &str) -> std::result::Result<usize, Miss> {
        let mut dir = root.join(id);
        dir.push("uevent");
        let uevent = match open(&dir) {
            Ok(f) => f,
            Err(e) if is_gone(&e) => {
                dir.pop();
                return Err(if dir.exists() {
                    Miss::ReadAfresh
                } else {
                    Miss::Gone
                });
            }
            Err(_) => return Err(Miss::ReadAfresh),
        };
        dir.pop();
        let mut device = KeptDevice {
            id: id.to_owned(),
            uevent,
            attrs: Vec::new(),
            ty: None,
            identity: [None, None, None],
            machine: machine(root),
            buf: vec![0; 4096],
            used: 0,
            previous: vec![0; 4096],
            attr_spans: [(0, 0); EXTRA_BATTERY_ATTRS.len()],
            indexed: false,
            index: Index::default(),
        };
        device.read(false).map_err(|e| {
            if is_gone(&e) {
                Miss::Gone
            } else {
                Miss::ReadAfresh
            }
        })?;
        let (has_type, is_battery, identity, peripheral) = {
            let props = device.properties().ok_or(Miss::ReadAfresh)?;
            let ty = props.get("TYPE");
            (
                ty.is_some(),
                ty.is_none_or(|t| t == "Battery"),
                IDENTITY.map(|key| props.get(key).map(str::to_owned)),
                props.get("SCOPE") == Some("Device"),
            )
        };
        // A peripheral's reading needs files outside its directory (the receiver's wireless_status, the
        // input device's name): it is read afresh each time rather than kept.
        if peripheral {
            return Err(Miss::ReadAfresh);
        }
        device.identity = identity;
        if !has_type {
            let mut text = Vec::new();
            dir.push("type");
            if read_file(&dir, &mut text, 64, 64, true).is_ok() {
                device.ty = Some(String::from_utf8_lossy(&text).trim().to_owned());
            }
            dir.pop();
        }
        if is_battery || device.ty.as_deref().is_some_and(|t| t == "Battery") {
            for attr in EXTRA_BATTERY_ATTRS {
                if device.properties().is_some_and(|p| p.has_attribute(attr)) {
                    continue;
                }
                dir.push(attr);
                if let Ok(file) = open(&dir) {
                    device.attrs.push((attr, file));
                }
                dir.pop();
            }
        }
        if self.devices.len() >= MAX_KEPT {
            self.devices.clear();
        }
        self.devices.push(device);
        Ok(self.devices.len() - 1)
    }
}

impl KeptDevice {
    /// Reads the uevent and the kept attributes into the buffer and indexes them.
    fn read(&mut self, verify_files: bool) -> io::Result<()> {
        if verify_files {
            for file in std::iter::once(&self.uevent).chain(self.attrs.iter().map(|(_, f)| f)) {
                if crate::sys::unlinked(file)? {
                    return Err(io::Error::from(io::ErrorKind::NotFound));
                }
            }
        }
        let was_indexed = std::mem::replace(&mut self.indexed, false);
        std::mem::swap(&mut self.buf, &mut self.previous);
        let mut used = read_whole(&self.uevent, &mut self.buf, 0)?;
        let uevent_end = used;
        let mut attr_spans = [(0usize, 0usize); EXTRA_BATTERY_ATTRS.len()];
        for (i, (_, file)) in self.attrs.iter().enumerate() {
            let at = used;
            // An attribute failing now (EIO, ENODATA) is unknown this time, not the battery gone.
            match read_whole(file, &mut self.buf, at) {
                Ok(end) => used = end,
                Err(e) if is_gone(&e) => return Err(e),
                Err(_) => {}
            }
            attr_spans[i] = (at, used);
        }
        let ty_at = used;
        if let Some(ty) = &self.ty {
            if self.buf.len() < used + ty.len() {
                self.buf.resize(used + ty.len(), 0);
            }
            self.buf[used..used + ty.len()].copy_from_slice(ty.as_bytes());
            used += ty.len();
        }
        let machine_at = used;
        if let Some(name) = self.machine {
            if self.buf.len() < used + name.len() {
                self.buf.resize(used + name.len(), 0);
            }
            self.buf[used..used + name.len()].copy_from_slice(name.as_bytes());
            used += name.len();
        }
        let text = &self.buf[..used];
        let unchanged = was_indexed
            && used == self.used
            && attr_spans == self.attr_spans
            && Index::still_indexes(&self.previous[..used], text);
        self.used = used;
        self.attr_spans = attr_spans;
        self.indexed = true;
        if unchanged {
            return Ok(());
        }
        let index = &mut self.index;
        *index = Index::default();
        index.add(text, Span::uevent(0, uevent_end));
        for ((attr, _), &(at, end)) in self.attrs.iter().zip(&attr_spans) {
            if end > at {
                let end = line_end(text, at, end);
                index.add(text, Span::attribute(attr, at, end));
            }
        }
        if self.ty.is_some() {
            index.add(text, Span::attribute("type", ty_at, machine_at));
        }
        if self.machine.is_some() {
            index.add(text, Span::extra(DMI_PRODUCT_NAME, machine_at, used));
        }
        Ok(())
    }

    fn properties(&self) -> Option<Properties<'_>> {
        // Invalid UTF-8 (an odd OEM string): read afresh, where it is replaced as it is read.
        let text = &self.buf[..self.used];
        Some(Properties::indexed(
            std::str::from_utf8(text).ok()?,
            &[],
            &self.index,
        ))
    }
}

/// Reads all of `file` (at most [`MAX_FILE`] bytes) from offset 0 into `buf[at..]`, growing `buf` only
/// when it is full (a refresh buffer grows once, then stays); returns where the text ends.
fn read_whole(file: &File, buf: &mut Vec<u8>, at: usize) -> io::Result<usize> {
    let mut len = 0;
    loop {
        if buf.len() <= at + len {
            buf.resize((at + len).max(2048) * 2, 0);
        }
        let limit = buf.len().min(at + MAX_FILE);
        let n = match crate::sys::read_at(file, &mut buf[at + len..limit], len as u64) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        len += n;
        if n == 0 || at + len < limit || len >= MAX_FILE {
            return Ok(at + len);
        }
    }
}
