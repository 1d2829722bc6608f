//! The reader: open (summary or scan), then messages in log-time order.
//!
//! Why not a memory map: a file that is cut or rewritten under a map faults (SIGBUS) instead of
//! returning an error, and a map makes "memory bounded" depend on the page cache. Instead the
//! reader uses the mcap crate's sans-io IndexedReader and serves its chunk requests with pread:
//! only the chunks that overlap in log time are held at once, and open() refuses (falls back
//! to file order) when that worst case exceeds the configured buffer budget.

use crate::catalog::{cstr, Catalog};
use crate::chunk::{read_body, record_head, ChunkLoader};
use crate::err::{self, Error, Result, TW_EBAD_MAGIC, TW_EINTEGRITY, TW_EVERSION};
use crate::scan::{scan, Ctx};
use crate::summary;
use crate::validate;
use mcap::records::{op, ChunkIndex, MessageHeader, Record};
use mcap::sans_io::indexed_reader::ReadOrder;
use mcap::sans_io::{IndexedReadEvent, IndexedReader, IndexedReaderOptions};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::ffi::CString;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Offset of a chunk's records field when its compression string is empty (see
/// ChunkIndex::compressed_data_offset): opcode, length, 2 times, size, CRC, string length, size.
const RECORDS_AT: u64 = 1 + 8 + 8 + 8 + 8 + 4 + 4 + 8;

pub struct Options {
    pub max_record: u64,
    pub max_buffer: u64,
}

pub struct Info {
    pub size: u64,
    pub stop: u64,
    pub message_count: u64,
    pub chunk_count: u64,
    pub indexed: bool,
    pub recovered: bool,
    pub log_time_order: bool,
    pub profile: CString,
    pub warning: CString,
}

pub struct Msg {
    pub header: MessageHeader,
    pub data: *const u8,
    pub len: usize,
}

pub struct Reader {
    pub f: File,
    pub path: String,
    pub cat: Catalog,
    pub info: Info,
    pub opts: Options,
    indexed: Option<IndexedReader>,
    linear: Option<(u64, u64)>,
    loader: ChunkLoader,
    buf: Vec<u8>,
    cur_chunk: u64,
    failed: Option<Error>,
}

fn open_file(os_path: &Path, path: &str) -> Result<(File, u64)> {
    let f = File::open(os_path).map_err(|e| Error::new(err::io_code(&e), format!("{path}: open: {e}")))?;
    let size = f
        .metadata()
        .map_err(|e| Error::new(err::io_code(&e), format!("{path}: stat: {e}")))?
        .len();
    let mut magic = [0u8; 8];
    let n = f.read_at(&mut magic, 0).unwrap_or(0);
    if n < 8 || magic[..5] != mcap::MAGIC[..5] || magic[6..] != mcap::MAGIC[6..] {
        return Err(Error::new(
            TW_EBAD_MAGIC,
            format!("{path}: not an MCAP file (no MCAP magic at byte 0)"),
        ));
    }
    if magic[5] != mcap::MAGIC[5] {
        return Err(Error::new(
            TW_EVERSION,
            format!(
                "{path}: MCAP major version '{}' at byte 5 is not supported",
                magic[5] as char
            ),
        ));
    }
    Ok((f, size))
}

/// The profile string of the header record at byte 8 ("" when absent or unreadable).
fn profile(cx: &Ctx) -> CString {
    let mut body = Vec::new();
    if read_body(
        cx.f,
        cx.path,
        8,
        cx.size,
        op::HEADER,
        cx.max_record.min(1 << 20),
        &mut body,
    )
    .is_ok()
    {
        if let Ok(Record::Header(h)) = validate::parse(op::HEADER, &body) {
            return cstr(&h.profile);
        }
    }
    CString::default()
}

/// Worst case of uncompressed bytes held at once when reading chunks in log-time order.
fn overlap_bytes(chunks: &[ChunkIndex]) -> u64 {
    let mut v: Vec<&ChunkIndex> = chunks.iter().collect();
    v.sort_by_key(|c| (c.message_start_time, c.chunk_start_offset));
    let mut live: BinaryHeap<Reverse<(u64, u64)>> = BinaryHeap::new();
    let (mut sum, mut worst) = (0u64, 0u64);
    for c in v {
        while let Some(Reverse((end, sz))) = live.peek().copied() {
            if end >= c.message_start_time {
                break;
            }
            live.pop();
            sum -= sz;
        }
        live.push(Reverse((c.message_end_time, c.uncompressed_size)));
        sum = sum.saturating_add(c.uncompressed_size);
        worst = worst.max(sum);
    }
    worst
}

impl Reader {
    pub fn open(os_path: &Path, opts: Options) -> Result<Reader> {
        let shown = os_path.to_string_lossy();
        let path: &str = &shown;
        let (f, size) = open_file(os_path, path)?;
        let mut cat = Catalog::default();
        let mut loader = ChunkLoader::new(opts.max_record);
        let cx = Ctx {
            f: &f,
            path,
            size,
            max_record: opts.max_record,
        };
        let footer = summary::footer(&cx);
        let mut info = Info {
            size,
            stop: size,
            message_count: 0,
            chunk_count: 0,
            indexed: false,
            recovered: footer.is_none(),
            log_time_order: true,
            profile: profile(&cx),
            warning: CString::default(),
        };
        let summary = match footer {
            Some((at, crc)) if at != 0 => Some((at, summary::read(&cx, at, crc, &mut cat)?)),
            _ => None,
        };
        let (chunks, linear) = match summary {
            // A summary without channels cannot name the chunks' channels: scan instead.
            Some((at, s)) if s.has_channels || s.chunks.is_empty() => {
                for off in &s.metadata_offsets {
                    read_metadata(&cx, *off, &mut cat)?;
                }
                info.indexed = true;
                info.stop = at;
                info.message_count = s.message_count;
                let lin = s.chunks.is_empty().then_some((8, at));
                (s.chunks, lin)
            }
            _ => {
                cat = Catalog::default();
                let sc = scan(&cx, 8, &mut cat, &mut loader)?;
                info.stop = sc.stop;
                if info.recovered {
                    let why = sc
                        .cut
                        .clone()
                        .unwrap_or_else(|| format!("the end of the file at byte {size}"));
                    info.warning = cstr(&format!(
                        "{path}: no footer or summary (recorder killed or file cut): \
                        read by scanning; stopped at byte {} ({why}); everything before it was read",
                        sc.stop
                    ));
                }
                (sc.chunks, sc.top_level_messages.then_some((8, sc.stop)))
            }
        };
        let mut r = Reader {
            f,
            path: path.to_string(),
            cat,
            info,
            opts,
            indexed: None,
            linear,
            loader,
            buf: Vec::new(),
            cur_chunk: 0,
            failed: None,
        };
        r.info.chunk_count = chunks.len() as u64;
        r.start_indexed(chunks)?;
        Ok(r)
    }

    /// Sets up the IndexedReader over chunk indexes rewritten as uncompressed: ChunkLoader
    /// decompresses and checks the CRC first (the crate's IndexedReader checks no CRC).
    fn start_indexed(&mut self, chunks: Vec<ChunkIndex>) -> Result<()> {
        // Messages outside chunks have no index: they come in file order (after the chunks').
        if self.linear.is_some() {
            self.info.log_time_order = false;
        }
        if chunks.is_empty() {
            return Ok(());
        }
        let mut order = ReadOrder::LogTime;
        let worst = overlap_bytes(&chunks);
        if worst > self.opts.max_buffer {
            order = ReadOrder::File;
            self.info.log_time_order = false;
            self.info.warning = cstr(&format!(
                "{}: chunks overlapping in log time need {worst} bytes at once, over the \
                {}-byte buffer limit: messages come in file order",
                self.path, self.opts.max_buffer
            ));
        }
        let summary = mcap::Summary {
            chunk_indexes: chunks
                .into_iter()
                .map(|mut c| {
                    c.compression = String::new();
                    c.compressed_size = c.uncompressed_size;
                    c
                })
                .collect(),
            ..Default::default()
        };
        let o = IndexedReaderOptions::new()
            .with_order(order)
            .with_record_length_limit(self.opts.max_record as usize);
        self.indexed =
            Some(IndexedReader::new_with_options(&summary, o).map_err(|e| err::at(&self.path, 0, "chunk index", &e))?);
        Ok(())
    }

    /// The next message, or None at the end. After an error every call returns that error.
    pub fn next(&mut self) -> Result<Option<Msg>> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        // A panic inside the crate on a corrupt chunk leaves its state unknown: stop for good.
        let r = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.next_inner())) {
            Ok(r) => r,
            Err(_) => Err(Error::new(
                TW_EINTEGRITY,
                format!(
                    "{}: chunk at byte {}: internal error on corrupt input (caught panic)",
                    self.path, self.cur_chunk
                ),
            )),
        };
        if let Err(e) = &r {
            self.failed = Some(e.clone());
        }
        r
    }

    fn next_inner(&mut self) -> Result<Option<Msg>> {
        while let Some(ir) = self.indexed.as_mut() {
            let ev = match ir.next_event() {
                None => break,
                Some(ev) => ev.map_err(|e| err::at(&self.path, self.cur_chunk, "chunk", &e))?,
            };
            let (offset, length) = match ev {
                IndexedReadEvent::Message { header, data } => {
                    return Ok(Some(Msg {
                        header,
                        data: data.as_ptr(),
                        len: data.len(),
                    }));
                }
                IndexedReadEvent::ReadChunkRequest { offset, length } => (offset, length),
            };
            let start = offset - RECORDS_AT;
            self.cur_chunk = start;
            let h = self.loader.load(&self.f, &self.path, start, self.info.size)?;
            if h.uncompressed_size != length as u64 {
                return Err(Error::new(
                    TW_EINTEGRITY,
                    format!(
                        "{}: chunk at byte {start}: {} uncompressed bytes, its index says {length}",
                        self.path, h.uncompressed_size
                    ),
                ));
            }
            ir.insert_chunk_record_data(offset, &self.loader.raw)
                .map_err(|e| err::at(&self.path, start, "chunk", &e))?;
        }
        self.indexed = None;
        self.next_linear()
    }

    /// Messages outside chunks (unchunked files), in file order.
    fn next_linear(&mut self) -> Result<Option<Msg>> {
        let Some((mut pos, end)) = self.linear else {
            return Ok(None);
        };
        while let Some((opc, len)) = record_head(&self.f, &self.path, pos, end)? {
            if opc == op::DATA_END || opc == op::FOOTER || opc == 0 || len > end - pos - 9 {
                break;
            }
            let at = pos;
            pos += 9 + len;
            if opc != op::MESSAGE {
                continue;
            }
            read_body(
                &self.f,
                &self.path,
                at,
                end,
                op::MESSAGE,
                self.opts.max_record,
                &mut self.buf,
            )?;
            self.linear = Some((pos, end));
            return match validate::parse(op::MESSAGE, &self.buf) {
                Ok(Record::Message { header, data }) => Ok(Some(Msg {
                    header,
                    data: data.as_ptr(),
                    len: data.len(),
                })),
                Ok(_) => unreachable!("parse_record(MESSAGE) yields a message"),
                Err(m) => Err(Error::new(
                    TW_EINTEGRITY,
                    format!("{}: message record at byte {at}: {m}", self.path),
                )),
            };
        }
        self.linear = None;
        Ok(None)
    }

    /// Reads attachment `i`'s data (checking its CRC) into a buffer owned by the reader.
    pub fn attachment_data(&mut self, i: usize) -> Result<(*const u8, usize)> {
        let off = self.cat.attachments[i].offset;
        read_body(
            &self.f,
            &self.path,
            off,
            self.info.size,
            op::ATTACHMENT,
            self.opts.max_record,
            &mut self.buf,
        )?;
        match validate::parse(op::ATTACHMENT, &self.buf) {
            Ok(Record::Attachment { data, .. }) => Ok((data.as_ptr(), data.len())),
            Ok(_) => unreachable!("parse_record(ATTACHMENT) yields an attachment"),
            Err(m) => Err(Error::new(
                TW_EINTEGRITY,
                format!("{}: attachment record at byte {off}: {m}", self.path),
            )),
        }
    }
}

fn read_metadata(cx: &Ctx, off: u64, cat: &mut Catalog) -> Result<()> {
    let mut body = Vec::new();
    read_body(cx.f, cx.path, off, cx.size, op::METADATA, cx.max_record, &mut body)?;
    match validate::parse(op::METADATA, &body) {
        Ok(Record::Metadata(m)) => {
            cat.add_metadata(&m);
            Ok(())
        }
        Ok(_) => unreachable!("parse_record(METADATA) yields metadata"),
        Err(m) => Err(Error::new(
            TW_EINTEGRITY,
            format!("{}: metadata record at byte {off}: {m}", cx.path),
        )),
    }
}
