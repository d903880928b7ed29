//! Load generators for ferrostack's servers; see `src/bin`.
//!
//! - `swift-load`: N concurrent Swift API clients doing PUT, then GET, then
//!   DELETE of a bounded number of objects, reporting ops/s and latency
//!   percentiles.

pub mod stats;
pub mod target;
