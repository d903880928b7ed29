//! The compute model: ids, instance states and records, flavors, key
//! pairs, hosts and zones, volumes, networks and IPs, quotas.

pub mod ec2id;
pub mod flavor;
pub mod host;
pub mod ids;
pub mod instance;
pub mod keypair;
pub mod network;
pub mod quota;
pub mod secgroup;
pub mod state;
pub mod volume;

pub use ec2id::{Ec2Kind, EC2_KINDS};
pub use flavor::{default_flavors, Flavor};
pub use host::{zones_of, AvailabilityZone, ComputeHost, Resources, DEFAULT_SERVICE_DOWN_TIME};
pub use ids::{
    FlavorId, FloatingIpId, HostName, InstanceId, NetworkId, ProjectId, UserId, VolumeId, ZoneName,
};
pub use instance::{new_reservation_id, Instance, InstanceAction, InstanceFault};
pub use keypair::KeyPair;
pub use network::{FixedIp, FloatingIp, Ipv4Cidr, Network, NetworkMode};
pub use quota::{QuotaBook, QuotaLimits, QuotaResource, QuotaUsage, Reservation};
pub use secgroup::{IpProtocol, RuleSource, SecurityGroup, SecurityGroupRule, DEFAULT_GROUP};
pub use state::{status_from_state, PowerState, ServerStatus, TaskState, VmState};
pub use volume::{Volume, VolumeAttachment, VolumeStatus};
