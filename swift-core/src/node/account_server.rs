//! The account server of a storage node (placeholder until implemented).

use super::{NodeConfig, NodeRequest, NodeResponse};

/// Serves account requests for one node's devices.
#[derive(Debug)]
pub struct AccountServer {
    #[allow(dead_code)]
    config: NodeConfig,
}

impl AccountServer {
    /// A server over the node's devices.
    pub fn new(config: NodeConfig) -> Self {
        Self { config }
    }

    /// Serves one request.
    pub async fn handle(&self, _req: NodeRequest) -> NodeResponse {
        NodeResponse::with_body(501, "not implemented")
    }
}
