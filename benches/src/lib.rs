//! Load generators for ferrostack's servers; see `src/bin`.
//!
//! - `swift-load`: N concurrent Swift API clients doing PUT, then GET, HEAD
//!   and DELETE of a bounded number of objects, reporting ops/s and latency
//!   percentiles.
//! - `swift-compare`: the same load against ferrostack and the reference
//!   OpenStack Swift in one run, interleaved, with machine limits, listing,
//!   ring rebalance and memory figures and the ratio ours : reference.
//! - `glance-load`: 1 GiB image upload and download.

pub mod limits;
pub mod listing;
pub mod procs;
pub mod report;
pub mod ring_bench;
pub mod stats;
pub mod swift;
pub mod systems;
pub mod target;
