//! The window's pages, one folder each: the page, its rows and its dialogs, every widget with its
//! template beside its code; `progress_box` is the progress display two of them share. Pages bind to the window's `KeelSystem` and
//! never reach into the window.

pub mod apps;
pub mod history;
pub mod packages;
pub mod progress_box;
pub mod system;

use adw::prelude::*;
use gtk::glib;
use keel_api::packages::PackageDiff;

use crate::format;

/// Registers the page types, so the window's template can name them.
pub fn ensure_types() {
    system::KeelSystemPage::ensure_type();
    packages::KeelPackagesPage::ensure_type();
    apps::KeelAppsPage::ensure_type();
    history::KeelHistoryPage::ensure_type();
}

/// One row per changed package (the Updates row's changes, Compare, History).
pub fn change_rows(diff: &PackageDiff) -> Vec<adw::ActionRow> {
    format::diff_lines(diff)
        .into_iter()
        .map(|(title, subtitle)| {
            adw::ActionRow::builder()
                .title(glib::markup_escape_text(&title))
                .subtitle(glib::markup_escape_text(&subtitle))
                .build()
        })
        .collect()
}
