//! The summary section, read record by record between the footer's summary start and the
//! footer (each record bounded by max_record and length-checked by validate.rs), after checking
//! the footer's summary CRC. Schemas and channels go into the catalog.

use crate::catalog::{cstr, AttachmentC, Catalog};
use crate::chunk::{read_body, record_head};
use crate::err::{self, Error, Result, TW_EINTEGRITY, TW_ETRUNCATED};
use crate::scan::Ctx;
use crate::validate;
use mcap::records::{op, ChunkIndex, Record};
use std::os::unix::fs::FileExt;

pub const FOOTER_AND_MAGIC: u64 = 9 + 20 + 8;

pub struct Summary {
    pub chunks: Vec<ChunkIndex>,
    pub metadata_offsets: Vec<u64>,
    pub message_count: u64,
    pub has_channels: bool,
}

/// The footer's (summary start, summary CRC), or None when the file has no footer.
pub fn footer(cx: &Ctx) -> Option<(u64, u32)> {
    if cx.size < 8 + FOOTER_AND_MAGIC {
        return None;
    }
    let mut b = [0u8; FOOTER_AND_MAGIC as usize];
    cx.f.read_exact_at(&mut b, cx.size - FOOTER_AND_MAGIC).ok()?;
    if b[0] != op::FOOTER || b[29..] != *mcap::MAGIC {
        return None;
    }
    Some((
        u64::from_le_bytes(b[9..17].try_into().unwrap()),
        u32::from_le_bytes(b[25..29].try_into().unwrap()),
    ))
}

/// CRC of the summary section through the footer's summary-offset-start field (MCAP spec).
fn check_crc(cx: &Ctx, at: u64, want: u32) -> Result<()> {
    let end = cx.size - FOOTER_AND_MAGIC + 9 + 16;
    let mut h = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut pos = at;
    while pos < end {
        let n = ((end - pos) as usize).min(buf.len());
        cx.f.read_exact_at(&mut buf[..n], pos)
            .map_err(|e| err::io_at(cx.path, at, "summary section", &e))?;
        h.update(&buf[..n]);
        pos += n as u64;
    }
    let got = h.finalize();
    if got != want {
        return Err(Error::new(
            TW_EINTEGRITY,
            format!(
                "{}: summary section at byte {at}: CRC mismatch (stored {want:08x}, computed {got:08x})",
                cx.path
            ),
        ));
    }
    Ok(())
}

pub fn read(cx: &Ctx, at: u64, crc: u32, cat: &mut Catalog) -> Result<Summary> {
    let footer_at = cx.size - FOOTER_AND_MAGIC;
    if at < 8 || at > footer_at {
        return Err(Error::new(
            TW_EINTEGRITY,
            format!(
                "{}: footer at byte {footer_at}: summary start {at} is outside the file",
                cx.path
            ),
        ));
    }
    if crc != 0 {
        check_crc(cx, at, crc)?;
    }
    let mut s = Summary {
        chunks: Vec::new(),
        metadata_offsets: Vec::new(),
        message_count: 0,
        has_channels: false,
    };
    let mut body = Vec::new();
    let mut pos = at;
    while pos < footer_at {
        let Some((opc, len)) = record_head(cx.f, cx.path, pos, footer_at)? else {
            return Err(Error::new(
                TW_ETRUNCATED,
                format!(
                    "{}: summary section: record header at byte {pos} runs into the footer",
                    cx.path
                ),
            ));
        };
        read_body(cx.f, cx.path, pos, footer_at, opc, cx.max_record, &mut body)?;
        let rec = validate::parse(opc, &body).map_err(|m| {
            Error::new(
                TW_EINTEGRITY,
                format!(
                    "{}: {} record at byte {pos} (summary section): {m}",
                    cx.path,
                    err::kind(opc)
                ),
            )
        })?;
        match rec {
            Record::Schema { header, data } => cat.add_schema(&header, &data),
            Record::Channel(c) => {
                cat.add_channel(&c);
                s.has_channels = true;
            }
            Record::ChunkIndex(c) => s.chunks.push(c),
            Record::MetadataIndex(m) => s.metadata_offsets.push(m.offset),
            Record::AttachmentIndex(a) => cat.attachments.push(AttachmentC {
                offset: a.offset,
                name: cstr(&a.name),
                media_type: cstr(&a.media_type),
                log_time: a.log_time,
                create_time: a.create_time,
                data_size: a.data_size,
            }),
            Record::Statistics(st) => s.message_count = st.message_count,
            _ => {}
        }
        pos += 9 + len;
    }
    Ok(s)
}
