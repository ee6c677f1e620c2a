//! Checks a built handler binary before it is packaged: the CPU architecture
//! Lambda will run it on, and the newest glibc symbol version it needs.
//!
//! cargo-zigbuild silently falls back when a glibc suffix is invalid, so the
//! flag is not trusted: the binary itself is read.

use object::read::elf::{ElfFile64, FileHeader};
use object::{elf, Endianness, SymbolIndex};

use crate::config::Architecture;

/// The newest glibc the `provided.al2023` runtime ships.
pub const AL2023_GLIBC: GlibcVersion = GlibcVersion(2, 34);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GlibcVersion(pub u32, pub u32);

impl std::fmt::Display for GlibcVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

impl GlibcVersion {
    /// Parses `GLIBC_2.17` (and `GLIBC_2.2.5`: the third number is ignored).
    pub fn parse_symbol_version(name: &str) -> Option<GlibcVersion> {
        let mut numbers = name.strip_prefix("GLIBC_")?.split('.');
        let major = numbers.next()?.parse().ok()?;
        let minor = numbers.next()?.parse().ok()?;
        Some(GlibcVersion(major, minor))
    }
}

/// What the binary is and what it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryInfo {
    pub architecture: Option<Architecture>,
    /// The newest glibc version any symbol needs, with one symbol that needs it.
    pub newest_glibc: Option<(GlibcVersion, String)>,
}

/// Reads the ELF header and the dynamic symbols' version requirements.
pub fn inspect(data: &[u8]) -> Result<BinaryInfo, String> {
    let file = ElfFile64::<Endianness>::parse(data)
        .map_err(|e| format!("not a 64-bit ELF executable ({e})"))?;
    let endian = file.endian();
    let architecture = match file.elf_header().e_machine(endian) {
        elf::EM_X86_64 => Some(Architecture::X86_64),
        elf::EM_AARCH64 => Some(Architecture::Arm64),
        _ => None,
    };
    let sections = file.elf_section_table();
    let unreadable = |e: object::Error| format!("unreadable ELF symbol versions ({e})");
    let mut newest_glibc: Option<(GlibcVersion, String)> = None;
    if let Some(versions) = sections.versions(endian, data).map_err(unreadable)? {
        let symbols = sections
            .symbols(endian, data, elf::SHT_DYNSYM)
            .map_err(unreadable)?;
        for (index, symbol) in symbols.iter().enumerate() {
            let version_index = versions.version_index(endian, SymbolIndex(index));
            let Some(version) = versions.version(version_index).map_err(unreadable)? else {
                continue;
            };
            let Some(glibc) =
                GlibcVersion::parse_symbol_version(&String::from_utf8_lossy(version.name()))
            else {
                continue;
            };
            if newest_glibc
                .as_ref()
                .is_none_or(|(newest, _)| glibc > *newest)
            {
                let name = symbols.symbol_name(endian, symbol).map_err(unreadable)?;
                newest_glibc = Some((glibc, String::from_utf8_lossy(name).into_owned()));
            }
        }
    }
    Ok(BinaryInfo {
        architecture,
        newest_glibc,
    })
}

/// Refuses a binary Lambda could not run: wrong architecture, or one that
/// needs a newer glibc than the runtime has (it would fail at start with
/// `GLIBC_2.xx not found`).
pub fn check(data: &[u8], expected: Architecture, max_glibc: GlibcVersion) -> Result<(), String> {
    let info = inspect(data)?;
    match info.architecture {
        Some(found) if found == expected => {}
        Some(found) => {
            return Err(format!(
                "it is built for {found}, but the functions are configured for {expected}"
            ))
        }
        None => return Err(format!("it is not an {expected} executable")),
    }
    if let Some((version, symbol)) = info.newest_glibc {
        if version > max_glibc {
            return Err(format!(
                "it needs glibc {version} (symbol `{symbol}@GLIBC_{version}`), but the \
provided.al2023 runtime has glibc {max_glibc}: build with cargo-zigbuild for a *.2.17 target \
(chatctl build does) instead of plain cargo build"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_symbol_versions_parse_and_order() {
        assert_eq!(
            GlibcVersion::parse_symbol_version("GLIBC_2.17"),
            Some(GlibcVersion(2, 17))
        );
        assert_eq!(
            GlibcVersion::parse_symbol_version("GLIBC_2.2.5"),
            Some(GlibcVersion(2, 2))
        );
        assert_eq!(GlibcVersion::parse_symbol_version("GCC_3.0"), None);
        assert!(GlibcVersion(2, 38) > AL2023_GLIBC);
        assert!(GlibcVersion(2, 9) < GlibcVersion(2, 17));
    }

    #[test]
    fn a_non_elf_file_is_refused() {
        let error = check(b"#!/bin/sh\n", Architecture::X86_64, AL2023_GLIBC).expect_err("refused");
        assert!(error.contains("not a 64-bit ELF"), "{error}");
    }

    #[test]
    fn this_test_binary_reads_as_the_host_architecture() {
        let data = std::fs::read(std::env::current_exe().expect("test binary")).expect("read");
        let info = inspect(&data).expect("an ELF");
        let host = if cfg!(target_arch = "aarch64") {
            Architecture::Arm64
        } else {
            Architecture::X86_64
        };
        assert_eq!(info.architecture, Some(host));
        assert!(info.newest_glibc.is_some(), "a host binary links glibc");
        let other = match host {
            Architecture::X86_64 => Architecture::Arm64,
            Architecture::Arm64 => Architecture::X86_64,
        };
        let error = check(&data, other, GlibcVersion(9, 0)).expect_err("wrong architecture");
        assert!(error.contains(&format!("built for {host}")), "{error}");
    }
}
