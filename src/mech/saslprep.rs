//! SASLprep (RFC 4013) for user names and passwords. (Stub: being written.)
