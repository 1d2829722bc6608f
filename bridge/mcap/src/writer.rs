//! The writer: Foxglove's mcap::Writer into `<path>.tmp`; close() finishes the file (summary and
//! indexes), fsyncs it, renames it to `<path>` and fsyncs the directory, so a file under the
//! final name is always complete. abort() removes the temporary file.

use crate::err::{self, Error, Result, TW_EINVAL, TW_ESTATE};
use mcap::records::{AttachmentHeader, MessageHeader, Metadata};
use mcap::{Compression, WriteOptions, Writer as McapWriter};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

pub const COMPRESS_ZSTD: i32 = 0;
pub const COMPRESS_LZ4: i32 = 1;
pub const COMPRESS_NONE: i32 = 2;

pub struct Options {
    pub compression: i32,
    pub chunk_size: u64,
    pub use_chunks: bool,
    pub profile: String,
}

pub struct Writer {
    w: Option<McapWriter<BufWriter<File>>>,
    path: PathBuf,
    tmp: PathBuf,
    failed: bool,
}

fn compression(c: i32) -> Result<Option<Compression>> {
    match c {
        #[cfg(feature = "zstd")]
        COMPRESS_ZSTD => return Ok(Some(Compression::Zstd)),
        #[cfg(feature = "lz4")]
        COMPRESS_LZ4 => return Ok(Some(Compression::Lz4)),
        COMPRESS_NONE => return Ok(None),
        _ => {}
    }
    let what = match c {
        COMPRESS_ZSTD => "zstd",
        COMPRESS_LZ4 => "lz4",
        _ => "unknown",
    };
    Err(Error::new(
        err::TW_EUNSUPPORTED,
        format!("{what} compression ({c}) is not built in"),
    ))
}

impl Writer {
    pub fn open(path: &Path, o: &Options) -> Result<Writer> {
        if o.use_chunks && o.chunk_size == 0 {
            return Err(Error::new(TW_EINVAL, format!("{}: chunk size 0", path.display())));
        }
        let path = path.to_path_buf();
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(|e| Error::new(err::io_code(&e), format!("{}: create: {e}", tmp.display())))?;
        let opts = WriteOptions::new()
            .compression(compression(o.compression)?)
            .chunk_size(Some(o.chunk_size))
            .use_chunks(o.use_chunks)
            .profile(o.profile.clone())
            .library(format!(
                "teleworld tw_mcap {} (mcap-rust {})",
                env!("CARGO_PKG_VERSION"),
                mcap::VERSION
            ));
        // Compress on the caller's thread: the crate would otherwise start one thread per core,
        // competing with the recorder's own threads on a small machine.
        #[cfg(feature = "zstd")]
        let opts = opts.compression_threads(0);
        let w = opts.create(BufWriter::with_capacity(1 << 20, f)).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            err::at(&tmp.display().to_string(), 0, "header", &e)
        })?;
        Ok(Writer {
            w: Some(w),
            path,
            tmp,
            failed: false,
        })
    }

    fn fail(&mut self, what: &str, e: mcap::McapError) -> Error {
        self.failed = true;
        Error::new(err::code_of(&e), format!("{}: {what}: {e}", self.tmp.display()))
    }

    fn live(&mut self) -> Result<&mut McapWriter<BufWriter<File>>> {
        if self.failed {
            return Err(Error::new(
                TW_ESTATE,
                format!("{}: an earlier write failed; abort the writer", self.tmp.display()),
            ));
        }
        Ok(self.w.as_mut().expect("writer present until close"))
    }

    pub fn add_schema(&mut self, name: &str, encoding: &str, data: &[u8]) -> Result<u16> {
        let r = self.live()?.add_schema(name, encoding, data);
        r.map_err(|e| self.fail(&format!("schema '{name}'"), e))
    }

    pub fn add_channel(
        &mut self,
        schema_id: u16,
        topic: &str,
        encoding: &str,
        meta: &BTreeMap<String, String>,
    ) -> Result<u16> {
        let r = self.live()?.add_channel(schema_id, topic, encoding, meta);
        r.map_err(|e| self.fail(&format!("channel '{topic}'"), e))
    }

    pub fn write(&mut self, h: &MessageHeader, data: &[u8]) -> Result<()> {
        let r = self.live()?.write_to_known_channel(h, data);
        r.map_err(|e| self.fail(&format!("message on channel {} seq {}", h.channel_id, h.sequence), e))
    }

    pub fn metadata(&mut self, name: &str, kv: BTreeMap<String, String>) -> Result<()> {
        let m = Metadata {
            name: name.to_string(),
            metadata: kv,
        };
        let r = self.live()?.write_metadata(&m);
        r.map_err(|e| self.fail(&format!("metadata '{name}'"), e))
    }

    pub fn attachment(
        &mut self,
        name: &str,
        media_type: &str,
        log_time: u64,
        create_time: u64,
        data: &[u8],
    ) -> Result<()> {
        let h = AttachmentHeader {
            log_time,
            create_time,
            name: name.to_string(),
            media_type: media_type.to_string(),
        };
        let w = self.live()?;
        let r = w
            .start_attachment(data.len() as u64, h)
            .and_then(|_| w.put_attachment_bytes(data))
            .and_then(|_| w.finish_attachment());
        r.map_err(|e| self.fail(&format!("attachment '{name}'"), e))
    }

    /// finish + fsync + rename + fsync dir. On failure the temporary file is removed.
    pub fn close(mut self) -> Result<()> {
        let r = self.finish();
        if r.is_err() {
            let _ = std::fs::remove_file(&self.tmp);
        }
        r
    }

    fn finish(&mut self) -> Result<()> {
        let tmpname = self.tmp.display().to_string();
        if self.failed {
            return Err(Error::new(
                TW_ESTATE,
                format!("{tmpname}: an earlier write failed; nothing was renamed"),
            ));
        }
        let mut w = self.w.take().expect("writer present until close");
        w.finish()
            .map_err(|e| Error::new(err::code_of(&e), format!("{tmpname}: finish (summary and footer): {e}")))?;
        let f = w.into_inner().into_inner().map_err(|e| {
            let e = e.into_error();
            Error::new(err::io_code(&e), format!("{tmpname}: flush: {e}"))
        })?;
        f.sync_all()
            .map_err(|e| Error::new(err::io_code(&e), format!("{tmpname}: fsync: {e}")))?;
        drop(f);
        std::fs::rename(&self.tmp, &self.path).map_err(|e| {
            Error::new(
                err::io_code(&e),
                format!("{tmpname}: rename to {}: {e}", self.path.display()),
            )
        })?;
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::new(err::io_code(&e), format!("{}: fsync directory: {e}", dir.display())))
    }

    /// Drops the writer without finishing and removes the temporary file.
    pub fn abort(mut self) {
        if let Some(w) = self.w.take() {
            drop(w.into_inner());
        }
        let _ = std::fs::remove_file(&self.tmp);
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // A writer dropped without close() must not finish a file (the mcap Writer finishes on
        // drop): into_inner() takes it apart without writing a summary.
        if let Some(w) = self.w.take() {
            drop(w.into_inner());
        }
    }
}
