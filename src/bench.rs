//! Hooks for build-aux/bench-ui, built only with the `bench` feature and active only when
//! `KEEL_BENCH` is set: report the first frame that shows the deployments, peak memory, the
//! longest main-loop stall during an update, and (mode `refresh`) how long each refresh after a
//! status change takes and the longest stall while changes come from outside; (mode `apps`) the
//! Apps page's first frame with 200 apps (see `apps.rs`).

mod apps;
mod measure;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use gtk::glib;
use gtk::prelude::*;

use crate::client::Operation;
use crate::window::KeelWindow;
use measure::{StallMeter, peak_rss_kb};

/// Watches `window` for the benchmark, when one is asked for.
pub fn attach(window: &KeelWindow) {
    if mode().is_none() {
        return;
    }
    let deployments = window.system().deployments();
    let handler: Rc<RefCell<Option<glib::SignalHandlerId>>> = Default::default();
    let slot = handler.clone();
    let win = window.downgrade();
    let id = deployments.connect_items_changed(move |model, _, _, _| {
        if model.n_items() == 0 {
            return;
        }
        if let Some(id) = slot.take() {
            model.disconnect(id);
        }
        if let Some(win) = win.upgrade() {
            report_when_drawn(&win);
        }
    });
    handler.replace(Some(id));
}

/// Reports the first frame that shows the deployments, then quits or goes on to time an update's
/// main-loop stalls.
fn report_when_drawn(window: &KeelWindow) {
    let Some(clock) = window.frame_clock() else {
        return;
    };
    let handler: Rc<RefCell<Option<glib::SignalHandlerId>>> = Default::default();
    let slot = handler.clone();
    let win = window.downgrade();
    let id = clock.connect_after_paint(move |clock| {
        if let Some(id) = slot.take() {
            clock.disconnect(id);
        }
        println!("keel-bench ready");
        println!("keel-bench rss-kb {}", peak_rss_kb());
        let Some(win) = win.upgrade() else { return };
        if mode().as_deref() == Some("refresh") {
            watch_refreshes(&win);
        } else if mode().as_deref() == Some("apps") {
            apps::run(&win);
        } else if mode().as_deref() == Some("update") {
            glib::spawn_future_local(async move {
                let system = win.system();
                system.run(Operation::Check, win.upcast_ref()).await;
                // Let the check's own effects (its toast's first frames) settle: the measure is
                // of the update.
                glib::timeout_future(Duration::from_secs(1)).await;
                let meter = StallMeter::start();
                system.run(Operation::Update, win.upcast_ref()).await;
                let stall = meter.stop();
                println!("keel-bench stall-ms {:.1}", stall.as_secs_f64() * 1000.0);
                println!("keel-bench rss-kb {}", peak_rss_kb());
                if let Some(app) = win.application() {
                    app.quit();
                }
            });
        } else if let Some(app) = win.application() {
            app.quit();
        }
    });
    handler.replace(Some(id));
}

/// `start` (report the first frame, quit), `update` (then run an update, report stalls, quit),
/// `refresh` (then report each refresh, and the longest stall when asked to stop) or `apps` (the
/// Apps page with 200 apps, then quit).
fn mode() -> Option<String> {
    std::env::var("KEEL_BENCH").ok()
}

/// A refresh's duration (`refresh-ms`: from its start to the models updated, the backend's answers
/// included; `status-ms`: GetStatus's round trip; `apply-ms`: the models' update alone, on the
/// main loop), in mode `refresh`.
pub fn report_duration(what: &str, took: Duration) {
    if mode().as_deref() == Some("refresh") {
        println!("keel-bench {what} {:.3}", took.as_secs_f64() * 1000.0);
    }
}

/// Times main-loop stalls from now on, while build-aux/bench-ui changes the system from outside;
/// when it closes Keel's standard input, reports the longest and quits.
fn watch_refreshes(window: &KeelWindow) {
    let meter = StallMeter::start();
    let frames = window.frame_clock().map(longest_frame);
    let (closed, stdin_closed) = async_channel::bounded::<()>(1);
    // A plain thread waits for the end of input: the main loop must not block on it.
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        let _ = closed.send_blocking(());
    });
    let win = window.downgrade();
    glib::spawn_future_local(async move {
        let _ = stdin_closed.recv().await;
        let stall = meter.stop();
        println!("keel-bench stall-ms {:.1}", stall.as_secs_f64() * 1000.0);
        if let Some(frames) = frames {
            let longest = frames.get().as_secs_f64() * 1000.0;
            println!("keel-bench frame-ms {longest:.1}");
        }
        println!("keel-bench rss-kb {}", peak_rss_kb());
        if let Some(app) = win.upgrade().and_then(|win| win.application()) {
            app.quit();
        }
    });
}

/// The longest frame from now on, from its update phase to the end of its paint: how much of a
/// stall is GTK laying out and drawing rather than Keel's own work.
fn longest_frame(clock: gtk::gdk::FrameClock) -> Rc<std::cell::Cell<Duration>> {
    let longest: Rc<std::cell::Cell<Duration>> = Default::default();
    let started: Rc<std::cell::Cell<Option<std::time::Instant>>> = Default::default();
    let start = started.clone();
    clock.connect_before_paint(move |_| start.set(Some(std::time::Instant::now())));
    let record = longest.clone();
    clock.connect_after_paint(move |_| {
        if let Some(at) = started.take() {
            record.set(record.get().max(at.elapsed()));
        }
    });
    longest
}
