//! Mode `apps` of the benchmark: the Apps page with 200 installed apps. The records are generated
//! here and given to the system object as a ListApps answer would be (the backend's own listing
//! is benchmarked on its side); each names an icon file of its own when build-aux/bench-ui made
//! them (`KEEL_BENCH_ICONS`), so drawing reads 200 distinct files as it would on a real system.
//! Reports the first frame of the page as the list arrives while it is shown, and when the page
//! is opened with the list already there, with the longest main-loop stall and frame of each.

use std::time::{Duration, Instant};

use gtk::glib;
use gtk::prelude::*;
use keel_api::apps::{App, AppKind};

use super::longest_frame;
use super::measure::{StallMeter, peak_rss_kb};
use crate::window::KeelWindow;

const APPS: usize = 200;

/// 200 apps on 4 runtimes, a few with updates, one at its end of life.
fn generated() -> Vec<App> {
    let icons = std::env::var("KEEL_BENCH_ICONS").ok();
    let runtime = |i: usize| format!("runtime/org.bench.Platform{i}/x86_64/48");
    let mut apps: Vec<App> = (0..4)
        .map(|i| App {
            key: format!("system:{}", runtime(i)),
            reference: runtime(i),
            kind: AppKind::Runtime,
            id: format!("org.bench.Platform{i}"),
            name: format!("Bench Platform {i}"),
            version: "48".into(),
            installation: "system".into(),
            installed_size: 900_000_000,
            ..Default::default()
        })
        .collect();
    apps.extend((0..APPS).map(|i| {
        let id = format!("org.bench.App{i:03}");
        let reference = format!("app/{id}/x86_64/stable");
        App {
            key: format!("{}:{reference}", if i % 3 == 0 { "user" } else { "system" }),
            reference,
            kind: AppKind::App,
            name: format!("Bench App {i:03}"),
            summary: format!("The {i}th app of the benchmark"),
            version: format!("1.{i}.0"),
            installation: if i % 3 == 0 { "user" } else { "system" }.into(),
            installed_size: 10_000_000 + i as u64 * 1_000_000,
            runtime: runtime(i % 4),
            icon: icons
                .as_deref()
                .map(|dir| format!("{dir}/{i}.png"))
                .unwrap_or_default(),
            update_commit: if i % 10 == 0 {
                "0".repeat(64)
            } else {
                String::new()
            },
            end_of_life: if i == 7 {
                "Unmaintained".into()
            } else {
                String::new()
            },
            end_of_life_rebase: if i == 7 {
                "org.bench.App008".into()
            } else {
                String::new()
            },
            id,
            ..Default::default()
        }
    }));
    apps
}

/// The next frame drawn after now, and how long from `since` to its end.
async fn next_frame(window: &KeelWindow, since: Instant) -> Duration {
    let (tx, rx) = async_channel::bounded(1);
    if let Some(clock) = window.frame_clock() {
        let slot = std::rc::Rc::new(std::cell::RefCell::new(None));
        let handler = slot.clone();
        let id = clock.connect_after_paint(move |clock| {
            if let Some(id) = handler.take() {
                clock.disconnect(id);
            }
            let _ = tx.try_send(since.elapsed());
        });
        slot.replace(Some(id));
        window.queue_draw();
    }
    rx.recv().await.unwrap_or_default()
}

/// Times one change of the page: its first frame, then the longest stall and frame in the
/// second after it.
async fn measure(window: &KeelWindow, what: &str, change: impl FnOnce()) {
    let meter = StallMeter::start();
    let frames = window.frame_clock().map(longest_frame);
    let started = Instant::now();
    change();
    let first = next_frame(window, started).await;
    glib::timeout_future(Duration::from_secs(1)).await;
    let stall = meter.stop();
    println!(
        "keel-bench {what}-first-frame-ms {:.1}",
        first.as_secs_f64() * 1000.0
    );
    println!(
        "keel-bench {what}-stall-ms {:.1}",
        stall.as_secs_f64() * 1000.0
    );
    if let Some(frames) = frames {
        let longest = frames.get().as_secs_f64() * 1000.0;
        println!("keel-bench {what}-frame-ms {longest:.1}");
    }
}

pub fn run(window: &KeelWindow) {
    let win = window.clone();
    glib::spawn_future_local(async move {
        let system = win.system();
        // The demo's own apps are read first; then nothing else changes them.
        glib::timeout_future(Duration::from_secs(1)).await;
        // As at a start with 200 apps: the list arrives into an empty model.
        system.apply_apps(Vec::new());
        win.show_page("apps");
        glib::timeout_future(Duration::from_millis(500)).await;
        let apps = generated();
        measure(&win, "apps-arrive", || system.apply_apps(apps)).await;
        win.show_page("system");
        glib::timeout_future(Duration::from_millis(500)).await;
        measure(&win, "apps-open", || win.show_page("apps")).await;
        println!("keel-bench rss-kb {}", peak_rss_kb());
        if let Some(app) = win.application() {
            app.quit();
        }
    });
}
