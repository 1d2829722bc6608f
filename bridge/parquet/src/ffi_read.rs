//! extern "C" reader functions of tw_parquet.h.

use crate::convert::{self, Bool, Num};
use crate::error::{self, TwError, TwResult};
use crate::reader::{descend, Reader};
use crate::schema::{self, Level, MAX_LEVELS};
use crate::{c_str, guard};
use arrow_array::Array;
use bytes::Bytes;
use std::ffi::{c_char, c_int, c_void};
use std::ptr;

#[repr(C)]
pub struct ColumnInfo {
    name: *const c_char,
    ty: c_int,
    logical: *const c_char,
    physical: *const c_char,
    nlevels: c_int,
    levels: [Level; MAX_LEVELS],
    nullable: c_int,
}

#[repr(C)]
pub struct Out {
    values: *mut c_void,
    values_cap: usize,
    offsets: *mut i64,
    offsets_cap: usize,
    lengths: *mut i64,
    valid: *mut u8,
    nvalues: usize,
    nbytes: usize,
}

fn publish(r: TwResult<Reader>, out: *mut *mut Reader) -> TwResult<()> {
    let r = r?;
    // SAFETY: out checked non-NULL by the caller of publish.
    unsafe { *out = Box::into_raw(Box::new(r)) };
    Ok(())
}

#[no_mangle]
pub extern "C" fn tw_parquet_open(
    path: *const c_char,
    out: *mut *mut Reader,
    msg: *mut c_char,
    msgsz: usize,
) -> c_int {
    guard(msg, msgsz, error::INTEGRITY, || {
        if out.is_null() {
            return Err(TwError::inval("out is NULL"));
        }
        unsafe { *out = ptr::null_mut() };
        publish(Reader::open_file(c_str(path, "path")?), out)
    })
}

#[no_mangle]
pub extern "C" fn tw_parquet_open_memory(
    data: *const c_void,
    len: usize,
    out: *mut *mut Reader,
    msg: *mut c_char,
    msgsz: usize,
) -> c_int {
    guard(msg, msgsz, error::INTEGRITY, || {
        if out.is_null() || (data.is_null() && len > 0) {
            return Err(TwError::inval("out or data is NULL"));
        }
        unsafe { *out = ptr::null_mut() };
        let bytes = if len == 0 {
            Bytes::new()
        } else {
            // SAFETY: the caller promises len readable bytes at data; they are copied.
            Bytes::copy_from_slice(unsafe { std::slice::from_raw_parts(data as *const u8, len) })
        };
        publish(Reader::open_memory(bytes), out)
    })
}

#[no_mangle]
pub extern "C" fn tw_parquet_close(r: *mut Reader) {
    if !r.is_null() {
        // SAFETY: r came from Box::into_raw in publish; dropping cannot panic in a way we could report.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(unsafe { Box::from_raw(r) })));
    }
}

fn with<'a, T>(r: *const Reader, dflt: T, f: impl FnOnce(&'a Reader) -> T) -> T {
    if r.is_null() {
        dflt
    } else {
        f(unsafe { &*r })
    }
}

#[no_mangle]
pub extern "C" fn tw_parquet_num_rows(r: *const Reader) -> i64 {
    with(r, 0, |r| r.num_rows())
}

#[no_mangle]
pub extern "C" fn tw_parquet_num_row_groups(r: *const Reader) -> usize {
    with(r, 0, |r| r.rg_start.len() - 1)
}

#[no_mangle]
pub extern "C" fn tw_parquet_row_group_rows(r: *const Reader, rg: usize) -> i64 {
    with(r, -1, |r| if rg + 1 < r.rg_start.len() { r.rg_start[rg + 1] - r.rg_start[rg] } else { -1 })
}

#[no_mangle]
pub extern "C" fn tw_parquet_num_columns(r: *const Reader) -> usize {
    with(r, 0, |r| r.leaves.len())
}

#[no_mangle]
pub extern "C" fn tw_parquet_column(r: *const Reader, col: usize, info: *mut ColumnInfo) -> c_int {
    with(r, error::INVAL, |r| {
        let Some(l) = r.leaves.get(col) else { return error::NOT_FOUND };
        if info.is_null() {
            return error::INVAL;
        }
        let mut levels = [Level::default(); MAX_LEVELS];
        for (d, s) in levels.iter_mut().zip(&l.levels) {
            *d = *s;
        }
        // SAFETY: info checked non-NULL; strings live in r until tw_parquet_close.
        unsafe {
            *info = ColumnInfo {
                name: l.name.as_ptr(),
                ty: l.ty,
                logical: l.logical.as_ptr(),
                physical: l.physical.as_ptr(),
                nlevels: l.levels.len().min(MAX_LEVELS) as c_int,
                levels,
                nullable: l.nullable as c_int,
            }
        };
        0
    })
}

#[no_mangle]
pub extern "C" fn tw_parquet_find(r: *const Reader, name: *const c_char, col: *mut usize) -> c_int {
    with(r, error::INVAL, |r| {
        let Ok(name) = c_str(name, "name") else { return error::INVAL };
        match r.leaves.iter().position(|l| l.name.to_bytes() == name.as_bytes()) {
            Some(i) if !col.is_null() => {
                unsafe { *col = i };
                0
            }
            Some(_) => error::INVAL,
            None => error::NOT_FOUND,
        }
    })
}

#[no_mangle]
pub extern "C" fn tw_parquet_metadata_count(r: *const Reader) -> usize {
    with(r, 0, |r| r.kv.len())
}

#[no_mangle]
pub extern "C" fn tw_parquet_metadata_at(
    r: *const Reader,
    i: usize,
    key: *mut *const c_char,
    value: *mut *const c_char,
) -> c_int {
    with(r, error::INVAL, |r| {
        let Some((k, v)) = r.kv.get(i) else { return error::NOT_FOUND };
        unsafe {
            if !key.is_null() {
                *key = k.as_ptr();
            }
            if !value.is_null() {
                *value = v.as_ptr();
            }
        }
        0
    })
}

#[no_mangle]
pub extern "C" fn tw_parquet_metadata_get(r: *const Reader, key: *const c_char) -> *const c_char {
    with(r, ptr::null(), |r| {
        let Ok(key) = c_str(key, "key") else { return ptr::null() };
        r.kv.iter().find(|(k, _)| k.to_bytes() == key.as_bytes()).map_or(ptr::null(), |(_, v)| v.as_ptr())
    })
}

#[no_mangle]
pub extern "C" fn tw_parquet_read(
    r: *mut Reader,
    col: usize,
    row0: i64,
    nrows: i64,
    as_ty: c_int,
    out: *mut Out,
    msg: *mut c_char,
    msgsz: usize,
) -> c_int {
    guard(msg, msgsz, error::INTEGRITY, || {
        if r.is_null() || out.is_null() {
            return Err(TwError::inval("reader or out is NULL"));
        }
        // SAFETY: non-NULL handles from the API; one caller at a time per reader (documented).
        read(unsafe { &mut *r }, col, row0, nrows, as_ty, unsafe { &mut *out })
    })
}

/// Where a multi-row-group read stands: values and bytes written so far, and whether a buffer ran out.
struct Cursor {
    vals: usize,
    bytes: usize,
    full: bool,
}

fn read(r: &mut Reader, col: usize, row0: i64, nrows: i64, as_ty: c_int, out: &mut Out) -> TwResult<()> {
    let Some(leaf) = r.leaves.get(col) else {
        return Err(TwError::new(error::NOT_FOUND, format!("{}: no column {col}", r.label)));
    };
    if leaf.ty == schema::T_OTHER {
        let l = leaf.logical.to_string_lossy().into_owned();
        return Err(TwError::new(
            error::UNSUPPORTED,
            format!("{}: column type {l} is not readable", r.place(col, 0)),
        ));
    }
    let total = r.num_rows();
    if row0 < 0 || nrows < 0 || row0 > total || nrows > total - row0 {
        return Err(TwError::inval(format!("{}: rows [{row0}, +{nrows}) outside 0..{total}", r.label)));
    }
    let mut cur = Cursor { vals: 0, bytes: 0, full: false };
    let (end, mut row) = (row0 + nrows, row0);
    let mut rg = r.rg_start.partition_point(|&s| s <= row0).saturating_sub(1);
    while row < end {
        let (s, e) = (r.rg_start[rg], r.rg_start[rg + 1]);
        let (a, b) = ((row - s) as usize, (end.min(e) - s) as usize);
        if a < b {
            chunk(r, col, rg, a, b, (row - row0) as usize, as_ty, out, &mut cur)
                .map_err(|err| err.at(&r.place(col, rg)))?;
        }
        row = row.max(e);
        rg += 1;
    }
    out.nvalues = cur.vals;
    out.nbytes = cur.bytes;
    if cur.full {
        return Err(TwError::new(
            error::FULL,
            format!(
                "{}: buffers too small: need {} values, {} offsets, {} bytes",
                r.place(col, rg.saturating_sub(1)),
                cur.vals,
                cur.vals + 1,
                cur.bytes
            ),
        ));
    }
    Ok(())
}

/// Rows [a, b) of row group rg into the output at row `orow` and the cursor's value/byte positions.
#[allow(clippy::too_many_arguments)]
fn chunk(
    r: &mut Reader,
    col: usize,
    rg: usize,
    a: usize,
    b: usize,
    orow: usize,
    as_ty: c_int,
    out: &mut Out,
    cur: &mut Cursor,
) -> TwResult<()> {
    let top = r.column_chunk(col, rg)?;
    let mut bounds: Vec<usize> = (a..=b).collect();
    let leaf_arr = descend(&top, &r.leaves[col].steps, &mut bounds)?;
    if !out.lengths.is_null() {
        let lens = unsafe { std::slice::from_raw_parts_mut(out.lengths.add(orow), b - a) };
        for (l, w) in lens.iter_mut().zip(bounds.windows(2)) {
            *l = (w[1] - w[0]) as i64;
        }
    }
    let (lo, hi) = (bounds[0], bounds[b - a]);
    let (arr, lo, hi) = convert::plain(&leaf_arr, lo, hi)?;
    let n = hi - lo;
    if as_ty == schema::T_UTF8 {
        return utf8(arr.as_ref(), lo, hi, out, cur);
    }
    if cur.full || cur.vals + n > out.values_cap || out.values.is_null() && n > 0 {
        cur.full = true;
        cur.vals += n;
        return Ok(());
    }
    let at = cur.vals;
    match as_ty {
        schema::T_FLOAT64 => convert::numbers::<f64>(arr.as_ref(), lo, hi, slot(out, at, n)),
        schema::T_FLOAT32 => convert::numbers::<f32>(arr.as_ref(), lo, hi, slot(out, at, n)),
        schema::T_INT64 => convert::numbers::<i64>(arr.as_ref(), lo, hi, slot(out, at, n)),
        schema::T_INT32 => convert::numbers::<i32>(arr.as_ref(), lo, hi, slot(out, at, n)),
        schema::T_BOOL => convert::numbers::<Bool>(arr.as_ref(), lo, hi, slot(out, at, n)),
        _ => Err(TwError::new(
            error::DTYPE,
            format!("cannot read as type {as_ty}: use BOOL, INT32, INT64, FLOAT32, FLOAT64 or UTF8"),
        )),
    }?;
    validity(arr.as_ref(), lo, hi, out, at);
    cur.vals += n;
    Ok(())
}

fn slot<'a, T: Num>(out: &'a mut Out, at: usize, n: usize) -> &'a mut [T] {
    if n == 0 {
        return &mut [];
    }
    // SAFETY: at + n <= values_cap, checked by the caller; the buffer holds values_cap elements of T.
    unsafe { std::slice::from_raw_parts_mut((out.values as *mut T).add(at), n) }
}

fn validity(a: &dyn Array, lo: usize, hi: usize, out: &mut Out, at: usize) {
    if out.valid.is_null() || hi == lo {
        return;
    }
    // SAFETY: valid holds values_cap entries and at + (hi - lo) <= values_cap.
    let v = unsafe { std::slice::from_raw_parts_mut(out.valid.add(at), hi - lo) };
    for (i, d) in v.iter_mut().enumerate() {
        *d = a.is_valid(lo + i) as u8;
    }
}

fn utf8(a: &dyn Array, lo: usize, hi: usize, out: &mut Out, cur: &mut Cursor) -> TwResult<()> {
    let n = hi - lo;
    let mut need = 0usize;
    convert::each_bytes(a, lo, hi, |_, s| need += s.len())?;
    let fits = !cur.full
        && !out.offsets.is_null()
        && cur.vals + n < out.offsets_cap
        && cur.bytes + need <= out.values_cap
        && (!out.values.is_null() || need == 0);
    if !fits {
        cur.full = true;
        cur.vals += n;
        cur.bytes += need;
        return Ok(());
    }
    let offs = unsafe { std::slice::from_raw_parts_mut(out.offsets, out.offsets_cap) };
    let base = out.values as *mut u8;
    let (v0, mut pos) = (cur.vals, cur.bytes);
    offs[v0] = pos as i64;
    convert::each_bytes(a, lo, hi, |i, s| {
        // SAFETY: pos + s.len() <= bytes + need <= values_cap.
        unsafe { ptr::copy_nonoverlapping(s.as_ptr(), base.add(pos), s.len()) };
        pos += s.len();
        offs[v0 + i + 1] = pos as i64;
    })?;
    if !out.valid.is_null() {
        // For UTF8, valid holds one entry per string (offsets_cap - 1).
        let v = unsafe { std::slice::from_raw_parts_mut(out.valid.add(v0), n) };
        for (i, d) in v.iter_mut().enumerate() {
            *d = a.is_valid(lo + i) as u8;
        }
    }
    cur.vals += n;
    cur.bytes = pos;
    Ok(())
}
