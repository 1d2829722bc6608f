//! What a reader lists: schemas, channels, metadata, attachments, kept as C strings whose
//! pointers stay valid until the reader is closed (heap buffers do not move with their owner).

use std::collections::BTreeMap;
use std::ffi::{c_char, CString};

/// A C string from bytes that may hold NUL: the string ends at the first NUL.
pub fn cstr(s: &str) -> CString {
    let b = s.as_bytes();
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    CString::new(&b[..end]).unwrap_or_default()
}

/// A string map as two parallel arrays of C strings.
pub struct KvC {
    _keys: Vec<CString>,
    _vals: Vec<CString>,
    pub key_ptrs: Vec<*const c_char>,
    pub val_ptrs: Vec<*const c_char>,
}

impl KvC {
    pub fn new(m: &BTreeMap<String, String>) -> Self {
        let keys: Vec<CString> = m.keys().map(|k| cstr(k)).collect();
        let vals: Vec<CString> = m.values().map(|v| cstr(v)).collect();
        let key_ptrs = keys.iter().map(|s| s.as_ptr()).collect();
        let val_ptrs = vals.iter().map(|s| s.as_ptr()).collect();
        KvC {
            _keys: keys,
            _vals: vals,
            key_ptrs,
            val_ptrs,
        }
    }
}

pub struct SchemaC {
    pub id: u16,
    pub name: CString,
    pub encoding: CString,
    pub data: Vec<u8>,
}

pub struct ChannelC {
    pub id: u16,
    pub schema_id: u16,
    pub topic: CString,
    pub encoding: CString,
    pub meta: KvC,
}

pub struct MetadataC {
    pub name: CString,
    pub kv: KvC,
}

pub struct AttachmentC {
    pub offset: u64,
    pub name: CString,
    pub media_type: CString,
    pub log_time: u64,
    pub create_time: u64,
    pub data_size: u64,
}

/// Everything listed by a reader. Schemas and channels are keyed by id: the first record with
/// an id wins (the spec requires repeated records to be identical).
#[derive(Default)]
pub struct Catalog {
    pub schemas: BTreeMap<u16, SchemaC>,
    pub channels: BTreeMap<u16, ChannelC>,
    pub metadata: Vec<MetadataC>,
    pub attachments: Vec<AttachmentC>,
}

impl Catalog {
    pub fn add_schema(&mut self, h: &mcap::records::SchemaHeader, data: &[u8]) {
        self.schemas.entry(h.id).or_insert_with(|| SchemaC {
            id: h.id,
            name: cstr(&h.name),
            encoding: cstr(&h.encoding),
            data: data.to_vec(),
        });
    }

    pub fn add_channel(&mut self, c: &mcap::records::Channel) {
        self.channels.entry(c.id).or_insert_with(|| ChannelC {
            id: c.id,
            schema_id: c.schema_id,
            topic: cstr(&c.topic),
            encoding: cstr(&c.message_encoding),
            meta: KvC::new(&c.metadata),
        });
    }

    pub fn add_metadata(&mut self, m: &mcap::records::Metadata) {
        self.metadata.push(MetadataC {
            name: cstr(&m.name),
            kv: KvC::new(&m.metadata),
        });
    }
}
