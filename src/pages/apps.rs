//! The Apps page: the installed Flatpaks, their updates, Update All, uninstalling and removing
//! unused runtimes.

mod app_row;
mod dialogs;
mod page;
mod runtimes_row;

pub use page::KeelAppsPage;
