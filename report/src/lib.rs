//! # report — the generated parts of the docs, and the checks of the prose
//!
//! The pages of docs/ are written by hand in Markdown. Where a page needs a
//! table, a chart, a figure or a piece of code, it asks for a block by name
//! (`<!-- bench:start server=prefork_server -->`), and this crate fills it
//! from the results files and the sources; where a sentence compares, a claim
//! beside it (`<!-- claim: ... -->`) is checked against the results.
//!
//! - [`data`]: the results files as one tree of values;
//! - [`templates`]: the templates of the blocks (`report/templates/`), which
//!   hold every word of them, and the number formats;
//! - [`blocks`]: finding the blocks and claims of a page, rewriting blocks;
//! - [`claims`]: checking a claim against the tree;
//! - [`charts`]: the SVG charts;
//! - [`code`]: excerpts of whole items, and the code pages;
//! - [`site`]: every page of docs/ at once;
//! - [`lint`]: no figure typed by hand;
//! - [`book`] (tests only): the book's links, the lessons' length and shape.

pub mod blocks;
#[cfg(test)]
mod book;
pub mod charts;
pub mod claims;
pub mod code;
pub mod data;
pub mod lint;
pub mod site;
pub mod templates;
