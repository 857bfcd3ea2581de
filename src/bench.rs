//! Hooks for build-aux/bench-ui, built only with the `bench` feature and active only when
//! `KEEL_BENCH` is set: report the first frame that shows the deployments, peak memory, and the
//! longest main-loop stall during an update.

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
        if mode().as_deref() == Some("update") {
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

/// `start` (report the first frame, quit) or `update` (then run an update, report stalls, quit).
fn mode() -> Option<String> {
    std::env::var("KEEL_BENCH").ok()
}
