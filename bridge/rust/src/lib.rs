//! Bundles the Rust-backed format libraries into one static library: their `#[no_mangle] extern "C"`
//! functions (tw_parquet.h, tw_mcap.h) are exported from here.
pub use tw_mcap;
pub use tw_parquet;
