//! tw_parquet: the C API of tw_parquet.h over arrow-rs' `parquet` crate.
//! Every `extern "C"` function goes through `guard`, so a Rust panic (a decoder bug on a damaged file)
//! becomes an error code and a message instead of unwinding into C.

mod convert;
mod error;
mod ffi_read;
mod ffi_write;
mod reader;
mod schema;
mod writer;

use std::ffi::{c_char, c_int, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

pub use error::{TwError, TwResult};

static QUIET_PANICS: Once = Once::new();

/// Libraries never print: replace the default hook (which writes to stderr) with a silent one.
/// The panic payload still reaches `guard` through catch_unwind.
fn quiet_panics() {
    QUIET_PANICS.call_once(|| std::panic::set_hook(Box::new(|_| {})));
}

/// Runs `f`, writes its error (or a caught panic, reported as `panic_code`) into msg and returns the code.
pub(crate) fn guard<F>(msg: *mut c_char, msgsz: usize, panic_code: c_int, f: F) -> c_int
where
    F: FnOnce() -> TwResult<()>,
{
    quiet_panics();
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            write_msg(msg, msgsz, &e.msg);
            e.code
        }
        Err(payload) => {
            let what = if let Some(s) = payload.downcast_ref::<&str>() {
                (*s).to_string()
            } else if let Some(s) = payload.downcast_ref::<String>() {
                s.clone()
            } else {
                "unknown panic".to_string()
            };
            write_msg(msg, msgsz, &format!("internal error in the parquet decoder: {what}"));
            panic_code
        }
    }
}

/// Like snprintf: copies as much of s as fits, always NUL-terminates, accepts a NULL buffer.
pub(crate) fn write_msg(msg: *mut c_char, msgsz: usize, s: &str) {
    if msg.is_null() || msgsz == 0 {
        return;
    }
    let mut n = s.len().min(msgsz - 1);
    while n > 0 && !s.is_char_boundary(n) {
        n -= 1;
    }
    // SAFETY: the caller promises msg points to msgsz writable bytes; n < msgsz.
    unsafe {
        std::ptr::copy_nonoverlapping(s.as_ptr(), msg as *mut u8, n);
        *msg.add(n) = 0;
    }
}

/// A C string argument as &str; NULL or invalid UTF-8 is TW_EINVAL naming the argument.
pub(crate) fn c_str<'a>(p: *const c_char, what: &str) -> TwResult<&'a str> {
    if p.is_null() {
        return Err(TwError::inval(format!("{what} is NULL")));
    }
    // SAFETY: non-NULL and, per the API, NUL-terminated.
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map_err(|_| TwError::new(error::UTF8, format!("{what} is not valid UTF-8")))
}
