//! libostree's and GLib's errors as Keel's kinds, with a sentence a person can act on.

use ostree::{gio, glib};

use crate::error::{Error, no_space, unreachable_remote};

impl From<glib::Error> for Error {
    fn from(err: glib::Error) -> Self {
        let message = err.message().to_owned();
        match err.kind::<gio::IOErrorEnum>() {
            Some(gio::IOErrorEnum::Cancelled) => {
                Error::Cancelled("Cancelled; nothing was changed.".to_owned())
            }
            Some(gio::IOErrorEnum::PermissionDenied) => Error::PermissionDenied(format!(
                "{message}. Changing this system needs administrator rights."
            )),
            Some(gio::IOErrorEnum::NoSpace) => Error::Failed(no_space(&message)),
            Some(gio::IOErrorEnum::NotFound) => Error::NotFound(message),
            Some(gio::IOErrorEnum::HostNotFound | gio::IOErrorEnum::ConnectionRefused) => {
                Error::Failed(unreachable_remote(&message))
            }
            _ if message.contains("No space left") || message.contains("min-free-space") => {
                Error::Failed(no_space(&message))
            }
            _ if message.contains("Could not connect")
                || message.contains("Couldn't connect")
                || message.contains("Could not resolve") =>
            {
                Error::Failed(unreachable_remote(&message))
            }
            _ if message.contains("Corrupted") || message.contains("corrupted") => {
                Error::Failed(format!(
                    "{message}. The update server sent damaged data; nothing was changed. Try again later, or tell the server's maintainers."
                ))
            }
            _ => Error::Failed(message),
        }
    }
}
