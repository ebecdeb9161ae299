//! The roster part of the console: the team's roster input (the solver's team file, stored per
//! team and versioned) edited as a form, "generate" in a child process with live progress, the
//! result as a grid by person and by post with its violations, shifts moved by hand and
//! re-checked at once, publish (which sends the roster to the team's phones), and exports.
//!
//! Modules: `form` (team file ⇄ form fields, errors placed next to their field), `layout` (the
//! stored file's comments kept through a form save), `jobs` (the solver child processes), `grid`
//! (the page's layout of a roster), `document` (the phones' document of a published roster),
//! `pages` (handlers), `leave` (approved leave requests into the team file before a solve), `swap` (an approved swap request carried out on the published roster).

mod document;
mod form;
mod grid;
pub mod jobs;
mod layout;
mod leave;
pub mod pages;
pub mod swap;
