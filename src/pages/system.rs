//! The System page: updates, the deployments in boot order, and what can be done with them.

mod deployment_row;
mod dialogs;
mod page;
mod update_row;

pub use page::{Action, KeelSystemPage};
