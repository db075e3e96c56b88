//! The results file of `bench hostile` (its types are in the `results`
//! crate), and its pages.

pub use ::results::robustness::*;

pub mod pages;
pub mod readings;
