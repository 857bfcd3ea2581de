//! The API's closed lists: the operations a transaction performs, the states it passes through and
//! the kinds of error the backend answers with. Each value has exactly one spelling on the wire,
//! given here; the command line, the history journal, the D-Bus properties and the UI all go
//! through these enums rather than comparing strings.

use crate::dbus::ERROR_PREFIX;
use crate::i18n::gettext;

/// Declares a fieldless enum together with its one wire spelling per variant, and derives from that
/// table everything else: `as_str`, `FromStr`, `Display`, serde (as a plain string, so JSON and
/// D-Bus carry the same word) and D-Bus's `s` type.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $wire:literal, )+ }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $( $(#[$vmeta])* $variant, )+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value's spelling on D-Bus, on the command line and in the history journal.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire,)+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::words::UnknownWord;

            fn from_str(text: &str) -> Result<Self, $crate::words::UnknownWord> {
                match text {
                    $($wire => Ok($name::$variant),)+
                    _ => Err($crate::words::UnknownWord { list: stringify!($name), word: text.to_owned() }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                // pad, not write_str: a column width (`{:<14}`) applies.
                f.pad(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl zbus::zvariant::Type for $name {
            const SIGNATURE: &'static zbus::zvariant::Signature = &zbus::zvariant::Signature::Str;
        }

        impl From<$name> for zbus::zvariant::Value<'static> {
            fn from(value: $name) -> Self {
                zbus::zvariant::Value::from(value.as_str())
            }
        }

        impl TryFrom<zbus::zvariant::OwnedValue> for $name {
            type Error = zbus::zvariant::Error;

            fn try_from(value: zbus::zvariant::OwnedValue) -> Result<Self, Self::Error> {
                let text = <&str>::try_from(&value)?;
                text.parse()
                    .map_err(|e: $crate::words::UnknownWord| zbus::zvariant::Error::Message(e.to_string()))
            }
        }
    };
}
pub(crate) use wire_enum;

/// A word that is not in one of the API's lists (from a newer backend, or a damaged journal).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownWord {
    pub(crate) list: &'static str,
    pub(crate) word: String,
}

impl std::fmt::Display for UnknownWord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "“{}” is not a known {}", self.word, self.list)
    }
}

impl std::error::Error for UnknownWord {}

wire_enum! {
    /// What a transaction does: the `Operation` property of a transaction, the `operation` of a
    /// history entry.
    pub enum Operation {
        /// Fetch the newest commit's metadata.
        Check => "check",
        /// Download the update without deploying it.
        Download => "download",
        /// Download and deploy the update.
        Update => "update",
        Rollback => "rollback",
        Pin => "pin",
        Unpin => "unpin",
        /// Remove one deployment.
        Remove => "remove",
        /// Layer packages.
        Install => "install",
        /// Unlayer packages.
        Uninstall => "uninstall",
        /// Unlayer every package.
        ResetPackages => "reset-packages",
        Cleanup => "cleanup",
        Reboot => "reboot",
        /// Ask the Flatpak remotes which installed apps and runtimes have updates.
        AppsCheck => "apps-check",
        /// Update some or all installed Flatpak apps and runtimes.
        AppsUpdate => "apps-update",
        /// Uninstall Flatpak apps or runtimes.
        AppsUninstall => "apps-uninstall",
        /// Uninstall runtimes no installed app uses.
        AppsRemoveUnused => "apps-remove-unused",
        /// Update the system, then every app: one transaction.
        UpdateAll => "update-all",
    }
}

impl Operation {
    /// The operation as the subject of a sentence, for a `Busy` error: "An update is running…";
    /// in the reader's language.
    pub fn as_subject(self) -> String {
        match self {
            // Translators: the subject of "… is running; …" (another operation holds the system).
            Operation::Check => gettext("A check for updates"),
            // Translators: the subject of "… is running; …".
            Operation::Download => gettext("A download of the update"),
            // Translators: the subject of "… is running; …".
            Operation::Update => gettext("An update"),
            // Translators: the subject of "… is running; …".
            Operation::Rollback => gettext("A rollback"),
            // Translators: the subject of "… is running; …"; pinning keeps a deployment from
            // being cleaned up.
            Operation::Pin | Operation::Unpin => gettext("A change of pins"),
            // Translators: the subject of "… is running; …".
            Operation::Remove => gettext("The removal of a deployment"),
            Operation::Install | Operation::Uninstall | Operation::ResetPackages => {
                // Translators: the subject of "… is running; …".
                gettext("A change of layered packages")
            }
            // Translators: the subject of "… is running; …".
            Operation::Cleanup => gettext("A cleanup"),
            // Translators: the subject of "… is running; …"; a restart of the computer.
            Operation::Reboot => gettext("A restart"),
            // Translators: the subject of "… is running; …"; apps are Flatpak apps.
            Operation::AppsCheck => gettext("A check for app updates"),
            // Translators: the subject of "… is running; …"; apps are Flatpak apps.
            Operation::AppsUpdate => gettext("An update of apps"),
            // Translators: the subject of "… is running; …"; apps are Flatpak apps.
            Operation::AppsUninstall => gettext("An uninstallation of apps"),
            // Translators: the subject of "… is running; …"; runtimes no app uses.
            Operation::AppsRemoveUnused => gettext("A removal of unused runtimes"),
            // Translators: the subject of "… is running; …"; the system and its apps.
            Operation::UpdateAll => gettext("An update of the system and its apps"),
        }
    }

    /// Whether the operation changes or reads the Flatpak installations (then `AppsChanged`
    /// follows it).
    pub fn concerns_apps(self) -> bool {
        matches!(
            self,
            Operation::AppsCheck
                | Operation::AppsUpdate
                | Operation::AppsUninstall
                | Operation::AppsRemoveUnused
                | Operation::UpdateAll
        )
    }
}

wire_enum! {
    /// Where a transaction is: the `State` property of a transaction.
    pub enum TransactionState {
        Running => "running",
        Succeeded => "succeeded",
        Failed => "failed",
        Cancelled => "cancelled",
    }
}

impl TransactionState {
    pub fn is_finished(self) -> bool {
        self != TransactionState::Running
    }
}

wire_enum! {
    /// The kinds of error the backend answers with; on D-Bus the last part of the error's name
    /// (`io.github.keelapp.Keel.Backend1.Error.Busy`), on the command line its exit status.
    pub enum ErrorKind {
        /// Another operation holds the system; the message names it.
        Busy => "Busy",
        /// An id, index, package or ref that does not exist.
        NotFound => "NotFound",
        /// A request that can never succeed as asked (removing the booted deployment, a bad name…).
        InvalidArgument => "InvalidArgument",
        PermissionDenied => "PermissionDenied",
        /// Stopped on request; nothing was changed.
        Cancelled => "Cancelled",
        Failed => "Failed",
    }
}

impl ErrorKind {
    /// The full D-Bus error name.
    pub fn dbus_name(self) -> String {
        format!("{ERROR_PREFIX}.{self}")
    }

    /// The kind of a D-Bus error name of this API; None for any other error (the bus's own).
    pub fn from_dbus_name(name: &str) -> Option<Self> {
        name.strip_prefix(ERROR_PREFIX)?
            .strip_prefix('.')?
            .parse()
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<T>(all: &[T])
    where
        T: Copy + PartialEq + std::fmt::Debug + std::fmt::Display + std::str::FromStr,
        T: serde::Serialize + for<'de> serde::Deserialize<'de> + zbus::zvariant::Type,
        T: Into<zbus::zvariant::Value<'static>> + TryFrom<zbus::zvariant::OwnedValue>,
        <T as std::str::FromStr>::Err: std::fmt::Debug,
    {
        let mut seen = std::collections::HashSet::new();
        for &value in all {
            let text = value.to_string();
            assert!(seen.insert(text.clone()), "{text} is spelled twice");
            assert_eq!(text.parse::<T>().unwrap(), value);
            // Over D-Bus, as a message body and as a variant (properties).
            let ctxt = zbus::zvariant::serialized::Context::new_dbus(zbus::zvariant::LE, 0);
            let encoded = zbus::zvariant::to_bytes(ctxt, &value).unwrap();
            let (decoded, _): (String, _) = encoded.deserialize().unwrap();
            assert_eq!(decoded, text);
            let variant = zbus::zvariant::OwnedValue::try_from(value.into()).unwrap();
            assert!(T::try_from(variant).ok() == Some(value));
            // In JSON (the journal, the command line's --json) it is the same word.
            let json = serde_json::to_string(&[value]).unwrap();
            assert_eq!(json, format!("[\"{text}\"]"));
            assert_eq!(serde_json::from_str::<[T; 1]>(&json).unwrap(), [value]);
        }
    }

    #[test]
    fn every_word_round_trips() {
        round_trips(Operation::ALL);
        round_trips(TransactionState::ALL);
        round_trips(ErrorKind::ALL);
    }

    #[test]
    fn the_wire_spellings_are_the_documented_ones() {
        let ops: Vec<&str> = Operation::ALL.iter().map(|o| o.as_str()).collect();
        assert_eq!(
            ops,
            [
                "check",
                "download",
                "update",
                "rollback",
                "pin",
                "unpin",
                "remove",
                "install",
                "uninstall",
                "reset-packages",
                "cleanup",
                "reboot",
                "apps-check",
                "apps-update",
                "apps-uninstall",
                "apps-remove-unused",
                "update-all"
            ]
        );
        assert_eq!(
            ErrorKind::Busy.dbus_name(),
            "io.github.keelapp.Keel.Backend1.Error.Busy"
        );
    }

    #[test]
    fn unknown_words_are_refused_with_a_sentence() {
        let err = "defragment".parse::<Operation>().unwrap_err();
        assert_eq!(err.to_string(), "“defragment” is not a known Operation");
        assert!(serde_json::from_str::<Operation>("\"defragment\"").is_err());
    }

    #[test]
    fn error_kinds_come_from_their_dbus_names_only() {
        for &kind in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_dbus_name(&kind.dbus_name()), Some(kind));
        }
        assert_eq!(
            ErrorKind::from_dbus_name("org.freedesktop.DBus.Error.ServiceUnknown"),
            None
        );
        assert_eq!(
            ErrorKind::from_dbus_name("io.github.keelapp.Keel.Backend1.ErrorBusy"),
            None
        );
        assert_eq!(
            ErrorKind::from_dbus_name("io.github.keelapp.Keel.Backend1.Error.Nope"),
            None
        );
    }
}
