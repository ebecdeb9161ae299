//! Integration tests of kefu-core, one binary with a module per topic.

mod crash;
mod fuzz;
mod merge;
mod report;
mod store;
mod support;
mod sync;
mod tidy;
mod validate;
