//! Transaction ids: `tx` + 21 random hex + `-` + 10 hex of the Unix time.

use std::time::{SystemTime, UNIX_EPOCH};

use rand::RngCore;

/// A new transaction id, as Swift's `generate_trans_id` makes them.
pub(crate) fn generate(now: SystemTime) -> String {
    let mut raw = [0u8; 11];
    rand::thread_rng().fill_bytes(&mut raw);
    let hex = hex::encode(raw);
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("tx{}-{:010x}", &hex[..21], secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_matches_swift() {
        let id = generate(UNIX_EPOCH + std::time::Duration::from_secs(0x6500_0000));
        assert_eq!(id.len(), 2 + 21 + 1 + 10);
        assert!(id.starts_with("tx"));
        assert_eq!(&id[23..], "-0065000000");
        assert!(id[2..23].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(generate(SystemTime::now()), generate(SystemTime::now()));
    }
}
