//! The writer: a schema of scalar and (fixed-size) list columns as pyarrow / HF datasets lay them out,
//! rows appended in batches through arrow-rs' ArrowWriter into path.tmp, which close() fsyncs and renames.

use crate::error::{self, TwError, TwResult};
use crate::schema::{self, Level, MAX_LEVELS};
use arrow_array::{ArrayRef, FixedSizeListArray, ListArray, RecordBatch};
use arrow_buffer::{OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, GzipLevel, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{WriterProperties, WriterVersion};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct Options {
    pub codec: i32,
    pub level: i32,
    pub row_group_rows: i64,
    pub dictionary: i32,
    pub page_v2: i32,
}

pub const DEFAULT_OPTIONS: Options =
    Options { codec: 0, level: 0, row_group_rows: 1 << 20, dictionary: 1, page_v2: 0 };

/// A column as declared by the caller.
pub struct Spec {
    pub name: String,
    pub ty: i32,
    pub levels: Vec<Level>,
    pub required: bool,
}

impl Spec {
    /// Leaf values below one entry of the outermost level (product of the inner sizes).
    pub fn inner(&self) -> usize {
        self.levels.iter().skip(1).map(|l| l.size as usize).product()
    }

    fn validate(&self) -> TwResult<()> {
        let bad = |m: &str| Err(TwError::inval(format!("field '{}': {m}", self.name)));
        if self.name.is_empty() {
            return bad("empty name");
        }
        if !matches!(
            self.ty,
            schema::T_BOOL
                | schema::T_INT32
                | schema::T_INT64
                | schema::T_FLOAT32
                | schema::T_FLOAT64
                | schema::T_UTF8
        ) {
            return bad("type must be BOOL, INT32, INT64, FLOAT32, FLOAT64 or UTF8");
        }
        if self.levels.len() > MAX_LEVELS {
            return bad("too many list levels");
        }
        for (i, l) in self.levels.iter().enumerate() {
            if l.size < 0 || (l.size == 0 && (i > 0 || l.fixed != 0)) {
                return bad("a fixed_size_list and every level below the first need a size > 0");
            }
        }
        Ok(())
    }

    fn data_type(&self) -> DataType {
        let mut dt = match self.ty {
            schema::T_BOOL => DataType::Boolean,
            schema::T_INT32 => DataType::Int32,
            schema::T_INT64 => DataType::Int64,
            schema::T_FLOAT32 => DataType::Float32,
            schema::T_FLOAT64 => DataType::Float64,
            _ => DataType::Utf8,
        };
        for l in self.levels.iter().rev() {
            // pyarrow names list items "item" in Arrow; coerce_types writes Parquet's "element" like pyarrow.
            let item = Arc::new(Field::new("item", dt, !self.required));
            dt = if l.fixed != 0 { DataType::FixedSizeList(item, l.size) } else { DataType::List(item) };
        }
        dt
    }

    pub fn field(&self) -> Field {
        Field::new(&self.name, self.data_type(), !self.required)
    }

    /// Wraps nvalues leaf values into this field's list levels for nrows rows (`outer`: the per-row
    /// entry counts of the first level when its size is 0).
    pub fn nest(&self, leaf: ArrayRef, nrows: usize, outer: Option<Vec<i32>>) -> TwResult<ArrayRef> {
        let mut arr = leaf;
        for (i, l) in self.levels.iter().enumerate().rev() {
            let item = Arc::new(Field::new("item", arr.data_type().clone(), !self.required));
            let size = l.size as usize;
            arr = if l.fixed != 0 {
                Arc::new(FixedSizeListArray::try_new(item, l.size, arr, None)?)
            } else if i == 0 && size == 0 {
                let lens = outer.clone().ok_or_else(|| TwError::inval("lengths missing"))?;
                let offs = OffsetBuffer::<i32>::from_lengths(lens.iter().map(|&n| n as usize));
                Arc::new(ListArray::try_new(item, offs, arr, None)?)
            } else {
                let entries = arr.len() / size;
                let offs = (0..=entries).map(|k| (k * size) as i32).collect::<Vec<i32>>();
                Arc::new(ListArray::try_new(item, OffsetBuffer::new(ScalarBuffer::from(offs)), arr, None)?)
            };
        }
        if arr.len() != nrows {
            return Err(TwError::new(
                error::SHAPE,
                format!("field '{}': {} rows built, {nrows} expected", self.name, arr.len()),
            ));
        }
        Ok(arr)
    }
}

pub struct Writer {
    pub path: PathBuf,
    pub tmp: PathBuf,
    pub specs: Vec<Spec>,
    schema: SchemaRef,
    opts: Options,
    kv: BTreeMap<String, String>,
    file: Option<File>,
    w: Option<ArrowWriter<File>>,
}

fn props(o: &Options, kv: &BTreeMap<String, String>) -> TwResult<WriterProperties> {
    let level = |dflt: i32| if o.level == 0 { dflt } else { o.level };
    let codec = match o.codec {
        0 => Compression::SNAPPY,
        1 => Compression::ZSTD(ZstdLevel::try_new(level(1))?),
        2 => Compression::GZIP(GzipLevel::try_new(level(6).max(0) as u32)?),
        3 => Compression::UNCOMPRESSED,
        c => return Err(TwError::inval(format!("unknown codec {c}"))),
    };
    if o.row_group_rows <= 0 {
        return Err(TwError::inval("row_group_rows must be > 0"));
    }
    let kvs: Vec<KeyValue> = kv.iter().map(|(k, v)| KeyValue::new(k.clone(), v.clone())).collect();
    Ok(WriterProperties::builder()
        .set_compression(codec)
        .set_max_row_group_row_count(Some(o.row_group_rows as usize))
        .set_dictionary_enabled(o.dictionary != 0)
        .set_writer_version(if o.page_v2 != 0 {
            WriterVersion::PARQUET_2_0
        } else {
            WriterVersion::PARQUET_1_0
        })
        .set_coerce_types(true)
        .set_key_value_metadata(if kvs.is_empty() { None } else { Some(kvs) })
        .build())
}

impl Writer {
    pub fn create(path: &str, specs: Vec<Spec>, opts: Options) -> TwResult<Writer> {
        for (i, s) in specs.iter().enumerate() {
            s.validate()?;
            if specs[..i].iter().any(|o| o.name == s.name) {
                return Err(TwError::new(error::DUP, format!("field '{}' declared twice", s.name)));
            }
        }
        props(&opts, &BTreeMap::new())?; // refuse bad options now, not at the first write
        let path = PathBuf::from(path);
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(|e| TwError::from(e).at(&tmp.display().to_string()))?;
        let schema = Arc::new(Schema::new(specs.iter().map(Spec::field).collect::<Vec<_>>()));
        Ok(Writer { path, tmp, specs, schema, opts, kv: BTreeMap::new(), file: Some(file), w: None })
    }

    pub fn set_metadata(&mut self, key: &str, value: &str) -> TwResult<()> {
        if self.w.is_some() {
            return Err(TwError::new(error::STATE, "metadata must be set before the first write"));
        }
        self.kv.insert(key.to_string(), value.to_string());
        Ok(())
    }

    /// The ArrowWriter, created at the first use so that all metadata is known (it goes into the
    /// footer's key/value list and, as pyarrow does, into the embedded Arrow schema).
    fn writer(&mut self) -> TwResult<&mut ArrowWriter<File>> {
        if self.w.is_none() {
            let file = self.file.take().ok_or_else(|| TwError::new(error::STATE, "writer already closed"))?;
            let schema = Arc::new(Schema::new_with_metadata(self.schema.fields().clone(), self.kv.clone()));
            self.schema = schema.clone();
            // pyarrow names the root group "schema" (arrow-rs: "arrow_schema"); match it byte for byte.
            let o = ArrowWriterOptions::new()
                .with_properties(props(&self.opts, &self.kv)?)
                .with_schema_root("schema".to_string());
            self.w = Some(ArrowWriter::try_new_with_options(file, schema, o)?);
        }
        Ok(self.w.as_mut().unwrap())
    }

    pub fn write(&mut self, cols: Vec<ArrayRef>) -> TwResult<()> {
        self.writer()?;
        let batch = RecordBatch::try_new(self.schema.clone(), cols)?;
        self.w.as_mut().unwrap().write(&batch)?;
        Ok(())
    }

    pub fn flush(&mut self) -> TwResult<()> {
        Ok(self.writer()?.flush()?)
    }

    /// Footer, fsync, rename over path, fsync the directory. On error the temporary file is removed.
    pub fn close(mut self) -> TwResult<()> {
        let r = self.finish();
        if r.is_err() {
            let _ = std::fs::remove_file(&self.tmp);
        }
        r
    }

    fn finish(&mut self) -> TwResult<()> {
        self.writer()?;
        let file = self.w.take().unwrap().into_inner()?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&self.tmp, &self.path)?;
        let dir = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => Path::new(".").to_path_buf(),
        };
        File::open(&dir)?.sync_all()?;
        Ok(())
    }

    pub fn abort(self) {
        let tmp = self.tmp.clone();
        drop(self);
        let _ = std::fs::remove_file(tmp);
    }
}
