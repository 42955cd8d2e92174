//! The `ip;port` strings of `sasl_client_new` and `SASL_IP*PORT`, accepted
//! exactly as Cyrus accepts them: the host is what precedes the first `;`,
//! the port only digits, and the pair must pass the system's
//! `getaddrinfo(AI_NUMERICHOST)`. So every numeric form the C library knows
//! is taken, IPv6 with a `%scope` included (mutt and libmemcached pass
//! `fe80::1%eth0;143` from getnameinfo), and no name is ever looked up.

use std::ffi::CString;
use std::ptr;

/// The longest host part Cyrus copies (NI_MAXHOST).
const MAX_HOST: usize = 1025;

/// Whether `s` is an address string Cyrus accepts.
pub(crate) fn valid_ip_port(s: &str) -> bool {
    let (host, port) = s.split_once(';').unwrap_or((s, ""));
    if host.len() >= MAX_HOST || !port.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let (Ok(host), Ok(port)) = (CString::new(host), CString::new(port)) else { return false };
    // SAFETY: an all-zero addrinfo is a valid "no hints" value.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = libc::AF_UNSPEC;
    hints.ai_socktype = libc::SOCK_STREAM;
    hints.ai_flags = libc::AI_PASSIVE | libc::AI_NUMERICHOST;
    let mut found: *mut libc::addrinfo = ptr::null_mut();
    // SAFETY: valid C strings, hints and out-pointer; a numeric host never
    // leads to a name lookup.
    let rc = unsafe { libc::getaddrinfo(host.as_ptr(), port.as_ptr(), &hints, &mut found) };
    if rc != 0 {
        return false;
    }
    // SAFETY: the list getaddrinfo returned, freed once.
    unsafe { libc::freeaddrinfo(found) };
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_cyrus_accepts() {
        for ok in [
            "127.0.0.1;389",
            "127.0.0.1",
            "127.0.0.1;",
            "127.1;25",
            "::1;143",
            "::ffff:1.2.3.4;80",
            "fe80::1%lo;143",
            "fe80::1%1;143",
        ] {
            assert!(valid_ip_port(ok), "{ok}");
        }
        for bad in [
            "",
            "bogus",
            "host.example.com;1",
            "1.2.3.4:5",
            "1.2.3.4;5;6",
            "1.2.3.4;12a",
            "[::1];1",
            "fe80::1%nosuchif0;1",
        ] {
            assert!(!valid_ip_port(bad), "{bad:?}");
        }
    }
}
