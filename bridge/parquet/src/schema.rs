//! The reader's view of a schema: one entry per Parquet leaf column, in leaf order, with its dotted name,
//! the steps from the top-level Arrow column down to the leaf, and the C-visible description.

use arrow_schema::{DataType, Field, Schema};
use parquet::schema::types::SchemaDescriptor;
use std::ffi::CString;

pub const MAX_LEVELS: usize = 4;

// Values of tw_parquet_type (tw_parquet.h).
pub const T_OTHER: i32 = 0;
pub const T_BOOL: i32 = 1;
pub const T_INT8: i32 = 2;
pub const T_INT16: i32 = 3;
pub const T_INT32: i32 = 4;
pub const T_INT64: i32 = 5;
pub const T_UINT8: i32 = 6;
pub const T_UINT16: i32 = 7;
pub const T_UINT32: i32 = 8;
pub const T_UINT64: i32 = 9;
pub const T_FLOAT16: i32 = 10;
pub const T_FLOAT32: i32 = 11;
pub const T_FLOAT64: i32 = 12;
pub const T_UTF8: i32 = 13;
pub const T_BINARY: i32 = 14;
pub const T_TIME: i32 = 15;

/// One step from a parent array to its child on the way to the leaf.
#[derive(Clone, Debug)]
pub enum Step {
    Child(String), // struct field by name (the reader may have pruned siblings)
    List,          // list, large list or map: row boundaries go through the offsets
    Fixed(usize),  // fixed_size_list<n>: boundaries scale by n
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct Level {
    pub size: i32,
    pub fixed: u8,
}

pub struct Leaf {
    pub name: CString,
    pub top: String, // top-level field name
    pub steps: Vec<Step>,
    pub ty: i32,
    pub logical: CString,
    pub physical: CString,
    pub levels: Vec<Level>,
    pub nullable: bool,
}

pub fn value_type(dt: &DataType) -> i32 {
    match dt {
        DataType::Boolean => T_BOOL,
        DataType::Int8 => T_INT8,
        DataType::Int16 => T_INT16,
        DataType::Int32 => T_INT32,
        DataType::Int64 => T_INT64,
        DataType::UInt8 => T_UINT8,
        DataType::UInt16 => T_UINT16,
        DataType::UInt32 => T_UINT32,
        DataType::UInt64 => T_UINT64,
        DataType::Float16 => T_FLOAT16,
        DataType::Float32 => T_FLOAT32,
        DataType::Float64 => T_FLOAT64,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => T_UTF8,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => {
            T_BINARY
        }
        DataType::Date32
        | DataType::Date64
        | DataType::Time32(_)
        | DataType::Time64(_)
        | DataType::Timestamp(_, _)
        | DataType::Duration(_) => T_TIME,
        DataType::Dictionary(_, v) => value_type(v),
        _ => T_OTHER,
    }
}

fn cstring(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

struct Walk<'a> {
    top: &'a Field,
    name: Vec<String>,
    steps: Vec<Step>,
    levels: Vec<Level>,
    out: Vec<Leaf>,
}

impl Walk<'_> {
    fn visit(&mut self, dt: &DataType, nullable: bool) {
        match dt {
            DataType::Struct(fields) => {
                for f in fields {
                    self.name.push(f.name().clone());
                    self.steps.push(Step::Child(f.name().clone()));
                    self.visit(f.data_type(), f.is_nullable());
                    self.steps.pop();
                    self.name.pop();
                }
            }
            DataType::List(f)
            | DataType::LargeList(f)
            | DataType::ListView(f)
            | DataType::LargeListView(f) => self.nested(Step::List, Level { size: 0, fixed: 0 }, f),
            DataType::Map(f, _) => self.nested(Step::List, Level { size: 0, fixed: 0 }, f),
            DataType::FixedSizeList(f, n) => {
                self.nested(Step::Fixed((*n).max(0) as usize), Level { size: *n, fixed: 1 }, f)
            }
            _ => self.leaf(dt, nullable),
        }
    }

    fn nested(&mut self, step: Step, level: Level, child: &Field) {
        self.steps.push(step);
        self.levels.push(level);
        match child.data_type() {
            // A map's entries struct is an implementation detail: its fields name the leaves directly.
            DataType::Struct(_)
            | DataType::List(_)
            | DataType::LargeList(_)
            | DataType::FixedSizeList(_, _)
            | DataType::Map(_, _)
            | DataType::ListView(_)
            | DataType::LargeListView(_) => self.visit(child.data_type(), child.is_nullable()),
            dt => self.leaf(dt, child.is_nullable()),
        }
        self.levels.pop();
        self.steps.pop();
    }

    fn leaf(&mut self, dt: &DataType, nullable: bool) {
        let mut ty = value_type(dt);
        if self.levels.len() > MAX_LEVELS {
            ty = T_OTHER;
        }
        self.out.push(Leaf {
            name: cstring(&self.name.join(".")),
            top: self.top.name().clone(),
            steps: self.steps.clone(),
            ty,
            logical: cstring(&self.top.data_type().to_string()),
            physical: CString::default(),
            levels: self.levels.clone(),
            nullable,
        });
    }
}

/// Leaves of `schema` in Parquet leaf order, with physical types from `descr`. Fails (with the reason) if
/// the Arrow view and the Parquet leaves disagree in number, which would make projections wrong.
pub fn leaves(schema: &Schema, descr: &SchemaDescriptor) -> Result<Vec<Leaf>, String> {
    let mut all = Vec::new();
    for f in schema.fields() {
        let mut w = Walk { top: f, name: vec![f.name().clone()], steps: vec![], levels: vec![], out: vec![] };
        w.visit(f.data_type(), f.is_nullable());
        all.append(&mut w.out);
    }
    if all.len() != descr.num_columns() {
        return Err(format!(
            "schema has {} Arrow leaves but {} Parquet columns",
            all.len(),
            descr.num_columns()
        ));
    }
    for (i, leaf) in all.iter_mut().enumerate() {
        leaf.physical = cstring(&descr.column(i).physical_type().to_string());
    }
    Ok(all)
}
