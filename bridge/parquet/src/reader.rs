//! The reader: footer and schema at open, then one (column, row group) decoded at a time through the
//! arrow reader with a one-leaf projection. Each column keeps its last decoded row group, so memory is
//! bounded by one row group per column however large the file is.

use crate::error::{self, TwError, TwResult};
use crate::schema::{self, Leaf, Step};
use arrow_array::{Array, ArrayRef, FixedSizeListArray, LargeListArray, ListArray, MapArray, StructArray};
use bytes::Bytes;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;
use parquet::file::reader::ChunkReader;
use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

pub enum Source {
    File(File),
    Memory(Bytes),
}

pub struct Reader {
    pub label: String, // file path (or "<memory>") for messages
    src: Source,
    meta: ArrowReaderMetadata,
    pub leaves: Vec<Leaf>,
    pub rg_start: Vec<i64>, // first row of each row group, plus the total at the end
    pub kv: Vec<(CString, CString)>,
    cache: Vec<Option<(usize, ArrayRef)>>, // per leaf: (row group, decoded top-level column)
}

/// Tells "not Parquet" from "cut short" before the footer parser does (it reports both as a bad footer).
fn check_magic(head: &[u8], tail: &[u8], len: u64) -> TwResult<()> {
    if len >= 4 && &head[..4] != b"PAR1" {
        return Err(TwError::new(error::BAD_MAGIC, "not a Parquet file (no PAR1 magic at offset 0)"));
    }
    if len < 12 {
        return Err(TwError::new(
            error::TRUNCATED,
            format!("truncated: {len} bytes is too short for Parquet"),
        ));
    }
    if tail != b"PAR1" {
        return Err(TwError::new(
            error::TRUNCATED,
            "truncated or damaged: no PAR1 magic at the end (no footer)",
        ));
    }
    Ok(())
}

fn magic_of_file(f: &mut File) -> TwResult<()> {
    let len = f.metadata()?.len();
    let (mut head, mut tail) = ([0u8; 4], [0u8; 4]);
    if len >= 4 {
        f.read_exact(&mut head)?;
        f.seek(SeekFrom::Start(len - 4))?;
        f.read_exact(&mut tail)?;
    }
    check_magic(&head, &tail, len)
}

impl Reader {
    pub fn open_file(path: &str) -> TwResult<Reader> {
        let mut f = File::open(path).map_err(|e| TwError::from(e).at(path))?;
        magic_of_file(&mut f).map_err(|e| e.at(path))?;
        Self::open(path.to_string(), Source::File(f))
    }

    pub fn open_memory(data: Bytes) -> TwResult<Reader> {
        let len = data.len();
        let tail = if len >= 4 { &data[len - 4..] } else { &[][..] };
        check_magic(&data[..len.min(4)], tail, len as u64).map_err(|e| e.at("<memory>"))?;
        Self::open("<memory>".to_string(), Source::Memory(data))
    }

    fn open(label: String, src: Source) -> TwResult<Reader> {
        let opts = ArrowReaderOptions::new();
        let meta = match &src {
            Source::File(f) => ArrowReaderMetadata::load(f, opts),
            Source::Memory(b) => ArrowReaderMetadata::load(b, opts),
        }
        .map_err(|e| TwError::from(e).at(&format!("{label}: footer")))?;
        let leaves = schema::leaves(meta.schema(), meta.parquet_schema())
            .map_err(|m| TwError::new(error::UNSUPPORTED, format!("{label}: {m}")))?;
        let md = meta.metadata();
        let mut rg_start = vec![0i64];
        for rg in md.row_groups() {
            let n = rg.num_rows();
            if n < 0 {
                return Err(TwError::new(
                    error::INTEGRITY,
                    format!("{label}: negative row count in a row group"),
                ));
            }
            rg_start.push(rg_start.last().unwrap().saturating_add(n));
        }
        let kv = md
            .file_metadata()
            .key_value_metadata()
            .map(|kvs| {
                kvs.iter().map(|kv| (cstr(&kv.key), cstr(kv.value.as_deref().unwrap_or("")))).collect()
            })
            .unwrap_or_default();
        let n = leaves.len();
        Ok(Reader { label, src, meta, leaves, rg_start, kv, cache: vec![None; n] })
    }

    pub fn num_rows(&self) -> i64 {
        *self.rg_start.last().unwrap()
    }

    pub fn place(&self, col: usize, rg: usize) -> String {
        format!("{}: column '{}', row group {}", self.label, self.leaves[col].name.to_string_lossy(), rg)
    }

    /// The decoded top-level column that holds leaf `col` for row group `rg` (from the cache if it is there).
    pub fn column_chunk(&mut self, col: usize, rg: usize) -> TwResult<ArrayRef> {
        if let Some((cached_rg, arr)) = &self.cache[col] {
            if *cached_rg == rg {
                return Ok(arr.clone());
            }
        }
        self.cache[col] = None; // release the old row group before decoding the next
        let arr = match &self.src {
            Source::File(f) => self.decode(f.try_clone()?, col, rg),
            Source::Memory(b) => self.decode(b.clone(), col, rg),
        }
        .map_err(|e| e.at(&self.place(col, rg)))?;
        self.cache[col] = Some((rg, arr.clone()));
        Ok(arr)
    }

    fn decode<T: ChunkReader + 'static>(&self, input: T, col: usize, rg: usize) -> TwResult<ArrayRef> {
        let rows = (self.rg_start[rg + 1] - self.rg_start[rg]) as usize;
        let mask = ProjectionMask::leaves(self.meta.parquet_schema(), [col]);
        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(input, self.meta.clone())
            .with_projection(mask)
            .with_row_groups(vec![rg])
            // Bounded batches: a damaged footer may claim any row count, so never preallocate by it.
            .with_batch_size(rows.clamp(1, 65536))
            .build()?;
        let mut parts: Vec<ArrayRef> = Vec::new();
        for batch in reader {
            let batch = batch?;
            let top = batch
                .column_by_name(&self.leaves[col].top)
                .ok_or_else(|| TwError::new(error::INTEGRITY, "projected column missing from the batch"))?;
            parts.push(top.clone());
        }
        let got: usize = parts.iter().map(|a| a.len()).sum();
        if got != rows {
            return Err(TwError::new(
                error::INTEGRITY,
                format!("row group holds {got} rows where the footer says {rows}"),
            ));
        }
        match parts.len() {
            0 => Ok(arrow_array::new_empty_array(
                &self.meta.schema().field_with_name(&self.leaves[col].top)?.data_type().clone(),
            )),
            1 => Ok(parts.pop().unwrap()),
            _ => {
                let refs: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
                Ok(arrow_select::concat::concat(&refs)?)
            }
        }
    }
}

fn cstr(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

/// Walks from a top-level column to leaf values, mapping row boundaries (b[0..=n]) to leaf-value
/// boundaries. Returns the leaf array; `bounds` then indexes into it.
pub fn descend(top: &ArrayRef, steps: &[Step], bounds: &mut [usize]) -> TwResult<ArrayRef> {
    let mut arr = top.clone();
    for step in steps {
        arr = match step {
            Step::Child(name) => {
                let s = arr.as_any().downcast_ref::<StructArray>().ok_or_else(|| bad("struct"))?;
                s.column_by_name(name).ok_or_else(|| bad("struct field"))?.clone()
            }
            Step::Fixed(n) => {
                let l = arr
                    .as_any()
                    .downcast_ref::<FixedSizeListArray>()
                    .ok_or_else(|| bad("fixed_size_list"))?;
                for b in bounds.iter_mut() {
                    *b *= n; // offset() of a fixed_size_list is always 0: slicing slices its values
                }
                l.values().clone()
            }
            Step::List => list_step(&arr, bounds)?,
        };
    }
    let len = arr.len();
    if bounds.iter().any(|&b| b > len) || bounds.windows(2).any(|w| w[0] > w[1]) {
        return Err(TwError::new(error::INTEGRITY, "list offsets out of range"));
    }
    Ok(arr)
}

fn bad(what: &str) -> TwError {
    TwError::new(error::INTEGRITY, format!("decoded column is not the {what} its schema declares"))
}

fn list_step(arr: &ArrayRef, bounds: &mut [usize]) -> TwResult<ArrayRef> {
    let any = arr.as_any();
    let (offs, values): (Vec<usize>, ArrayRef) = if let Some(l) = any.downcast_ref::<ListArray>() {
        (bounds.iter().map(|&b| l.value_offsets()[b] as usize).collect(), l.values().clone())
    } else if let Some(l) = any.downcast_ref::<LargeListArray>() {
        (bounds.iter().map(|&b| l.value_offsets()[b] as usize).collect(), l.values().clone())
    } else if let Some(m) = any.downcast_ref::<MapArray>() {
        (
            bounds.iter().map(|&b| m.value_offsets()[b] as usize).collect(),
            std::sync::Arc::new(m.entries().clone()),
        )
    } else {
        return Err(bad("list"));
    };
    bounds.copy_from_slice(&offs);
    Ok(values)
}
