//! What Keel's two processes share: the model of a system and the D-Bus API's names and records.
//!
//! Deliberately light (serde, zbus and gettext only), so the UI can use it without linking libostree.

pub mod apps;
pub mod dbus;
pub mod i18n;
pub mod model;
pub mod packages;
pub mod words;

pub use words::{ErrorKind, Operation, TransactionState};
