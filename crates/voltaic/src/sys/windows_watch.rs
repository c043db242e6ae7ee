//! Windows change notifications: power-setting callbacks and battery device arrival/removal, both
//! signalling one event object the watcher waits on.
//!
//! - `PowerSettingRegisterNotification` with `DEVICE_NOTIFY_CALLBACK` (no window, no message loop;
//!   MS docs "PowerSettingRegisterNotification") for `GUID_ACDC_POWER_SOURCE` (AC, battery, UPS) and
//!   `GUID_BATTERY_PERCENTAGE_REMAINING` (the combined charge, in whole percent). The callback decodes
//!   the `POWERBROADCAST_SETTING` ([`voltaic_core::decode::windows::notify`]) and signals only when the
//!   value differs from the last one it saw (Windows calls back once with the current value right after
//!   registering); bytes it cannot decode signal too, since a re-read is always safe.
//! - `CM_Register_Notification` on the battery device interface class (`GUID_DEVICE_BATTERY`,
//!   `CM_NOTIFY_FILTER_TYPE_DEVICEINTERFACE`) for batteries that arrive or go (a UPS plugged in, a
//!   battery driver loaded). It is looked up at run time (cfgmgr32.dll, Windows 8 and later; Wine 8 lacks
//!   it): without it the power settings still wake the watcher.
//!
//! The event is manual-reset, so that a caller waiting on it through the watcher's handle
//! (`WaitForMultipleObjects`) leaves it signalled for the `wait` that follows; `wait` resets it before
//! the watcher reads.
//!
//! The callbacks run on system threads. Their context is not a pointer but a key into [`WAKES`]: a
//! callback that runs after (or while) a watcher is dropped finds no entry and does nothing, whether or
//! not unregistering waited for it (CM_Unregister_Notification does wait; PowerSettingUnregisterNotification
//! does not document it).
//!
//! Only run under cross-compilation and Wine so far (PLATFORMS.md).

#![allow(unsafe_code)]

use std::ffi::c_void;
use std::os::windows::io::{AsHandle, AsRawHandle, BorrowedHandle, FromRawHandle, OwnedHandle};
use std::ptr;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use voltaic_core::decode::windows::notify::{
    MAX_POWER_SETTING_DATA, POWER_SETTING_HEADER, PowerCondition, PowerSetting, parse_power_setting,
};
use windows_sys::Win32::Devices::DeviceAndDriverInstallation::{
    CM_NOTIFY_ACTION, CM_NOTIFY_ACTION_DEVICEINTERFACEARRIVAL,
    CM_NOTIFY_ACTION_DEVICEINTERFACEREMOVAL, CM_NOTIFY_EVENT_DATA, CM_NOTIFY_FILTER,
    CM_NOTIFY_FILTER_0, CM_NOTIFY_FILTER_0_0, CM_NOTIFY_FILTER_TYPE_DEVICEINTERFACE, CONFIGRET,
    CR_SUCCESS, HCMNOTIFICATION, PCM_NOTIFY_CALLBACK,
};
use windows_sys::Win32::Foundation::{
    ERROR_SUCCESS, FreeLibrary, HMODULE, WAIT_OBJECT_0, WAIT_TIMEOUT,
};
use windows_sys::Win32::System::LibraryLoader::{
    GetProcAddress, LOAD_LIBRARY_SEARCH_SYSTEM32, LoadLibraryExW,
};
use windows_sys::Win32::System::Power::{
    DEVICE_NOTIFY_SUBSCRIBE_PARAMETERS, GUID_DEVICE_BATTERY, PowerSettingRegisterNotification,
    PowerSettingUnregisterNotification,
};
use windows_sys::Win32::System::SystemServices::{
    GUID_ACDC_POWER_SOURCE, GUID_BATTERY_PERCENTAGE_REMAINING,
};
#[cfg(feature = "async")]
use windows_sys::Win32::System::Threading::WaitForMultipleObjects;
use windows_sys::Win32::System::Threading::{
    CreateEventW, INFINITE, ResetEvent, SetEvent, WaitForSingleObject,
};
use windows_sys::Win32::UI::WindowsAndMessaging::{DEVICE_NOTIFY_CALLBACK, PBT_POWERSETTINGCHANGE};
use windows_sys::core::GUID;

use crate::error::{Error, ErrorKind, Result};

/// What the callbacks of one watcher share with it.
#[derive(Debug)]
struct Shared {
    /// The manual-reset event the watcher waits on.
    event: OwnedHandle,
    /// The last AC/DC source a callback saw (`UNSEEN` before the first).
    source: AtomicU32,
    /// The last combined percentage a callback saw (`UNSEEN` before the first).
    percent: AtomicU32,
}

const UNSEEN: u32 = u32::MAX;

/// The watchers alive, by key (the callbacks' context). A callback looks its watcher up here and does
/// nothing when it has gone.
static WAKES: Mutex<Vec<(usize, Arc<Shared>)>> = Mutex::new(Vec::new());

/// The next key (0 is never used).
static NEXT_KEY: AtomicUsize = AtomicUsize::new(1);

/// A registration token: opaque to voltaic, never dereferenced, handed back to the OS to unregister.
#[derive(Debug)]
struct Token(*mut c_void);

// SAFETY: a registration token is an opaque value the OS accepts from any thread; this code never
// dereferences it and unregisters it exactly once (in `Wake::drop`).
unsafe impl Send for Token {}

/// The run-time entry points of cfgmgr32's notification calls (Windows 8 and later).
type RegisterFn = unsafe extern "system" fn(
    *const CM_NOTIFY_FILTER,
    *const c_void,
    PCM_NOTIFY_CALLBACK,
    *mut HCMNOTIFICATION,
) -> CONFIGRET;
type UnregisterFn = unsafe extern "system" fn(HCMNOTIFICATION) -> CONFIGRET;

/// cfgmgr32.dll loaded for one device-interface registration.
#[derive(Debug)]
struct DeviceNotification {
    module: Token,
    unregister: UnregisterFn,
    token: Token,
}

/// The callback and context given to `PowerSettingRegisterNotification`, kept at one address for as
/// long as the registrations (the docs do not say that Windows copies it).
struct Subscription(Box<DEVICE_NOTIFY_SUBSCRIBE_PARAMETERS>);

// SAFETY: plain data (a function pointer and a key that is not a pointer), never written after the
// registrations; moving it between threads moves only the box.
unsafe impl Send for Subscription {}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Subscription")
    }
}

/// The watcher's notification source on Windows.
#[derive(Debug)]
pub(crate) struct Wake {
    key: usize,
    shared: Arc<Shared>,
    /// Dropped after `power` is unregistered (in `Drop for Wake`, before the fields).
    subscription: Subscription,
    power: Vec<Token>,
    devices: Option<DeviceNotification>,
}

impl Wake {
    /// Registers for the power settings and battery arrival/removal; `Ok(None)` (the watcher polls)
    /// when the power-setting registration is refused.
    pub(crate) fn open() -> Result<Option<Wake>> {
        let shared = Arc::new(Shared {
            event: manual_event().map_err(|e| {
                Error::new(ErrorKind::Io, "creating the watcher's event").with_source(e)
            })?,
            source: AtomicU32::new(UNSEEN),
            percent: AtomicU32::new(UNSEEN),
        });
        let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
        WAKES
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((key, Arc::clone(&shared)));
        // From here on, dropping `wake` unregisters whatever was registered and removes the key.
        let mut wake = Wake {
            key,
            shared,
            subscription: Subscription(Box::new(DEVICE_NOTIFY_SUBSCRIBE_PARAMETERS {
                Callback: Some(on_power_setting),
                Context: ptr::without_provenance_mut(key),
            })),
            power: Vec::new(),
            devices: None,
        };
        for setting in [GUID_ACDC_POWER_SOURCE, GUID_BATTERY_PERCENTAGE_REMAINING] {
            match register_power_setting(&setting, &wake.subscription) {
                Some(token) => wake.power.push(token),
                None => return Ok(None),
            }
        }
        wake.devices = register_devices(key);
        Ok(Some(wake))
    }

    /// Waits up to `timeout` (`None`: for ever) for the event; `true` when a callback signalled it.
    /// The timeout is rounded up to whole milliseconds (waking early would spin).
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) -> Result<bool> {
        let ms = millis(timeout);
        let event = self.shared.event.as_raw_handle();
        // SAFETY: `event` is an event handle this watcher owns, open for the whole call.
        match unsafe { WaitForSingleObject(event, ms) } {
            WAIT_OBJECT_0 => {
                // SAFETY: as above. A callback that signals after this reset is seen by the next wait.
                unsafe { ResetEvent(event) };
                Ok(true)
            }
            WAIT_TIMEOUT => Ok(false),
            _ => Err(Error::new(ErrorKind::Io, "waiting for power notifications")
                .with_source(std::io::Error::last_os_error())),
        }
    }
}

impl AsHandle for Wake {
    fn as_handle(&self) -> BorrowedHandle<'_> {
        self.shared.event.as_handle()
    }
}

impl Drop for Wake {
    fn drop(&mut self) {
        for token in self.power.drain(..) {
            // SAFETY: the token came from PowerSettingRegisterNotification and is unregistered once.
            unsafe { PowerSettingUnregisterNotification(token.0.addr().cast_signed()) };
        }
        if let Some(devices) = self.devices.take() {
            // SAFETY: the token came from CM_Register_Notification of this module, which is still
            // loaded; unregistering waits for callbacks in progress (MS docs CM_Unregister_Notification),
            // and is never called from a callback. Then the module reference is released, once.
            unsafe {
                (devices.unregister)(devices.token.0);
                FreeLibrary(devices.module.0);
            }
        }
        // A callback still running, or arriving late, finds no entry for this key from now on.
        WAKES
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(key, _)| *key != self.key);
    }
}

/// A wait's timeout in whole milliseconds, rounded up (waking early would spin); `None` is `INFINITE`.
fn millis(timeout: Option<Duration>) -> u32 {
    timeout.map_or(INFINITE, |t| {
        u32::try_from(t.as_nanos().div_ceil(1_000_000))
            .map_or(INFINITE - 1, |ms| ms.min(INFINITE - 1))
    })
}

/// Waits up to `timeout` (`None`: for ever) until `watched` or `stop` is signalled: the event stream's
/// wait (feature `async`), with no wake-up of its own. `Ok(true)` when `stop` is signalled (looked at
/// first), `Ok(false)` when `watched` is or the time is up.
#[cfg(feature = "async")]
pub(crate) fn wait_either(
    watched: BorrowedHandle<'_>,
    stop: BorrowedHandle<'_>,
    timeout: Option<Duration>,
) -> std::io::Result<bool> {
    let handles = [stop.as_raw_handle(), watched.as_raw_handle()];
    // SAFETY: two valid handles, borrowed for the whole call; wake on either (bWaitAll false). When
    // several are signalled the lowest index is returned, so `stop` wins.
    match unsafe { WaitForMultipleObjects(2, handles.as_ptr(), 0, millis(timeout)) } {
        WAIT_OBJECT_0 => Ok(true),
        WAIT_TIMEOUT => Ok(false),
        w if w == WAIT_OBJECT_0 + 1 => Ok(false),
        _ => Err(std::io::Error::last_os_error()),
    }
}

/// Signals an event made by [`manual_event`] (the event stream's stop signal).
#[cfg(feature = "async")]
pub(crate) fn set_event(event: &OwnedHandle) {
    // SAFETY: a valid event handle, owned by the caller for the whole call.
    unsafe { SetEvent(event.as_raw_handle()) };
}

/// A manual-reset event, not signalled: the watcher's wait object, and the never-signalled handle a
/// polling watcher offers (`AsHandle`).
pub(crate) fn manual_event() -> std::io::Result<OwnedHandle> {
    // SAFETY: default security (null), manual reset, not signalled, unnamed (null).
    let event = unsafe { CreateEventW(ptr::null(), 1, 0, ptr::null()) };
    if event.is_null() {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: CreateEventW returned a new handle that nothing else owns; OwnedHandle closes it once.
    Ok(unsafe { OwnedHandle::from_raw_handle(event) })
}

/// Signals the watcher with `key`, if it is still alive; `change` decides whether there is news.
fn signal(key: usize, change: impl FnOnce(&Shared) -> bool) {
    let shared = {
        let wakes = WAKES.lock().unwrap_or_else(PoisonError::into_inner);
        wakes
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, shared)| Arc::clone(shared))
    };
    if let Some(shared) = shared
        && change(&shared)
    {
        // SAFETY: the event handle is open while `shared` (a clone of the Arc) lives.
        unsafe { SetEvent(shared.event.as_raw_handle()) };
    }
}

/// Registers the power-setting callback of `subscription` for `setting`; `None` when Windows refuses.
fn register_power_setting(setting: &GUID, subscription: &Subscription) -> Option<Token> {
    let params: *const DEVICE_NOTIFY_SUBSCRIBE_PARAMETERS = &raw const *subscription.0;
    let mut token: *mut c_void = ptr::null_mut();
    // SAFETY: with DEVICE_NOTIFY_CALLBACK the recipient is a DEVICE_NOTIFY_SUBSCRIBE_PARAMETERS (MS docs
    // PowerSettingRegisterNotification), here boxed and alive until after unregistering; the GUID and
    // the out-parameter are live. The context is a key, not a pointer: nothing is dereferenced through it.
    let rc = unsafe {
        PowerSettingRegisterNotification(
            setting,
            DEVICE_NOTIFY_CALLBACK,
            params.cast_mut().cast(),
            &raw mut token,
        )
    };
    (rc == ERROR_SUCCESS).then_some(Token(token))
}

/// The power-setting callback (`DEVICE_NOTIFY_CALLBACK_ROUTINE`): `setting` is a
/// `POWERBROADCAST_SETTING` when `kind` is `PBT_POWERSETTINGCHANGE`.
unsafe extern "system" fn on_power_setting(
    context: *const c_void,
    kind: u32,
    setting: *const c_void,
) -> u32 {
    let key = context.addr();
    if kind != PBT_POWERSETTINGCHANGE || setting.is_null() {
        signal(key, |_| true);
        return ERROR_SUCCESS;
    }
    let base = setting.cast::<u8>();
    // SAFETY: Windows passes a POWERBROADCAST_SETTING: at least the 16-byte GUID and the DataLength
    // DWORD (read unaligned, at offset 16), then DataLength bytes of data, valid during the call. At
    // most MAX_POWER_SETTING_DATA of them are read; a longer DataLength then fails to decode.
    let bytes = unsafe {
        let declared = ptr::read_unaligned(base.add(16).cast::<u32>());
        let data = usize::try_from(declared)
            .map_or(MAX_POWER_SETTING_DATA, |n| n.min(MAX_POWER_SETTING_DATA));
        std::slice::from_raw_parts(base, POWER_SETTING_HEADER + data)
    };
    let decoded = parse_power_setting(bytes);
    signal(key, |shared| match decoded {
        Ok(PowerSetting::PowerSource(source)) => {
            let code = match source {
                PowerCondition::Ac => 0,
                PowerCondition::Dc => 1,
                PowerCondition::ShortTerm => 2,
            };
            shared.source.swap(code, Ordering::Relaxed) != code
        }
        Ok(PowerSetting::BatteryPercentage(p)) => {
            shared.percent.swap(u32::from(p), Ordering::Relaxed) != u32::from(p)
        }
        // Not understood: a re-read costs little and cannot be wrong.
        _ => true,
    });
    ERROR_SUCCESS
}

/// Registers for battery interface arrival and removal; `None` when cfgmgr32 lacks the call or
/// refuses (the power settings still wake the watcher).
fn register_devices(key: usize) -> Option<DeviceNotification> {
    let name: Vec<u16> = "cfgmgr32.dll".encode_utf16().chain([0]).collect();
    // SAFETY: a NUL-terminated name; only the system directory is searched; no file handle (null).
    let module: HMODULE =
        unsafe { LoadLibraryExW(name.as_ptr(), ptr::null_mut(), LOAD_LIBRARY_SEARCH_SYSTEM32) };
    if module.is_null() {
        return None;
    }
    let module = Token(module);
    let found = lookup(&module);
    let release = |module: Token| {
        // SAFETY: the module reference LoadLibraryExW gave is released once.
        unsafe { FreeLibrary(module.0) };
    };
    let Some((register, unregister)) = found else {
        release(module);
        return None;
    };
    let filter = CM_NOTIFY_FILTER {
        cbSize: size_of::<CM_NOTIFY_FILTER>() as u32,
        Flags: 0,
        FilterType: CM_NOTIFY_FILTER_TYPE_DEVICEINTERFACE,
        Reserved: 0,
        u: CM_NOTIFY_FILTER_0 {
            DeviceInterface: CM_NOTIFY_FILTER_0_0 {
                ClassGuid: GUID_DEVICE_BATTERY,
            },
        },
    };
    let mut token: HCMNOTIFICATION = ptr::null_mut();
    // SAFETY: `register` is CM_Register_Notification (its documented signature); the filter is a live
    // local with cbSize set; the context is a key, not a pointer; the out-parameter is a live local.
    let rc = unsafe {
        register(
            &raw const filter,
            ptr::without_provenance(key),
            Some(on_device),
            &raw mut token,
        )
    };
    if rc != CR_SUCCESS {
        release(module);
        return None;
    }
    Some(DeviceNotification {
        module,
        unregister,
        token: Token(token),
    })
}

/// CM_Register_Notification and CM_Unregister_Notification in `module`, when it has both.
fn lookup(module: &Token) -> Option<(RegisterFn, UnregisterFn)> {
    // SAFETY: `module` is loaded; the names are NUL-terminated ASCII.
    let (register, unregister) = unsafe {
        (
            GetProcAddress(module.0, c"CM_Register_Notification".as_ptr().cast())?,
            GetProcAddress(module.0, c"CM_Unregister_Notification".as_ptr().cast())?,
        )
    };
    // SAFETY: these exports have exactly these signatures (cfgmgr32.h; windows-sys declares the same);
    // only the pointer type changes.
    unsafe {
        Some((
            std::mem::transmute::<unsafe extern "system" fn() -> isize, RegisterFn>(register),
            std::mem::transmute::<unsafe extern "system" fn() -> isize, UnregisterFn>(unregister),
        ))
    }
}

/// The device-interface callback (`PCM_NOTIFY_CALLBACK`): a battery interface arrived or went.
unsafe extern "system" fn on_device(
    _notification: HCMNOTIFICATION,
    context: *const c_void,
    action: CM_NOTIFY_ACTION,
    _data: *const CM_NOTIFY_EVENT_DATA,
    _size: u32,
) -> u32 {
    if action == CM_NOTIFY_ACTION_DEVICEINTERFACEARRIVAL
        || action == CM_NOTIFY_ACTION_DEVICEINTERFACEREMOVAL
    {
        signal(context.addr(), |_| true);
    }
    ERROR_SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wake_opens_or_declines_waits_with_a_timeout_and_unregisters() {
        // Under Wine there is no battery and the registrations may be stubs or refused: either way
        // opening must not fail, and a wait must end by its timeout.
        let Some(mut wake) = Wake::open().expect("opening the notification source") else {
            return;
        };
        let key = wake.key;
        assert!(WAKES.lock().unwrap().iter().any(|(k, _)| *k == key));
        // Ends by its timeout, or earlier when Windows called back with the settings' first values.
        wake.wait(Some(Duration::from_millis(20)))
            .expect("a wait with a timeout");
        // A callback's signal is seen by the next wait.
        signal(key, |_| true);
        assert!(wake.wait(Some(Duration::from_millis(1))).expect("wait"));
        drop(wake);
        assert!(!WAKES.lock().unwrap().iter().any(|(k, _)| *k == key));
        // A late callback for a dropped watcher does nothing.
        signal(key, |_| panic!("no watcher with this key"));
    }

    #[test]
    fn a_watcher_of_this_machine_offers_a_waitable_handle_and_times_out() {
        use windows_sys::Win32::Foundation::WAIT_FAILED;
        fn send<T: Send>() {}
        send::<crate::Watcher>();
        let mut watcher = crate::Manager::new()
            .and_then(|m| m.watch())
            .expect("a watcher of this machine");
        println!("notifications registered: {}", watcher.is_native());
        let handle = std::os::windows::io::AsRawHandle::as_raw_handle(&watcher);
        assert!(!handle.is_null());
        // SAFETY: the watcher's event handle, open while `watcher` lives; a 0 ms wait only tests it.
        assert_ne!(unsafe { WaitForSingleObject(handle, 0) }, WAIT_FAILED);
        watcher
            .wait(Some(Duration::from_millis(20)))
            .expect("a wait that ends by its timeout or a change");
    }

    #[test]
    fn the_callback_signals_only_changes() {
        let shared = Arc::new(Shared {
            event: manual_event().expect("event"),
            source: AtomicU32::new(UNSEEN),
            percent: AtomicU32::new(UNSEEN),
        });
        let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
        WAKES.lock().unwrap().push((key, Arc::clone(&shared)));
        let signalled = || {
            // SAFETY: the event is open while `shared` lives.
            let hit =
                unsafe { WaitForSingleObject(shared.event.as_raw_handle(), 0) } == WAIT_OBJECT_0;
            // SAFETY: as above.
            unsafe { ResetEvent(shared.event.as_raw_handle()) };
            hit
        };
        let call = |guid: &GUID, value: u32| {
            // A POWERBROADCAST_SETTING as Windows lays it out: GUID, DataLength, a DWORD of data.
            let mut bytes = Vec::new();
            bytes.extend_from_slice(&guid.data1.to_le_bytes());
            bytes.extend_from_slice(&guid.data2.to_le_bytes());
            bytes.extend_from_slice(&guid.data3.to_le_bytes());
            bytes.extend_from_slice(&guid.data4);
            bytes.extend_from_slice(&4u32.to_le_bytes());
            bytes.extend_from_slice(&value.to_le_bytes());
            // SAFETY: a complete POWERBROADCAST_SETTING, live during the call.
            unsafe {
                on_power_setting(
                    ptr::without_provenance(key),
                    PBT_POWERSETTINGCHANGE,
                    bytes.as_ptr().cast(),
                )
            }
        };
        assert_eq!(call(&GUID_ACDC_POWER_SOURCE, 0), ERROR_SUCCESS);
        assert!(signalled(), "the first value is news");
        call(&GUID_ACDC_POWER_SOURCE, 0);
        assert!(!signalled(), "the same value again is not");
        call(&GUID_ACDC_POWER_SOURCE, 1);
        assert!(signalled(), "unplugged");
        call(&GUID_BATTERY_PERCENTAGE_REMAINING, 57);
        assert!(signalled());
        call(&GUID_BATTERY_PERCENTAGE_REMAINING, 57);
        assert!(!signalled());
        call(&GUID_BATTERY_PERCENTAGE_REMAINING, 300);
        assert!(
            signalled(),
            "an undefined value makes the watcher read again"
        );
        WAKES.lock().unwrap().retain(|(k, _)| *k != key);
    }
}
