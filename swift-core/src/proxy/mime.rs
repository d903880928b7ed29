//! Content-Type guessing from an object name's extension.

/// The MIME type for `name`'s extension, as Python's `mimetypes` would
/// guess it for common types.
pub(crate) fn guess(name: &str) -> Option<&'static str> {
    let base = name.rsplit('/').next().unwrap_or(name);
    let (_, ext) = base.rsplit_once('.')?;
    let t = match ext.to_ascii_lowercase().as_str() {
        "txt" | "text" | "conf" | "log" | "ini" => "text/plain",
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "csv" => "text/csv",
        "xml" => "application/xml",
        "js" => "application/javascript",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" | "tgz" => "application/gzip",
        "tar" => "application/x-tar",
        "bz2" => "application/x-bzip2",
        "png" => "image/png",
        "jpg" | "jpeg" | "jpe" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "ico" => "image/vnd.microsoft.icon",
        "bmp" => "image/bmp",
        "tif" | "tiff" => "image/tiff",
        "webp" => "image/webp",
        "mp3" => "audio/mpeg",
        "wav" => "audio/x-wav",
        "mp4" => "video/mp4",
        "mpeg" | "mpg" => "video/mpeg",
        "mov" => "video/quicktime",
        "avi" => "video/x-msvideo",
        "py" => "text/x-python",
        "sh" => "application/x-sh",
        "c" | "h" => "text/x-c",
        "md" => "text/markdown",
        "iso" | "img" | "bin" | "qcow2" => "application/octet-stream",
        _ => return None,
    };
    Some(t)
}

#[cfg(test)]
mod tests {
    #[test]
    fn guesses_common_types() {
        assert_eq!(super::guess("a/b/photo.JPG"), Some("image/jpeg"));
        assert_eq!(super::guess("notes.txt"), Some("text/plain"));
        assert_eq!(super::guess("dir.d/noext"), None);
        assert_eq!(super::guess("x.unknownext"), None);
    }
}
