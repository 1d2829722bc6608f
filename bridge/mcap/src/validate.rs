//! Checks every length field of a record against the record's own size before the mcap crate
//! parses it. The crate's parser (binrw) allocates a string or map of the length a file declares
//! before reading it, so a 30-byte record claiming a 4 GiB name would allocate 4 GiB (found by
//! fuzz/fuzz_mcap.c). After this check every allocation is bounded by the record, which is
//! bounded by the caller's max_record_bytes.

use mcap::read::parse_record;
use mcap::records::{op, Record};

struct Cur<'a> {
    b: &'a [u8],
}

type R<T> = Result<T, String>;

impl<'a> Cur<'a> {
    fn take(&mut self, n: u64, what: &str) -> R<&'a [u8]> {
        if n > self.b.len() as u64 {
            return Err(format!(
                "{what}: {n} bytes declared, {} left in the record",
                self.b.len()
            ));
        }
        let (h, t) = self.b.split_at(n as usize);
        self.b = t;
        Ok(h)
    }
    fn skip(&mut self, n: u64, what: &str) -> R<()> {
        self.take(n, what).map(|_| ())
    }
    fn u32(&mut self, what: &str) -> R<u32> {
        Ok(u32::from_le_bytes(self.take(4, what)?.try_into().unwrap()))
    }
    fn u64(&mut self, what: &str) -> R<u64> {
        Ok(u64::from_le_bytes(self.take(8, what)?.try_into().unwrap()))
    }
    /// A u32-length-prefixed string or byte array.
    fn string(&mut self, what: &str) -> R<()> {
        let n = self.u32(what)?;
        self.skip(n as u64, what)
    }
    /// A u32-byte-length-prefixed map whose entries `entry` checks.
    fn map(&mut self, what: &str, entry: fn(&mut Cur<'a>) -> R<()>) -> R<()> {
        let n = self.u32(what)?;
        let mut inner = Cur {
            b: self.take(n as u64, what)?,
        };
        while !inner.b.is_empty() {
            entry(&mut inner)?;
        }
        Ok(())
    }
}

fn str_str(c: &mut Cur) -> R<()> {
    c.string("map key")?;
    c.string("map value")
}

fn u16_u64(c: &mut Cur) -> R<()> {
    c.skip(10, "map entry")
}

fn u64_pair(c: &mut Cur) -> R<()> {
    c.skip(16, "index entry")
}

/// Checks the length fields of a record body of opcode `opc`.
pub fn check(opc: u8, body: &[u8]) -> R<()> {
    let mut c = Cur { b: body };
    match opc {
        op::HEADER => {
            c.string("profile")?;
            c.string("library")
        }
        op::FOOTER => c.skip(20, "footer"),
        op::SCHEMA => {
            c.skip(2, "schema id")?;
            c.string("schema name")?;
            c.string("schema encoding")?;
            c.string("schema data")
        }
        op::CHANNEL => {
            c.skip(4, "channel ids")?;
            c.string("topic")?;
            c.string("message encoding")?;
            c.map("channel metadata", str_str)
        }
        op::MESSAGE => c.skip(22, "message header"),
        op::CHUNK => {
            c.skip(28, "chunk header")?;
            c.string("compression")?;
            let n = c.u64("compressed size")?;
            c.skip(n, "compressed records")
        }
        op::MESSAGE_INDEX => {
            c.skip(2, "channel id")?;
            c.map("message index", u64_pair)
        }
        op::CHUNK_INDEX => {
            c.skip(32, "chunk index")?;
            c.map("message index offsets", u16_u64)?;
            c.skip(8, "message index length")?;
            c.string("compression")?;
            c.skip(16, "chunk sizes")
        }
        op::ATTACHMENT => {
            c.skip(16, "attachment times")?;
            c.string("attachment name")?;
            c.string("media type")?;
            let n = c.u64("attachment data length")?;
            c.skip(n, "attachment data")?;
            c.skip(4, "attachment CRC")
        }
        op::ATTACHMENT_INDEX => {
            c.skip(40, "attachment index")?;
            c.string("attachment name")?;
            c.string("media type")
        }
        op::STATISTICS => {
            c.skip(8 + 2 + 4 * 4 + 16, "statistics")?;
            c.map("channel message counts", u16_u64)
        }
        op::METADATA => {
            c.string("metadata name")?;
            c.map("metadata", str_str)
        }
        op::METADATA_INDEX => {
            c.skip(16, "metadata index")?;
            c.string("metadata name")
        }
        op::SUMMARY_OFFSET => c.skip(17, "summary offset"),
        op::DATA_END => c.skip(4, "data end"),
        _ => Ok(()),
    }
}

/// parse_record after check(): errors as text.
pub fn parse(opc: u8, body: &[u8]) -> R<Record<'_>> {
    check(opc, body)?;
    parse_record(opc, body).map_err(|e| e.to_string())
}
