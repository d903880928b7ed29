//! The Amazon EC2 query API over [`nova_core::ComputeApi`].
