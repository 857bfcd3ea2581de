//! The Packages page: what is layered on the image, and adding or removing packages.

mod add_dialog;
mod available_package;
mod available_row;
mod package_row;
mod page;

pub use page::KeelPackagesPage;
