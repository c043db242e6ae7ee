//! The imperative shell: owns the terminal, the sampler thread and the input thread, and feeds their
//! events to [`App::update`].
//!
//! The terminal is restored (raw mode off, alternate screen left, mouse capture off, cursor shown) on
//! every way out: a normal quit, an error (the [`Session`] guard's `Drop`), and a panic (a panic hook
//! that restores first, then runs the previous hook so the message lands on the normal screen).

use std::io::{self, IsTerminal, Stdout, Write};
use std::panic::{self, PanicHookInfo};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime};

use ratatui::Terminal;
use ratatui_crossterm::CrosstermBackend;
use ratatui_crossterm::crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, KeyCode, KeyEventKind, KeyModifiers,
    MouseButton, MouseEventKind,
};
use ratatui_crossterm::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui_crossterm::crossterm::{cursor, execute};
use voltaic::Manager;

use crate::app::{Action, App, Event, Key, Options, Sample};
use crate::ui;

/// How often the input thread looks up from waiting for a key to see whether it should stop.
const INPUT_POLL: Duration = Duration::from_millis(250);

/// Runs the viewer until the user quits: samples `manager` every `options.interval` on a thread of
/// its own, and redraws on every sample, key, click and resize.
///
/// # Errors
/// When standard output is not a terminal, or the terminal cannot be set up or written to. The
/// terminal is restored before this returns, whatever happened.
pub fn run(manager: Manager, options: Options) -> io::Result<()> {
    if !io::stdout().is_terminal() {
        return Err(io::Error::other(
            "voltaic top draws in a terminal, and standard output is not one \
             (`voltaic watch` prints readings as lines)",
        ));
    }
    let hook = PanicRestore::install();
    let result = Session::start().and_then(|mut session| session.run(manager, options));
    drop(hook);
    result
}

/// Whether the terminal is in the viewer's modes (so that restoring twice does nothing the second
/// time: leaving the alternate screen again would move the cursor over a panic message).
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Puts the terminal back as it was; does nothing when it already is.
fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut out = io::stdout();
    let _ = execute!(out, DisableMouseCapture, LeaveAlternateScreen, cursor::Show);
    let _ = disable_raw_mode();
    let _ = out.flush();
}

type Hook = Box<dyn Fn(&PanicHookInfo<'_>) + Send + Sync + 'static>;

/// While alive, a panic anywhere restores the terminal before the previous hook prints the message.
struct PanicRestore {
    previous: Arc<Hook>,
}

impl PanicRestore {
    fn install() -> PanicRestore {
        let previous: Arc<Hook> = Arc::new(panic::take_hook());
        let chained = Arc::clone(&previous);
        panic::set_hook(Box::new(move |info| {
            restore();
            chained(info);
        }));
        PanicRestore { previous }
    }
}

impl Drop for PanicRestore {
    fn drop(&mut self) {
        // Hand the previous hook back, so a panic after the viewer has gone prints as usual.
        let previous = Arc::clone(&self.previous);
        let _ = panic::take_hook();
        panic::set_hook(Box::new(move |info| previous(info)));
    }
}

/// The terminal in raw mode on the alternate screen; restored when dropped.
struct Session {
    terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl Session {
    fn start() -> io::Result<Session> {
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        // From here on, `restore` runs however this function returns.
        let guard = RestoreOnDrop;
        execute!(
            io::stdout(),
            EnterAlternateScreen,
            EnableMouseCapture,
            cursor::Hide
        )?;
        let terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
        std::mem::forget(guard);
        Ok(Session { terminal })
    }

    fn run(&mut self, manager: Manager, options: Options) -> io::Result<()> {
        let mut app = App::new(options);
        let size = self.terminal.size()?;
        app.update(Event::Resize {
            width: size.width,
            height: size.height,
        });
        self.terminal.draw(|f| ui::render(&app, f))?;

        let (events, inbox) = mpsc::channel::<Incoming>();
        let (control, sampler_inbox) = mpsc::channel::<Control>();
        let stop = Arc::new(AtomicBool::new(false));
        let terminate = Arc::new(AtomicBool::new(false));
        let signals = Termination::watch(&terminate);
        spawn_watcher(&manager, control.clone());
        let sampler = spawn_sampler(manager, app.interval(), events.clone(), sampler_inbox)?;
        let input = spawn_input(events, Arc::clone(&stop), terminate)?;

        let result = self.event_loop(&mut app, &inbox, &control);
        drop(signals);
        // The user asked to leave: give the terminal back before waiting for anything.
        restore();
        finish(&stop, control, input, sampler);
        result
    }

    fn event_loop(
        &mut self,
        app: &mut App,
        inbox: &Receiver<Incoming>,
        control: &Sender<Control>,
    ) -> io::Result<()> {
        while let Ok(first) = inbox.recv() {
            // Apply everything that is waiting, then draw once.
            let mut next = Some(first);
            while let Some(incoming) = next {
                let event = match incoming {
                    Incoming::Event(event) => event,
                    Incoming::Failed(e) => return Err(e),
                    Incoming::Terminate => return Ok(()),
                };
                match app.update(event) {
                    Action::None => {}
                    Action::Quit => return Ok(()),
                    Action::SetInterval(d) => {
                        let _ = control.send(Control::Interval(d));
                    }
                    Action::Pause(p) => {
                        let _ = control.send(Control::Pause(p));
                    }
                }
                next = inbox.try_recv().ok();
            }
            self.terminal.draw(|f| ui::render(app, f))?;
        }
        Ok(())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        restore();
    }
}

/// Ends the threads once the event loop is done. The input thread is joined (it looks up every
/// [`INPUT_POLL`]). The sampler is told to stop but never joined: it may sit in a read that blocks (a
/// hung driver, a stalled network file system), and quitting must not wait for it; it ends with the
/// process.
fn finish(
    stop: &AtomicBool,
    control: Sender<Control>,
    input: JoinHandle<()>,
    sampler: JoinHandle<()>,
) {
    stop.store(true, Ordering::Relaxed);
    let _ = control.send(Control::Stop);
    drop(control);
    let _ = input.join();
    drop(sampler);
}

struct RestoreOnDrop;

impl Drop for RestoreOnDrop {
    fn drop(&mut self) {
        restore();
    }
}

/// What the threads send to the event loop.
enum Incoming {
    Event(Event),
    /// A thread could not go on (terminal input failed, or it panicked).
    Failed(io::Error),
    /// SIGTERM, SIGHUP or SIGINT arrived: end as for `q`.
    Terminate,
}

/// SIGTERM, SIGHUP and SIGINT (`kill`, a closed terminal window, `kill -INT`) end the viewer like `q`, so
/// the terminal is restored instead of being left raw on the alternate screen. Ctrl-C typed in the
/// viewer is a key press (raw mode); an external SIGINT would otherwise kill the process in raw mode. The handlers only set a flag, which the input thread checks between polls; they are
/// removed again when the viewer ends.
struct Termination {
    #[cfg(unix)]
    ids: Vec<signal_hook::SigId>,
}

impl Termination {
    fn watch(flag: &Arc<AtomicBool>) -> Termination {
        #[cfg(unix)]
        {
            let ids = [
                signal_hook::consts::SIGTERM,
                signal_hook::consts::SIGHUP,
                signal_hook::consts::SIGINT,
            ]
            .into_iter()
            .filter_map(|signal| signal_hook::flag::register(signal, Arc::clone(flag)).ok())
            .collect();
            Termination { ids }
        }
        #[cfg(not(unix))]
        {
            let _ = flag;
            Termination {}
        }
    }
}

impl Drop for Termination {
    fn drop(&mut self) {
        #[cfg(unix)]
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

/// Messages to the sampler.
enum Control {
    Interval(Duration),
    Pause(bool),
    /// The OS announced a change: sample now.
    Wake,
    Stop,
}

/// Where the OS announces changes, a thread that waits for them and wakes the sampler, so a plug-in
/// shows at once rather than at the next interval. It sleeps in the OS meanwhile (no wake-ups) and
/// ends at the first change after the viewer has gone (or with the process). Where changes are not
/// announced, there is no thread: the sampler's interval is the polling.
fn spawn_watcher(manager: &Manager, control: Sender<Control>) {
    let Ok(mut watcher) = manager.watch() else {
        return;
    };
    if !watcher.is_native() {
        return;
    }
    let _ = thread::Builder::new()
        .name("voltaic-watch".into())
        .spawn(move || {
            loop {
                match watcher.wait(None) {
                    Ok(changes) if changes.is_empty() => {}
                    Ok(_) => {
                        if control.send(Control::Wake).is_err() {
                            return;
                        }
                    }
                    Err(_) => return,
                }
            }
        });
}

/// Sends `Failed` if the thread it lives in unwinds from a panic, so the viewer ends instead of
/// going on without samples or keys.
struct PanicSignal {
    events: Sender<Incoming>,
    what: &'static str,
}

impl Drop for PanicSignal {
    fn drop(&mut self) {
        if thread::panicking() {
            let _ = self.events.send(Incoming::Failed(io::Error::other(format!(
                "the {} thread panicked",
                self.what
            ))));
        }
    }
}

fn spawn_sampler(
    manager: Manager,
    interval: Duration,
    events: Sender<Incoming>,
    inbox: Receiver<Control>,
) -> io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name("voltaic-sampler".into())
        .spawn(move || {
            let _signal = PanicSignal {
                events: events.clone(),
                what: "sampler",
            };
            sampler(&manager, interval, &events, &inbox);
        })
}

/// Reads the batteries every `interval` and sends each reading; obeys interval changes, pause and
/// stop at once (they arrive on `inbox` while it waits).
fn sampler(
    manager: &Manager,
    mut interval: Duration,
    events: &Sender<Incoming>,
    inbox: &Receiver<Control>,
) {
    let mut paused = false;
    loop {
        let started = Instant::now();
        let at = SystemTime::now();
        let reading = manager.snapshot().map_err(|e| e.to_string());
        let sample = Sample {
            at,
            utc_offset_s: utc_offset(at),
            reading,
        };
        if events.send(Incoming::Event(Event::Sample(sample))).is_err() {
            return;
        }
        // Wait for the next sample time, or for a message.
        loop {
            let message = if paused {
                match inbox.recv() {
                    Ok(m) => m,
                    Err(_) => return,
                }
            } else {
                let wait = (started + interval).saturating_duration_since(Instant::now());
                match inbox.recv_timeout(wait) {
                    Ok(m) => m,
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            };
            match message {
                Control::Stop => return,
                Control::Wake if !paused => break,
                Control::Wake => {}
                Control::Interval(d) => interval = d,
                Control::Pause(p) => {
                    let resumed = paused && !p;
                    paused = p;
                    if resumed {
                        // Resuming takes a sample at once.
                        break;
                    }
                }
            }
        }
    }
}

/// The local time zone's offset from UTC at `at`, in seconds (0 when the zone cannot be found).
fn utc_offset(at: SystemTime) -> i32 {
    jiff::Timestamp::try_from(at)
        .map_or(0, |ts| jiff::tz::TimeZone::system().to_offset(ts).seconds())
}

fn spawn_input(
    events: Sender<Incoming>,
    stop: Arc<AtomicBool>,
    terminate: Arc<AtomicBool>,
) -> io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name("voltaic-input".into())
        .spawn(move || {
            let _signal = PanicSignal {
                events: events.clone(),
                what: "input",
            };
            if let Err(e) = input(&events, &stop, &terminate) {
                let _ = events.send(Incoming::Failed(e));
            }
        })
}

/// Forwards key presses, left clicks and resizes until `stop` is set or the loop has gone; sends
/// `Terminate` once a termination signal has set `terminate`.
fn input(events: &Sender<Incoming>, stop: &AtomicBool, terminate: &AtomicBool) -> io::Result<()> {
    while !stop.load(Ordering::Relaxed) {
        if terminate.load(Ordering::Relaxed) {
            let _ = events.send(Incoming::Terminate);
            break;
        }
        if !event::poll(INPUT_POLL)? {
            continue;
        }
        let Some(event) = translate(&event::read()?) else {
            continue;
        };
        if events.send(Incoming::Event(event)).is_err() {
            break;
        }
    }
    Ok(())
}

/// The viewer's event for a terminal event; `None` for those it ignores.
fn translate(event: &event::Event) -> Option<Event> {
    match event {
        // Windows reports key releases too; only presses (and auto-repeat) act.
        event::Event::Key(k) if k.kind != KeyEventKind::Release => {
            let key = match k.code {
                KeyCode::Char(c) if k.modifiers.contains(KeyModifiers::CONTROL) => {
                    Key::Ctrl(c.to_ascii_lowercase())
                }
                KeyCode::Char(c) => Key::Char(c),
                KeyCode::Left => Key::Left,
                KeyCode::Right => Key::Right,
                KeyCode::Up => Key::Up,
                KeyCode::Down => Key::Down,
                KeyCode::Tab if k.modifiers.contains(KeyModifiers::SHIFT) => Key::BackTab,
                KeyCode::Tab => Key::Tab,
                KeyCode::BackTab => Key::BackTab,
                KeyCode::Esc => Key::Esc,
                KeyCode::Enter => Key::Enter,
                _ => Key::Other,
            };
            Some(Event::Key(key))
        }
        event::Event::Mouse(m) if m.kind == MouseEventKind::Down(MouseButton::Left) => {
            Some(Event::Click {
                column: m.column,
                row: m.row,
            })
        }
        event::Event::Resize(width, height) => Some(Event::Resize {
            width: *width,
            height: *height,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui_crossterm::crossterm::event::{KeyEvent, KeyEventState, MouseEvent};

    fn key(code: KeyCode, modifiers: KeyModifiers, kind: KeyEventKind) -> event::Event {
        event::Event::Key(KeyEvent {
            code,
            modifiers,
            kind,
            state: KeyEventState::NONE,
        })
    }

    #[test]
    fn keys_translate_and_releases_are_ignored() {
        let press = KeyEventKind::Press;
        assert!(matches!(
            translate(&key(KeyCode::Char('c'), KeyModifiers::CONTROL, press)),
            Some(Event::Key(Key::Ctrl('c')))
        ));
        assert!(matches!(
            translate(&key(KeyCode::Char('+'), KeyModifiers::SHIFT, press)),
            Some(Event::Key(Key::Char('+')))
        ));
        assert!(matches!(
            translate(&key(KeyCode::BackTab, KeyModifiers::SHIFT, press)),
            Some(Event::Key(Key::BackTab))
        ));
        assert!(matches!(
            translate(&key(KeyCode::Tab, KeyModifiers::SHIFT, press)),
            Some(Event::Key(Key::BackTab))
        ));
        assert!(
            translate(&key(
                KeyCode::Char('q'),
                KeyModifiers::NONE,
                KeyEventKind::Release
            ))
            .is_none()
        );
    }

    #[test]
    fn left_clicks_and_resizes_translate() {
        let click = event::Event::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: 12,
            row: 0,
            modifiers: KeyModifiers::NONE,
        });
        assert!(matches!(
            translate(&click),
            Some(Event::Click { column: 12, row: 0 })
        ));
        let moved = event::Event::Mouse(MouseEvent {
            kind: MouseEventKind::Moved,
            column: 1,
            row: 1,
            modifiers: KeyModifiers::NONE,
        });
        assert!(translate(&moved).is_none());
        assert!(matches!(
            translate(&event::Event::Resize(100, 30)),
            Some(Event::Resize {
                width: 100,
                height: 30
            })
        ));
    }

    #[test]
    fn quitting_never_waits_for_a_blocked_sampler() {
        // A "sampler" stuck in a read that only returns when the test lets it.
        let (release, blocked) = mpsc::channel::<()>();
        let sampler = thread::spawn(move || {
            let _ = blocked.recv();
        });
        let input = thread::spawn(|| {});
        let (control, _sampler_inbox) = mpsc::channel();
        let stop = AtomicBool::new(false);
        finish(&stop, control, input, sampler);
        assert!(stop.load(Ordering::Relaxed));
        release
            .send(())
            .expect("the sampler is still waiting, detached");
    }

    #[test]
    fn sampler_obeys_pause_interval_and_stop() {
        let tree = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/samples/chromebook");
        let manager = Manager::replay(tree).expect("sample tree");
        let (events, inbox) = mpsc::channel();
        let (control, sampler_inbox) = mpsc::channel();
        let handle =
            spawn_sampler(manager, Duration::from_secs(60), events, sampler_inbox).expect("spawn");
        let first = inbox.recv_timeout(Duration::from_secs(10)).expect("first");
        assert!(matches!(first, Incoming::Event(Event::Sample(s)) if s.reading.is_ok()));
        // A 60 s interval: nothing more comes soon; a shorter interval brings the next sample.
        assert!(inbox.recv_timeout(Duration::from_millis(200)).is_err());
        control
            .send(Control::Interval(Duration::from_millis(10)))
            .expect("send");
        assert!(inbox.recv_timeout(Duration::from_secs(10)).is_ok());
        control.send(Control::Pause(true)).expect("send");
        // Drain what was sent before the pause arrived; then silence.
        while inbox.recv_timeout(Duration::from_millis(100)).is_ok() {}
        assert!(inbox.recv_timeout(Duration::from_millis(100)).is_err());
        control.send(Control::Pause(false)).expect("send");
        assert!(inbox.recv_timeout(Duration::from_secs(10)).is_ok());
        control.send(Control::Stop).expect("send");
        handle.join().expect("sampler ends");
    }

    #[test]
    fn an_announced_change_samples_at_once_but_not_while_paused() {
        let tree = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/samples/chromebook");
        let manager = Manager::replay(tree).expect("sample tree");
        let (events, inbox) = mpsc::channel();
        let (control, sampler_inbox) = mpsc::channel();
        let handle =
            spawn_sampler(manager, Duration::from_secs(60), events, sampler_inbox).expect("spawn");
        inbox.recv_timeout(Duration::from_secs(10)).expect("first");
        control.send(Control::Wake).expect("send");
        // Within the 60 s interval: only the wake-up can bring it.
        assert!(inbox.recv_timeout(Duration::from_secs(10)).is_ok());
        control.send(Control::Pause(true)).expect("send");
        control.send(Control::Wake).expect("send");
        assert!(inbox.recv_timeout(Duration::from_millis(200)).is_err());
        control.send(Control::Stop).expect("send");
        handle.join().expect("sampler ends");
    }
}
