//! The services behind the [`crate::ComputeApi`]: scheduler, compute (one
//! per host), network and volume, each consuming its bus topic, plus the
//! message types they exchange ([`rpc`]).

pub mod rpc;
