//! Finding plugin files as Cyrus does: the directories of the plugin path
//! (the application's SASL_CB_GETPATH, else `sasl_set_path`, else
//! `$SASL_PATH` when the process is not setuid/setgid, else the
//! distribution's directory), every `*.so` in them, each vetted by the
//! application's SASL_CB_VERIFYFILE; and telling Cyrus's own plugins from
//! third-party ones.

use std::ffi::{c_char, c_int, CStr, CString};
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::Mutex;

use crate::capi::*;

/// Debian's plugin directory (where libsasl2-modules installs).
#[cfg(target_arch = "x86_64")]
const DISTRIBUTION_DIR: &str = "/usr/lib/x86_64-linux-gnu/sasl2";
#[cfg(target_arch = "aarch64")]
const DISTRIBUTION_DIR: &str = "/usr/lib/aarch64-linux-gnu/sasl2";
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const DISTRIBUTION_DIR: &str = "/usr/lib/sasl2";

/// A client mechanism of one of Cyrus's plugins, as Cyrus 2.1.28 declares
/// it: enough to list it and place it in the selection order without
/// opening the plugin.
pub(crate) struct KnownMech {
    pub name: &'static str,
    pub max_ssf: u32,
    pub security_flags: u32,
    pub features: u32,
    /// Its `required_prompts`: None is Cyrus's NULL (user and password).
    pub required: Option<&'static [std::ffi::c_ulong]>,
}

const fn known(name: &'static str, max_ssf: u32, security_flags: u32, features: u32) -> KnownMech {
    KnownMech { name, max_ssf, security_flags, features, required: None }
}

const fn kerberos(name: &'static str, max_ssf: u32, features: u32) -> KnownMech {
    KnownMech { name, max_ssf, security_flags: 0x73, features, required: Some(&[]) }
}

/// The plugins of Cyrus SASL 2.1.28 by file name (`lib<name>.so`), with
/// their client mechanisms. A file of one of these names is Cyrus's: in the
/// distribution's directory the package manager gives each file one owner,
/// Cyrus's module packages. Mechanisms built in here are served built in;
/// the file is opened only when one of its other mechanisms is about to be
/// used (gs2 and gssapiv2 load Kerberos, otp and ntlm OpenSSL).
pub(crate) const CYRUS_PLUGINS: &[(&str, &[KnownMech])] = &[
    ("anonymous", &[known("ANONYMOUS", 0, 0x01, 0x02)]),
    ("crammd5", &[known("CRAM-MD5", 0, 0x11, 0x10)]),
    ("digestmd5", &[known("DIGEST-MD5", 128, 0x51, 0x1021)]),
    ("gs2", &[kerberos("GS2-KRB5", 0, 0x903), KnownMech { required: None, ..kerberos("GS2-IAKERB", 0, 0x903) }]),
    ("gssapiv2", &[kerberos("GSSAPI", 256, 0x823), kerberos("GSS-SPNEGO", 256, 0x1823)]),
    ("kerberos4", &[KnownMech { required: Some(&[]), ..known("KERBEROS_V4", 56, 0x53, 0x31) }]),
    ("ldapdb", &[]),
    ("login", &[known("LOGIN", 0, 0x30, 0x10)]),
    ("ntlm", &[known("NTLM", 0, 0x11, 0x1002)]),
    ("otp", &[known("OTP", 0, 0x19, 0x22)]),
    ("passdss", &[known("PASSDSS-3DES-1", 112, 0x7f, 0x22)]),
    ("plain", &[known("PLAIN", 0, 0x30, 0x22)]),
    ("sasldb", &[]),
    (
        "scram",
        &[
            known("SCRAM-SHA-512", 0, 0x40_0053, 0x1820),
            known("SCRAM-SHA-384", 0, 0x30_0053, 0x1820),
            known("SCRAM-SHA-256", 0, 0x20_0053, 0x1820),
            known("SCRAM-SHA-224", 0, 0x1c_0053, 0x1820),
            known("SCRAM-SHA-1", 0, 0x14_0053, 0x1820),
        ],
    ),
    ("sql", &[]),
    ("srp", &[known("SRP", 0, 0x5f, 0x22)]),
];

/// A plugin file found on the path.
pub(crate) struct Candidate {
    pub path: PathBuf,
    /// `libfoo.so` gives "foo", as Cyrus names plugins.
    pub plugname: String,
    /// For Cyrus's own plugins, the mechanisms it provides.
    pub cyrus: Option<&'static [KnownMech]>,
}

/// The path set by `sasl_set_path(SASL_PATH_TYPE_PLUGIN, ...)`.
static SET_PATH: Mutex<Option<String>> = Mutex::new(None);

pub(crate) fn set_path(path: &str) {
    *SET_PATH.lock().unwrap_or_else(|e| e.into_inner()) = Some(path.to_owned());
}

/// The path without the application's GETPATH callback.
fn library_path() -> String {
    if let Some(path) = SET_PATH.lock().unwrap_or_else(|e| e.into_inner()).clone() {
        return path;
    }
    // SAFETY: plain system calls without arguments.
    let trusted = unsafe { libc::getuid() == libc::geteuid() && libc::getgid() == libc::getegid() };
    // Honour the environment only when it is the user's own (not setuid).
    if trusted {
        if let Some(path) = std::env::var_os("SASL_PATH") {
            return path.to_string_lossy().into_owned();
        }
    }
    DISTRIBUTION_DIR.to_owned()
}

/// The library's default path as a C string that stays valid (for the
/// default SASL_CB_GETPATH callback plugins can ask for).
pub(crate) fn default_path() -> &'static CStr {
    static SEEN: Mutex<Vec<&'static CStr>> = Mutex::new(Vec::new());
    let path = crate::capi::conn::c_string(&library_path());
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(known) = seen.iter().find(|p| **p == &*path) {
        return known;
    }
    let leaked: &'static CStr = Box::leak(path.into_boxed_c_str());
    seen.push(leaked);
    leaked
}

type GetPath = unsafe extern "C" fn(*mut std::ffi::c_void, *mut *const c_char) -> c_int;
type VerifyFile = unsafe extern "C" fn(*mut std::ffi::c_void, *const c_char, c_int) -> c_int;

/// The first entry with `id` in the global callbacks.
fn global_entry(id: std::ffi::c_ulong) -> Option<&'static sasl_callback_t> {
    // SAFETY: NULL or the terminated array given to sasl_client_init, kept
    // by the application while the library is in use.
    unsafe { crate::capi::callbacks::find_entry(global_callbacks(), id) }
}

/// The plugin path: the application's SASL_CB_GETPATH (given to
/// `sasl_client_init`, as Cyrus reads it), else the library's default.
pub(crate) fn plugin_path() -> String {
    if let Some(&sasl_callback { proc: Some(f), context, .. }) = global_entry(SASL_CB_GETPATH) {
        // SAFETY: registered for SASL_CB_GETPATH, so a sasl_getpath_t.
        let f: GetPath = unsafe { std::mem::transmute::<unsafe extern "C" fn() -> c_int, GetPath>(f) };
        let mut path: *const c_char = ptr::null();
        // SAFETY: a valid out-pointer; the result is the application's string.
        if unsafe { f(context, &mut path) } == SASL_OK && !path.is_null() {
            // SAFETY: a NUL-terminated string from the callback.
            return unsafe { CStr::from_ptr(path) }.to_string_lossy().into_owned();
        }
        return String::new();
    }
    library_path()
}

/// Whether the application's SASL_CB_VERIFYFILE accepts `file` as a plugin.
pub(crate) fn verified(file: &Path) -> bool {
    let Some(&sasl_callback { proc: Some(f), context, .. }) = global_entry(SASL_CB_VERIFYFILE) else { return true };
    // SAFETY: registered for SASL_CB_VERIFYFILE, so a sasl_verifyfile_t.
    let f: VerifyFile = unsafe { std::mem::transmute::<unsafe extern "C" fn() -> c_int, VerifyFile>(f) };
    let Ok(name) = CString::new(file.as_os_str().as_encoded_bytes()) else { return false };
    // SAFETY: a valid file name; SASL_VRFY_PLUGIN is 0.
    unsafe { f(context, name.as_ptr(), 0) == SASL_OK }
}

/// The plugin files on `path` (directories separated by ':'), in file-name
/// order within each directory so that the outcome does not depend on the
/// file system's order. Unreadable directories are skipped.
pub(crate) fn scan(path: &str, mut skipped: impl FnMut(String)) -> Vec<Candidate> {
    let mut found = Vec::new();
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                skipped(format!("looking for plugins in '{dir}', failed to open directory, error: {e}"));
                continue;
            }
        };
        let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for path in files {
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
            // Only `*.so`, as Cyrus (libfoo.so.2 and libfoo.so.2.0.25 are the same file).
            if name.len() < 4 || !name.ends_with(".so") {
                continue;
            }
            let plugname = name.get(3..).unwrap_or("").split('.').next().unwrap_or("").to_owned();
            let cyrus = name
                .strip_prefix("lib")
                .and_then(|rest| rest.strip_suffix(".so"))
                .and_then(|base| CYRUS_PLUGINS.iter().find(|(n, _)| *n == base))
                .map(|(_, mechs)| *mechs);
            found.push(Candidate { path, plugname, cyrus });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_so_files_and_knows_cyrus_names() {
        let dir = std::env::temp_dir().join(format!("sasl2-loader-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for f in ["libplain.so", "libplain.so.2", "libxoauth2.so", "libotp.so", "notes.txt", "x.so"] {
            std::fs::write(dir.join(f), b"").unwrap();
        }
        let mut errors = Vec::new();
        let found = scan(&format!("/nonexistent:{}", dir.display()), |e| errors.push(e));
        let names: Vec<(&str, bool)> = found.iter().map(|c| (c.plugname.as_str(), c.cyrus.is_some())).collect();
        // "x.so" is a plugin "o" to Cyrus too (it cuts "lib" blindly).
        assert_eq!(names, [("otp", true), ("plain", true), ("xoauth2", false), ("o", false)]);
        assert_eq!(found[0].cyrus.map(|m| m[0].name), Some("OTP"));
        assert!(errors[0].contains("/nonexistent"), "{errors:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
