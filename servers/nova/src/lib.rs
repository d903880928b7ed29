//! The Nova front ends as thin axum layers over [`nova_core::ComputeApi`]:
//! OpenStack Compute v2.1 (port 8774) with the Cinder v3 and Neutron v2.0
//! subsets the `openstack` CLI needs, and the Amazon EC2 query API (port
//! 8773).

pub mod compute;
pub mod ec2;
