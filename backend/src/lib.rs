//! Keel's backend: the only part of Keel that touches a sysroot or talks to rpm-ostreed.
//!
//! GTK-free on purpose: it links libostree, the UI links GTK, and the two meet over D-Bus.

pub mod apps;
#[cfg(feature = "demo")]
pub mod demo;
pub mod driver;
pub mod error;
pub mod format;
pub mod history;
pub mod jobs;
pub mod progress;
pub mod service;

pub use error::{Error, Result};
pub use keel_api::{dbus, model, packages};
