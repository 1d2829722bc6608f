//! Linear scan of the top-level records, as `mcap recover` does: used when a file has no
//! summary (a crashed recorder's file) or is cut. It collects schemas, channels, metadata and
//! attachments, and builds a chunk index for every complete chunk so that messages can still be
//! read in log-time order. It stops at the first record that runs past the end of the file.

use crate::catalog::{cstr, AttachmentC, Catalog};
use crate::chunk::{for_each_record, read_body, record_head, ChunkLoader};
use crate::err::{self, Error, Result, TW_EINTEGRITY};
use crate::validate;
use mcap::records::{op, ChunkIndex, Record};
use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;

pub struct Scan {
    pub chunks: Vec<ChunkIndex>,
    pub top_level_messages: bool,
    /// Offset of the record where the scan stopped (data end, footer, cut or end of file).
    pub stop: u64,
    /// Why the scan stopped early, when it did not reach a data-end or footer record.
    pub cut: Option<String>,
}

/// Ctx bundles what every step of the scan needs.
pub struct Ctx<'a> {
    pub f: &'a File,
    pub path: &'a str,
    pub size: u64,
    pub max_record: u64,
}

pub fn scan(cx: &Ctx, start: u64, cat: &mut Catalog, loader: &mut ChunkLoader) -> Result<Scan> {
    let mut s = Scan {
        chunks: Vec::new(),
        top_level_messages: false,
        stop: start,
        cut: None,
    };
    let mut pos = start;
    let mut body = Vec::new();
    loop {
        s.stop = pos;
        let Some((opc, len)) = record_head(cx.f, cx.path, pos, cx.size)? else {
            if pos != cx.size {
                s.cut = Some(format!("the file ends inside a record header at byte {pos}"));
            }
            return Ok(s);
        };
        if opc == 0 || len > cx.size - pos - 9 {
            s.cut = Some(if opc == 0 {
                format!("no record at byte {pos} (zero opcode)")
            } else {
                format!(
                    "the {} record at byte {pos} ({len} bytes) is cut by the end of the file",
                    err::kind(opc)
                )
            });
            return Ok(s);
        }
        match opc {
            op::DATA_END | op::FOOTER => return Ok(s),
            op::CHUNK => s.chunks.extend(scan_chunk(cx, pos, len, cat, loader)?),
            op::MESSAGE => s.top_level_messages = true,
            op::SCHEMA | op::CHANNEL | op::METADATA => {
                read_body(cx.f, cx.path, pos, cx.size, opc, cx.max_record, &mut body)?;
                add_record(cat, opc, &body).map_err(|m| bad(cx, pos, opc, &m))?;
            }
            op::ATTACHMENT => cat.attachments.push(attachment_head(cx, pos, len)?),
            _ => {}
        }
        pos += 9 + len;
    }
}

fn bad(cx: &Ctx, pos: u64, opc: u8, m: &str) -> Error {
    Error::new(
        TW_EINTEGRITY,
        format!("{}: {} record at byte {pos}: {m}", cx.path, err::kind(opc)),
    )
}

fn add_record(cat: &mut Catalog, opc: u8, body: &[u8]) -> std::result::Result<(), String> {
    match validate::parse(opc, body)? {
        Record::Schema { header, data } => cat.add_schema(&header, &data),
        Record::Channel(c) => cat.add_channel(&c),
        Record::Metadata(m) => cat.add_metadata(&m),
        _ => {}
    }
    Ok(())
}

/// Decompresses one chunk (checking its CRC), takes its schemas and channels, and returns an
/// index entry describing the chunk as uncompressed (see reader.rs: chunks reach the mcap
/// crate's IndexedReader already decompressed).
fn scan_chunk(cx: &Ctx, pos: u64, len: u64, cat: &mut Catalog, loader: &mut ChunkLoader) -> Result<Option<ChunkIndex>> {
    let header = loader.load(cx.f, cx.path, pos, cx.size)?;
    let (mut lo, mut hi, mut n) = (u64::MAX, 0u64, 0usize);
    for_each_record(&loader.raw, |opc, body, _| {
        match opc {
            op::SCHEMA | op::CHANNEL => add_record(cat, opc, body).map_err(|m| (0, m))?,
            op::MESSAGE => {
                if body.len() < 22 {
                    return Err((0, "message record shorter than its 22-byte header".into()));
                }
                let t = u64::from_le_bytes(body[6..14].try_into().unwrap());
                lo = lo.min(t);
                hi = hi.max(t);
                n += 1;
            }
            _ => {}
        }
        Ok(())
    })
    .map_err(|(at, m)| {
        Error::new(
            TW_EINTEGRITY,
            format!(
                "{}: chunk at byte {pos}: record at byte {at} of its uncompressed records: {m}",
                cx.path
            ),
        )
    })?;
    if n == 0 {
        return Ok(None);
    }
    Ok(Some(ChunkIndex {
        message_start_time: lo,
        message_end_time: hi,
        chunk_start_offset: pos,
        chunk_length: 9 + len,
        message_index_offsets: BTreeMap::new(),
        message_index_length: 0,
        compression: header.compression,
        compressed_size: header.compressed_size,
        uncompressed_size: header.uncompressed_size,
    }))
}

/// Reads an attachment's header fields without its data (which may be large).
fn attachment_head(cx: &Ctx, pos: u64, len: u64) -> Result<AttachmentC> {
    let end = pos + 9 + len;
    let mut at = pos + 9;
    let mut take = |n: u64| -> Result<Vec<u8>> {
        if n > end - at || n > cx.max_record {
            return Err(bad(cx, pos, op::ATTACHMENT, "header fields run past the record"));
        }
        let mut b = vec![0u8; n as usize];
        cx.f.read_exact_at(&mut b, at)
            .map_err(|e| err::io_at(cx.path, pos, "attachment", &e))?;
        at += n;
        Ok(b)
    };
    let u64_of = |b: Vec<u8>| u64::from_le_bytes(b[..8].try_into().unwrap());
    let log_time = u64_of(take(8)?);
    let create_time = u64_of(take(8)?);
    let nl = u32::from_le_bytes(take(4)?[..4].try_into().unwrap());
    let name = String::from_utf8_lossy(&take(nl as u64)?).into_owned();
    let ml = u32::from_le_bytes(take(4)?[..4].try_into().unwrap());
    let media = String::from_utf8_lossy(&take(ml as u64)?).into_owned();
    let data_size = u64_of(take(8)?);
    Ok(AttachmentC {
        offset: pos,
        name: cstr(&name),
        media_type: cstr(&media),
        log_time,
        create_time,
        data_size,
    })
}
