//! The container server of a storage node (placeholder until implemented).

use super::{NodeConfig, NodeRequest, NodeResponse};

/// Serves container requests for one node's devices.
#[derive(Debug)]
pub struct ContainerServer {
    #[allow(dead_code)]
    config: NodeConfig,
}

impl ContainerServer {
    /// A server over the node's devices.
    pub fn new(config: NodeConfig) -> Self {
        Self { config }
    }

    /// Serves one request.
    pub async fn handle(&self, _req: NodeRequest) -> NodeResponse {
        NodeResponse::with_body(501, "not implemented")
    }
}
