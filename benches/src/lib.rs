//! Load generators; see src/bin.
