//! The results file of `bench syscalls` (its types are in the `results`
//! crate), and its pages.

pub use ::results::syscalls::*;

pub mod pages;
