//! zstd compression with one reusable context per thread (creating a context per record is costly).

use std::cell::RefCell;
use std::io;

use zstd::bulk::{Compressor, Decompressor};

thread_local! {
    static COMPRESSOR: RefCell<Option<(i32, Compressor<'static>)>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<Decompressor<'static>>> = const { RefCell::new(None) };
}

/// Compresses `source` into `destination` (which must hold `compress_bound(source.len())` bytes);
/// returns the compressed length.
pub(crate) fn compress_into(
    level: i32,
    source: &[u8],
    destination: &mut [u8],
) -> io::Result<usize> {
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if !matches!(slot.as_ref(), Some((current, _)) if *current == level) {
            *slot = Some((level, Compressor::new(level)?));
        }
        match slot.as_mut() {
            Some((_, compressor)) => compressor.compress_to_buffer(source, destination),
            None => Err(io::Error::other("zstd compressor unavailable")),
        }
    })
}

/// Decompresses `source` into the spare capacity of `destination` (not zeroed first: zeroing
/// a record's room cost a few percent of a subscriber's CPU), returning the decompressed length.
pub(crate) fn decompress_into(source: &[u8], destination: &mut Vec<u8>) -> io::Result<usize> {
    DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(Decompressor::new()?);
        }
        match slot.as_mut() {
            Some(decompressor) => decompressor.decompress_to_buffer(source, destination),
            None => Err(io::Error::other("zstd decompressor unavailable")),
        }
    })
}
