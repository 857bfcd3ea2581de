//! `KeelAvailableRow`: a package in the Add Packages list, with its Add button. Rows are recycled
//! by the list view: `bind` shows another package in the same row.

use gettextrs::gettext;
use gtk::glib;
use gtk::prelude::*;
use gtk::subclass::prelude::*;

use super::available_package::KeelAvailablePackage;

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(file = "available_row.ui")]
    pub struct KeelAvailableRow {
        #[template_child]
        pub name_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub summary_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub add_button: TemplateChild<gtk::Button>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for KeelAvailableRow {
        const NAME: &'static str = "KeelAvailableRow";
        type Type = super::KeelAvailableRow;
        type ParentType = gtk::Box;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for KeelAvailableRow {
        fn constructed(&self) {
            self.parent_constructed();
            // The name says which package; the visible label alone would name it only "Add".
            self.add_button
                .reset_relation(gtk::AccessibleRelation::LabelledBy);
        }
    }
    impl WidgetImpl for KeelAvailableRow {}
    impl BoxImpl for KeelAvailableRow {}
}

glib::wrapper! {
    pub struct KeelAvailableRow(ObjectSubclass<imp::KeelAvailableRow>)
        @extends gtk::Box, gtk::Widget,
        @implements gtk::Accessible, gtk::Buildable, gtk::ConstraintTarget, gtk::Orientable;
}

impl Default for KeelAvailableRow {
    fn default() -> Self {
        glib::Object::new()
    }
}

impl KeelAvailableRow {
    pub fn bind(&self, package: &KeelAvailablePackage) {
        let imp = self.imp();
        let name = package.name();
        imp.name_label.set_label(&name);
        imp.summary_label
            .set_label(&format!("{} · {}", package.summary(), package.evr()));
        imp.add_button
            .set_action_target_value(Some(&name.to_variant()));
        imp.add_button
            .update_property(&[gtk::accessible::Property::Label(
                &gettext("Add {}").replace("{}", &name),
            )]);
    }
}
