//! One-pass size accounting and hashing (MD5 + SHA-512) of image data.

use md5::{Digest, Md5};
use sha2::Sha512;

use super::PutOptions;
use crate::error::{Error, Result};

/// Hashes image data chunk by chunk while enforcing the size limits of a
/// [`PutOptions`]. Every store's `put` feeds each chunk through it before
/// writing the chunk.
#[derive(Debug, Clone)]
pub struct ImageHasher {
    md5: Md5,
    sha512: Sha512,
    size: u64,
    expected_size: Option<u64>,
    max_size: Option<u64>,
}

/// The result of hashing a whole image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageHashes {
    /// Total bytes.
    pub size: u64,
    /// MD5, lowercase hex.
    pub md5: String,
    /// SHA-512, lowercase hex.
    pub sha512: String,
}

impl ImageHasher {
    /// A hasher enforcing `opts`' limits.
    pub fn new(opts: &PutOptions) -> Self {
        Self {
            md5: Md5::new(),
            sha512: Sha512::new(),
            size: 0,
            expected_size: opts.expected_size,
            max_size: opts.max_size,
        }
    }

    /// Accounts for and hashes `chunk`. Fails with `QuotaExceeded` past the
    /// maximum size and `InvalidInput` past the expected size, before the
    /// chunk is hashed, so the caller must not write it.
    pub fn update(&mut self, chunk: &[u8]) -> Result<()> {
        let size = self.size.saturating_add(chunk.len() as u64);
        if let Some(max) = self.max_size {
            if size > max {
                return Err(Error::quota(format!("image data exceeds {max} bytes")));
            }
        }
        if let Some(expected) = self.expected_size {
            if size > expected {
                return Err(Error::invalid(format!(
                    "image data exceeds the declared size of {expected} bytes"
                )));
            }
        }
        self.md5.update(chunk);
        self.sha512.update(chunk);
        self.size = size;
        Ok(())
    }

    /// Bytes accounted so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Finishes; `InvalidInput` if fewer bytes than declared arrived.
    pub fn finish(self) -> Result<ImageHashes> {
        if let Some(expected) = self.expected_size {
            if self.size != expected {
                return Err(Error::invalid(format!(
                    "image data has {} bytes, declared {expected}",
                    self.size
                )));
            }
        }
        Ok(ImageHashes {
            size: self.size,
            md5: hex::encode(self.md5.finalize()),
            sha512: hex::encode(self.sha512.finalize()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_known_vectors() {
        let mut h = ImageHasher::new(&PutOptions::default());
        h.update(b"a").unwrap();
        h.update(b"bc").unwrap();
        let out = h.finish().unwrap();
        assert_eq!(out.size, 3);
        assert_eq!(out.md5, "900150983cd24fb0d6963f7d28e17f72");
        assert!(out.sha512.starts_with("ddaf35a193617aba"));
        assert_eq!(out.sha512.len(), 128);
    }

    #[test]
    fn limits() {
        let mut h = ImageHasher::new(&PutOptions::default().max_size(2));
        assert!(matches!(h.update(b"abc"), Err(Error::QuotaExceeded { .. })));
        let mut h = ImageHasher::new(&PutOptions::default().expected_size(2));
        assert!(matches!(h.update(b"abc"), Err(Error::InvalidInput { .. })));
        let mut h = ImageHasher::new(&PutOptions::default().expected_size(2));
        h.update(b"a").unwrap();
        assert!(matches!(h.finish(), Err(Error::InvalidInput { .. })));
    }
}
