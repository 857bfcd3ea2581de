//! `KeelDeployment`: one deployment as the deployments list shows it.

use std::cell::{Cell, RefCell};

use gtk::glib;
use gtk::prelude::*;
use gtk::subclass::prelude::*;

mod imp {
    use super::*;

    #[derive(Default, glib::Properties)]
    #[properties(wrapper_type = super::KeelDeployment)]
    pub struct KeelDeployment {
        #[property(get, set)]
        id: RefCell<String>,
        #[property(get, set)]
        index: Cell<u32>,
        #[property(get, set)]
        version: RefCell<String>,
        #[property(get, set)]
        timestamp: Cell<u64>,
        #[property(get, set)]
        origin: RefCell<String>,
        #[property(get, set)]
        checksum: RefCell<String>,
        #[property(get, set)]
        booted: Cell<bool>,
        #[property(get, set)]
        pending: Cell<bool>,
        #[property(get, set)]
        rollback: Cell<bool>,
        #[property(get, set)]
        staged: Cell<bool>,
        #[property(get, set)]
        pinned: Cell<bool>,
        #[property(get, set)]
        layered: Cell<u32>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for KeelDeployment {
        const NAME: &'static str = "KeelDeployment";
        type Type = super::KeelDeployment;
    }

    #[glib::derived_properties]
    impl ObjectImpl for KeelDeployment {}
}

glib::wrapper! {
    pub struct KeelDeployment(ObjectSubclass<imp::KeelDeployment>);
}

impl KeelDeployment {
    pub fn new(d: &keel_api::model::Deployment) -> Self {
        glib::Object::builder()
            .property("id", &d.id)
            .property("index", d.index)
            .property("version", d.version.clone().unwrap_or_default())
            .property("timestamp", d.timestamp)
            .property("origin", d.origin.clone().unwrap_or_default())
            .property("checksum", &d.checksum)
            .property("booted", d.booted)
            .property("pending", d.pending)
            .property("rollback", d.rollback)
            .property("staged", d.staged)
            .property("pinned", d.pinned)
            .property("layered", d.layered_packages.len() as u32)
            .build()
    }

    pub fn short_checksum(&self) -> String {
        self.checksum().chars().take(10).collect()
    }
}
