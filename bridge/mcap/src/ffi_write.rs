//! C API of the writer half of tw_mcap.h.

use crate::err::{Error, Result, TW_EINVAL};
use crate::writer::{Options, Writer, COMPRESS_ZSTD};
use crate::{cs, guard, MessageC};
use std::collections::BTreeMap;
use std::ffi::{c_char, c_int};
use std::ptr;

#[repr(C)]
pub struct WriteOpts {
    compression: c_int,
    chunk_size: u64,
    use_chunks: c_int,
    profile: *const c_char,
}

#[no_mangle]
pub extern "C" fn tw_mcap_write_opts_init(o: *mut WriteOpts) {
    // SAFETY: o is NULL or points to a caller's tw_mcap_write_opts.
    if let Some(o) = unsafe { o.as_mut() } {
        *o = WriteOpts {
            compression: COMPRESS_ZSTD,
            chunk_size: 4 << 20,
            use_chunks: 1,
            profile: ptr::null(),
        };
    }
}

fn writer<'a>(w: *mut Writer) -> Result<&'a mut Writer> {
    // SAFETY: w is NULL or a live handle from tw_mcap_writer_open, used by one thread.
    unsafe { w.as_mut() }.ok_or_else(|| Error::new(TW_EINVAL, "writer is NULL"))
}

fn bytes<'a>(p: *const u8, n: usize) -> Result<&'a [u8]> {
    if n == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Error::new(TW_EINVAL, format!("data is NULL with length {n}")));
    }
    // SAFETY: the caller gives n readable bytes at p.
    Ok(unsafe { std::slice::from_raw_parts(p, n) })
}

fn kv(keys: *const *const c_char, vals: *const *const c_char, n: usize) -> Result<BTreeMap<String, String>> {
    let mut m = BTreeMap::new();
    if n == 0 {
        return Ok(m);
    }
    if keys.is_null() || vals.is_null() {
        return Err(Error::new(
            TW_EINVAL,
            format!("{n} metadata pairs but keys or values is NULL"),
        ));
    }
    for i in 0..n {
        // SAFETY: the caller gives n entries in each array.
        let (k, v) = unsafe { (*keys.add(i), *vals.add(i)) };
        m.insert(
            cs(k, "metadata key")?.into_owned(),
            cs(v, "metadata value")?.into_owned(),
        );
    }
    Ok(m)
}

fn out<'a, T>(p: *mut T) -> Result<&'a mut T> {
    // SAFETY: a non-NULL out-parameter points to a T owned by the caller.
    unsafe { p.as_mut() }.ok_or_else(|| Error::new(TW_EINVAL, "out-parameter is NULL"))
}

#[no_mangle]
pub extern "C" fn tw_mcap_writer_open(
    path: *const c_char,
    opts: *const WriteOpts,
    w: *mut *mut Writer,
    msg: *mut c_char,
    msgsz: usize,
) -> c_int {
    guard(msg, msgsz, || {
        let w = out(w)?;
        *w = ptr::null_mut();
        let path = crate::cpath(path)?;
        let mut o = Options {
            compression: COMPRESS_ZSTD,
            chunk_size: 4 << 20,
            use_chunks: true,
            profile: String::new(),
        };
        // SAFETY: opts is NULL or points to a caller's tw_mcap_write_opts.
        if let Some(c) = unsafe { opts.as_ref() } {
            o.compression = c.compression;
            o.chunk_size = c.chunk_size;
            o.use_chunks = c.use_chunks != 0;
            if !c.profile.is_null() {
                o.profile = cs(c.profile, "profile")?.into_owned();
            }
        }
        *w = Box::into_raw(Box::new(Writer::open(&path, &o)?));
        Ok(0)
    })
}

#[no_mangle]
pub extern "C" fn tw_mcap_writer_add_schema(
    w: *mut Writer,
    name: *const c_char,
    encoding: *const c_char,
    data: *const u8,
    len: usize,
    id: *mut u16,
    msg: *mut c_char,
    msgsz: usize,
) -> c_int {
    guard(msg, msgsz, || {
        let (name, enc, data) = (
            cs(name, "schema name")?,
            cs(encoding, "schema encoding")?,
            bytes(data, len)?,
        );
        let id = out(id)?;
        *id = writer(w)?.add_schema(&name, &enc, data)?;
        Ok(0)
    })
}

#[no_mangle]
pub extern "C" fn tw_mcap_writer_add_channel(
    w: *mut Writer,
    schema_id: u16,
    topic: *const c_char,
    enc: *const c_char,
    keys: *const *const c_char,
    vals: *const *const c_char,
    n: usize,
    id: *mut u16,
    msg: *mut c_char,
    msgsz: usize,
) -> c_int {
    guard(msg, msgsz, || {
        let (topic, enc, meta) = (cs(topic, "topic")?, cs(enc, "message encoding")?, kv(keys, vals, n)?);
        let id = out(id)?;
        *id = writer(w)?.add_channel(schema_id, &topic, &enc, &meta)?;
        Ok(0)
    })
}

#[no_mangle]
pub extern "C" fn tw_mcap_writer_write(w: *mut Writer, m: *const MessageC, msg: *mut c_char, msgsz: usize) -> c_int {
    guard(msg, msgsz, || {
        // SAFETY: m is NULL or points to a caller's tw_mcap_message.
        let m = unsafe { m.as_ref() }.ok_or_else(|| Error::new(TW_EINVAL, "message is NULL"))?;
        let h = mcap::records::MessageHeader {
            channel_id: m.channel_id,
            sequence: m.sequence,
            log_time: m.log_time,
            publish_time: m.publish_time,
        };
        writer(w)?.write(&h, bytes(m.data, m.data_len)?)?;
        Ok(0)
    })
}

#[no_mangle]
pub extern "C" fn tw_mcap_writer_add_metadata(
    w: *mut Writer,
    name: *const c_char,
    keys: *const *const c_char,
    vals: *const *const c_char,
    n: usize,
    msg: *mut c_char,
    msgsz: usize,
) -> c_int {
    guard(msg, msgsz, || {
        let (name, m) = (cs(name, "metadata name")?, kv(keys, vals, n)?);
        writer(w)?.metadata(&name, m)?;
        Ok(0)
    })
}

#[no_mangle]
pub extern "C" fn tw_mcap_writer_add_attachment(
    w: *mut Writer,
    name: *const c_char,
    media: *const c_char,
    log_time: u64,
    create_time: u64,
    data: *const u8,
    len: usize,
    msg: *mut c_char,
    msgsz: usize,
) -> c_int {
    guard(msg, msgsz, || {
        let (name, media, data) = (
            cs(name, "attachment name")?,
            cs(media, "media type")?,
            bytes(data, len)?,
        );
        writer(w)?.attachment(&name, &media, log_time, create_time, data)?;
        Ok(0)
    })
}

#[no_mangle]
pub extern "C" fn tw_mcap_writer_close(w: *mut Writer, msg: *mut c_char, msgsz: usize) -> c_int {
    if w.is_null() {
        return 0;
    }
    // SAFETY: w came from Box::into_raw in tw_mcap_writer_open and is closed once.
    let b = unsafe { Box::from_raw(w) };
    guard(msg, msgsz, move || b.close().map(|_| 0))
}

#[no_mangle]
pub extern "C" fn tw_mcap_writer_abort(w: *mut Writer) {
    if !w.is_null() {
        // SAFETY: as in tw_mcap_writer_close.
        let b = unsafe { Box::from_raw(w) };
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || b.abort()));
    }
}
