//! Image service core of ferrostack: Glance's image model and lifecycle,
//! policy rules and image stores, as a library.
//!
//! The crate holds the behaviour of the Images API: the image record and
//! its status machine ([`image`]), who may see and change an image
//! ([`image::access`]), disk format inspection ([`image::inspect`]),
//! per-image quotas ([`quota`]), the named data stores behind uploads and
//! downloads ([`store`], [`store::Stores`]), web-download filtering
//! ([`import`]) and the operations tying them together
//! ([`ImageService`]: upload, stage and import, members, actions).
//! Servers only translate HTTP.
//!
//! ```
//! use glance_core::image::access::{self, Caller};
//! use glance_core::store::{GetOptions, ImageStore, MemoryImageStore, PutOptions};
//! use glance_core::{stream, Image, ImageId, ImageStatus, ProjectId};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let owner = ProjectId::new("demo")?;
//! let mut image = Image::new(ImageId::new_v4(), Some(owner.clone()), 0);
//! access::check_modify(&image, &Caller::project(owner), None)?;
//!
//! let store = MemoryImageStore::new();
//! image.set_status(ImageStatus::Saving)?;
//! let stored = store
//!     .put(&image.id, stream::once("disk bytes"), PutOptions::default().expected_size(10))
//!     .await?;
//! image.set_status(ImageStatus::Active)?;
//! assert_eq!(stored.md5, "b7c92d68f3ea33566855af256d0ad410");
//! assert_eq!(stored.sha512.len(), 128);
//!
//! let data = stream::collect(store.get(&image.id, GetOptions::default()).await?, 1 << 20).await?;
//! assert_eq!(&data[..], b"disk bytes");
//! assert!(image.set_status(ImageStatus::Saving).is_err()); // active -> saving is not allowed
//! # Ok::<_, glance_core::Error>(())
//! # }).unwrap();
//! ```
#![deny(missing_docs)]

pub mod error;
pub mod image;
pub mod import;
pub mod quota;
pub mod registry;
pub mod service;
pub mod store;
pub mod stream;

pub use error::{BoxError, Error, Result};
pub use image::{Image, ImageId, ImageStatus, ProjectId, Visibility};
pub use quota::QuotaConfig;
pub use service::ImageService;
pub use stream::ByteStream;
