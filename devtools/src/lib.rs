//! Keel's developer tools as a library: the rpm-ostreed **test double** (`rpmostreed`), the
//! harness tests use to run it (`double`), the Fedora-scale sysroot maker (`scale`) and a private
//! session bus (`session`). Never shipped.

pub mod double;
pub mod rpmostreed;
pub mod scale;
pub mod session;
