//! The History page: what was done to the system, newest first.

mod changes_row;
mod page;
mod row;

pub use page::KeelHistoryPage;
