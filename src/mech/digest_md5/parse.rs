//! The directive lists DIGEST-MD5 servers send (RFC 2831 sections 2.1.1,
//! 2.1.3 and 7): `name=value` pairs separated by commas, values either
//! tokens or quoted strings with backslash escapes, empty list elements
//! allowed (the `#rule`), linear white space around every element.

use super::super::{Error, Result};

/// RFC 2831 2.1.1: "The size of a digest-challenge MUST be less than 2048
/// bytes." Cyrus refuses any server message above 2048 bytes.
pub(super) const MAX_MESSAGE: usize = 2048;

/// No single value of a well-formed challenge comes near this.
pub(super) const MAX_VALUE: usize = 1024;

/// One `name=value` pair with quoting undone. The name keeps the server's
/// spelling; directive names are compared ignoring ASCII case.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Directive {
    pub name: String,
    pub value: String,
}

fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// RFC 2616 token characters: printable ASCII except separators.
fn is_token(b: u8) -> bool {
    b > b' '
        && b < 0x7f
        && !matches!(
            b,
            b'(' | b')' | b'<' | b'>' | b'@' | b',' | b';' | b':' | b'\\' | b'"' | b'/' | b'[' | b']' | b'?' | b'='
                | b'{' | b'}'
        )
}

fn skip_lws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_lws(b[i]) {
        i += 1;
    }
    i
}

/// Splits a server message into its directives, in order. Rejects (with
/// `BadProt`) messages over [`MAX_MESSAGE`], text that is not UTF-8, NUL or
/// other control characters inside values, unterminated quoted strings,
/// missing `=` or value, anything but a comma after a value, and values
/// over [`MAX_VALUE`] bytes.
pub(super) fn directives(input: &[u8]) -> Result<Vec<Directive>> {
    if input.len() > MAX_MESSAGE {
        return Err(Error::bad_prot(format!("DIGEST-MD5 server message exceeds {MAX_MESSAGE} bytes")));
    }
    let text = std::str::from_utf8(input).map_err(|_| Error::bad_prot("DIGEST-MD5 server message is not UTF-8"))?;
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        // Empty elements and white space between elements.
        while i < b.len() && (is_lws(b[i]) || b[i] == b',') {
            i += 1;
        }
        if i == b.len() {
            return Ok(out);
        }
        let start = i;
        while i < b.len() && is_token(b[i]) {
            i += 1;
        }
        if i == start {
            return Err(Error::bad_prot("DIGEST-MD5: expected a directive name"));
        }
        let name = &text[start..i];
        i = skip_lws(b, i);
        if b.get(i) != Some(&b'=') {
            return Err(Error::bad_prot(format!("DIGEST-MD5: directive {name} has no '='")));
        }
        i = skip_lws(b, i + 1);
        let value = if b.get(i) == Some(&b'"') {
            let (value, next) = quoted_string(b, i + 1, name)?;
            i = next;
            value
        } else {
            let start = i;
            while i < b.len() && is_token(b[i]) {
                i += 1;
            }
            if i == start {
                return Err(Error::bad_prot(format!("DIGEST-MD5: directive {name} has no value")));
            }
            text[start..i].to_owned()
        };
        if value.len() > MAX_VALUE {
            return Err(Error::bad_prot(format!("DIGEST-MD5: value of {name} is too long")));
        }
        i = skip_lws(b, i);
        if i < b.len() && b[i] != b',' {
            return Err(Error::bad_prot(format!("DIGEST-MD5: unexpected text after the value of {name}")));
        }
        out.push(Directive { name: name.to_owned(), value });
    }
}

/// Reads a quoted string whose opening quote precedes `i`; returns the
/// unescaped value and the index after the closing quote.
fn quoted_string(b: &[u8], mut i: usize, name: &str) -> Result<(String, usize)> {
    let mut value = Vec::new();
    loop {
        let Some(&c) = b.get(i) else {
            return Err(Error::bad_prot(format!("DIGEST-MD5: unterminated quoted value of {name}")));
        };
        i += 1;
        let c = match c {
            b'"' => break,
            b'\\' => match b.get(i) {
                Some(&e) => {
                    i += 1;
                    e
                }
                None => return Err(Error::bad_prot(format!("DIGEST-MD5: unterminated quoted value of {name}"))),
            },
            c => c,
        };
        // qdtext is TEXT: no control characters other than white space.
        if (c < b' ' && !is_lws(c)) || c == 0x7f {
            return Err(Error::bad_prot(format!("DIGEST-MD5: control character in the value of {name}")));
        }
        value.push(c);
    }
    // Only ASCII bytes were escaped or dropped, so the UTF-8 stays whole.
    let value = String::from_utf8(value).map_err(|_| Error::bad_prot("DIGEST-MD5 server message is not UTF-8"))?;
    Ok((value, i))
}

/// Splits a comma-separated list inside a value (`qop-options`,
/// `cipher-opts`): white space trimmed, empty elements dropped.
pub(super) fn list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(|v| v.trim_matches(|c: char| c.is_ascii() && is_lws(c as u8))).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mech::Code;

    fn pairs(input: &str) -> Vec<(String, String)> {
        directives(input.as_bytes()).unwrap().into_iter().map(|d| (d.name, d.value)).collect()
    }

    fn err(input: &[u8]) -> Code {
        directives(input).unwrap_err().code
    }

    #[test]
    fn rfc2831_challenge() {
        let p = pairs(
            "realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\",qop=\"auth\",algorithm=md5-sess,charset=utf-8",
        );
        assert_eq!(p.len(), 5);
        assert_eq!(p[0], ("realm".into(), "elwood.innosoft.com".into()));
        assert_eq!(p[3], ("algorithm".into(), "md5-sess".into()));
        assert_eq!(p[4], ("charset".into(), "utf-8".into()));
    }

    #[test]
    fn white_space_and_empty_elements() {
        let p = pairs(" , ,realm = \"a\" ,, \t\r\n nonce=\"n\" ,maxbuf=1024 , ");
        assert_eq!(p, vec![("realm".into(), "a".into()), ("nonce".into(), "n".into()), ("maxbuf".into(), "1024".into())]);
        assert!(pairs("").is_empty());
        assert!(pairs(" , , ").is_empty());
    }

    #[test]
    fn escapes() {
        let p = pairs(r#"realm="a\"b\\c\d",nonce="""#);
        assert_eq!(p[0].1, "a\"b\\cd");
        assert_eq!(p[1].1, "");
        // A quote or comma inside a quoted string does not end it.
        assert_eq!(pairs(r#"qop="auth,auth-int""#)[0].1, "auth,auth-int");
        // UTF-8 inside quotes survives, escaped or not.
        assert_eq!(pairs("realm=\"\u{e9}\\\u{e9}\"")[0].1, "\u{e9}\u{e9}");
    }

    #[test]
    fn multiple_realms_in_order() {
        let p = pairs(r#"realm="one",nonce="x",realm="two",realm="three""#);
        let realms: Vec<_> = p.iter().filter(|(n, _)| n == "realm").map(|(_, v)| v.as_str()).collect();
        assert_eq!(realms, ["one", "two", "three"]);
    }

    #[test]
    fn malformed() {
        assert_eq!(err(br#"realm="abc"#), Code::BadProt); // unterminated
        assert_eq!(err(br#"realm="abc\"#), Code::BadProt); // escape at the end
        assert_eq!(err(b"realm"), Code::BadProt); // no '='
        assert_eq!(err(b"realm=,nonce=x"), Code::BadProt); // no value
        assert_eq!(err(br#"realm="a" x,nonce="n""#), Code::BadProt); // junk after value
        assert_eq!(err(br#"realm="a"nonce="n""#), Code::BadProt); // missing comma
        assert_eq!(err(b"=x"), Code::BadProt); // no name
        assert_eq!(err(b"realm=\"a\0b\""), Code::BadProt); // NUL
        assert_eq!(err(b"realm=\"a\x01b\""), Code::BadProt); // control character
        assert_eq!(err(b"realm=\"\xff\""), Code::BadProt); // not UTF-8
        assert_eq!(err(b"realm=a\0"), Code::BadProt);
    }

    #[test]
    fn size_limits() {
        let long = "a".repeat(MAX_VALUE + 1);
        assert_eq!(err(format!("nonce=\"{long}\"").as_bytes()), Code::BadProt);
        assert_eq!(err(format!("nonce={long}").as_bytes()), Code::BadProt);
        let ok = "a".repeat(MAX_VALUE);
        assert_eq!(pairs(&format!("nonce=\"{ok}\""))[0].1.len(), MAX_VALUE);
        let huge = format!("nonce=\"x\",{}", "realm=\"r\",".repeat(MAX_MESSAGE / 10));
        assert!(huge.len() > MAX_MESSAGE);
        assert_eq!(err(huge.as_bytes()), Code::BadProt);
    }

    #[test]
    fn lists() {
        assert_eq!(list(" auth , auth-int,,auth-conf ,").collect::<Vec<_>>(), ["auth", "auth-int", "auth-conf"]);
        assert_eq!(list(" , ").count(), 0);
    }
}
