//! The process-wide list of mechanisms: the built-in [`MECHANISMS`], or a
//! snapshot that also holds mechanisms of C plugins (`crate::plugin` builds
//! it and [`publish`]es it).
//!
//! Reading is on every connection's path, so it costs two atomic loads and
//! no lock: snapshots are immutable, kept in write-once slots for the life of
//! the process, and a change swaps the index of the current one. The same
//! content reuses its slot, so a program that loads and releases the same
//! plugins over and over (init, done, init ...) does not use up slots.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use super::{sec, feat, MechInfo, MECHANISMS};

/// Distinct mechanism lists one process can have had. Each registration of
/// a new plugin makes one; 64 leaves room for any real program.
const SLOTS: usize = 64;

/// The slots, allocated at the first publication: a static array of them
/// would sit in the library's data segment (2 KiB, one more page for the
/// dynamic loader to touch in every process that loads the library).
static SNAPSHOTS: OnceLock<Box<[OnceLock<Box<Snapshot>>]>> = OnceLock::new();
/// 0: the built-in list; n: `SNAPSHOTS[n - 1]`.
static CURRENT: AtomicUsize = AtomicUsize::new(0);
/// Serialises writers (readers never wait).
static WRITER: Mutex<()> = Mutex::new(());

/// A published list with the buckets of its names (see [`NameIndex`]),
/// boxed: most slots stay empty.
struct Snapshot {
    list: Vec<&'static MechInfo>,
    buckets: Option<Buckets>,
}

fn current() -> Option<&'static Snapshot> {
    match CURRENT.load(Ordering::Acquire) {
        0 => None,
        n => SNAPSHOTS.get().and_then(|slots| slots[n - 1].get()).map(|s| &**s),
    }
}

/// The mechanisms in use now, strongest first.
pub fn mechanisms() -> &'static [&'static MechInfo] {
    current().map_or(MECHANISMS, |s| s.list.as_slice())
}

/// Finds a mechanism in use by name, ignoring ASCII case.
pub fn find(name: &str) -> Option<&'static MechInfo> {
    // A scan: not on the hot path, and a second caller of
    // `NameIndex::position` would keep it from being inlined into selection.
    mechanisms().iter().copied().find(|m| m.name.eq_ignore_ascii_case(name))
}

/// Makes `list` the mechanisms in use. Fails only when the process has
/// already had [`SLOTS`] different lists.
pub fn publish(list: Vec<&'static MechInfo>) -> Result<(), String> {
    let _writer = WRITER.lock().unwrap_or_else(|e| e.into_inner());
    let same = |a: &[&'static MechInfo], b: &[&'static MechInfo]| {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| std::ptr::eq(*x, *y))
    };
    if same(&list, MECHANISMS) {
        CURRENT.store(0, Ordering::Release);
        return Ok(());
    }
    let mut list = Some(list);
    let slots = SNAPSHOTS.get_or_init(|| (0..SLOTS).map(|_| OnceLock::new()).collect());
    for (i, slot) in slots.iter().enumerate() {
        let found = match slot.get() {
            Some(existing) => same(&existing.list, list.as_deref().unwrap_or_default()),
            None => {
                // Empty slots are filled only here, under the writer lock.
                let list = list.take().unwrap_or_default();
                let _ = slot.set(Box::new(Snapshot { buckets: buckets_of(&list), list }));
                true
            }
        };
        if found {
            CURRENT.store(i + 1, Ordering::Release);
            return Ok(());
        }
    }
    Err(format!("too many different mechanism lists in one process ({SLOTS})"))
}

/// Back to the built-in mechanisms only (`sasl_client_done`).
pub fn reset() {
    let _writer = WRITER.lock().unwrap_or_else(|e| e.into_inner());
    CURRENT.store(0, Ordering::Release);
}

/// Finds names in a list of mechanisms (ignoring ASCII case) with one probe
/// each: a server's list of N names costs N probes rather than N scans of
/// every mechanism. The mechanisms are bucketed by length and last byte
/// (many share a length and a prefix, SCRAM-SHA-224 ... -512, and the last
/// byte tells most of them apart); a bucket is a bit set of positions, so
/// the first match in the list's order is found first. The lists
/// [`mechanisms`] gives have their buckets made once; any other list (a
/// `client_mech_list` option's) has them made into the caller's `scratch`,
/// which stays untouched otherwise: the index itself is three words, cheap
/// to return, where owning the buckets would copy 256 bytes per selection.
pub struct NameIndex<'a> {
    list: &'a [&'static MechInfo],
    /// None: more than 64 mechanisms (a plugin-heavy process), each lookup
    /// scans.
    buckets: Option<&'a Buckets>,
}

const BUCKETS: usize = 32;
pub type Buckets = [u64; BUCKETS];

/// The built-in list's buckets, made at compile time.
static BUILT_IN: Option<Buckets> = buckets_of(MECHANISMS);

/// None for lists of more than 64 mechanisms.
const fn buckets_of(list: &[&MechInfo]) -> Option<Buckets> {
    if list.len() > 64 {
        return None;
    }
    let mut buckets = [0u64; BUCKETS];
    let mut i = 0;
    while i < list.len() {
        let name = list[i].name.as_bytes();
        if !name.is_empty() {
            buckets[bucket(name.len(), name[name.len() - 1])] |= 1 << i;
        }
        i += 1;
    }
    Some(buckets)
}

/// Folding with 0x20 maps upper- and lower-case letters together and leaves
/// digits and '-' as they are: a case-blind hash of a name's length and last
/// byte.
const fn bucket(len: usize, last: u8) -> usize {
    (len * 7 + (last | 0x20) as usize) % BUCKETS
}

impl<'a> NameIndex<'a> {
    pub fn new(list: &'a [&'static MechInfo], scratch: &'a mut Option<Buckets>) -> Self {
        let shared = if std::ptr::eq(list, MECHANISMS) {
            Some(&BUILT_IN)
        } else {
            current().filter(|s| std::ptr::eq(list, s.list.as_slice())).map(|s| &s.buckets)
        };
        let buckets = match shared {
            Some(b) => b.as_ref(),
            None => {
                *scratch = buckets_of(list);
                scratch.as_ref()
            }
        };
        NameIndex { list, buckets }
    }

    /// The position of the first mechanism called `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        let name = name.as_bytes();
        let Some(buckets) = self.buckets else {
            return self.list.iter().position(|m| m.name.as_bytes().eq_ignore_ascii_case(name));
        };
        let mut bits = buckets[bucket(name.len(), *name.last()?)];
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            let ours = self.list[i].name.as_bytes();
            // Servers list names in upper case, as ours are: the exact
            // comparison (a memcmp) settles most probes.
            if ours == name || ours.eq_ignore_ascii_case(name) {
                return Some(i);
            }
            bits &= bits - 1;
        }
        None
    }
}

/// What Cyrus ranks a mechanism by (its client's `mech_compare`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rank {
    pub security_flags: u32,
    pub features: u32,
    pub max_ssf: u32,
}

impl From<&MechInfo> for Rank {
    fn from(m: &MechInfo) -> Self {
        Rank { security_flags: m.security_flags, features: m.features, max_ssf: m.max_ssf }
    }
}

/// Cyrus's relative strength of two mechanisms: positive when `a` is
/// stronger, by the first security property in which they differ, then
/// channel binding, SSF and hash strength.
pub fn strength_order(a: Rank, b: Rank) -> i32 {
    let diff = a.security_flags ^ b.security_flags;
    for flag in [
        sec::NOANONYMOUS,
        sec::NOPLAINTEXT,
        sec::MUTUAL_AUTH,
        sec::NOACTIVE,
        sec::NODICTIONARY,
        sec::FORWARD_SECRECY,
    ] {
        if diff & flag != 0 {
            return if a.security_flags & flag != 0 { 1 } else { -1 };
        }
    }
    if (a.features ^ b.features) & feat::CHANNEL_BINDING != 0 {
        return if a.features & feat::CHANNEL_BINDING != 0 { 1 } else { -1 };
    }
    let hash = |r: Rank| r.security_flags >> 16;
    match (a.max_ssf.cmp(&b.max_ssf), hash(a).cmp(&hash(b))) {
        (std::cmp::Ordering::Greater, _) => 1,
        (std::cmp::Ordering::Less, _) => -1,
        (_, std::cmp::Ordering::Greater) => 1,
        (_, std::cmp::Ordering::Less) => -1,
        _ => 0,
    }
}

/// Inserts `mech` where Cyrus's `sasl_client_add_plugin` puts a new
/// mechanism: first if it is at least as strong as the head, else after
/// every mechanism it does not beat. `rank` gives each mechanism's rank (the
/// caller knows how Cyrus's own plugins rank the mechanisms built in here).
pub fn insert_by_strength(list: &mut Vec<&'static MechInfo>, mech: &'static MechInfo, rank: impl Fn(&MechInfo) -> Rank) {
    let new = rank(mech);
    if list.first().is_none_or(|head| strength_order(new, rank(head)) >= 0) {
        list.insert(0, mech);
        return;
    }
    let mut at = 1;
    while at < list.len() && strength_order(new, rank(list[at])) <= 0 {
        at += 1;
    }
    list.insert(at, mech);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mech::{NewFn, Params, Result, ClientMech, Error};

    fn start(_: &Params<'_>) -> Result<Box<dyn ClientMech>> {
        Err(Error::fail("test"))
    }
    const START: NewFn = start;

    #[test]
    fn otp_goes_where_cyrus_puts_it() {
        // Cyrus's OTP plugin: weaker than DIGEST-MD5 and EXTERNAL (they have
        // MUTUAL_AUTH / NODICTIONARY), stronger than CRAM-MD5 (forward secrecy).
        static OTP: MechInfo = MechInfo {
            name: "OTP",
            max_ssf: 0,
            security_flags: sec::NOPLAINTEXT | sec::NOANONYMOUS | sec::FORWARD_SECRECY,
            features: feat::WANT_CLIENT_FIRST | feat::ALLOWS_PROXY,
            required: &[],
            last_resort: false,
            factory: &START,
        };
        let mut list = MECHANISMS.to_vec();
        insert_by_strength(&mut list, &OTP, |m| Rank::from(m));
        let names: Vec<&str> = list.iter().map(|m| m.name).collect();
        let at = names.iter().position(|n| *n == "OTP").unwrap();
        assert_eq!((names[at - 1], names[at + 1]), ("EXTERNAL", "CRAM-MD5"), "{names:?}");
    }

    #[test]
    fn same_lists_share_a_slot() {
        let _serial = crate::mech::registry::tests::SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let mut list = MECHANISMS.to_vec();
        list.reverse();
        publish(list.clone()).unwrap();
        let first = CURRENT.load(Ordering::Acquire);
        assert_eq!(mechanisms()[0].name, "ANONYMOUS");
        reset();
        assert_eq!(mechanisms()[0].name, MECHANISMS[0].name);
        publish(list).unwrap();
        assert_eq!(CURRENT.load(Ordering::Acquire), first);
        reset();
    }

    /// Every mechanism under any case; duplicates (a client_mech_list
    /// naming one twice) give the first; near misses give nothing.
    fn index_agrees_with_a_scan(list: &[&'static MechInfo]) {
        let mut scratch = None;
        let index = NameIndex::new(list, &mut scratch);
        let scan = |name: &str| list.iter().position(|m| m.name.eq_ignore_ascii_case(name));
        for m in MECHANISMS {
            let lower = m.name.to_ascii_lowercase();
            for name in [m.name, &lower[..], &m.name[1..], &m.name[..m.name.len() - 1]] {
                assert_eq!(index.position(name), scan(name), "{name}");
            }
        }
        for name in ["", "-", "X", "PLAINX", "SCRAM-SHA-2", "scram_sha_1"] {
            assert_eq!(index.position(name), None, "{name}");
        }
    }

    #[test]
    fn the_name_index_finds_what_a_scan_finds() {
        let mut doubled = MECHANISMS.to_vec();
        doubled.extend_from_slice(MECHANISMS);
        // More than 64: the index gives way to scans.
        let many: Vec<&'static MechInfo> = MECHANISMS.iter().cycle().take(70).copied().collect();
        for list in [MECHANISMS, &doubled[..], &many[..]] {
            index_agrees_with_a_scan(list);
        }
        // The built-in list's buckets are the compile-time ones; another
        // list's go to the scratch space; over 64 mechanisms, none.
        let mut scratch = None;
        assert!(NameIndex::new(MECHANISMS, &mut scratch).buckets.is_some_and(|b| std::ptr::eq(b, BUILT_IN.as_ref().unwrap())));
        assert!(scratch.is_none());
        assert!(NameIndex::new(&doubled, &mut scratch).buckets.is_some());
        assert!(scratch.is_some());
        assert!(NameIndex::new(&many, &mut None).buckets.is_none());
        // A published list shares the buckets made when it was published.
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let mut reversed = MECHANISMS.to_vec();
        reversed.reverse();
        publish(reversed).unwrap();
        let mut scratch = None;
        assert!(NameIndex::new(mechanisms(), &mut scratch).buckets.is_some());
        assert!(scratch.is_none());
        assert_eq!(NameIndex::new(mechanisms(), &mut None).position("anonymous"), Some(0));
        index_agrees_with_a_scan(mechanisms());
        reset();
    }

    /// Tests that publish serialise on this (the registry is process-wide).
    pub(crate) static SERIAL: Mutex<()> = Mutex::new(());
}
