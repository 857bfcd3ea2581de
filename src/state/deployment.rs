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
        /// The record it was made from, to tell whether a fresh status changes it.
        pub record: RefCell<keel_api::model::Deployment>,
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
        let item: Self = glib::Object::new();
        item.update(d);
        item
    }

    /// Takes a fresh record of the same deployment; only properties that changed notify, so the
    /// row bound to this item redraws only what changed.
    pub fn update(&self, d: &keel_api::model::Deployment) {
        if self.shows(d) {
            return;
        }
        let _frozen = self.freeze_notify();
        macro_rules! put {
            ($get:ident, $set:ident, $value:expr) => {{
                let value = $value;
                if self.$get() != value {
                    self.$set(value);
                }
            }};
        }
        put!(id, set_id, d.id.clone());
        put!(index, set_index, d.index);
        put!(version, set_version, d.version.clone().unwrap_or_default());
        put!(timestamp, set_timestamp, d.timestamp);
        put!(origin, set_origin, d.origin.clone().unwrap_or_default());
        put!(checksum, set_checksum, d.checksum.clone());
        put!(booted, set_booted, d.booted);
        put!(pending, set_pending, d.pending);
        put!(rollback, set_rollback, d.rollback);
        put!(staged, set_staged, d.staged);
        put!(pinned, set_pinned, d.pinned);
        put!(layered, set_layered, d.layered_packages.len() as u32);
        self.imp().record.replace(d.clone());
    }

    pub fn shows(&self, d: &keel_api::model::Deployment) -> bool {
        *self.imp().record.borrow() == *d
    }

    pub fn short_checksum(&self) -> String {
        crate::format::short_checksum(&self.checksum()).to_owned()
    }

    /// The version, or the commit when it has none.
    pub fn name(&self) -> String {
        let version = self.version();
        if version.is_empty() {
            self.short_checksum()
        } else {
            version
        }
    }
}
