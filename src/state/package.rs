//! `KeelPackage`: one layered package and where it stands, as the Packages page lists it.

use std::cell::{Cell, RefCell};

use gtk::glib;
use gtk::prelude::*;
use gtk::subclass::prelude::*;

/// Where a layered package stands between the booted deployment and the next boot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, glib::Enum)]
#[enum_type(name = "KeelPackageState")]
pub enum PackageState {
    /// In the booted deployment and still asked for.
    #[default]
    Layered,
    /// Asked for; it arrives with the next boot.
    Added,
    /// In the booted deployment, no longer asked for; it goes with the next boot.
    Removed,
}

impl PackageState {
    /// From whether the booted deployment has the package and whether the next boot asks for it.
    pub fn of(booted_has: bool, requested: bool) -> Self {
        match (booted_has, requested) {
            (true, true) => Self::Layered,
            (false, _) => Self::Added,
            (true, false) => Self::Removed,
        }
    }
}

mod imp {
    use super::*;

    #[derive(Default, glib::Properties)]
    #[properties(wrapper_type = super::KeelPackage)]
    pub struct KeelPackage {
        #[property(get, construct_only)]
        name: RefCell<String>,
        #[property(get, set, builder(PackageState::default()))]
        state: Cell<PackageState>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for KeelPackage {
        const NAME: &'static str = "KeelPackage";
        type Type = super::KeelPackage;
    }

    #[glib::derived_properties]
    impl ObjectImpl for KeelPackage {}
}

glib::wrapper! {
    pub struct KeelPackage(ObjectSubclass<imp::KeelPackage>);
}

impl KeelPackage {
    pub fn new(name: &str, state: PackageState) -> Self {
        glib::Object::builder()
            .property("name", name)
            .property("state", state)
            .build()
    }

    /// Takes a fresh state; notifies only when it changed, so its row redraws only then.
    pub fn update(&self, state: PackageState) {
        if self.state() != state {
            self.set_state(state);
        }
    }
}
