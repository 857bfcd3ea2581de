//! The backend's errors: a few kinds a caller can act on, each with a sentence a person can act on.
//!
//! The kinds are the API's [`ErrorKind`]s (`io.github.keelapp.Keel.Backend1.Error.*` on D-Bus).

use keel_api::ErrorKind;
use keel_api::i18n::{fill, gettext};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Another operation holds the system; the message names it.
    #[error("{0}")]
    Busy(String),
    /// An id, index, package or ref that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A request that can never succeed as asked (removing the booted deployment, a bad name…).
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    PermissionDenied(String),
    /// Stopped on request; nothing was changed.
    #[error("{0}")]
    Cancelled(String),
    #[error("{0}")]
    Failed(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Which of the API's kinds it is (its D-Bus error name, the command line's exit status).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Busy(_) => ErrorKind::Busy,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Error::PermissionDenied(_) => ErrorKind::PermissionDenied,
            Error::Cancelled(_) => ErrorKind::Cancelled,
            Error::Failed(_) => ErrorKind::Failed,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Error::Busy(m)
            | Error::NotFound(m)
            | Error::InvalidArgument(m)
            | Error::PermissionDenied(m)
            | Error::Cancelled(m)
            | Error::Failed(m) => m,
        }
    }

    /// Prefixes what was being done (already translated), keeping the kind: "Downloading the
    /// update: …".
    pub fn context(self, what: &str) -> Self {
        if let Error::Cancelled(_) = self {
            return self;
        }
        let message = fill(
            // Translators: {what} is what was being done ("Downloading the update"), {reason}
            // why it failed.
            &gettext("{what}: {reason}"),
            &[("what", what), ("reason", self.message())],
        );
        self.with_message(message)
    }

    /// The same kind of error with another sentence.
    pub fn with_message(&self, message: String) -> Self {
        match self {
            Error::Busy(_) => Error::Busy(message),
            Error::NotFound(_) => Error::NotFound(message),
            Error::InvalidArgument(_) => Error::InvalidArgument(message),
            Error::PermissionDenied(_) => Error::PermissionDenied(message),
            Error::Cancelled(_) => Error::Cancelled(message),
            Error::Failed(_) => Error::Failed(message),
        }
    }
}

/// Adds "what was being done" to any error on its way up.
pub trait Context<T> {
    fn context(self, what: &str) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn context(self, what: &str) -> Result<T> {
        self.map_err(|e| e.into().context(what))
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        match err.kind() {
            std::io::ErrorKind::NotFound => Error::NotFound(err.to_string()),
            std::io::ErrorKind::PermissionDenied => {
                Error::PermissionDenied(needs_administrator(&err.to_string()))
            }
            std::io::ErrorKind::StorageFull => Error::Failed(no_space(&err.to_string())),
            _ => Error::Failed(err.to_string()),
        }
    }
}

pub(crate) fn needs_administrator(detail: &str) -> String {
    fill(
        // Translators: {detail} is the system’s own reason.
        &gettext("{detail}. Changing this system needs administrator rights."),
        &[("detail", detail)],
    )
}

pub(crate) fn no_space(detail: &str) -> String {
    fill(
        // Translators: {detail} is the system’s own reason; "Clean Up" is the button.
        &gettext(
            "There is not enough free disk space ({detail}). Nothing was changed: free some space (Clean Up removes old deployments), then try again.",
        ),
        &[("detail", detail)],
    )
}

pub(crate) fn unreachable_remote(detail: &str) -> String {
    fill(
        // Translators: {detail} is the system’s own reason.
        &gettext(
            "The update server cannot be reached ({detail}). Nothing was changed: check the network connection, then try again.",
        ),
        &[("detail", detail)],
    )
}
