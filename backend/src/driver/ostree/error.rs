//! libostree's and GLib's errors as Keel's kinds, with a sentence a person can act on.

use keel_api::i18n::{fill, gettext};
use ostree::{gio, glib};

use crate::error::{Error, needs_administrator, no_space, unreachable_remote};

impl From<glib::Error> for Error {
    fn from(err: glib::Error) -> Self {
        classify(&err).unwrap_or_else(|| Error::Failed(err.message().to_owned()))
    }
}

/// The error with advice of its own, or None when libostree's sentence is all there is.
pub(super) fn classify(err: &glib::Error) -> Option<Error> {
    let message = err.message();
    Some(match err.kind::<gio::IOErrorEnum>() {
        Some(gio::IOErrorEnum::Cancelled) => {
            Error::Cancelled(gettext("Cancelled; nothing was changed."))
        }
        Some(gio::IOErrorEnum::PermissionDenied) => {
            Error::PermissionDenied(needs_administrator(message))
        }
        Some(gio::IOErrorEnum::NoSpace) => Error::Failed(no_space(message)),
        Some(gio::IOErrorEnum::NotFound) => Error::NotFound(message.to_owned()),
        Some(gio::IOErrorEnum::HostNotFound | gio::IOErrorEnum::ConnectionRefused) => {
            Error::Failed(unreachable_remote(message))
        }
        _ if message.contains("No space left") || message.contains("min-free-space") => {
            Error::Failed(no_space(message))
        }
        _ if message.contains("Could not connect")
            || message.contains("Couldn't connect")
            || message.contains("Could not resolve") =>
        {
            Error::Failed(unreachable_remote(message))
        }
        _ if message.contains("Corrupted") || message.contains("corrupted") => {
            Error::Failed(fill(
                // Translators: {detail} is libostree’s own (English) reason.
                &gettext(
                    "{detail}. The update server sent damaged data; nothing was changed. Try again later, or tell the server’s maintainers.",
                ),
                &[("detail", message)],
            ))
        }
        _ => return None,
    })
}
