//! Library-wide state: the client's init count and global callbacks.
//! Cyrus keeps these in unsynchronised globals (its issues #584, #715); here
//! init and done are serialised and the callbacks pointer is read atomically.

use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::Mutex;

use super::types::sasl_callback_t;

static CLIENT_REFS: AtomicUsize = AtomicUsize::new(0);
static CALLBACKS: AtomicPtr<sasl_callback_t> = AtomicPtr::new(std::ptr::null_mut());
static INIT_LOCK: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    INIT_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Counts one more `sasl_client_init`; the first one's callbacks are kept
/// (by pointer, as in Cyrus).
pub fn client_init(callbacks: *const sasl_callback_t) {
    let _guard = lock();
    if CLIENT_REFS.load(Ordering::Acquire) == 0 {
        CALLBACKS.store(callbacks.cast_mut(), Ordering::Release);
    }
    CLIENT_REFS.fetch_add(1, Ordering::AcqRel);
}

/// Counts one `sasl_client_done`: None if not initialised, else whether
/// this was the last reference.
pub fn client_done() -> Option<bool> {
    let _guard = lock();
    let refs = CLIENT_REFS.load(Ordering::Acquire);
    if refs == 0 {
        return None;
    }
    CLIENT_REFS.store(refs - 1, Ordering::Release);
    if refs == 1 {
        // Plugins may log through the global callbacks while released.
        crate::plugin::release_all();
        CALLBACKS.store(std::ptr::null_mut(), Ordering::Release);
        // Re-authentication secrets do not outlive the library's use.
        crate::core::reauth::clear();
        Some(true)
    } else {
        Some(false)
    }
}

pub fn client_active() -> bool {
    CLIENT_REFS.load(Ordering::Acquire) > 0
}

pub fn callbacks() -> *const sasl_callback_t {
    CALLBACKS.load(Ordering::Acquire)
}
