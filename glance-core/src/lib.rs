//! Image service core of ferrostack: Glance's image model and lifecycle,
//! policy rules and image stores, as a library.
#![deny(missing_docs)]

pub mod error;
pub mod image;
pub mod quota;
pub mod stream;

pub use error::{BoxError, Error, Result};
pub use image::{Image, ImageId, ImageStatus, ProjectId, Visibility};
pub use quota::QuotaConfig;
pub use stream::ByteStream;
