//! The binding to the system's GSS-API library: the project's second C
//! edge, behind [`crate::mech::gss::Provider`].
//!
//! * **Loading.** Nothing Kerberos is linked at build time. The library is
//!   opened with `dlopen` (libloading) once, thread-safely, at the first use
//!   of a Kerberos mechanism ([`system`]): MIT's `libgssapi_krb5.so.2`, else
//!   Heimdal's `libgssapi.so.3`. A process that never uses Kerberos never
//!   loads it; when neither library can be opened, the mechanisms are passed
//!   over with that reason. The library stays loaded for the life of the
//!   process (its handles may outlive any connection).
//! * **Declarations.** [`ffi`] declares by hand, from RFC 2744, only the
//!   calls used here; OIDs are this module's own constants (RFC 2744,
//!   RFC 4178, RFC 5801), so no data symbol is read from the library.
//! * **Ownership.** Every name, credential, context and output buffer the
//!   library returns is held by an RAII type here ([`Name`], [`Cred`],
//!   [`Context`], [`OutBuffer`], [`BufferSet`]) and released exactly once,
//!   on every path, when it drops. An application's credential
//!   (`SASL_GSS_CREDS`) is borrowed, never released.
//! * **Pointers.** Everything the library hands back is checked before use:
//!   a buffer with a length and no data is a failure, text is read within
//!   its length, status text is read at most a few messages deep.
//! * **Panics.** No Rust code here is called from C, so a panic can only
//!   unwind into the exported function that called in, which catches it.
//! * **Threads.** MIT's and Heimdal's libraries are thread-safe for distinct
//!   objects; a [`Context`] is used by one connection at a time.
#![allow(clippy::missing_safety_doc)]

pub mod ffi;

use std::ffi::c_int;
use std::ptr;
use std::sync::OnceLock;

use ffi::*;

use crate::mech::gss::{CredHandle, GssMech, InitOutput, Provider, SecContext, Status};

/// The libraries tried, in order.
const LIBRARIES: [&str; 2] = ["libgssapi_krb5.so.2", "libgssapi.so.3"];

/// An OID's DER contents, as a `gss_OID_desc` the library only reads.
struct Oid(gss_OID_desc);
// SAFETY: points to immutable 'static bytes; the library never writes OIDs
// passed in.
unsafe impl Sync for Oid {}

impl Oid {
    fn ptr(&'static self) -> gss_OID {
        ptr::addr_of!(self.0).cast_mut()
    }
}

macro_rules! oid {
    ($bytes:expr) => {
        Oid(gss_OID_desc { length: $bytes.len() as OM_uint32, elements: $bytes.as_ptr().cast_mut().cast() })
    };
}

/// Kerberos V5, 1.2.840.113554.1.2.2.
static KRB5: Oid = oid!(b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02");
/// SPNEGO, 1.3.6.1.5.5.2.
static SPNEGO: Oid = oid!(b"\x2b\x06\x01\x05\x05\x02");
/// IAKERB, 1.3.6.1.5.2.5: Kerberos credentials without MIT's refresh.
static IAKERB: Oid = oid!(b"\x2b\x06\x01\x05\x02\x05");
/// `GSS_C_NT_HOSTBASED_SERVICE`, 1.2.840.113554.1.2.1.4.
static HOSTBASED_SERVICE: Oid = oid!(b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x01\x04");
/// `GSS_C_SEC_CONTEXT_SASL_SSF`, 1.2.840.113554.1.2.2.5.15.
static SASL_SSF: Oid = oid!(b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x05\x0f");

fn mech_oid(mech: GssMech) -> &'static Oid {
    match mech {
        GssMech::Krb5 => &KRB5,
        GssMech::Spnego => &SPNEGO,
    }
}

/// The loaded library's entry points.
pub struct Api {
    acquire_cred: AcquireCred,
    /// Optional: without it, a client keytab alone does not count.
    acquire_cred_from: Option<AcquireCredFrom>,
    release_cred: ReleaseCred,
    inquire_cred: InquireCred,
    init_sec_context: InitSecContext,
    delete_sec_context: DeleteSecContext,
    inquire_context: InquireContext,
    wrap_size_limit: WrapSizeLimit,
    wrap: Wrap,
    unwrap: Unwrap,
    display_status: DisplayStatus,
    import_name: ImportName,
    display_name: DisplayName,
    release_name: ReleaseName,
    release_buffer: ReleaseBuffer,
    /// Optional: without it, the SSF falls back to Cyrus's default.
    inquire_by_oid: Option<(InquireSecContextByOid, ReleaseBufferSet)>,
    /// Keeps the entry points valid: never unloaded.
    _library: libloading::Library,
}

static API: OnceLock<Result<Api, String>> = OnceLock::new();

/// The system's GSS-API, loaded at the first call.
pub fn system() -> Result<&'static dyn Provider, String> {
    match API.get_or_init(load) {
        Ok(api) => Ok(api),
        Err(why) => Err(why.clone()),
    }
}

fn load() -> Result<Api, String> {
    let mut reasons = Vec::new();
    for name in LIBRARIES {
        // SAFETY: loading a system library runs its initialisers; MIT's and
        // Heimdal's GSS-API libraries are meant to be loaded this way.
        match unsafe { libloading::Library::new(name) } {
            Ok(library) => match Api::resolve(library) {
                Ok(api) => return Ok(api),
                Err(why) => reasons.push(format!("{name}: {why}")),
            },
            Err(e) => reasons.push(e.to_string()),
        }
    }
    Err(format!("no usable GSS-API library ({})", reasons.join("; ")))
}

impl Api {
    fn resolve(library: libloading::Library) -> Result<Api, String> {
        /// A function pointer of type `T` for `name`.
        fn get<T: Copy>(library: &libloading::Library, name: &str) -> Result<T, String> {
            let symbol = format!("{name}\0");
            // SAFETY: each symbol is a function with the RFC 2744 signature
            // its type alias declares.
            unsafe { library.get::<T>(symbol.as_bytes()) }.map(|s| *s).map_err(|e| format!("{name}: {e}"))
        }
        let l = &library;
        let inquire_by_oid = get(l, "gss_inquire_sec_context_by_oid").ok().zip(get(l, "gss_release_buffer_set").ok());
        Ok(Api {
            acquire_cred: get(l, "gss_acquire_cred")?,
            acquire_cred_from: get(l, "gss_acquire_cred_from").ok(),
            release_cred: get(l, "gss_release_cred")?,
            inquire_cred: get(l, "gss_inquire_cred")?,
            init_sec_context: get(l, "gss_init_sec_context")?,
            delete_sec_context: get(l, "gss_delete_sec_context")?,
            inquire_context: get(l, "gss_inquire_context")?,
            wrap_size_limit: get(l, "gss_wrap_size_limit")?,
            wrap: get(l, "gss_wrap")?,
            unwrap: get(l, "gss_unwrap")?,
            display_status: get(l, "gss_display_status")?,
            import_name: get(l, "gss_import_name")?,
            display_name: get(l, "gss_display_name")?,
            release_name: get(l, "gss_release_name")?,
            release_buffer: get(l, "gss_release_buffer")?,
            inquire_by_oid,
            _library: library,
        })
    }

    /// A status from a failed call, or Ok.
    fn check(major: OM_uint32, minor: OM_uint32) -> Result<OM_uint32, Status> {
        if gss_error(major) { Err(Status { major, minor }) } else { Ok(major) }
    }

    /// The messages of one status code, concatenated as Cyrus does.
    fn status_text(&self, code: OM_uint32, kind: c_int) -> Option<String> {
        let mut text = String::new();
        let mut context: OM_uint32 = 0;
        // A misbehaving library could keep `context` non-zero forever.
        for _ in 0..8 {
            let mut minor = 0;
            let mut buf = OutBuffer::new(self);
            // SAFETY: valid out-pointers; a NULL mech means the default.
            let major = unsafe {
                (self.display_status)(&mut minor, code, kind, ptr::null_mut(), &mut context, buf.as_mut_ptr())
            };
            if gss_error(major) {
                return None;
            }
            text.push_str(&String::from_utf8_lossy(buf.bytes().ok()?));
            if context == 0 {
                break;
            }
        }
        Some(text)
    }

    /// A name's text (`gss_display_name`).
    fn display(&self, name: &Name<'_>) -> Result<String, Status> {
        let mut minor = 0;
        let mut buf = OutBuffer::new(self);
        // SAFETY: a valid name and out-pointers.
        let major = unsafe { (self.display_name)(&mut minor, name.raw, buf.as_mut_ptr(), ptr::null_mut()) };
        Self::check(major, minor)?;
        Ok(String::from_utf8_lossy(buf.bytes()?).into_owned())
    }

    /// The remaining lifetime of a credential (`gss_inquire_cred`).
    fn lifetime(&self, cred: gss_cred_id_t) -> Result<OM_uint32, Status> {
        let (mut minor, mut lifetime) = (0, 0);
        // SAFETY: `cred` is a live credential; NULL out-pointers are allowed.
        let major = unsafe {
            (self.inquire_cred)(&mut minor, cred, ptr::null_mut(), &mut lifetime, ptr::null_mut(), ptr::null_mut())
        };
        Self::check(major, minor).map(|_| lifetime)
    }
}

/// The application's credential handle as the C type.
fn app_cred(cred: Option<CredHandle>) -> gss_cred_id_t {
    cred.map_or(ptr::null_mut(), |c| ptr::with_exposed_provenance_mut(c.0.get()))
}

impl Api {
    /// The lifetime of a fresh initiator credential for `mech` (from
    /// `store`, or the defaults), released at once.
    fn acquire_lifetime(&self, mech: &'static Oid, store: Option<&gss_key_value_set_desc>) -> Result<u32, Status> {
        let mech_set = gss_OID_set_desc { count: 1, elements: mech.ptr() };
        let mech_set = ptr::addr_of!(mech_set).cast_mut();
        let (mut minor, mut time_rec) = (0, 0);
        let mut cred = Cred { api: self, raw: ptr::null_mut() };
        let major = match (store, self.acquire_cred_from) {
            // SAFETY: valid in and out pointers; the set and store are only read.
            (None, _) => unsafe {
                (self.acquire_cred)(
                    &mut minor,
                    ptr::null_mut(),
                    GSS_C_INDEFINITE,
                    mech_set,
                    GSS_C_INITIATE,
                    &mut cred.raw,
                    ptr::null_mut(),
                    &mut time_rec,
                )
            },
            // SAFETY: as above.
            (Some(store), Some(acquire_from)) => unsafe {
                acquire_from(
                    &mut minor,
                    ptr::null_mut(),
                    GSS_C_INDEFINITE,
                    mech_set,
                    GSS_C_INITIATE,
                    store,
                    &mut cred.raw,
                    ptr::null_mut(),
                    &mut time_rec,
                )
            },
            (Some(_), None) => GSS_S_UNAVAILABLE,
        };
        Self::check(major, minor)?;
        if time_rec > 0 { Ok(time_rec) } else { self.lifetime(cred.raw) }
    }

    /// Whether a client keytab could get tickets at the first use, asked
    /// with an empty ticket cache (IAKERB: nothing is sent to the KDC).
    fn client_keytab_usable(&self) -> bool {
        let element = gss_key_value_element_desc { key: c"ccache".as_ptr(), value: c"MEMORY:sasl2-rs probe".as_ptr() };
        let store = gss_key_value_set_desc { count: 1, elements: &element };
        self.acquire_lifetime(&IAKERB, Some(&store)).is_ok()
    }

    fn expired_text(&self) -> String {
        self.status_text(GSS_S_CREDENTIALS_EXPIRED, GSS_C_GSS_CODE).unwrap_or_default()
    }

    /// A credential's usability as text for selection.
    fn usable(&self, lifetime: Result<u32, Status>) -> Result<(), String> {
        match lifetime {
            Ok(0) => Err(self.expired_text()),
            Ok(_) => Ok(()),
            Err(s) if s.major & 0xffff_0000 == GSS_S_CREDENTIALS_EXPIRED => Err(self.expired_text()),
            Err(s) => Err(self.display_status(s)),
        }
    }
}

impl Provider for Api {
    fn check_credential(&self, cred: Option<CredHandle>) -> Result<(), String> {
        if cred.is_some() {
            return self.usable(self.lifetime(app_cred(cred)));
        }
        // MIT's gss_acquire_cred for Kerberos tries to refresh an expired
        // (or nearly expired) ticket from the client keytab, sending an
        // AS-REQ to the KDC even when there is no keytab. Acquiring for
        // IAKERB reads the same ticket cache without that.
        match self.acquire_lifetime(&IAKERB, None) {
            Ok(t) if t > 0 => Ok(()),
            // Not MIT: Kerberos itself.
            Err(s) if s.major & 0xffff_0000 == GSS_S_BAD_MECH => self.usable(self.acquire_lifetime(&KRB5, None)),
            // No ticket or an expired one: a client keytab still gets one.
            _ if self.client_keytab_usable() => Ok(()),
            none => self.usable(none),
        }
    }

    fn new_context(
        &'static self,
        mech: GssMech,
        service: &str,
        host: &str,
        cred: Option<CredHandle>,
    ) -> Result<Box<dyn SecContext>, Status> {
        let text = format!("{service}@{host}");
        let mut input = gss_buffer_desc::borrowed(text.as_bytes());
        let (mut minor, mut raw) = (0, ptr::null_mut());
        // SAFETY: a valid input buffer and OID; the name is written to `raw`.
        let major = unsafe { (self.import_name)(&mut minor, &mut input, HOSTBASED_SERVICE.ptr(), &mut raw) };
        let target = Name { api: self, raw };
        Self::check(major, minor)?;
        Ok(Box::new(Context { api: self, raw: ptr::null_mut(), target, mech: mech_oid(mech), cred: app_cred(cred) }))
    }

    fn display_status(&self, status: Status) -> String {
        let major = self.status_text(status.major, GSS_C_GSS_CODE);
        let minor = self.status_text(status.minor, GSS_C_MECH_CODE);
        format!(
            "{} ({})",
            major.as_deref().unwrap_or("(could not get major error message)"),
            minor.as_deref().unwrap_or("could not get minor error message")
        )
    }
}

/// An output buffer the library fills, released on drop.
struct OutBuffer<'a> {
    api: &'a Api,
    desc: gss_buffer_desc,
}

impl<'a> OutBuffer<'a> {
    fn new(api: &'a Api) -> Self {
        OutBuffer { api, desc: gss_buffer_desc::EMPTY }
    }

    fn as_mut_ptr(&mut self) -> gss_buffer_t {
        &mut self.desc
    }

    /// The bytes the library wrote; a length without data is a failure.
    fn bytes(&self) -> Result<&[u8], Status> {
        match (self.desc.length, self.desc.value.is_null()) {
            (0, _) => Ok(&[]),
            (_, true) => Err(Status { major: GSS_S_FAILURE, minor: 0 }),
            // SAFETY: the library allocated `length` bytes at `value`.
            (n, false) => Ok(unsafe { std::slice::from_raw_parts(self.desc.value.cast::<u8>(), n) }),
        }
    }
}

impl Drop for OutBuffer<'_> {
    fn drop(&mut self) {
        if !self.desc.value.is_null() || self.desc.length != 0 {
            let mut minor = 0;
            // SAFETY: a buffer the library allocated, released once.
            unsafe { (self.api.release_buffer)(&mut minor, &mut self.desc) };
        }
    }
}

/// A name the library allocated, released on drop.
struct Name<'a> {
    api: &'a Api,
    raw: gss_name_t,
}

impl Drop for Name<'_> {
    fn drop(&mut self) {
        if !self.raw.is_null() {
            let mut minor = 0;
            // SAFETY: a name the library allocated, released once.
            unsafe { (self.api.release_name)(&mut minor, &mut self.raw) };
        }
    }
}

/// A credential we acquired (never the application's), released on drop.
struct Cred<'a> {
    api: &'a Api,
    raw: gss_cred_id_t,
}

impl Drop for Cred<'_> {
    fn drop(&mut self) {
        if !self.raw.is_null() {
            let mut minor = 0;
            // SAFETY: a credential we acquired, released once.
            unsafe { (self.api.release_cred)(&mut minor, &mut self.raw) };
        }
    }
}

/// A buffer set from `gss_inquire_sec_context_by_oid`, released on drop.
struct BufferSet {
    release: ReleaseBufferSet,
    raw: gss_buffer_set_t,
}

impl Drop for BufferSet {
    fn drop(&mut self) {
        if !self.raw.is_null() {
            let mut minor = 0;
            // SAFETY: a set the library allocated, released once.
            unsafe { (self.release)(&mut minor, &mut self.raw) };
        }
    }
}

/// An initiator's security context and its target name.
struct Context {
    api: &'static Api,
    raw: gss_ctx_id_t,
    target: Name<'static>,
    mech: &'static Oid,
    /// The application's credential, or `GSS_C_NO_CREDENTIAL`.
    cred: gss_cred_id_t,
}

// SAFETY: the handles belong to this context alone and the libraries allow
// an object to move between threads; it is never used concurrently (&mut).
unsafe impl Send for Context {}

impl Drop for Context {
    fn drop(&mut self) {
        self.restart();
    }
}

impl SecContext for Context {
    fn init(&mut self, req_flags: u32, channel_binding: Option<&[u8]>, input: Option<&[u8]>)
    -> Result<InitOutput, Status> {
        let mut bindings = channel_binding.map(|data| gss_channel_bindings_struct {
            initiator_addrtype: GSS_C_AF_UNSPEC,
            initiator_address: gss_buffer_desc::EMPTY,
            acceptor_addrtype: GSS_C_AF_UNSPEC,
            acceptor_address: gss_buffer_desc::EMPTY,
            application_data: gss_buffer_desc::borrowed(data),
        });
        let bindings_ptr = bindings.as_mut().map_or(ptr::null_mut(), |b| ptr::addr_of_mut!(*b));
        let mut input = input.map(gss_buffer_desc::borrowed);
        let input_ptr = input.as_mut().map_or(ptr::null_mut(), |b| ptr::addr_of_mut!(*b));
        let mut output = OutBuffer::new(self.api);
        let (mut minor, mut ret_flags) = (0, 0);
        // SAFETY: every pointer is valid or NULL where RFC 2744 allows it;
        // `raw` is NULL or the context this call built before.
        let major = unsafe {
            (self.api.init_sec_context)(
                &mut minor,
                self.cred,
                &mut self.raw,
                self.target.raw,
                self.mech.ptr(),
                req_flags,
                0,
                bindings_ptr,
                input_ptr,
                ptr::null_mut(),
                output.as_mut_ptr(),
                &mut ret_flags,
                ptr::null_mut(),
            )
        };
        Api::check(major, minor)?;
        Ok(InitOutput {
            token: output.bytes()?.to_vec(),
            complete: major & GSS_S_CONTINUE_NEEDED == 0,
            flags: ret_flags,
        })
    }

    fn restart(&mut self) {
        if !self.raw.is_null() {
            let mut minor = 0;
            // SAFETY: a context the library built, deleted once (the call
            // sets `raw` back to GSS_C_NO_CONTEXT).
            unsafe { (self.api.delete_sec_context)(&mut minor, &mut self.raw, ptr::null_mut()) };
            self.raw = ptr::null_mut();
        }
    }

    fn wrap(&mut self, conf: bool, msg: &[u8], out: &mut Vec<u8>) -> Result<bool, Status> {
        let mut input = gss_buffer_desc::borrowed(msg);
        let mut output = OutBuffer::new(self.api);
        let (mut minor, mut conf_state) = (0, 0);
        // SAFETY: an established context and valid buffers.
        let major = unsafe {
            (self.api.wrap)(
                &mut minor,
                self.raw,
                conf as c_int,
                GSS_C_QOP_DEFAULT,
                &mut input,
                &mut conf_state,
                output.as_mut_ptr(),
            )
        };
        Api::check(major, minor)?;
        out.extend_from_slice(output.bytes()?);
        Ok(conf_state != 0)
    }

    fn unwrap(&mut self, token: &[u8], out: &mut Vec<u8>) -> Result<bool, Status> {
        let mut input = gss_buffer_desc::borrowed(token);
        let mut output = OutBuffer::new(self.api);
        let (mut minor, mut conf_state) = (0, 0);
        // SAFETY: an established context and valid buffers.
        let major = unsafe {
            (self.api.unwrap)(&mut minor, self.raw, &mut input, output.as_mut_ptr(), &mut conf_state, ptr::null_mut())
        };
        Api::check(major, minor)?;
        out.extend_from_slice(output.bytes()?);
        Ok(conf_state != 0)
    }

    fn wrap_size_limit(&self, conf: bool, max_token: u32) -> Result<u32, Status> {
        let (mut minor, mut max_input) = (0, 0);
        // SAFETY: an established context and a valid out-pointer.
        let major = unsafe {
            (self.api.wrap_size_limit)(&mut minor, self.raw, conf as c_int, GSS_C_QOP_DEFAULT, max_token, &mut max_input)
        };
        Api::check(major, minor).map(|_| max_input)
    }

    fn sasl_ssf(&self) -> Result<Option<u32>, Status> {
        let Some((inquire, release)) = self.api.inquire_by_oid else { return Ok(None) };
        let mut set = BufferSet { release, raw: ptr::null_mut() };
        let mut minor = 0;
        // SAFETY: an established context, a valid OID and out-pointer.
        let major = unsafe { inquire(&mut minor, self.raw, SASL_SSF.ptr(), &mut set.raw) };
        match major {
            GSS_S_UNAVAILABLE => return Ok(None),
            // Heimdal answers this way for attributes it does not know.
            GSS_S_FAILURE if minor == 0 => return Ok(None),
            _ => Api::check(major, minor)?,
        };
        let malformed = Status { major: GSS_S_FAILURE, minor: 0 };
        // SAFETY: NULL or a set the library filled.
        let set_desc = unsafe { set.raw.as_ref() }.ok_or(malformed)?;
        if set_desc.count != 1 || set_desc.elements.is_null() {
            return Err(malformed);
        }
        // SAFETY: `count` (1) elements at `elements`.
        let element = unsafe { &*set_desc.elements };
        if element.length != 4 || element.value.is_null() {
            return Err(malformed);
        }
        // SAFETY: 4 bytes at `value`.
        let bytes = unsafe { std::slice::from_raw_parts(element.value.cast::<u8>(), 4) };
        Ok(Some(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])))
    }

    fn initiator_name(&self) -> Result<String, Status> {
        let mut minor = 0;
        let mut name = Name { api: self.api, raw: ptr::null_mut() };
        // SAFETY: an established context; NULL for the values not wanted.
        let major = unsafe {
            (self.api.inquire_context)(
                &mut minor,
                self.raw,
                &mut name.raw,
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        Api::check(major, minor)?;
        self.api.display(&name)
    }
}
