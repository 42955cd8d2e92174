//! Random bytes for client nonces and challenges without a system call per
//! authentication: each thread draws [`BATCH`] bytes from the kernel at a
//! time and hands each byte out once, wiping it from the batch as it goes.
//! OpenSSL's and BoringSSL's generators do the same (kernel randomness,
//! buffered, plus fork detection).
//!
//! A fork copies the batch into the child, which must never hand out bytes
//! the parent may still hand out. The C layer registers a fork handler that
//! calls [`note_fork`]; a batch filled in another fork generation is wiped
//! and refilled. Until a handler is registered ([`enable_batching`]), every
//! call goes to the kernel. Batches are per thread, so no lock can be held
//! across a fork by a thread the child does not have.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use zeroize::Zeroize;

/// Bytes per kernel call: 21 SCRAM starts (24 bytes each).
const BATCH: usize = 512;
/// Larger requests go to the kernel directly.
const MAX_BATCHED: usize = 64;

static BATCHING: AtomicBool = AtomicBool::new(false);
static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);

struct Batch {
    bytes: [u8; BATCH],
    /// Bytes before `next` have been handed out (and wiped).
    next: usize,
    generation: u64,
}

impl Drop for Batch {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

thread_local! {
    static THREAD_BATCH: RefCell<Batch> = const { RefCell::new(Batch { bytes: [0; BATCH], next: BATCH, generation: 0 }) };
}

/// Called once a fork handler calling [`note_fork`] in the child is in place.
pub fn enable_batching() {
    BATCHING.store(true, Ordering::Release);
}

/// A fork's child handler: only an atomic increment (async-signal-safe).
pub fn note_fork() {
    FORK_GENERATION.fetch_add(1, Ordering::AcqRel);
}

/// Fills `buf` with bytes from the kernel's secure random source, each
/// handed out once in this process.
pub fn fill(buf: &mut [u8]) -> Result<(), getrandom::Error> {
    if buf.len() > MAX_BATCHED || !BATCHING.load(Ordering::Acquire) {
        return getrandom::fill(buf);
    }
    THREAD_BATCH
        .try_with(|batch| match batch.try_borrow_mut() {
            Ok(mut batch) => batch.take(buf),
            Err(_) => getrandom::fill(buf),
        })
        // The thread is exiting and its batch is gone.
        .unwrap_or_else(|_| getrandom::fill(buf))
}

impl Batch {
    fn take(&mut self, buf: &mut [u8]) -> Result<(), getrandom::Error> {
        let generation = FORK_GENERATION.load(Ordering::Acquire);
        if self.generation != generation {
            // Filled before a fork: the parent may hand these out.
            self.bytes.zeroize();
            self.next = BATCH;
            self.generation = generation;
        }
        if BATCH - self.next < buf.len() {
            self.next = BATCH;
            getrandom::fill(&mut self.bytes)?;
            self.next = 0;
        }
        let taken = &mut self.bytes[self.next..self.next + buf.len()];
        buf.copy_from_slice(taken);
        taken.zeroize();
        self.next += buf.len();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_handed_out_once_and_wiped() {
        enable_batching();
        let mut seen = std::collections::HashSet::new();
        // Several batches' worth, so refills are crossed too.
        for _ in 0..200 {
            let mut nonce = [0u8; 24];
            fill(&mut nonce).unwrap();
            assert!(seen.insert(nonce), "a nonce repeated");
            THREAD_BATCH.with(|b| {
                let b = b.borrow();
                assert!(b.bytes[..b.next].iter().all(|&x| x == 0), "handed-out bytes left in the batch");
            });
        }
        // Over the batched size: straight from the kernel.
        let mut big = [0u8; MAX_BATCHED + 1];
        fill(&mut big).unwrap();
        assert_ne!(big, [0u8; MAX_BATCHED + 1]);
    }

    #[test]
    fn a_new_fork_generation_discards_the_batch() {
        enable_batching();
        let mut first = [0u8; 16];
        fill(&mut first).unwrap();
        let left = THREAD_BATCH.with(|b| b.borrow().bytes[16..32].to_vec());
        note_fork();
        let mut after = [0u8; 16];
        fill(&mut after).unwrap();
        // Without the generation check `after` would be the next bytes.
        assert_ne!(after[..], left[..]);
    }
}
