//! The dialogs every part of the window shares: the error funnel (a dialog with the backend's
//! sentence, or a notification when the window is not in front) and the offer to wait when
//! something else is changing the system.

use adw::prelude::*;
use gettextrs::gettext;
use gtk::gio;

use crate::error::UiError;

/// Shows an error over `parent`; a cancellation is never shown. When the window is not active, a
/// notification says it too.
pub fn show_error(parent: &impl IsA<gtk::Widget>, err: &UiError) {
    if err.is_cancelled() {
        return;
    }
    tracing::warn!("{}: {} ({})", err.title, err.detail, err.technical);
    let window = parent.root().and_downcast::<gtk::Window>();
    if let Some(window) = &window
        && !window.is_active()
        && let Some(app) = window.application()
    {
        let notification = gio::Notification::new(&err.title);
        notification.set_body(Some(&err.detail));
        app.send_notification(Some("error"), &notification);
    }
    let dialog = adw::AlertDialog::new(Some(&err.title), Some(&err.detail));
    if !err.technical.is_empty() {
        let text = gtk::Label::builder()
            .label(&err.technical)
            .selectable(true)
            .wrap(true)
            .wrap_mode(gtk::pango::WrapMode::WordChar)
            .xalign(0.0)
            .build();
        text.add_css_class("monospace");
        text.add_css_class("caption");
        let details = gtk::Expander::builder()
            .label(gettext("Details"))
            .child(&text)
            .build();
        dialog.set_extra_child(Some(&details));
    }
    dialog.add_response("close", &gettext("_Close"));
    dialog.present(Some(parent));
}

/// Busy: says what is running and offers to wait for it; true when the person chose to wait.
pub async fn offer_to_wait(parent: &impl IsA<gtk::Widget>, err: &UiError) -> bool {
    let dialog = adw::AlertDialog::new(Some(&err.title), Some(&err.detail));
    dialog.add_responses(&[
        ("close", &gettext("_Close")),
        ("wait", &gettext("_Wait and Retry")),
    ]);
    dialog.set_response_appearance("wait", adw::ResponseAppearance::Suggested);
    dialog.set_close_response("close");
    dialog.choose_future(Some(parent)).await == "wait"
}
