//! (feature `async`) [`EventStream`]: a [`Watcher`]'s events as a `futures_core::Stream`, for any
//! executor (tokio, async-std, smol, a hand-written one).
//!
//! The watcher moves to one background thread, which sleeps where [`Watcher::wait`] would and hands
//! each batch of events to the stream, waking the task that polled it. No runtime is assumed: the only
//! link to the executor is the task's `Waker`.
//!
//! - **No wake-up while nothing changes.** On Unix the thread sleeps in poll(2) on the watcher's
//!   descriptor and on a socket of the stream's own, on Windows in `WaitForMultipleObjects` on the
//!   watcher's event and a stop event of the stream's own, until the watcher's fallback poll is due
//!   ([`Watcher::next_poll`]); elsewhere (where every watcher polls) on a channel the same way.
//! - **Dropping the stream stops the thread at once**: it closes the stop socket (Unix), signals the
//!   stop event (Windows) or disconnects the channel, which wakes the thread; the thread drops the
//!   watcher and ends. Dropping never blocks (the thread is not joined: it may be in the middle of an
//!   OS read).
//! - **Bounded.** The thread reads again only once the stream has handed out the previous batch. A slow
//!   consumer therefore gets the changes summed up (each event compares the newest reading with the
//!   one before it), never an unbounded queue, and an error that repeats cannot spin.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_core::{FusedStream, Stream};

use crate::Event;
use crate::error::{Error, ErrorKind, Result};
use crate::watch::Watcher;

impl Watcher {
    /// This watcher's events as a [`Stream`](futures_core::Stream) (feature `async`): the watcher
    /// moves to a background thread that sleeps until the OS announces a change (or the fallback poll
    /// is due) and wakes the polling task. Items come in the order [`Watcher::wait`] returns them; an
    /// error is an item too, and the stream goes on after it. The stream ends only if its thread
    /// cannot be started (after yielding that error). Dropping the stream stops the thread.
    ///
    /// ```no_run
    /// use std::pin::Pin;
    ///
    /// use futures_core::Stream;
    ///
    /// async fn status_bar() -> voltaic::Result<()> {
    ///     let manager = voltaic::Manager::new()?;
    ///     let mut events = manager.watch()?.into_stream();
    ///     // With futures' `StreamExt`: `while let Some(event) = events.next().await`.
    ///     while let Some(event) =
    ///         std::future::poll_fn(|cx| Pin::new(&mut events).poll_next(cx)).await
    ///     {
    ///         println!("{:?}", event?);
    ///         for battery in manager.batteries()? {
    ///             println!("{} {:?} %", battery.id, battery.percentage);
    ///         }
    ///     }
    ///     Ok(())
    /// }
    /// ```
    #[must_use = "the stream does nothing unless polled; dropping it stops the watcher"]
    pub fn into_stream(self) -> EventStream {
        let shared = Arc::new(Shared::default());
        let (stop, waiter) = match stop_pair() {
            Ok(pair) => pair,
            Err(err) => return EventStream::failed(shared, err),
        };
        let thread = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("voltaic-watch".to_owned())
            .spawn(move || run(self, &thread, &waiter));
        match spawned {
            Ok(_) => EventStream {
                shared,
                _stop: Some(stop),
            },
            Err(err) => EventStream::failed(
                shared,
                Error::new(ErrorKind::Io, "starting the watcher's thread").with_source(err),
            ),
        }
    }
}

/// A [`Watcher`]'s events as a [`Stream`](futures_core::Stream) of `Result<Event>` (feature `async`);
/// made by [`Watcher::into_stream`]. `Send`, `Sync` and `Unpin`; dropping it stops the watcher's thread.
#[derive(Debug)]
pub struct EventStream {
    shared: Arc<Shared>,
    /// Dropped with the stream: that is the stop signal.
    _stop: Option<StopSender>,
}

/// What the stream and its thread share.
#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    /// Signalled when the stream has taken the last queued item, or has been dropped.
    taken: Condvar,
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<Result<Event>>,
    /// The task to wake when items arrive.
    waker: Option<Waker>,
    /// The stream was dropped.
    dropped: bool,
    /// The thread has ended (or never started): nothing more will arrive.
    ended: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl EventStream {
    /// A stream that yields `err` and ends.
    fn failed(shared: Arc<Shared>, err: Error) -> EventStream {
        {
            let mut state = shared.lock();
            state.queue.push_back(Err(err));
            state.ended = true;
        }
        EventStream {
            shared,
            _stop: None,
        }
    }
}

impl Stream for EventStream {
    type Item = Result<Event>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Event>>> {
        let mut state = self.shared.lock();
        if let Some(item) = state.queue.pop_front() {
            if state.queue.is_empty() {
                self.shared.taken.notify_one();
            }
            return Poll::Ready(Some(item));
        }
        if state.ended {
            return Poll::Ready(None);
        }
        if !state
            .waker
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            state.waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl FusedStream for EventStream {
    fn is_terminated(&self) -> bool {
        let state = self.shared.lock();
        state.ended && state.queue.is_empty()
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        self.shared.lock().dropped = true;
        // A thread waiting for the queue to be taken wakes here; one waiting on the OS wakes when
        // `_stop` is dropped right after this.
        self.shared.taken.notify_one();
    }
}

/// Marks the stream ended when the thread leaves `run` in any way (a panic included), so that the
/// stream yields `None` rather than waiting for ever.
struct EndGuard<'a>(&'a Shared);

impl Drop for EndGuard<'_> {
    fn drop(&mut self) {
        let waker = {
            let mut state = self.0.lock();
            state.ended = true;
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The thread: wait, hand over the batch, wait until it is taken, again, until the stream is dropped.
fn run(mut watcher: Watcher, shared: &Shared, stop: &StopWaiter) {
    let _end = EndGuard(shared);
    loop {
        {
            let mut state = shared.lock();
            while !state.queue.is_empty() && !state.dropped {
                state = shared
                    .taken
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if state.dropped {
                return;
            }
        }
        let batch = match wait(&mut watcher, stop) {
            Waited::Stopped => return,
            Waited::Events(events) if events.is_empty() => continue,
            Waited::Events(events) => events.into_iter().map(Ok).collect(),
            Waited::Failed(err) => VecDeque::from([Err(err)]),
        };
        let waker = {
            let mut state = shared.lock();
            if state.dropped {
                return;
            }
            state.queue = batch;
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

enum Waited {
    Stopped,
    Events(Vec<Event>),
    Failed(Error),
}

impl From<Result<Vec<Event>>> for Waited {
    fn from(result: Result<Vec<Event>>) -> Waited {
        result.map_or_else(Waited::Failed, Waited::Events)
    }
}

/// One wait of the watcher that also ends when the stream is dropped. A polling watcher's descriptor
/// (Unix) or event (Windows) is never signalled: then only the timeout or `stop` wakes.
#[cfg(unix)]
fn wait(watcher: &mut Watcher, stop: &StopWaiter) -> Waited {
    use std::os::fd::AsFd;
    let woke = crate::sys::wait_either(watcher.as_fd(), stop.as_fd(), watcher.next_poll());
    after_wait(woke, watcher)
}

/// One wait of the watcher that also ends when the stream is dropped (as on Unix).
#[cfg(windows)]
fn wait(watcher: &mut Watcher, stop: &StopWaiter) -> Waited {
    use std::os::windows::io::AsHandle;
    let woke = crate::sys::wait_either(watcher.as_handle(), stop.as_handle(), watcher.next_poll());
    after_wait(woke, watcher)
}

/// What a wait on the watcher and the stop signal came to: `Ok(true)` is the stop; otherwise the
/// watcher takes what the OS announced, or polls if due, without blocking.
#[cfg(any(unix, windows))]
fn after_wait(woke: std::io::Result<bool>, watcher: &mut Watcher) -> Waited {
    match woke {
        Ok(true) => Waited::Stopped,
        Ok(false) => watcher.wait(Some(Duration::ZERO)).into(),
        Err(err) => Waited::Failed(
            Error::new(ErrorKind::Io, "waiting for power-source changes").with_source(err),
        ),
    }
}

/// One wait of the watcher that also ends when the stream is dropped.
#[cfg(not(any(unix, windows)))]
fn wait(watcher: &mut Watcher, stop: &StopWaiter) -> Waited {
    use std::sync::mpsc::RecvTimeoutError;
    // Every watcher polls on these systems (no OS source): sleep on the channel until the poll is due.
    let slept = match watcher.next_poll() {
        Some(timeout) => stop.recv_timeout(timeout),
        None => stop.recv().map_err(|_| RecvTimeoutError::Disconnected),
    };
    match slept {
        Err(RecvTimeoutError::Disconnected) => Waited::Stopped,
        _ => watcher.wait(Some(Duration::ZERO)).into(),
    }
}

/// The stop signal: a connected socket pair; closing the stream's end makes the thread's readable.
#[cfg(unix)]
type StopSender = std::os::unix::net::UnixStream;
#[cfg(unix)]
type StopWaiter = std::os::unix::net::UnixStream;

#[cfg(unix)]
fn stop_pair() -> Result<(StopSender, StopWaiter)> {
    std::os::unix::net::UnixStream::pair().map_err(|e| {
        Error::new(ErrorKind::Io, "creating the event stream's stop socket").with_source(e)
    })
}

/// The stop signal on Windows: a manual-reset event that dropping the stream's end signals.
#[cfg(windows)]
#[derive(Debug)]
struct StopSender(Arc<std::os::windows::io::OwnedHandle>);
#[cfg(windows)]
type StopWaiter = Arc<std::os::windows::io::OwnedHandle>;

#[cfg(windows)]
impl Drop for StopSender {
    fn drop(&mut self) {
        crate::sys::set_event(&self.0);
    }
}

#[cfg(windows)]
fn stop_pair() -> Result<(StopSender, StopWaiter)> {
    let event = Arc::new(crate::sys::idle_event().map_err(|e| {
        Error::new(ErrorKind::Io, "creating the event stream's stop event").with_source(e)
    })?);
    Ok((StopSender(Arc::clone(&event)), event))
}

/// The stop signal: a channel nothing is sent on; dropping the stream's end disconnects it.
#[cfg(not(any(unix, windows)))]
type StopSender = std::sync::mpsc::Sender<()>;
#[cfg(not(any(unix, windows)))]
type StopWaiter = std::sync::mpsc::Receiver<()>;

#[cfg(not(any(unix, windows)))]
#[allow(clippy::unnecessary_wraps)] // the signature of the Unix version
fn stop_pair() -> Result<(StopSender, StopWaiter)> {
    Ok(std::sync::mpsc::channel())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::task::Wake;
    use std::thread::Thread;
    use std::time::Instant;

    use crate::Manager;

    /// Wakes a parked thread: the whole executor the tests need.
    struct Unpark(Thread);

    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }

    /// Polls `stream` until it yields, parking in between (with a deadline, so a broken stream fails
    /// the test instead of hanging it).
    fn next(stream: &mut EventStream) -> Option<Result<Event>> {
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Poll::Ready(item) = Pin::new(&mut *stream).poll_next(&mut cx) {
                return item;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "no item from the stream in 20 s");
            std::thread::park_timeout(left);
        }
    }

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let bat = dir.path().join("BAT0");
        fs::create_dir(&bat).expect("mkdir");
        write_uevent(&dir, "Discharging", 21);
        dir
    }

    /// Writes the battery's uevent at once (a rename, so a poll never sees half of it).
    fn write_uevent(dir: &tempfile::TempDir, status: &str, capacity: u32) {
        let text = format!(
            "POWER_SUPPLY_NAME=BAT0\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_PRESENT=1\n\
             POWER_SUPPLY_STATUS={status}\nPOWER_SUPPLY_CAPACITY={capacity}\n"
        );
        let tmp = dir.path().join("uevent.new");
        fs::write(&tmp, text).expect("write");
        fs::rename(&tmp, dir.path().join("BAT0/uevent")).expect("rename");
    }

    fn stream(dir: &tempfile::TempDir) -> EventStream {
        let mut watcher = Manager::replay(dir.path())
            .and_then(|m| m.watch())
            .expect("watch");
        watcher.set_poll_interval(Duration::from_millis(10));
        watcher.into_stream()
    }

    #[test]
    fn changes_of_a_replayed_tree_arrive_through_the_stream_in_order() {
        let dir = tree();
        let mut events = stream(&dir);
        assert!(!events.is_terminated());

        write_uevent(&dir, "Charging", 22);
        assert_eq!(
            next(&mut events).map(|e| e.expect("event")),
            Some(Event::BatteryChanged { id: "BAT0".into() })
        );

        // A change that crosses warning levels: the battery's event, then its warning and the machine's.
        write_uevent(&dir, "Discharging", 4);
        let mut seen = Vec::new();
        while seen.len() < 3 {
            seen.push(next(&mut events).expect("item").expect("event"));
        }
        assert_eq!(
            seen,
            [
                Event::BatteryChanged { id: "BAT0".into() },
                Event::WarningChanged {
                    id: Some("BAT0".into()),
                    from: crate::WarningLevel::None,
                    to: crate::WarningLevel::Critical
                },
                Event::WarningChanged {
                    id: None,
                    from: crate::WarningLevel::None,
                    to: crate::WarningLevel::Critical
                },
            ]
        );

        fs::remove_dir_all(dir.path().join("BAT0")).expect("rm");
        assert_eq!(
            next(&mut events).map(|e| e.expect("event")),
            Some(Event::BatteryRemoved { id: "BAT0".into() })
        );
    }

    #[test]
    fn dropping_the_stream_ends_its_thread_promptly() {
        let dir = tree();
        let mut watcher = Manager::replay(dir.path())
            .and_then(|m| m.watch())
            .expect("watch");
        // Never polls on its own: the thread sleeps until the stream is dropped.
        watcher.set_poll_interval(Duration::MAX);
        let events = watcher.into_stream();
        let shared = Arc::clone(&events.shared);
        drop(events);
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut state = shared.lock();
        while !state.ended {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "the thread did not end in 20 s");
            drop(state);
            std::thread::sleep(Duration::from_millis(5));
            state = shared.lock();
        }
        assert!(state.dropped);
    }

    #[test]
    fn a_stream_whose_thread_could_not_start_yields_the_error_and_ends() {
        let mut events = EventStream::failed(
            Arc::new(Shared::default()),
            Error::new(ErrorKind::Io, "starting the watcher's thread"),
        );
        let first = next(&mut events).expect("the error").expect_err("an error");
        assert_eq!(first.kind(), ErrorKind::Io);
        assert!(next(&mut events).is_none());
        assert!(events.is_terminated());
    }

    #[test]
    fn the_stream_is_send_sync_unpin() {
        fn check<T: Send + Sync + Unpin>() {}
        check::<EventStream>();
    }
}
