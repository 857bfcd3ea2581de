//! One funnel for everything that can go wrong: a title a person reads, the backend's own sentence
//! as detail, and whether it was a cancellation (never shown as an error).

use gettextrs::gettext;
use gtk::glib;
use keel_api::ErrorKind;

/// Boxed, so the system-state object can hand it to the window in a signal.
#[derive(Clone, Debug, glib::Boxed)]
#[boxed_type(name = "KeelUiError")]
pub struct UiError {
    pub title: String,
    pub detail: String,
    /// The backend's error kind when it came from the backend.
    pub kind: Option<ErrorKind>,
    /// What a bug report needs (the D-Bus error's name and text); shown folded away.
    pub technical: String,
}

impl UiError {
    pub fn new(title: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            detail: detail.into(),
            kind: None,
            technical: String::new(),
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.kind == Some(ErrorKind::Cancelled)
    }

    pub fn is_busy(&self) -> bool {
        self.kind == Some(ErrorKind::Busy)
    }

    /// The message bus itself failed (not the backend's answer).
    pub fn bus(err: zbus::Error) -> Self {
        Self {
            technical: err.to_string(),
            ..Self::new(
                gettext("Keel cannot reach its backend"),
                gettext(
                    "The connection to keel-backend failed. Try again; if it keeps failing, close Keel and open it again.",
                ),
            )
        }
    }

    /// A method call's error: the backend's typed errors keep their sentence.
    pub fn from_call(err: zbus::Error) -> Self {
        match err {
            zbus::Error::MethodError(name, message, _) => {
                Self::from_parts(name.as_str(), message.as_deref().unwrap_or_default())
            }
            other => Self::bus(other),
        }
    }

    pub fn from_parts(name: &str, message: &str) -> Self {
        let kind = ErrorKind::from_dbus_name(name);
        let title = match kind {
            Some(ErrorKind::Busy) => gettext("Another Operation Is Running"),
            Some(ErrorKind::NotFound) => gettext("Not Found"),
            Some(ErrorKind::InvalidArgument) => gettext("This Cannot Be Done"),
            Some(ErrorKind::PermissionDenied) => gettext("Permission Denied"),
            Some(ErrorKind::Cancelled) => gettext("Cancelled"),
            Some(ErrorKind::Failed) | None => gettext("The Operation Failed"),
        };
        Self {
            title,
            detail: message.to_owned(),
            kind,
            technical: format!("{name}: {message}"),
        }
    }
}
