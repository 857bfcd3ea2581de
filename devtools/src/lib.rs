//! Keel's developer tools as a library: the rpm-ostreed **test double** (`rpmostreed`) and the
//! harness tests use to run it (`double`). Never shipped.

pub mod double;
pub mod rpmostreed;
