//! Disk format inspection: what the first bytes of image data say about
//! its format and virtual size (Glance's `format_inspector`), and whether
//! that agrees with the declared `disk_format`.
//!
//! Detection is pure and reads only a prefix of [`PREFIX_LEN`] bytes;
//! the service applies it to an upload while the data flows, so a
//! mismatch fails the stream (and therefore the store write) early.

use std::sync::{Arc, Mutex, MutexGuard};

use futures::stream::{self, StreamExt};

use super::{ContainerFormat, DiskFormat};
use crate::error::{Error, Result};
use crate::stream::ByteStream;

/// How many leading bytes detection looks at (ISO 9660 keeps its volume
/// descriptor at 32 KiB).
pub const PREFIX_LEN: usize = 64 * 1024;

/// What the data looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detected {
    /// The detected format; `raw` when nothing more specific matched.
    pub format: DiskFormat,
    /// The virtual disk size from the format header, if it has one.
    pub virtual_size: Option<u64>,
    /// Why the image is unsafe to use (qcow2 backing or data file), if it is.
    pub unsafe_reason: Option<&'static str>,
}

fn be_u64(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 8)
        .and_then(|s| s.try_into().ok())
        .map(u64::from_be_bytes)
}

fn le_u64(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 8)
        .and_then(|s| s.try_into().ok())
        .map(u64::from_le_bytes)
}

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_le_bytes)
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_be_bytes)
}

fn le_u16(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2)
        .and_then(|s| s.try_into().ok())
        .map(u16::from_le_bytes)
}

fn found(format: DiskFormat, virtual_size: Option<u64>) -> Detected {
    Detected {
        format,
        virtual_size,
        unsafe_reason: None,
    }
}

fn qcow2(b: &[u8]) -> Detected {
    let mut d = found(DiskFormat::Qcow2, be_u64(b, 24));
    if be_u64(b, 8).is_some_and(|off| off != 0) {
        d.unsafe_reason = Some("qcow2 image has a backing file");
    }
    // Version 3 headers carry incompatible feature bits; bit 2 is an external data file.
    if be_u32(b, 4).is_some_and(|v| v >= 3) && be_u64(b, 72).is_some_and(|f| f & 0b100 != 0) {
        d.unsafe_reason = Some("qcow2 image has an external data file");
    }
    d
}

fn iso(b: &[u8]) -> Option<Detected> {
    [0x8000usize, 0x8800, 0x9000].iter().find_map(|&at| {
        (b.get(at + 1..at + 6) == Some(b"CD001")).then(|| {
            let blocks = le_u32(b, 0x8050).map(u64::from);
            let block = le_u16(b, 0x8080).map(u64::from);
            found(
                DiskFormat::Iso,
                blocks.zip(block).map(|(n, s)| n.saturating_mul(s)),
            )
        })
    })
}

/// Detects the format of data starting with `prefix` (at most the whole
/// data); `total` is the data's size when known, the virtual size of raw.
pub fn detect(prefix: &[u8], total: Option<u64>) -> Detected {
    if prefix.starts_with(b"QFI\xfb") {
        return qcow2(prefix);
    }
    if prefix.starts_with(b"KDMV") {
        return found(DiskFormat::Vmdk, le_u64(prefix, 12).map(|s| s * 512));
    }
    if prefix.starts_with(b"# Disk DescriptorFile") {
        return found(DiskFormat::Vmdk, None);
    }
    if prefix.starts_with(b"vhdxfile") {
        return found(DiskFormat::Vhdx, None);
    }
    if prefix.starts_with(b"conectix") {
        return found(DiskFormat::Vhd, be_u64(prefix, 48));
    }
    if le_u32(prefix, 0x40) == Some(0xbeda_107f) {
        return found(DiskFormat::Vdi, le_u64(prefix, 0x170));
    }
    if let Some(d) = iso(prefix) {
        return d;
    }
    found(DiskFormat::Raw, total)
}

/// Formats whose signature [`detect`] knows; for the others (ami, ari,
/// aki, ploop) any data is accepted.
fn is_detectable(f: DiskFormat) -> bool {
    matches!(
        f,
        DiskFormat::Qcow2
            | DiskFormat::Vmdk
            | DiskFormat::Vhd
            | DiskFormat::Vhdx
            | DiskFormat::Vdi
            | DiskFormat::Iso
    )
}

/// Checks detected data against the declared disk format, as Glance's
/// `require_image_format_match`: only for bare (or unset) containers; a
/// declared `raw` accepts anything; a detectable format must match
/// ([`Error::FormatMismatch`]); unsafe qcow2 images are `InvalidInput`.
/// Returns the virtual size to record.
pub fn check(
    declared: Option<DiskFormat>,
    container: Option<ContainerFormat>,
    detected: &Detected,
) -> Result<Option<u64>> {
    let Some(declared) = declared else {
        return Ok(None);
    };
    if !matches!(container, None | Some(ContainerFormat::Bare)) {
        return Ok(None);
    }
    if declared == DiskFormat::Raw {
        return Ok(detected
            .virtual_size
            .filter(|_| detected.format == declared));
    }
    if !is_detectable(declared) {
        return Ok(None);
    }
    if detected.format != declared {
        return Err(Error::FormatMismatch {
            declared: declared.as_str(),
            detected: detected.format.as_str(),
        });
    }
    if let Some(reason) = detected.unsafe_reason {
        return Err(Error::invalid(format!("image is not safe: {reason}")));
    }
    Ok(detected.virtual_size)
}

/// Collects the prefix of a stream and checks it once enough arrived.
#[derive(Debug)]
pub(crate) struct Inspector {
    declared: Option<DiskFormat>,
    container: Option<ContainerFormat>,
    prefix: Vec<u8>,
    total: u64,
    decided: Option<Result<Option<u64>, ()>>,
}

impl Inspector {
    pub(crate) fn new(declared: Option<DiskFormat>, container: Option<ContainerFormat>) -> Self {
        Self {
            declared,
            container,
            prefix: Vec::new(),
            total: 0,
            decided: None,
        }
    }

    fn decide(&mut self, total: Option<u64>) -> Result<()> {
        if self.decided.is_some() {
            return Ok(());
        }
        let detected = detect(&self.prefix, total);
        let r = check(self.declared, self.container, &detected);
        self.decided = Some(r.as_ref().map(|v| *v).map_err(|_| ()));
        self.prefix = Vec::new();
        r.map(|_| ())
    }

    fn feed(&mut self, chunk: &[u8]) -> Result<()> {
        self.total += chunk.len() as u64;
        if self.decided.is_some() {
            return Ok(());
        }
        let want = PREFIX_LEN.saturating_sub(self.prefix.len());
        self.prefix
            .extend_from_slice(&chunk[..want.min(chunk.len())]);
        if self.prefix.len() >= PREFIX_LEN {
            self.decide(None)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        let total = self.total;
        self.decide(Some(total))
    }

    /// The virtual size, once the whole stream passed. For `raw`, the
    /// data size.
    pub(crate) fn virtual_size(&self) -> Option<u64> {
        match self.decided {
            Some(Ok(Some(v))) => Some(v),
            Some(Ok(None)) if self.declared == Some(DiskFormat::Raw) => Some(self.total),
            _ => None,
        }
    }
}

fn lock(i: &Mutex<Inspector>) -> MutexGuard<'_, Inspector> {
    // Only this module mutates it, never while panicking halfway.
    i.lock().unwrap_or_else(|e| e.into_inner())
}

/// Passes `data` through, inspecting it with `inspector`; a mismatch
/// becomes the stream's error (instead of the chunk that revealed it, or
/// at the end of short data), so no store keeps the data.
pub(crate) fn inspect_stream(data: ByteStream, inspector: Arc<Mutex<Inspector>>) -> ByteStream {
    stream::unfold(Some((data, inspector)), |state| async move {
        let (mut data, insp) = state?;
        match data.next().await {
            Some(Ok(chunk)) => {
                let r = lock(&insp).feed(&chunk);
                match r {
                    Ok(()) => Some((Ok(chunk), Some((data, insp)))),
                    Err(e) => Some((Err(e), None)),
                }
            }
            Some(Err(e)) => Some((Err(e), None)),
            None => {
                let r = lock(&insp).finish();
                r.err().map(|e| (Err(e), None))
            }
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qcow2_header(size: u64, backing: u64) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        h[..4].copy_from_slice(b"QFI\xfb");
        h[4..8].copy_from_slice(&3u32.to_be_bytes());
        h[8..16].copy_from_slice(&backing.to_be_bytes());
        h[24..32].copy_from_slice(&size.to_be_bytes());
        h
    }

    fn iso_image() -> Vec<u8> {
        let mut d = vec![0u8; 0x8800];
        d[0x8001..0x8006].copy_from_slice(b"CD001");
        d[0x8050..0x8054].copy_from_slice(&100u32.to_le_bytes());
        d[0x8080..0x8082].copy_from_slice(&2048u16.to_le_bytes());
        d
    }

    #[test]
    fn detects_qcow2_iso_vmdk_and_raw() {
        let d = detect(&qcow2_header(1 << 30, 0), None);
        assert_eq!(d.format, DiskFormat::Qcow2);
        assert_eq!(d.virtual_size, Some(1 << 30));
        assert!(d.unsafe_reason.is_none());
        assert!(detect(&qcow2_header(1, 4096), None).unsafe_reason.is_some());
        let d = detect(&iso_image(), None);
        assert_eq!((d.format, d.virtual_size), (DiskFormat::Iso, Some(204_800)));
        assert_eq!(detect(b"KDMV....", None).format, DiskFormat::Vmdk);
        assert_eq!(detect(b"conectix", None).format, DiskFormat::Vhd);
        let d = detect(b"just bytes", Some(10));
        assert_eq!((d.format, d.virtual_size), (DiskFormat::Raw, Some(10)));
        assert_eq!(detect(b"", Some(0)).format, DiskFormat::Raw);
    }

    #[test]
    fn check_follows_glance_rules() {
        let raw = detect(b"plain", Some(5));
        let q = detect(&qcow2_header(7, 0), None);
        let bare = Some(ContainerFormat::Bare);
        match check(Some(DiskFormat::Qcow2), bare, &raw) {
            Err(Error::FormatMismatch { declared, detected }) => {
                assert_eq!((declared, detected), ("qcow2", "raw"))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(check(Some(DiskFormat::Qcow2), bare, &q).unwrap(), Some(7));
        assert!(check(Some(DiskFormat::Iso), None, &q).is_err());
        // raw accepts anything; other containers and unknown formats are not checked.
        assert!(check(Some(DiskFormat::Raw), bare, &q).is_ok());
        assert_eq!(check(Some(DiskFormat::Raw), bare, &raw).unwrap(), Some(5));
        assert!(check(Some(DiskFormat::Qcow2), Some(ContainerFormat::Ovf), &raw).is_ok());
        assert!(check(Some(DiskFormat::Ami), bare, &raw).is_ok());
        assert!(check(None, bare, &q).is_ok());
        let unsafe_q = detect(&qcow2_header(7, 512), None);
        assert!(matches!(
            check(Some(DiskFormat::Qcow2), bare, &unsafe_q),
            Err(Error::InvalidInput { .. })
        ));
    }

    #[tokio::test]
    async fn stream_fails_on_mismatch_and_reports_virtual_size() {
        use bytes::Bytes;
        let insp = Arc::new(Mutex::new(Inspector::new(Some(DiskFormat::Qcow2), None)));
        let s = inspect_stream(crate::stream::once("raw bytes"), insp.clone());
        let r = crate::stream::collect(s, 1 << 20).await;
        assert!(matches!(r, Err(Error::FormatMismatch { .. })));

        // A big image is judged once the prefix is full, before the rest flows.
        let mut q = qcow2_header(99, 0);
        q.resize(PREFIX_LEN * 2, 0);
        let chunks: Vec<Bytes> = q.chunks(1000).map(Bytes::copy_from_slice).collect();
        let insp = Arc::new(Mutex::new(Inspector::new(Some(DiskFormat::Qcow2), None)));
        let s = inspect_stream(crate::stream::chunks(chunks), insp.clone());
        let all = crate::stream::collect(s, 1 << 20).await.unwrap();
        assert_eq!(all.len(), PREFIX_LEN * 2);
        assert_eq!(lock(&insp).virtual_size(), Some(99));

        let insp = Arc::new(Mutex::new(Inspector::new(Some(DiskFormat::Raw), None)));
        let s = inspect_stream(crate::stream::once(iso_image()), insp.clone());
        crate::stream::collect(s, 1 << 20).await.unwrap();
        assert_eq!(lock(&insp).virtual_size(), Some(0x8800));
    }
}
