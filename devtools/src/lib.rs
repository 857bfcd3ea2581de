//! Keel's developer tools as a library: the rpm-ostreed **test double** (`rpmostreed`), the
//! harness tests use to run it (`double`), and the Fedora-scale sysroot maker (`scale`). Never
//! shipped.

pub mod double;
pub mod rpmostreed;
pub mod scale;
