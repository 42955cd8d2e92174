//! Finding the system's Cyrus library by its real file name.
//!
//! Cyrus installs `libsasl2.so.2.<x>.<y>` (Debian 12: `libsasl2.so.2.0.25`)
//! beside the `libsasl2.so.2` link, in the system library directory. When
//! this library replaces that link (the Debian package), the link leads
//! here, so the link name is of no use: the real files are searched for in
//! the directory this library was loaded from and in libc's directory, and
//! the newest one that is not this library is taken. No version is built
//! in, so an update of Cyrus's package keeps working.

use std::collections::HashSet;
use std::ffi::{c_void, CStr};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

const PREFIX: &str = "libsasl2.so.2";

/// Cyrus library files worth trying, newest first.
pub(super) fn candidates() -> Vec<PathBuf> {
    let own = loaded_from(crate::capi::common::sasl_errstring as *const c_void);
    let libc_file = loaded_from(libc::getpid as *const c_void);
    let own_id = own.as_deref().and_then(|p| std::fs::metadata(p).ok()).map(|m| (m.dev(), m.ino()));
    let dirs: Vec<PathBuf> = [own, libc_file]
        .into_iter()
        .flatten()
        .filter_map(|f| std::fs::canonicalize(f).ok()?.parent().map(Path::to_path_buf))
        .collect();
    in_dirs(&dirs, own_id)
}

/// The file of the shared object holding `addr`.
fn loaded_from(addr: *const c_void) -> Option<PathBuf> {
    // SAFETY: dladdr only reads the link map; `info` is written on success.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    if unsafe { libc::dladdr(addr, &mut info) } == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: a NUL-terminated path owned by the dynamic linker.
    let name = unsafe { CStr::from_ptr(info.dli_fname) };
    use std::os::unix::ffi::OsStrExt;
    Some(PathBuf::from(std::ffi::OsStr::from_bytes(name.to_bytes())))
}

/// Regular files named `libsasl2.so.2` or `libsasl2.so.2.<digits and dots>`
/// in `dirs`, followed through links to their real names, each file once,
/// without `exclude` (this library), newest version first.
fn in_dirs(dirs: &[PathBuf], exclude: Option<(u64, u64)>) -> Vec<PathBuf> {
    let mut seen = HashSet::new();
    seen.extend(exclude);
    let mut found = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Some(rest) = name.strip_prefix(PREFIX) else { continue };
            if !(rest.is_empty() || rest.starts_with('.') && rest[1..].split('.').all(is_number)) {
                continue;
            }
            let Ok(real) = std::fs::canonicalize(entry.path()) else { continue };
            let Ok(meta) = std::fs::metadata(&real) else { continue };
            if meta.is_file() && seen.insert((meta.dev(), meta.ino())) {
                found.push((version(&real), real));
            }
        }
    }
    found.sort_by(|a, b| b.0.cmp(&a.0));
    found.into_iter().map(|(_, path)| path).collect()
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// The numbers after `libsasl2.so.` in a file name (`[2, 0, 25]`).
fn version(path: &Path) -> Vec<u64> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.strip_prefix("libsasl2.so.")
        .map(|v| v.split('.').map_while(|n| n.parse().ok()).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sasl2rs-find-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn newest_real_file_first_each_once_without_ours() {
        let dir = scratch("order");
        for f in ["libsasl2.so.2.0.25", "libsasl2.so.2.0.9", "libsasl2.so.2.1.28", "libsasl2.so.2.cyrus", "libsasl2.a"] {
            std::fs::write(dir.join(f), f).unwrap();
        }
        // the links of a Debian system: the SONAME link and the dev link
        symlink("libsasl2.so.2.0.25", dir.join("libsasl2.so.2")).unwrap();
        symlink("libsasl2.so.2", dir.join("libsasl2.so")).unwrap();
        let ours = std::fs::metadata(dir.join("libsasl2.so.2.1.28")).unwrap();
        let got = in_dirs(&[dir.clone(), dir.clone()], Some((ours.dev(), ours.ino())));
        let names: Vec<_> = got.iter().map(|p| p.file_name().unwrap().to_str().unwrap()).collect();
        assert_eq!(names, ["libsasl2.so.2.0.25", "libsasl2.so.2.0.9"]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_switched_link_leads_to_the_real_cyrus_file() {
        // The package's layout: libsasl2.so.2 is ours, Cyrus's file stays.
        let dir = scratch("switched");
        std::fs::write(dir.join("libsasl2.so.2.1.28"), "ours").unwrap();
        std::fs::write(dir.join("libsasl2.so.2.0.25"), "cyrus").unwrap();
        symlink("libsasl2.so.2.1.28", dir.join("libsasl2.so.2")).unwrap();
        let ours = std::fs::metadata(dir.join("libsasl2.so.2")).unwrap();
        let got = in_dirs(std::slice::from_ref(&dir), Some((ours.dev(), ours.ino())));
        assert_eq!(got, [std::fs::canonicalize(dir.join("libsasl2.so.2.0.25")).unwrap()]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn nothing_found_is_an_empty_list() {
        let dir = scratch("empty");
        assert!(in_dirs(&[dir.clone(), dir.join("missing")], None).is_empty());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_system_library_is_found() {
        // This process links no libsasl2 (cargo test), so the candidates come
        // from libc's directory: the system's Cyrus library when installed.
        for path in candidates() {
            assert!(path.file_name().unwrap().to_str().unwrap().starts_with(PREFIX));
            assert!(path.is_absolute());
        }
    }
}
