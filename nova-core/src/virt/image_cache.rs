//! Per-host cache of Glance images.

/// Placeholder.
#[derive(Debug)]
pub struct ImageCache;
