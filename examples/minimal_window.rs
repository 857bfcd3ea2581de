//! The yardstick for Keel's start-up benchmark: the smallest libadwaita window, which prints
//! "keel-bench ready" at its first frame and its peak memory, then quits (build-aux/bench-ui).

use adw::prelude::*;
use gtk::glib;

fn main() -> glib::ExitCode {
    let app = adw::Application::builder()
        .application_id("io.github.keelapp.Keel.Bench")
        .build();
    app.connect_activate(|app| {
        let window = adw::ApplicationWindow::builder()
            .application(app)
            .default_width(960)
            .default_height(720)
            .content(&adw::StatusPage::builder().title("Minimal").build())
            .build();
        window.present();
        let app = app.clone();
        window.frame_clock().map(|clock| {
            clock.connect_after_paint(move |_| {
                println!("keel-bench ready");
                println!("keel-bench rss-kb {}", peak_rss_kb());
                app.quit();
            })
        });
    });
    app.run_with_args::<&str>(&[])
}

#[path = "../src/bench/measure.rs"]
#[allow(dead_code)]
mod measure;
use measure::peak_rss_kb;
