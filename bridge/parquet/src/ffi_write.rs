//! extern "C" writer functions of tw_parquet.h: C column buffers become Arrow arrays.

use crate::error::{self, TwError, TwResult};
use crate::schema::{self, Level, MAX_LEVELS};
use crate::writer::{Options, Spec, Writer, DEFAULT_OPTIONS};
use crate::{c_str, guard};
use arrow_array::builder::StringBuilder;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type};
use arrow_array::{ArrayRef, ArrowPrimitiveType, BooleanArray, PrimitiveArray};
use arrow_buffer::{NullBuffer, ScalarBuffer};
use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr;
use std::slice::from_raw_parts;
use std::sync::Arc;

#[repr(C)]
pub struct CField {
    name: *const c_char,
    ty: c_int,
    nlevels: c_int,
    levels: [Level; MAX_LEVELS],
    required: c_int,
}

#[repr(C)]
pub struct In {
    values: *const c_void,
    offsets: *const i64,
    strs: *const *const c_char,
    lengths: *const i64,
    valid: *const u8,
}

#[no_mangle]
pub extern "C" fn tw_parquet_write_options_init(o: *mut Options) {
    if !o.is_null() {
        unsafe { *o = DEFAULT_OPTIONS };
    }
}

fn spec(f: &CField) -> TwResult<Spec> {
    let name = c_str(f.name, "field name")?.to_string();
    if f.nlevels < 0 || f.nlevels as usize > MAX_LEVELS {
        return Err(TwError::inval(format!("field '{name}': nlevels {} outside 0..{MAX_LEVELS}", f.nlevels)));
    }
    Ok(Spec { name, ty: f.ty, levels: f.levels[..f.nlevels as usize].to_vec(), required: f.required != 0 })
}

#[no_mangle]
pub extern "C" fn tw_parquet_writer_open(
    path: *const c_char,
    fields: *const CField,
    nfields: usize,
    opt: *const Options,
    out: *mut *mut Writer,
    msg: *mut c_char,
    msgsz: usize,
) -> c_int {
    guard(msg, msgsz, error::INVAL, || {
        if out.is_null() || fields.is_null() || nfields == 0 {
            return Err(TwError::inval("out or fields is NULL, or no fields"));
        }
        unsafe { *out = ptr::null_mut() };
        let path = c_str(path, "path")?;
        let specs = unsafe { from_raw_parts(fields, nfields) }.iter().map(spec).collect::<TwResult<Vec<_>>>();
        let opts = if opt.is_null() { DEFAULT_OPTIONS } else { unsafe { *opt } };
        let w = Writer::create(path, specs.map_err(|e| e.at(path))?, opts).map_err(|e| e.at(path))?;
        unsafe { *out = Box::into_raw(Box::new(w)) };
        Ok(())
    })
}

fn writer<'a>(w: *mut Writer) -> TwResult<&'a mut Writer> {
    if w.is_null() {
        return Err(TwError::inval("writer is NULL"));
    }
    Ok(unsafe { &mut *w })
}

#[no_mangle]
pub extern "C" fn tw_parquet_writer_set_metadata(
    w: *mut Writer,
    key: *const c_char,
    value: *const c_char,
    msg: *mut c_char,
    msgsz: usize,
) -> c_int {
    guard(msg, msgsz, error::INVAL, || {
        let w = writer(w)?;
        let place = w.path.display().to_string();
        w.set_metadata(c_str(key, "key")?, c_str(value, "value")?).map_err(|e| e.at(&place))
    })
}

#[no_mangle]
pub extern "C" fn tw_parquet_writer_write(
    w: *mut Writer,
    nrows: i64,
    cols: *const In,
    msg: *mut c_char,
    msgsz: usize,
) -> c_int {
    guard(msg, msgsz, error::INVAL, || {
        let w = writer(w)?;
        let place = w.path.display().to_string();
        if nrows < 0 || cols.is_null() {
            return Err(TwError::inval(format!("{place}: nrows < 0 or cols is NULL")));
        }
        let ins = unsafe { from_raw_parts(cols, w.specs.len()) };
        let mut arrays = Vec::with_capacity(ins.len());
        for (s, i) in w.specs.iter().zip(ins) {
            arrays.push(
                column(s, nrows as usize, i).map_err(|e| e.at(&format!("{place}: field '{}'", s.name)))?,
            );
        }
        w.write(arrays).map_err(|e| e.at(&place))
    })
}

#[no_mangle]
pub extern "C" fn tw_parquet_writer_flush(w: *mut Writer, msg: *mut c_char, msgsz: usize) -> c_int {
    guard(msg, msgsz, error::INVAL, || {
        let w = writer(w)?;
        let place = w.path.display().to_string();
        w.flush().map_err(|e| e.at(&place))
    })
}

#[no_mangle]
pub extern "C" fn tw_parquet_writer_close(w: *mut Writer, msg: *mut c_char, msgsz: usize) -> c_int {
    guard(msg, msgsz, error::IO, || {
        if w.is_null() {
            return Err(TwError::inval("writer is NULL"));
        }
        let w = unsafe { Box::from_raw(w) };
        let place = w.path.display().to_string();
        w.close().map_err(|e| e.at(&place))
    })
}

#[no_mangle]
pub extern "C" fn tw_parquet_writer_abort(w: *mut Writer) {
    if !w.is_null() {
        let w = unsafe { Box::from_raw(w) };
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| w.abort()));
    }
}

/// Number of leaf values in this batch for the field, and the per-row entry counts of a variable first level.
fn shape(s: &Spec, nrows: usize, i: &In) -> TwResult<(usize, Option<Vec<i32>>)> {
    let inner = s.inner();
    match s.levels.first() {
        None => Ok((nrows, None)),
        Some(l) if l.size > 0 => Ok((nrows * l.size as usize * inner, None)),
        Some(_) => {
            if i.lengths.is_null() && nrows > 0 {
                return Err(TwError::inval("lengths is NULL for a variable-length list"));
            }
            let lens = if nrows == 0 { &[][..] } else { unsafe { from_raw_parts(i.lengths, nrows) } };
            let (mut total, mut outer) = (0usize, Vec::with_capacity(nrows));
            for (r, &n) in lens.iter().enumerate() {
                if n < 0 || n as usize % inner != 0 || n as usize / inner > i32::MAX as usize {
                    return Err(TwError::new(
                        error::SHAPE,
                        format!("row {r}: length {n} is not a multiple of {inner}"),
                    ));
                }
                total += n as usize;
                outer.push((n as usize / inner) as i32);
            }
            if total > i32::MAX as usize {
                return Err(TwError::new(
                    error::TOO_BIG,
                    "more than 2^31 list values in one batch: write smaller batches",
                ));
            }
            Ok((total, Some(outer)))
        }
    }
}

fn nulls(i: &In, n: usize, required: bool) -> TwResult<Option<NullBuffer>> {
    if i.valid.is_null() || n == 0 {
        return Ok(None);
    }
    let v = unsafe { from_raw_parts(i.valid, n) };
    if required && v.contains(&0) {
        return Err(TwError::inval("null value in a required field"));
    }
    Ok(Some(NullBuffer::from(v.iter().map(|&b| b != 0).collect::<Vec<bool>>())))
}

fn prim<P: ArrowPrimitiveType>(i: &In, n: usize, nb: Option<NullBuffer>) -> TwResult<ArrayRef> {
    if i.values.is_null() && n > 0 {
        return Err(TwError::inval("values is NULL"));
    }
    let v =
        if n == 0 { Vec::new() } else { unsafe { from_raw_parts(i.values as *const P::Native, n) }.to_vec() };
    Ok(Arc::new(PrimitiveArray::<P>::new(ScalarBuffer::from(v), nb)))
}

fn strings(i: &In, n: usize, nb: Option<NullBuffer>) -> TwResult<ArrayRef> {
    let mut b = StringBuilder::with_capacity(n, 0);
    let bad = |k: usize| TwError::new(error::UTF8, format!("value {k} is not valid UTF-8"));
    let null = |k: usize| nb.as_ref().is_some_and(|nb| nb.is_null(k));
    if !i.strs.is_null() {
        let strs = unsafe { from_raw_parts(i.strs, n) };
        for (k, &p) in strs.iter().enumerate() {
            if null(k) || p.is_null() {
                b.append_null();
            } else {
                b.append_value(unsafe { CStr::from_ptr(p) }.to_str().map_err(|_| bad(k))?);
            }
        }
    } else if n > 0 {
        if i.offsets.is_null() || i.values.is_null() {
            return Err(TwError::inval("UTF8 needs strs, or values and offsets"));
        }
        let offs = unsafe { from_raw_parts(i.offsets, n + 1) };
        if offs[0] < 0 || offs.windows(2).any(|w| w[1] < w[0]) {
            return Err(TwError::inval("offsets must start >= 0 and never decrease"));
        }
        let bytes = unsafe { from_raw_parts(i.values as *const u8, offs[n] as usize) };
        for k in 0..n {
            let s = &bytes[offs[k] as usize..offs[k + 1] as usize];
            if null(k) {
                b.append_null();
            } else {
                b.append_value(std::str::from_utf8(s).map_err(|_| bad(k))?);
            }
        }
    }
    Ok(Arc::new(b.finish()))
}

fn column(s: &Spec, nrows: usize, i: &In) -> TwResult<ArrayRef> {
    let (n, outer) = shape(s, nrows, i)?;
    let nb = nulls(i, n, s.required)?;
    let leaf = match s.ty {
        schema::T_BOOL => {
            if i.values.is_null() && n > 0 {
                return Err(TwError::inval("values is NULL"));
            }
            let v = if n == 0 { &[][..] } else { unsafe { from_raw_parts(i.values as *const u8, n) } };
            Arc::new(BooleanArray::new(v.iter().map(|&b| b != 0).collect(), nb)) as ArrayRef
        }
        schema::T_INT32 => prim::<Int32Type>(i, n, nb)?,
        schema::T_INT64 => prim::<Int64Type>(i, n, nb)?,
        schema::T_FLOAT32 => prim::<Float32Type>(i, n, nb)?,
        schema::T_FLOAT64 => prim::<Float64Type>(i, n, nb)?,
        _ => strings(i, n, nb)?,
    };
    s.nest(leaf, nrows, outer)
}
