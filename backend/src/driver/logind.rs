//! How a real host restarts: systemd-logind's `Reboot` over the system bus, which honours
//! inhibitors (an update in another tool) and asks polkit when the user needs authorisation.

use keel_api::i18n::{fill, gettext};

use crate::error::{Error, Result};

/// Asks logind to restart the computer now; returns once logind has accepted (the shutdown then
/// proceeds on its own). Interactive, so polkit may ask for a password.
pub fn reboot() -> Result<()> {
    let conn = zbus::blocking::Connection::system().map_err(|err| {
        Error::Failed(fill(
            // Translators: {detail} is the D-Bus library's own (English) reason.
            &gettext(
                "The system bus cannot be reached ({detail}); restart the computer from its menu instead.",
            ),
            &[("detail", &err.to_string())],
        ))
    })?;
    conn.call_method(
        Some("org.freedesktop.login1"),
        "/org/freedesktop/login1",
        Some("org.freedesktop.login1.Manager"),
        "Reboot",
        &(true,),
    )
    .map_err(|err| match &err {
        zbus::Error::MethodError(name, message, _)
            if name.as_str() == "org.freedesktop.DBus.Error.AccessDenied"
                || name.as_str().ends_with("InteractiveAuthorizationRequired") =>
        {
            Error::PermissionDenied(fill(
                // Translators: {detail} is systemd-logind's own (English) reason.
                &gettext(
                    "Restarting was not allowed ({detail}). Restart the computer from its menu, or ask an administrator.",
                ),
                &[("detail", message.as_deref().unwrap_or(name.as_str()))],
            ))
        }
        _ => Error::Failed(fill(
            // Translators: {detail} is the D-Bus library's own (English) reason.
            &gettext(
                "systemd-logind could not restart the computer ({detail}); restart it from its menu instead.",
            ),
            &[("detail", &err.to_string())],
        )),
    })?;
    Ok(())
}
