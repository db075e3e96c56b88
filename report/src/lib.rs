//! # report — the results files, and the docs made from them
//!
//! The results files in `docs/results/` are the contract between measuring
//! and writing the docs: `bench` starts the servers, drives wrk and
//! connhold, samples /proc and builds the values of a file; this crate owns
//! the files' types and vocabulary, writes them, and makes every generated
//! section of the docs from a file as written, so a committed file can be
//! read back and its pages written again.
//!
//! - [`scenario`]: the servers and the scenarios, as the files and pages name them;
//! - [`wrk`]: what one wrk run reported;
//! - [`stats`]: one run's result, and the summary of its repeats (medians, spread);
//! - [`results`]: the results file of `bench wrk` (`bench-<date>.json`);
//! - [`pages`]: that file's pages: each chapter's table and the comparison page;
//! - [`readings`]: the sentences that read that file beside its tables, and their charts;
//! - [`capacity`]: the results file of `bench capacity` (`connections.json`),
//!   and in [`capacity::pages`] its page and each chapter's line;
//! - [`robustness`]: the results file of `bench hostile` (`robustness.json`),
//!   and in [`robustness::pages`] its page and each chapter's table;
//! - [`syscalls`]: the results file of `bench syscalls` (`syscalls.json`),
//!   and in [`syscalls::pages`] each chapter's calls per request;
//! - [`code`]: the marked regions of each server's source, copied into its chapter;
//! - [`site`]: every generated section of docs/ at once, as `bench pages` writes them;
//! - [`lint`]: the figures typed into hand-written prose, which the docs must not have;
//! - [`json`]: writing a results file (rounded JSON), and creating folders;
//! - [`markdown`]: number formats, table rows, Mermaid charts, and the
//!   rewriting of a page's marked section.

pub mod capacity;
pub mod code;
pub mod json;
pub mod lint;
pub mod markdown;
pub mod pages;
pub mod readings;
pub use ::results::bench as results;
pub mod robustness;
pub use ::results::scenario;
pub mod site;
pub use ::results::stats;
pub mod syscalls;
pub use ::results::wrk;
