//! The results file of `bench capacity` (its types are in the `results`
//! crate), and its pages.

pub use ::results::capacity::*;

pub mod pages;
pub mod readings;

#[cfg(test)]
pub mod tests {
    pub const COMMITTED: &str = include_str!("../../../docs/results/connections.json");
    pub const EARLIER: &str = include_str!("../../testdata/connections-2026-11-23.json");
}
