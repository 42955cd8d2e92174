//! Finding plugin files as Cyrus does: the directories of the plugin path
//! (the application's SASL_CB_GETPATH, else `sasl_set_path`, else
//! `$SASL_PATH` when the process is not setuid/setgid, else the
//! distribution's directory), every `*.so` in them, each vetted by the
//! application's SASL_CB_VERIFYFILE; and telling Cyrus's own plugins from
//! third-party ones.

use std::ffi::{c_char, c_int, CStr, CString};
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::{Arc, Mutex};

use crate::capi::*;
use crate::mech::registry::Rank;

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

/// How Cyrus's own plugin ranks the mechanism `name`, if it has one. A
/// plugin mechanism is placed beside the built-in ones as Cyrus would place
/// it beside its own: the built-in ones describe what they do here, which
/// is not always how Cyrus ranks them (its GSSAPI and GSS-SPNEGO claim
/// channel binding, and so outrank GS2-IAKERB; ours bind no channel).
pub(crate) fn cyrus_rank(name: &str) -> Option<Rank> {
    CYRUS_PLUGINS.iter().flat_map(|(_, mechs)| mechs.iter()).find(|m| m.name.eq_ignore_ascii_case(name)).map(|m| Rank {
        security_flags: m.security_flags,
        features: m.features,
        max_ssf: m.max_ssf,
    })
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
        let names = match plugin_names(dir) {
            Ok(names) => names,
            Err(e) => {
                skipped(format!("looking for plugins in '{dir}', failed to open directory, error: {e}"));
                continue;
            }
        };
        let dir = Path::new(dir);
        for name in names.iter() {
            let plugname = name.get(3..).unwrap_or("").split('.').next().unwrap_or("").to_owned();
            let cyrus = name
                .strip_prefix("lib")
                .and_then(|rest| rest.strip_suffix(".so"))
                .and_then(|base| CYRUS_PLUGINS.iter().find(|(n, _)| *n == base))
                .map(|(_, mechs)| *mechs);
            found.push(Candidate { path: dir.join(name.as_str()), plugname, cyrus });
        }
    }
    found
}

/// What identifies a directory's contents: device, inode, and the times of
/// its last change (any file added, removed or renamed changes them).
type DirStamp = (u64, u64, i64, i64, i64, i64);

/// A plugin directory's names as last read, with the directory and its stamp.
type Listing = (String, DirStamp, Arc<[String]>);

/// The names last read from each plugin directory.
static LISTINGS: Mutex<Vec<Listing>> = Mutex::new(Vec::new());

/// The `*.so` names in `dir`, as Cyrus takes them (libfoo.so.2 and
/// libfoo.so.2.0.25 are the same file), sorted (which within one directory
/// is the order of the paths).
///
/// An application that calls sasl_client_init and sasl_done around every
/// authentication would read the directory each time (a few tens of
/// microseconds of ext4 readdir); the names are kept instead, keyed by the
/// directory's stamp, and used again while it is the same. A directory
/// changed within the last second is read every time, so that a change the
/// coarse file-system clock gives the same time still shows.
fn plugin_names(dir: &str) -> std::io::Result<Arc<[String]>> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(dir)?;
    let stamp: DirStamp = (meta.dev(), meta.ino(), meta.mtime(), meta.mtime_nsec(), meta.ctime(), meta.ctime_nsec());
    let mut listings = LISTINGS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, _, names)) = listings.iter().find(|(d, s, _)| d == dir && *s == stamp) {
        return Ok(names.clone());
    }
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.len() >= 4 && name.ends_with(".so"))
        .collect();
    names.sort_unstable();
    let names: Arc<[String]> = names.into();
    let settled = meta.modified().ok().and_then(|m| m.elapsed().ok()).is_some_and(|age| age.as_secs() >= 1);
    listings.retain(|(d, _, _)| d != dir);
    if settled {
        // Bounded: one entry per directory of the paths in use (at most 8).
        if listings.len() >= 8 {
            listings.remove(0);
        }
        listings.push((dir.to_owned(), stamp, names.clone()));
    }
    Ok(names)
}

/// Whether the application gave `sasl_client_init` a SASL_CB_LOG callback
/// (so that messages for it are worth composing).
pub(crate) fn global_logger() -> bool {
    global_entry(SASL_CB_LOG).is_some_and(|e| e.proc.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gs2_iakerb_goes_where_cyrus_puts_it() {
        // Cyrus lists GS2-IAKERB after GS2-KRB5, so SCRAM beats it; ranked
        // by our GSS-SPNEGO's own features (no channel binding) it came first.
        fn start(_: &crate::mech::Params<'_>) -> crate::mech::Result<Box<dyn crate::mech::ClientMech>> {
            Err(crate::mech::Error::fail("test"))
        }
        static START: crate::mech::NewFn = start;
        let k = &CYRUS_PLUGINS.iter().find(|(n, _)| *n == "gs2").unwrap().1[1];
        static IAKERB: std::sync::OnceLock<crate::mech::MechInfo> = std::sync::OnceLock::new();
        let info = IAKERB.get_or_init(|| crate::mech::MechInfo {
            name: "GS2-IAKERB",
            max_ssf: k.max_ssf,
            security_flags: k.security_flags,
            features: k.features,
            required: &[],
            last_resort: false,
            factory: &START,
        });
        let mut list = crate::mech::MECHANISMS.to_vec();
        crate::mech::registry::insert_by_strength(&mut list, info, |m| cyrus_rank(m.name).unwrap_or_else(|| Rank::from(m)));
        let names: Vec<&str> = list.iter().map(|m| m.name).collect();
        let at = names.iter().position(|n| *n == "GS2-IAKERB").unwrap();
        assert_eq!((names[at - 1], names[at + 1]), ("GS2-KRB5", "DIGEST-MD5"), "{names:?}");
    }

    #[test]
    fn keeps_a_settled_listing_and_sees_every_change() {
        let dir = std::env::temp_dir().join(format!("sasl2-listing-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("libplain.so"), b"").unwrap();
        let names = |d: &Path| scan(d.to_str().unwrap(), |_| {}).into_iter().map(|c| c.plugname).collect::<Vec<_>>();
        let cached = |d: &Path| LISTINGS.lock().unwrap().iter().any(|(x, _, _)| x == d.to_str().unwrap());
        // Just written: read, not kept.
        assert_eq!(names(&dir), ["plain"]);
        assert!(!cached(&dir));
        // Unchanged for a while: kept.
        let age = |d: &Path| {
            let then = std::time::SystemTime::now() - std::time::Duration::from_secs(30);
            std::fs::File::open(d).unwrap().set_modified(then).unwrap();
        };
        age(&dir);
        assert_eq!(names(&dir), ["plain"]);
        assert!(cached(&dir));
        // A new file, even with the old time put back, changes the stamp.
        std::fs::write(dir.join("libotp.so"), b"").unwrap();
        age(&dir);
        assert_eq!(names(&dir), ["otp", "plain"]);
        std::fs::remove_file(dir.join("libplain.so")).unwrap();
        assert_eq!(names(&dir), ["otp"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

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
