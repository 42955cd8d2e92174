//! The connections Cyrus created: every pointer a forwarded
//! `sasl_server_new` handed out, until its `sasl_dispose`.
//!
//! Functions common to both sides (`sasl_getprop`, `sasl_encode`,
//! `sasl_dispose`, ...) must send Cyrus's connections to Cyrus and keep
//! ours. Knowing Cyrus's pointers exactly means a Cyrus connection is never
//! read as one of ours (no magic number is read from Cyrus's memory), and a
//! process that never served SASL pays one atomic load per call: the set is
//! consulted only while it is not empty.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::capi::types::sasl_conn_t;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static CONNS: Mutex<BTreeSet<usize>> = Mutex::new(BTreeSet::new());

fn conns() -> MutexGuard<'static, BTreeSet<usize>> {
    CONNS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Records a connection Cyrus has just created.
pub(crate) fn register(conn: *mut sasl_conn_t) {
    if conn.is_null() {
        return;
    }
    let mut set = conns();
    if set.insert(conn as usize) {
        LIVE.fetch_add(1, Ordering::Release);
    }
}

/// Forgets a connection about to be disposed of; true if it was Cyrus's.
pub(crate) fn unregister(conn: *mut sasl_conn_t) -> bool {
    if conn.is_null() || LIVE.load(Ordering::Acquire) == 0 {
        return false;
    }
    let mut set = conns();
    let removed = set.remove(&(conn as usize));
    if removed {
        LIVE.fetch_sub(1, Ordering::Release);
    }
    removed
}

/// Whether `conn` is a live connection Cyrus created.
pub(crate) fn is_cyrus(conn: *mut sasl_conn_t) -> bool {
    !conn.is_null() && LIVE.load(Ordering::Acquire) != 0 && conns().contains(&(conn as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_until_unregistered() {
        // Fake addresses: the set never dereferences them.
        let a = 0x1000 as *mut sasl_conn_t;
        let b = 0x2000 as *mut sasl_conn_t;
        assert!(!is_cyrus(a) && !is_cyrus(std::ptr::null_mut()));
        register(a);
        register(a);
        register(std::ptr::null_mut());
        assert!(is_cyrus(a) && !is_cyrus(b));
        assert!(!unregister(b));
        assert!(unregister(a));
        assert!(!is_cyrus(a) && !unregister(a));
    }
}
