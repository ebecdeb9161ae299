//! Integration tests of kefu-solver, one binary (STYLE.md): a module per topic, `support` for the
//! shared solving and checking. Every roster a test produces goes through the validator.
//!
//! Leaves out: the `kefu` binary's flags and exit codes (server/tests).

mod causes;
mod errors;
mod examples;
mod exports;
mod nrp;
mod properties;
mod rotation;
mod scenarios;
mod seed_rules;
mod support;
mod validator;
