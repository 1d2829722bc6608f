//! Error codes (the values of bridge/tw_err.h; the C unit tests compare them against the header) and the
//! mapping from parquet/arrow errors to the closest code.

use arrow_schema::ArrowError;
use parquet::errors::ParquetError;
use std::ffi::c_int;

pub const INVAL: c_int = -1;
pub const IO: c_int = -3;
pub const TRUNCATED: c_int = -4;
pub const TOO_BIG: c_int = -5;
pub const BAD_MAGIC: c_int = -6;
pub const UTF8: c_int = -10;
pub const DUP: c_int = -12;
pub const DTYPE: c_int = -13;
pub const SHAPE: c_int = -14;
pub const STATE: c_int = -16;
pub const FULL: c_int = -21;
pub const NOSPACE: c_int = -22;
pub const NOT_FOUND: c_int = -27;
pub const INTEGRITY: c_int = -30;
pub const UNSUPPORTED: c_int = -31;

#[derive(Debug)]
pub struct TwError {
    pub code: c_int,
    pub msg: String,
}

pub type TwResult<T> = Result<T, TwError>;

impl TwError {
    pub fn new(code: c_int, msg: impl Into<String>) -> Self {
        TwError { code, msg: msg.into() }
    }
    pub fn inval(msg: impl Into<String>) -> Self {
        Self::new(INVAL, msg)
    }
    /// Prefixes the message with where it happened ("file.parquet: column 'x', row group 3: ...").
    pub fn at(mut self, place: &str) -> Self {
        self.msg = format!("{place}: {}", self.msg);
        self
    }
}

pub fn from_io(e: &std::io::Error) -> c_int {
    match e.kind() {
        std::io::ErrorKind::NotFound => NOT_FOUND,
        std::io::ErrorKind::UnexpectedEof => TRUNCATED,
        _ if e.raw_os_error() == Some(28) => NOSPACE, // ENOSPC
        _ => IO,
    }
}

impl From<std::io::Error> for TwError {
    fn from(e: std::io::Error) -> Self {
        TwError::new(from_io(&e), e.to_string())
    }
}

impl From<ParquetError> for TwError {
    fn from(e: ParquetError) -> Self {
        let code = match &e {
            ParquetError::EOF(_) | ParquetError::NeedMoreData(_) | ParquetError::NeedMoreDataRange(_) => {
                TRUNCATED
            }
            ParquetError::NYI(_) => UNSUPPORTED,
            ParquetError::External(inner) => match inner.downcast_ref::<std::io::Error>() {
                Some(io) => from_io(io),
                None => INTEGRITY,
            },
            _ => INTEGRITY,
        };
        TwError::new(code, e.to_string())
    }
}

impl From<ArrowError> for TwError {
    fn from(e: ArrowError) -> Self {
        let code = match &e {
            ArrowError::IoError(_, io) => from_io(io),
            ArrowError::NotYetImplemented(_) => UNSUPPORTED,
            ArrowError::InvalidArgumentError(_) => INVAL,
            _ => INTEGRITY,
        };
        TwError::new(code, e.to_string())
    }
}
