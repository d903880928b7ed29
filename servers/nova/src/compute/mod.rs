//! OpenStack Compute API v2.1 (microversions 2.1 to 2.30), and the Block
//! Storage v3 and Networking v2.0 subsets, over [`nova_core::ComputeApi`].
