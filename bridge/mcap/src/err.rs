//! Errors as the C side sees them: a tw_err code (bridge/tw_err.h) and a message that names the
//! file, the byte offset and the record kind.

use mcap::McapError;

// Values of bridge/tw_err.h; tests/mcap/test_mcap_reader.c checks that they still agree.
pub const TW_EINVAL: i32 = -1;
pub const TW_ENOMEM: i32 = -2;
pub const TW_EIO: i32 = -3;
pub const TW_ETRUNCATED: i32 = -4;
pub const TW_ETOO_BIG: i32 = -5;
pub const TW_EBAD_MAGIC: i32 = -6;
pub const TW_EVERSION: i32 = -7;
pub const TW_ESTATE: i32 = -16;
pub const TW_ENOSPACE: i32 = -22;
pub const TW_ENOT_FOUND: i32 = -27;
pub const TW_EINTEGRITY: i32 = -30;
pub const TW_EUNSUPPORTED: i32 = -31;

#[derive(Debug, Clone)]
pub struct Error {
    pub code: i32,
    pub msg: String,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(code: i32, msg: impl Into<String>) -> Self {
        Error { code, msg: msg.into() }
    }
}

/// Name of an MCAP opcode, for messages.
pub fn kind(op: u8) -> &'static str {
    match op {
        0x01 => "header",
        0x02 => "footer",
        0x03 => "schema",
        0x04 => "channel",
        0x05 => "message",
        0x06 => "chunk",
        0x07 => "message index",
        0x08 => "chunk index",
        0x09 => "attachment",
        0x0A => "attachment index",
        0x0B => "statistics",
        0x0C => "metadata",
        0x0D => "metadata index",
        0x0E => "summary offset",
        0x0F => "data end",
        _ => "unknown record",
    }
}

/// Maps an error of the mcap crate to the closest tw_err code.
pub fn code_of(e: &McapError) -> i32 {
    match e {
        McapError::BadMagic => TW_EBAD_MAGIC,
        McapError::UnexpectedEof | McapError::UnexpectedEoc => TW_ETRUNCATED,
        McapError::RecordTooLarge { .. } | McapError::ChunkTooLarge(_) => TW_ETOO_BIG,
        McapError::ChunkBufferTooLarge(_) => TW_ETOO_BIG,
        McapError::UnsupportedCompression(_) => TW_EUNSUPPORTED,
        McapError::Io(io) => io_code(io),
        McapError::UnknownChannel(..) | McapError::UnknownSchema(..) => TW_ENOT_FOUND,
        McapError::TooManyChannels | McapError::TooManySchemas => TW_ETOO_BIG,
        McapError::AttemptedWriteAfterFailure => TW_ESTATE,
        McapError::InvalidSchemaId => TW_EINVAL,
        _ => TW_EINTEGRITY,
    }
}

pub fn io_code(e: &std::io::Error) -> i32 {
    match e.raw_os_error() {
        Some(28) | Some(122) => TW_ENOSPACE, // ENOSPC, EDQUOT
        _ => match e.kind() {
            std::io::ErrorKind::NotFound => TW_ENOT_FOUND,
            std::io::ErrorKind::UnexpectedEof => TW_ETRUNCATED,
            std::io::ErrorKind::OutOfMemory => TW_ENOMEM,
            _ => TW_EIO,
        },
    }
}

/// "<path>: <what> at byte <offset>: <detail>"
pub fn at(path: &str, offset: u64, what: &str, e: &McapError) -> Error {
    Error::new(code_of(e), format!("{path}: {what} at byte {offset}: {e}"))
}

pub fn io_at(path: &str, offset: u64, what: &str, e: &std::io::Error) -> Error {
    Error::new(io_code(e), format!("{path}: {what} at byte {offset}: {e}"))
}
