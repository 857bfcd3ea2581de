//! `KeelAvailablePackage`: one package the package source offers, as the Add Packages list shows
//! and searches it.

use std::cell::RefCell;

use gtk::glib;
use gtk::prelude::*;
use gtk::subclass::prelude::*;
use keel_api::model::AvailablePackage;

mod imp {
    use super::*;

    #[derive(Default, glib::Properties)]
    #[properties(wrapper_type = super::KeelAvailablePackage)]
    pub struct KeelAvailablePackage {
        #[property(get, construct_only)]
        name: RefCell<String>,
        #[property(get, construct_only)]
        summary: RefCell<String>,
        #[property(get, construct_only)]
        evr: RefCell<String>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for KeelAvailablePackage {
        const NAME: &'static str = "KeelAvailablePackage";
        type Type = super::KeelAvailablePackage;
    }

    #[glib::derived_properties]
    impl ObjectImpl for KeelAvailablePackage {}
}

glib::wrapper! {
    pub struct KeelAvailablePackage(ObjectSubclass<imp::KeelAvailablePackage>);
}

impl KeelAvailablePackage {
    pub fn new(p: &AvailablePackage) -> Self {
        glib::Object::builder()
            .property("name", &p.name)
            .property("summary", &p.summary)
            .property("evr", &p.evr)
            .build()
    }

    /// What a search matches: the name and the summary.
    pub fn search_text(&self) -> String {
        format!("{} {}", self.name(), self.summary())
    }
}
