//! Identity core of ferrostack.
#![deny(missing_docs)]

pub mod backend;
pub mod catalog;
#[cfg(any(test, feature = "testkit"))]
pub mod conformance;
pub mod error;
pub mod ids;
pub mod model;
pub mod service;
pub mod time;

pub use error::{BoxError, Error, Result};
