//! TEMPORARY STUB (apps-ui): the contract's App, until apps-core lands the real one. Reverted then.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AppKind {
    #[default]
    App,
    Runtime,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct App {
    pub key: String,
    pub reference: String,
    pub kind: AppKind,
    pub id: String,
    pub name: String,
    pub summary: String,
    pub version: String,
    pub branch: String,
    pub arch: String,
    pub origin: String,
    pub installation: String,
    pub installed_size: u64,
    pub commit: String,
    pub runtime: String,
    pub end_of_life: String,
    pub end_of_life_rebase: String,
    pub icon: String,
    pub update_commit: String,
    pub unused: bool,
    pub broken: String,
}
