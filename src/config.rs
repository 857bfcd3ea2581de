//! Build-time facts: the application id, version and profile, kept in one place.

/// Whether this is a development build (debug assertions on): it gets its own app id and the
/// `devel` style class so it can run beside an installed Keel and is told apart at a glance.
pub const DEVEL: bool = cfg!(debug_assertions);

pub const APP_ID: &str = if DEVEL {
    "io.github.keelapp.Keel.Devel"
} else {
    "io.github.keelapp.Keel"
};

/// GSettings schema: one for every profile.
pub const SCHEMA_ID: &str = "io.github.keelapp.Keel";

/// Resources are registered under the stable id whatever the profile.
pub const RESOURCE_BASE: &str = "/io/github/keelapp/Keel/";

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
