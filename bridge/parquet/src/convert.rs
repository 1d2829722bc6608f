//! Leaf values [lo, hi) of a decoded Arrow array into a caller's buffer of the requested C type.
//! The source type is matched once per call, then a tight loop converts; integers widen to floats,
//! floats never become integers, and an integer out of the target's range is an error.

use crate::error::{self, TwError, TwResult};
use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType, PrimitiveArray};
use arrow_schema::DataType;
use arrow_select::take::{take, TakeOptions};

/// A C output element type.
pub trait Num: Copy + 'static {
    const NAME: &'static str;
    const FLOAT: bool; // accepts float sources
    const TIME: bool; // accepts date/time/timestamp/duration sources (their stored integer)
    fn of_i64(v: i64) -> Option<Self>;
    fn of_u64(v: u64) -> Option<Self>;
    fn of_f64(v: f64) -> Self;
    fn of_bool(v: bool) -> Self;
    fn null() -> Self;
}

macro_rules! float_num {
    ($t:ty, $name:expr) => {
        impl Num for $t {
            const NAME: &'static str = $name;
            const FLOAT: bool = true;
            const TIME: bool = false;
            fn of_i64(v: i64) -> Option<Self> {
                Some(v as $t)
            }
            fn of_u64(v: u64) -> Option<Self> {
                Some(v as $t)
            }
            fn of_f64(v: f64) -> Self {
                v as $t
            }
            fn of_bool(v: bool) -> Self {
                v as u8 as $t
            }
            fn null() -> Self {
                <$t>::NAN
            }
        }
    };
}
float_num!(f64, "float64");
float_num!(f32, "float32");

macro_rules! int_num {
    ($t:ty, $name:expr, $time:expr) => {
        impl Num for $t {
            const NAME: &'static str = $name;
            const FLOAT: bool = false;
            const TIME: bool = $time;
            fn of_i64(v: i64) -> Option<Self> {
                <$t>::try_from(v).ok()
            }
            fn of_u64(v: u64) -> Option<Self> {
                <$t>::try_from(v).ok()
            }
            fn of_f64(_: f64) -> Self {
                0
            }
            fn of_bool(v: bool) -> Self {
                v as $t
            }
            fn null() -> Self {
                0
            }
        }
    };
}
int_num!(i64, "int64", true);
int_num!(i32, "int32", false);

/// Bool output (uint8_t 0/1): only from booleans.
#[derive(Clone, Copy)]
#[repr(transparent)]
pub struct Bool(#[allow(dead_code)] u8); // written into the caller's uint8_t buffer
impl Num for Bool {
    const NAME: &'static str = "bool";
    const FLOAT: bool = false;
    const TIME: bool = false;
    fn of_i64(_: i64) -> Option<Self> {
        None
    }
    fn of_u64(_: u64) -> Option<Self> {
        None
    }
    fn of_f64(_: f64) -> Self {
        Bool(0)
    }
    fn of_bool(v: bool) -> Self {
        Bool(v as u8)
    }
    fn null() -> Self {
        Bool(0)
    }
}

/// A dictionary-encoded leaf becomes its plain values (only the [lo, hi) slice is materialised).
pub fn plain(arr: &ArrayRef, lo: usize, hi: usize) -> TwResult<(ArrayRef, usize, usize)> {
    if let DataType::Dictionary(_, _) = arr.data_type() {
        let sliced = arr.slice(lo, hi - lo);
        let d = sliced.as_any_dictionary();
        let flat = take(d.values().as_ref(), d.keys(), Some(TakeOptions { check_bounds: true }))?;
        // take() turns a null key into a null value, so validity survives.
        return Ok((flat, 0, hi - lo));
    }
    Ok((arr.clone(), lo, hi))
}

fn ints<S, T>(src: &[S], dst: &mut [T], wide: impl Fn(S) -> i64) -> TwResult<()>
where
    S: Copy,
    T: Num,
{
    for (d, &s) in dst.iter_mut().zip(src) {
        let v = wide(s);
        *d = T::of_i64(v).ok_or_else(|| range::<T>(v))?;
    }
    Ok(())
}

fn range<T: Num>(v: impl std::fmt::Display) -> TwError {
    TwError::new(error::DTYPE, format!("value {v} does not fit in {}", T::NAME))
}

fn prim<P: ArrowPrimitiveType>(a: &dyn Array, lo: usize, hi: usize) -> &[P::Native] {
    &a.as_primitive::<P>().values()[lo..hi]
}

fn refuse<T: Num>(dt: &DataType) -> TwError {
    TwError::new(error::DTYPE, format!("cannot read a {dt} column as {}", T::NAME))
}

/// Writes leaf values [lo, hi) of `a` into dst (len hi - lo), converting to T.
pub fn numbers<T: Num>(a: &dyn Array, lo: usize, hi: usize, dst: &mut [T]) -> TwResult<()> {
    let dt = a.data_type();
    match dt {
        DataType::Boolean => {
            let b = a.as_boolean();
            for (i, d) in dst.iter_mut().enumerate() {
                *d = T::of_bool(b.value(lo + i));
            }
        }
        DataType::Int8 => ints(prim::<Int8Type>(a, lo, hi), dst, |v| v as i64)?,
        DataType::Int16 => ints(prim::<Int16Type>(a, lo, hi), dst, |v| v as i64)?,
        DataType::Int32 => ints(prim::<Int32Type>(a, lo, hi), dst, |v| v as i64)?,
        DataType::Int64 => ints(prim::<Int64Type>(a, lo, hi), dst, |v| v)?,
        DataType::UInt8 => ints(prim::<UInt8Type>(a, lo, hi), dst, |v| v as i64)?,
        DataType::UInt16 => ints(prim::<UInt16Type>(a, lo, hi), dst, |v| v as i64)?,
        DataType::UInt32 => ints(prim::<UInt32Type>(a, lo, hi), dst, |v| v as i64)?,
        DataType::UInt64 => {
            for (d, &s) in dst.iter_mut().zip(prim::<UInt64Type>(a, lo, hi)) {
                *d = T::of_u64(s).ok_or_else(|| range::<T>(s))?;
            }
        }
        DataType::Float16 if T::FLOAT => {
            for (d, s) in dst.iter_mut().zip(prim::<Float16Type>(a, lo, hi)) {
                *d = T::of_f64(s.to_f64());
            }
        }
        DataType::Float32 if T::FLOAT => {
            for (d, &s) in dst.iter_mut().zip(prim::<Float32Type>(a, lo, hi)) {
                *d = T::of_f64(s as f64);
            }
        }
        DataType::Float64 if T::FLOAT => {
            for (d, &s) in dst.iter_mut().zip(prim::<Float64Type>(a, lo, hi)) {
                *d = T::of_f64(s);
            }
        }
        _ if T::TIME => time_ints(a, lo, hi, dst)?,
        _ => return Err(refuse::<T>(dt)),
    }
    if a.null_count() > 0 {
        for (i, d) in dst.iter_mut().enumerate() {
            if a.is_null(lo + i) {
                *d = T::null();
            }
        }
    }
    Ok(())
}

/// Dates, times, timestamps and durations as their stored integer (days, or the type's unit).
fn time_ints<T: Num>(a: &dyn Array, lo: usize, hi: usize, dst: &mut [T]) -> TwResult<()> {
    fn go<P: ArrowPrimitiveType, T: Num>(a: &dyn Array, lo: usize, hi: usize, dst: &mut [T]) -> TwResult<()>
    where
        P::Native: Into<i64>,
    {
        let p: &PrimitiveArray<P> = a.as_primitive::<P>();
        ints(&p.values()[lo..hi], dst, |v| v.into())
    }
    use arrow_schema::TimeUnit::*;
    match a.data_type() {
        DataType::Date32 => go::<Date32Type, T>(a, lo, hi, dst),
        DataType::Date64 => go::<Date64Type, T>(a, lo, hi, dst),
        DataType::Time32(Second) => go::<Time32SecondType, T>(a, lo, hi, dst),
        DataType::Time32(Millisecond) => go::<Time32MillisecondType, T>(a, lo, hi, dst),
        DataType::Time64(Microsecond) => go::<Time64MicrosecondType, T>(a, lo, hi, dst),
        DataType::Time64(Nanosecond) => go::<Time64NanosecondType, T>(a, lo, hi, dst),
        DataType::Timestamp(Second, _) => go::<TimestampSecondType, T>(a, lo, hi, dst),
        DataType::Timestamp(Millisecond, _) => go::<TimestampMillisecondType, T>(a, lo, hi, dst),
        DataType::Timestamp(Microsecond, _) => go::<TimestampMicrosecondType, T>(a, lo, hi, dst),
        DataType::Timestamp(Nanosecond, _) => go::<TimestampNanosecondType, T>(a, lo, hi, dst),
        DataType::Duration(Second) => go::<DurationSecondType, T>(a, lo, hi, dst),
        DataType::Duration(Millisecond) => go::<DurationMillisecondType, T>(a, lo, hi, dst),
        DataType::Duration(Microsecond) => go::<DurationMicrosecondType, T>(a, lo, hi, dst),
        DataType::Duration(Nanosecond) => go::<DurationNanosecondType, T>(a, lo, hi, dst),
        dt => Err(refuse::<T>(dt)),
    }
}

/// Calls f(i, bytes) for leaf values [lo, hi) of a string or binary array (a null gives empty bytes).
pub fn each_bytes(a: &dyn Array, lo: usize, hi: usize, mut f: impl FnMut(usize, &[u8])) -> TwResult<()> {
    macro_rules! walk {
        ($arr:expr) => {{
            let arr = $arr;
            for i in lo..hi {
                let v: &[u8] = if arr.is_null(i) { &[] } else { arr.value(i).as_ref() };
                f(i - lo, v);
            }
        }};
    }
    match a.data_type() {
        DataType::Utf8 => walk!(a.as_string::<i32>()),
        DataType::LargeUtf8 => walk!(a.as_string::<i64>()),
        DataType::Utf8View => walk!(a.as_string_view()),
        DataType::Binary => walk!(a.as_binary::<i32>()),
        DataType::LargeBinary => walk!(a.as_binary::<i64>()),
        DataType::BinaryView => walk!(a.as_binary_view()),
        DataType::FixedSizeBinary(_) => walk!(a.as_fixed_size_binary()),
        dt => return Err(TwError::new(error::DTYPE, format!("cannot read a {dt} column as utf8"))),
    }
    Ok(())
}
