//! `KeelPackageRow`: a layered package and where it stands — layered now, or changing at the next
//! boot. It follows its item, so a restart that applies a change updates it in place.

use std::cell::OnceCell;

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::glib;

use crate::state::{KeelPackage, PackageState};

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(file = "package_row.ui")]
    pub struct KeelPackageRow {
        #[template_child]
        pub remove_button: TemplateChild<gtk::Button>,
        pub package: OnceCell<KeelPackage>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for KeelPackageRow {
        const NAME: &'static str = "KeelPackageRow";
        type Type = super::KeelPackageRow;
        type ParentType = adw::ActionRow;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for KeelPackageRow {}
    impl WidgetImpl for KeelPackageRow {}
    impl ListBoxRowImpl for KeelPackageRow {}
    impl PreferencesRowImpl for KeelPackageRow {}
    impl ActionRowImpl for KeelPackageRow {}
}

glib::wrapper! {
    pub struct KeelPackageRow(ObjectSubclass<imp::KeelPackageRow>)
        @extends adw::ActionRow, adw::PreferencesRow, gtk::ListBoxRow, gtk::Widget,
        @implements gtk::Accessible, gtk::Actionable, gtk::Buildable, gtk::ConstraintTarget;
}

/// What a package's row says about where it stands.
fn describe(state: PackageState) -> String {
    match state {
        PackageState::Layered => gettext("Layered"),
        PackageState::Added => gettext("Added at the next boot"),
        PackageState::Removed => gettext("Removed at the next boot"),
    }
}

impl KeelPackageRow {
    pub fn new(package: &KeelPackage) -> Self {
        let row: Self = glib::Object::new();
        let imp = row.imp();
        let _ = imp.package.set(package.clone());
        let name = package.name();
        row.set_title(&glib::markup_escape_text(&name));
        imp.remove_button
            .set_action_target_value(Some(&name.to_variant()));
        imp.remove_button
            .update_property(&[gtk::accessible::Property::Label(
                &gettext("Remove {}").replace("{}", &name),
            )]);
        package
            .bind_property("state", &row, "subtitle")
            .transform_to(|_, state: PackageState| Some(describe(state)))
            .sync_create()
            .build();
        // A package already asked to go has nothing left to remove.
        package
            .bind_property("state", &*imp.remove_button, "visible")
            .transform_to(|_, state: PackageState| Some(state != PackageState::Removed))
            .sync_create()
            .build();
        row
    }
}
