//! C API of tw_mcap (tw_mcap.h). Every entry point runs inside catch_unwind: a panic in the
//! mcap crate on a corrupt file becomes an error code and a message, never an abort.
// The C entry points take raw pointers by design; tw_mcap.h states each one's contract.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

mod catalog;
mod chunk;
mod err;
mod ffi_write;
mod reader;
mod scan;
mod summary;
mod validate;
mod writer;

use err::{Error, Result, TW_EINTEGRITY, TW_EINVAL, TW_ENOT_FOUND};
use reader::{Options, Reader};
use std::borrow::Cow;
use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

thread_local! {
    static PANIC_MSG: RefCell<String> = const { RefCell::new(String::new()) };
}

/// A library never prints: the panic hook keeps the message for the error text instead.
fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let loc = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let what = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            PANIC_MSG.with(|m| *m.borrow_mut() = format!("{what}{loc}"));
        }));
    });
}

/// Copies s into the caller's buffer (truncated, always NUL-terminated).
fn put_msg(msg: *mut c_char, sz: usize, s: &str) {
    if msg.is_null() || sz == 0 {
        return;
    }
    let n = s.len().min(sz - 1);
    // SAFETY: the caller gives a buffer of sz bytes; n < sz.
    unsafe {
        ptr::copy_nonoverlapping(s.as_ptr(), msg as *mut u8, n);
        *msg.add(n) = 0;
    }
}

/// Runs f, turning an Err or a panic into a tw_err code and a message.
pub(crate) fn guard<F: FnOnce() -> Result<c_int>>(msg: *mut c_char, sz: usize, f: F) -> c_int {
    quiet_panics();
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            put_msg(msg, sz, &e.msg);
            e.code
        }
        Err(_) => {
            let p = PANIC_MSG.with(|m| m.borrow().clone());
            put_msg(msg, sz, &format!("internal error on corrupt input (caught panic: {p})"));
            TW_EINTEGRITY
        }
    }
}

/// A borrowed string from C; NULL is an error, invalid UTF-8 is replaced.
pub(crate) fn cs<'a>(p: *const c_char, what: &str) -> Result<Cow<'a, str>> {
    if p.is_null() {
        return Err(Error::new(TW_EINVAL, format!("{what} is NULL")));
    }
    // SAFETY: a non-NULL pointer from C is a NUL-terminated string.
    Ok(unsafe { CStr::from_ptr(p) }.to_string_lossy())
}

/// A file path from C, byte for byte (a Linux path need not be UTF-8).
pub(crate) fn cpath(p: *const c_char) -> Result<std::path::PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    if p.is_null() {
        return Err(Error::new(TW_EINVAL, "path is NULL"));
    }
    // SAFETY: a non-NULL pointer from C is a NUL-terminated string.
    let b = unsafe { CStr::from_ptr(p) }.to_bytes();
    Ok(std::ffi::OsStr::from_bytes(b).into())
}

fn reader_ref<'a>(r: *const Reader) -> Result<&'a Reader> {
    // SAFETY: r is NULL or a pointer returned by tw_mcap_reader_open and not yet closed.
    unsafe { r.as_ref() }.ok_or_else(|| Error::new(TW_EINVAL, "reader is NULL"))
}

fn reader_mut<'a>(r: *mut Reader) -> Result<&'a mut Reader> {
    // SAFETY: as reader_ref; the caller uses a handle from one thread at a time.
    unsafe { r.as_mut() }.ok_or_else(|| Error::new(TW_EINVAL, "reader is NULL"))
}

fn out_ref<'a, T>(p: *mut T) -> Result<&'a mut T> {
    // SAFETY: a non-NULL out-parameter points to a T owned by the caller.
    unsafe { p.as_mut() }.ok_or_else(|| Error::new(TW_EINVAL, "out-parameter is NULL"))
}

#[repr(C)]
pub struct ReadOpts {
    max_record_bytes: u64,
    max_buffer_bytes: u64,
}

#[no_mangle]
pub extern "C" fn tw_mcap_read_opts_init(o: *mut ReadOpts) {
    if let Ok(o) = out_ref(o) {
        *o = ReadOpts {
            max_record_bytes: 256 << 20,
            max_buffer_bytes: 512 << 20,
        };
    }
}

#[no_mangle]
pub extern "C" fn tw_mcap_reader_open(
    path: *const c_char,
    opts: *const ReadOpts,
    out: *mut *mut Reader,
    msg: *mut c_char,
    msgsz: usize,
) -> c_int {
    guard(msg, msgsz, || {
        let out = out_ref(out)?;
        *out = ptr::null_mut();
        let path = cpath(path)?;
        // SAFETY: opts is NULL or points to a caller's tw_mcap_read_opts.
        let (rec, buf) = match unsafe { opts.as_ref() } {
            Some(o) => (o.max_record_bytes, o.max_buffer_bytes),
            None => (256 << 20, 512 << 20),
        };
        let r = Reader::open(
            &path,
            Options {
                max_record: rec.max(1 << 16),
                max_buffer: buf,
            },
        )?;
        *out = Box::into_raw(Box::new(r));
        Ok(0)
    })
}

#[no_mangle]
pub extern "C" fn tw_mcap_reader_close(r: *mut Reader) {
    if !r.is_null() {
        // SAFETY: r came from Box::into_raw in tw_mcap_reader_open and is closed once.
        let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(r) })));
    }
}

#[repr(C)]
pub struct InfoC {
    file_size: u64,
    stop_offset: u64,
    message_count: u64,
    chunk_count: u64,
    indexed: c_int,
    recovered: c_int,
    log_time_order: c_int,
    profile: *const c_char,
    warning: *const c_char,
}

#[no_mangle]
pub extern "C" fn tw_mcap_reader_info(r: *const Reader, out: *mut InfoC) -> c_int {
    guard(ptr::null_mut(), 0, || {
        let i = &reader_ref(r)?.info;
        *out_ref(out)? = InfoC {
            file_size: i.size,
            stop_offset: i.stop,
            message_count: i.message_count,
            chunk_count: i.chunk_count,
            indexed: i.indexed as c_int,
            recovered: i.recovered as c_int,
            log_time_order: i.log_time_order as c_int,
            profile: i.profile.as_ptr(),
            warning: i.warning.as_ptr(),
        };
        Ok(0)
    })
}

#[repr(C)]
pub struct SchemaOut {
    id: u16,
    name: *const c_char,
    encoding: *const c_char,
    data: *const u8,
    data_len: usize,
}

#[repr(C)]
pub struct ChannelOut {
    id: u16,
    schema_id: u16,
    topic: *const c_char,
    message_encoding: *const c_char,
    n_metadata: usize,
    keys: *const *const c_char,
    values: *const *const c_char,
}

fn fill_schema(s: &catalog::SchemaC, out: *mut SchemaOut) -> Result<c_int> {
    *out_ref(out)? = SchemaOut {
        id: s.id,
        name: s.name.as_ptr(),
        encoding: s.encoding.as_ptr(),
        data: s.data.as_ptr(),
        data_len: s.data.len(),
    };
    Ok(0)
}

fn fill_channel(c: &catalog::ChannelC, out: *mut ChannelOut) -> Result<c_int> {
    *out_ref(out)? = ChannelOut {
        id: c.id,
        schema_id: c.schema_id,
        topic: c.topic.as_ptr(),
        message_encoding: c.encoding.as_ptr(),
        n_metadata: c.meta.key_ptrs.len(),
        keys: c.meta.key_ptrs.as_ptr(),
        values: c.meta.val_ptrs.as_ptr(),
    };
    Ok(0)
}

fn not_found(what: &str, i: impl std::fmt::Display) -> Error {
    Error::new(TW_ENOT_FOUND, format!("no {what} {i}"))
}

#[no_mangle]
pub extern "C" fn tw_mcap_reader_schema_count(r: *const Reader) -> usize {
    reader_ref(r).map_or(0, |r| r.cat.schemas.len())
}

#[no_mangle]
pub extern "C" fn tw_mcap_reader_schema(r: *const Reader, i: usize, out: *mut SchemaOut) -> c_int {
    guard(ptr::null_mut(), 0, || {
        let s = reader_ref(r)?
            .cat
            .schemas
            .values()
            .nth(i)
            .ok_or_else(|| not_found("schema index", i))?;
        fill_schema(s, out)
    })
}

#[no_mangle]
pub extern "C" fn tw_mcap_reader_schema_by_id(r: *const Reader, id: u16, out: *mut SchemaOut) -> c_int {
    guard(ptr::null_mut(), 0, || {
        let s = reader_ref(r)?
            .cat
            .schemas
            .get(&id)
            .ok_or_else(|| not_found("schema id", id))?;
        fill_schema(s, out)
    })
}

#[no_mangle]
pub extern "C" fn tw_mcap_reader_channel_count(r: *const Reader) -> usize {
    reader_ref(r).map_or(0, |r| r.cat.channels.len())
}

#[no_mangle]
pub extern "C" fn tw_mcap_reader_channel(r: *const Reader, i: usize, out: *mut ChannelOut) -> c_int {
    guard(ptr::null_mut(), 0, || {
        let c = reader_ref(r)?
            .cat
            .channels
            .values()
            .nth(i)
            .ok_or_else(|| not_found("channel index", i))?;
        fill_channel(c, out)
    })
}

#[no_mangle]
pub extern "C" fn tw_mcap_reader_channel_by_id(r: *const Reader, id: u16, out: *mut ChannelOut) -> c_int {
    guard(ptr::null_mut(), 0, || {
        let c = reader_ref(r)?
            .cat
            .channels
            .get(&id)
            .ok_or_else(|| not_found("channel id", id))?;
        fill_channel(c, out)
    })
}

#[repr(C)]
pub struct MetadataOut {
    name: *const c_char,
    n: usize,
    keys: *const *const c_char,
    values: *const *const c_char,
}

#[no_mangle]
pub extern "C" fn tw_mcap_reader_metadata_count(r: *const Reader) -> usize {
    reader_ref(r).map_or(0, |r| r.cat.metadata.len())
}

#[no_mangle]
pub extern "C" fn tw_mcap_reader_metadata(r: *const Reader, i: usize, out: *mut MetadataOut) -> c_int {
    guard(ptr::null_mut(), 0, || {
        let m = reader_ref(r)?
            .cat
            .metadata
            .get(i)
            .ok_or_else(|| not_found("metadata index", i))?;
        *out_ref(out)? = MetadataOut {
            name: m.name.as_ptr(),
            n: m.kv.key_ptrs.len(),
            keys: m.kv.key_ptrs.as_ptr(),
            values: m.kv.val_ptrs.as_ptr(),
        };
        Ok(0)
    })
}

#[repr(C)]
pub struct AttachmentOut {
    name: *const c_char,
    media_type: *const c_char,
    log_time: u64,
    create_time: u64,
    data_len: u64,
    offset: u64,
}

#[no_mangle]
pub extern "C" fn tw_mcap_reader_attachment_count(r: *const Reader) -> usize {
    reader_ref(r).map_or(0, |r| r.cat.attachments.len())
}

#[no_mangle]
pub extern "C" fn tw_mcap_reader_attachment(r: *const Reader, i: usize, out: *mut AttachmentOut) -> c_int {
    guard(ptr::null_mut(), 0, || {
        let a = reader_ref(r)?
            .cat
            .attachments
            .get(i)
            .ok_or_else(|| not_found("attachment index", i))?;
        *out_ref(out)? = AttachmentOut {
            name: a.name.as_ptr(),
            media_type: a.media_type.as_ptr(),
            log_time: a.log_time,
            create_time: a.create_time,
            data_len: a.data_size,
            offset: a.offset,
        };
        Ok(0)
    })
}

#[no_mangle]
pub extern "C" fn tw_mcap_reader_attachment_data(
    r: *mut Reader,
    i: usize,
    data: *mut *const u8,
    len: *mut usize,
    msg: *mut c_char,
    msgsz: usize,
) -> c_int {
    guard(msg, msgsz, || {
        let r = reader_mut(r)?;
        if i >= r.cat.attachments.len() {
            return Err(not_found("attachment index", i));
        }
        let (p, n) = r.attachment_data(i)?;
        *out_ref(data)? = p;
        *out_ref(len)? = n;
        Ok(0)
    })
}

#[repr(C)]
pub struct MessageC {
    pub channel_id: u16,
    pub sequence: u32,
    pub log_time: u64,
    pub publish_time: u64,
    pub data: *const u8,
    pub data_len: usize,
}

#[no_mangle]
pub extern "C" fn tw_mcap_reader_next(r: *mut Reader, out: *mut MessageC, msg: *mut c_char, msgsz: usize) -> c_int {
    guard(msg, msgsz, || {
        let out = out_ref(out)?;
        match reader_mut(r)?.next()? {
            None => Ok(0),
            Some(m) => {
                *out = MessageC {
                    channel_id: m.header.channel_id,
                    sequence: m.header.sequence,
                    log_time: m.header.log_time,
                    publish_time: m.header.publish_time,
                    data: m.data,
                    data_len: m.len,
                };
                Ok(1)
            }
        }
    })
}
