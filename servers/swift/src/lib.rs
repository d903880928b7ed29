//! ferrostack's Swift servers: the proxy, the storage node and the ring CLI,
//! each a thin layer of HTTP and configuration over `swift-core`.

pub mod ring_cli;
