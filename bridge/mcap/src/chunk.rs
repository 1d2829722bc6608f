//! Loading one chunk record: read it with pread (never more than the record-size limit),
//! decompress it and verify its CRC. The mcap crate's IndexedReader is then handed the
//! uncompressed records, so every chunk is checked the same way in indexed and recovery mode.

use crate::err::{self, Error, Result, TW_EINTEGRITY, TW_ETOO_BIG, TW_ETRUNCATED, TW_EUNSUPPORTED};
use crate::validate;
use mcap::records::{op, ChunkHeader};
use std::fs::File;
use std::os::unix::fs::FileExt;

pub struct ChunkLoader {
    comp: Vec<u8>,
    pub raw: Vec<u8>,
    pub max_record: u64,
}

/// Reads opcode and length of the record at `off`; None when fewer than 9 bytes remain.
pub fn record_head(f: &File, path: &str, off: u64, size: u64) -> Result<Option<(u8, u64)>> {
    if off.checked_add(9).is_none_or(|e| e > size) {
        return Ok(None);
    }
    let mut h = [0u8; 9];
    f.read_exact_at(&mut h, off)
        .map_err(|e| err::io_at(path, off, "record header", &e))?;
    Ok(Some((h[0], u64::from_le_bytes(h[1..9].try_into().unwrap()))))
}

/// Reads the body of the record at `off` (opcode `want`) into `buf`, bounded by `max`.
pub fn read_body(f: &File, path: &str, off: u64, size: u64, want: u8, max: u64, buf: &mut Vec<u8>) -> Result<()> {
    let what = err::kind(want);
    let Some((opc, len)) = record_head(f, path, off, size)? else {
        return Err(Error::new(
            TW_ETRUNCATED,
            format!("{path}: {what} at byte {off}: file ends inside the record header"),
        ));
    };
    if opc != want {
        return Err(Error::new(
            TW_EINTEGRITY,
            format!(
                "{path}: {what} at byte {off}: found a {} record (opcode 0x{opc:02x}) instead",
                err::kind(opc)
            ),
        ));
    }
    if len > max {
        return Err(Error::new(
            TW_ETOO_BIG,
            format!("{path}: {what} at byte {off}: {len} bytes exceed the record limit of {max}"),
        ));
    }
    if (off + 9).checked_add(len).is_none_or(|e| e > size) {
        return Err(Error::new(
            TW_ETRUNCATED,
            format!("{path}: {what} at byte {off}: {len} bytes run past the end of the file ({size} bytes)"),
        ));
    }
    buf.clear();
    buf.resize(len as usize, 0);
    f.read_exact_at(buf, off + 9)
        .map_err(|e| err::io_at(path, off, what, &e))
}

impl ChunkLoader {
    pub fn new(max_record: u64) -> Self {
        ChunkLoader {
            comp: Vec::new(),
            raw: Vec::new(),
            max_record,
        }
    }

    /// Loads the chunk record at `start` into `self.raw` (its uncompressed records).
    pub fn load(&mut self, f: &File, path: &str, start: u64, size: u64) -> Result<ChunkHeader> {
        read_body(f, path, start, size, op::CHUNK, self.max_record, &mut self.comp)?;
        let (header, data) = match validate::parse(op::CHUNK, &self.comp) {
            Ok(mcap::records::Record::Chunk { header, data }) => (header, data),
            Ok(_) => unreachable!("parse_record(CHUNK) yields a chunk"),
            Err(m) => return Err(Error::new(TW_EINTEGRITY, format!("{path}: chunk at byte {start}: {m}"))),
        };
        if header.uncompressed_size > self.max_record {
            return Err(Error::new(
                TW_ETOO_BIG,
                format!(
                    "{path}: chunk at byte {start}: uncompressed size {} exceeds the record limit of {}",
                    header.uncompressed_size, self.max_record
                ),
            ));
        }
        let has_crc = header.uncompressed_crc != 0;
        decompress(
            &header.compression,
            &data,
            header.uncompressed_size as usize,
            has_crc,
            &mut self.raw,
        )
        .map_err(|(code, m)| {
            Error::new(
                code,
                format!(
                    "{path}: chunk at byte {start} ({} compressed): {m}",
                    show(&header.compression)
                ),
            )
        })?;
        if header.uncompressed_crc != 0 {
            let got = crc32fast::hash(&self.raw);
            if got != header.uncompressed_crc {
                return Err(Error::new(
                    TW_EINTEGRITY,
                    format!(
                        "{path}: chunk at byte {start}: CRC mismatch (stored {:08x}, computed {got:08x})",
                        header.uncompressed_crc
                    ),
                ));
            }
        }
        Ok(header)
    }
}

fn show(c: &str) -> &str {
    if c.is_empty() {
        "not"
    } else {
        c
    }
}

type DecErr = (i32, String);

/// Decompresses a whole chunk into `out`, which ends up exactly `size` bytes long.
fn decompress(
    compression: &str,
    data: &[u8],
    size: usize,
    has_crc: bool,
    out: &mut Vec<u8>,
) -> std::result::Result<(), DecErr> {
    out.clear();
    match compression {
        "" => {
            if data.len() != size {
                return Err((
                    TW_EINTEGRITY,
                    format!("{} bytes of records, header says {size}", data.len()),
                ));
            }
            out.extend_from_slice(data);
            Ok(())
        }
        #[cfg(feature = "zstd")]
        "zstd" => {
            out.resize(size, 0);
            let n = zstd::bulk::decompress_to_buffer(data, &mut out[..])
                .map_err(|e| (TW_EINTEGRITY, format!("zstd: {e}")))?;
            if n != size {
                return Err((TW_EINTEGRITY, format!("zstd gave {n} bytes, header says {size}")));
            }
            Ok(())
        }
        #[cfg(feature = "lz4")]
        "lz4" => {
            out.resize(size, 0);
            lz4_frame(data, &mut out[..], has_crc)
                .map_err(|m| (TW_EINTEGRITY, format!("lz4: {m} (header says {size} bytes)")))
        }
        other => Err((TW_EUNSUPPORTED, format!("unsupported compression '{other}'"))),
    }
}

/// Calls `f(opcode, body, offset_in_chunk)` for each record of an uncompressed chunk.
pub fn for_each_record<F>(buf: &[u8], mut f: F) -> std::result::Result<(), (usize, String)>
where
    F: FnMut(u8, &[u8], usize) -> std::result::Result<(), (usize, String)>,
{
    let mut pos = 0usize;
    while pos < buf.len() {
        if buf.len() - pos < 9 {
            return Err((pos, "chunk ends inside a record header".into()));
        }
        let opc = buf[pos];
        let len = u64::from_le_bytes(buf[pos + 1..pos + 9].try_into().unwrap());
        if len > (buf.len() - pos - 9) as u64 {
            return Err((
                pos,
                format!(
                    "{} record of {len} bytes runs past the end of the chunk",
                    err::kind(opc)
                ),
            ));
        }
        let body = &buf[pos + 9..pos + 9 + len as usize];
        f(opc, body, pos)?;
        pos += 9 + len as usize;
    }
    Ok(())
}

/// Decodes one whole lz4 frame straight into `out` with liblz4's frame API: `out` is one
/// contiguous buffer, so liblz4 may skip its internal window copies (stable_dst), and when the
/// chunk has a CRC (checked after) the frame's own XXH32 checksum is skipped: profiling showed it
/// took 40% of a read. The frame must fill `out` exactly and use all of `data`.
#[cfg(feature = "lz4")]
fn lz4_frame(data: &[u8], out: &mut [u8], has_crc: bool) -> std::result::Result<(), String> {
    use lz4::liblz4::{
        check_error, LZ4FDecompressOptions, LZ4FDecompressionContext, LZ4F_createDecompressionContext, LZ4F_decompress,
        LZ4F_freeDecompressionContext, LZ4F_VERSION,
    };
    // reserved[0] is liblz4's skipChecksums (lz4frame.h; the Rust binding predates the field).
    let opts = LZ4FDecompressOptions {
        stable_dst: 1,
        reserved: [has_crc as u32, 0, 0],
    };
    struct Ctx(LZ4FDecompressionContext);
    impl Drop for Ctx {
        fn drop(&mut self) {
            // SAFETY: the context was created by LZ4F_createDecompressionContext and is freed once.
            unsafe { LZ4F_freeDecompressionContext(self.0) };
        }
    }
    let mut raw = LZ4FDecompressionContext(std::ptr::null_mut());
    // SAFETY: creates a context into `raw`; on failure nothing is allocated.
    check_error(unsafe { LZ4F_createDecompressionContext(&mut raw, LZ4F_VERSION) }).map_err(|e| e.to_string())?;
    let ctx = Ctx(raw);
    let (mut si, mut di) = (0usize, 0usize);
    loop {
        let (mut dst_n, mut src_n) = (out.len() - di, data.len() - si);
        // SAFETY: both pointers and sizes describe the unwritten part of `out` and the unread part
        // of `data`; liblz4 writes at most dst_n and reads at most src_n bytes and reports both.
        let need = check_error(unsafe {
            LZ4F_decompress(
                ctx.0,
                out[di..].as_mut_ptr(),
                &mut dst_n,
                data[si..].as_ptr(),
                &mut src_n,
                &opts,
            )
        })
        .map_err(|e| e.to_string())?;
        si += src_n;
        di += dst_n;
        if need == 0 {
            break;
        }
        if src_n == 0 && dst_n == 0 {
            return Err(if si == data.len() {
                "the frame is cut short".into()
            } else {
                format!("the frame holds more than {} bytes", out.len())
            });
        }
    }
    if di != out.len() {
        return Err(format!("the frame holds {di} bytes"));
    }
    if si != data.len() {
        return Err(format!("{} bytes after the frame", data.len() - si));
    }
    Ok(())
}
