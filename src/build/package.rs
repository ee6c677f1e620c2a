//! Reproducible Lambda zips: `bootstrap` at the root, mode 0755, a fixed
//! timestamp and a fixed compression level, so the same binary always gives
//! the same bytes, the same SHA-256 and the same Lambda `CodeSha256`.

use std::io::Write;

use base64::Engine;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// Zips `binary` as `bootstrap`.
pub fn bootstrap_zip(binary: &[u8]) -> std::io::Result<Vec<u8>> {
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(9))
        // 1980-01-01 00:00, the zip format's epoch: no build time leaks in.
        .last_modified_time(DateTime::default())
        // A regular file with rwxr-xr-x; without the execute bit Lambda fails
        // with "bootstrap: permission denied".
        .unix_permissions(0o755);
    let mut writer = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    writer.start_file("bootstrap", options)?;
    writer.write_all(binary)?;
    Ok(writer.finish()?.into_inner())
}

/// Lowercase hex SHA-256, as used in artifact keys and the manifest.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Base64 SHA-256, the form of Lambda's `CodeSha256`.
pub fn sha256_base64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn the_same_binary_gives_the_same_bytes() {
        let binary = b"\x7fELF pretend binary".repeat(1000);
        let first = bootstrap_zip(&binary).expect("zip");
        let second = bootstrap_zip(&binary).expect("zip");
        assert_eq!(first, second);
        assert_ne!(first, bootstrap_zip(b"another binary").expect("zip"));
    }

    #[test]
    fn bootstrap_is_at_the_root_executable_and_intact() {
        let binary = b"#!/bin/sh\necho hi\n".to_vec();
        let bytes = bootstrap_zip(&binary).expect("zip");
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("read zip");
        assert_eq!(archive.len(), 1);
        let mut entry = archive.by_index(0).expect("entry");
        assert_eq!(entry.name().expect("entry name"), "bootstrap");
        assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
        assert_eq!(entry.compression(), CompressionMethod::Deflated);
        assert_eq!(entry.last_modified(), Some(DateTime::default()));
        let mut content = Vec::new();
        entry.read_to_end(&mut content).expect("unzip");
        assert_eq!(content, binary);
    }

    #[test]
    fn digests_in_both_forms() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            sha256_base64(b"abc"),
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
    }
}
