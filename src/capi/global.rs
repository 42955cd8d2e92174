//! Library-wide state: the client's init count and global callbacks.
//! Cyrus keeps these in unsynchronised globals (its issues #584, #715); here
//! init and done are serialised and the callbacks pointer is read atomically.

use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Mutex, Once};

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
    install_fork_handler();
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

/// Lets the core hand out nonce bytes from per-thread batches
/// (`core::random`), once a fork's child is sure to discard the batch it
/// inherits. Without the handler every nonce is one system call.
fn install_fork_handler() {
    static ONCE: Once = Once::new();
    extern "C" fn in_child() {
        crate::core::random::note_fork();
    }
    ONCE.call_once(|| {
        // SAFETY: the handler only increments an atomic. glibc's
        // pthread_atfork is linked from libc_nonshared.a with this
        // library's __dso_handle, so dlclose unregisters it.
        if unsafe { libc::pthread_atfork(None, None, Some(in_child)) } == 0 {
            crate::core::random::enable_batching();
        }
    });
}

pub fn client_active() -> bool {
    CLIENT_REFS.load(Ordering::Acquire) > 0
}

pub fn callbacks() -> *const sasl_callback_t {
    CALLBACKS.load(Ordering::Acquire)
}

#[cfg(test)]
mod tests {
    use crate::core::random;

    /// What the fork handler is for: a forked child's nonce bytes are not
    /// the ones its parent hands out next (they would be, from a copied batch).
    #[test]
    #[cfg_attr(miri, ignore = "fork")]
    fn a_forked_child_draws_other_bytes_than_its_parent() {
        super::install_fork_handler();
        let mut warm = [0u8; 24];
        random::fill(&mut warm).unwrap(); // the thread's batch is full now
        let mut fds = [0; 2];
        // SAFETY: a pipe into a two-element array.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: the child only draws from its existing batch (no
        // allocation, no lock), writes to the pipe and _exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let mut nonce = [0u8; 24];
            let code = if random::fill(&mut nonce).is_ok() { 0 } else { 1 };
            // SAFETY: a valid fd and buffer; _exit runs no destructors.
            unsafe {
                libc::write(fds[1], nonce.as_ptr().cast(), nonce.len());
                libc::_exit(code);
            }
        }
        assert!(pid > 0, "fork failed");
        let mut parent = [0u8; 24];
        random::fill(&mut parent).unwrap();
        let mut child = [0u8; 24];
        let mut status = 0;
        // SAFETY: our pipe's fds, our child's pid, buffers of the given sizes.
        unsafe {
            libc::close(fds[1]);
            assert_eq!(libc::read(fds[0], child.as_mut_ptr().cast(), child.len()), 24);
            libc::close(fds[0]);
            assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
        }
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "child failed: {status}");
        assert_ne!(child, parent, "the child handed out its parent's next bytes");
    }
}
