//! The stored forms ("bodies") of raw events, kept beside DuckDB: one append-only file per day
//! table, made of zstd-compressed blocks that the table's rows point into.
//!
//! Why not a DuckDB column: whole JSON documents were the largest column by far, most of the
//! cost of an insert went into compressing them as strings, and reading one row back
//! decompressed a whole column segment (about 0.3 ms a row). A block here holds a few dozen
//! bodies of one insert, so reading a row costs one small read and one small decompression.
//!
//! * **Format.** A file is a run of blocks. A block is a header (a 4-byte tag, the compressed
//!   and the plain length as little-endian u32) and a zstd frame, with checksum, of: the number
//!   of bodies (u32), the end of each body (u32 each), and the bodies one after another.
//! * **Locations.** A row's `body` column is `offset << 16 | index`: the block's offset in the
//!   file and the body's place in the block.
//! * **Commit.** New blocks are written past the file's committed length and synced; the
//!   DuckDB transaction that adds the rows pointing into them also records the new length.
//!   At open, a file is cut back to its committed length (a crash may leave blocks no row
//!   points to) and a file that belongs to no table is removed.
//! * **Erasure.** A block holding an erased body is written again at the end of its file with
//!   the erased bodies emptied (the others keep their index); in one transaction the rows move
//!   to the copy and the old block is listed as erased. Listed blocks are then buried (their
//!   tag marked dead, their bytes zeroed) and unlisted; at open, any a crash left listed are
//!   buried again. Burial is idempotent.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::layout::parse_day_table;

/// Bits of a location that hold the body's index in its block.
const INDEX_BITS: u32 = 16;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
/// The tag of a block in use, and of one whose bytes were zeroed by an erasure.
const LIVE: [u8; 4] = *b"EHB1";
const DEAD: [u8; 4] = *b"EHB0";
const HEADER: usize = 12;
/// A block is closed before its bodies would pass this many bytes (a larger body gets a block
/// of its own) or this many bodies. Smaller blocks make a random read cheaper and compress
/// less well; 32 KiB is a few dozen events.
const BLOCK_BYTES: usize = 32 * 1024;
const BLOCK_BODIES: usize = 4_096;
/// zstd's fastest regular level: on 32 KiB blocks of events it compresses about 10% faster than
/// the default (3) and as well.
const LEVEL: i32 = 1;

/// The location of body `index` of the block at `offset`.
fn location(offset: u64, index: usize) -> u64 {
    offset << INDEX_BITS | index as u64
}

/// The offset of the block holding the body at `location`.
pub(crate) fn block_of(location: u64) -> u64 {
    location >> INDEX_BITS
}

/// The index in its block of the body at `location`.
// Masked to INDEX_BITS (16) bits first: the cast cannot truncate.
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn index_of(location: u64) -> usize {
    (location & INDEX_MASK) as usize
}

/// The first and last location a block at `offset` can hold (for SQL range conditions).
pub(crate) fn locations_of(offset: u64) -> (u64, u64) {
    (location(offset, 0), location(offset, 0) | INDEX_MASK)
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// Packs bodies into blocks, reusing its compression contexts and buffers from one batch to
/// the next (fresh ones cost page faults every commit). A large batch is compressed on several
/// threads, each taking a run of whole blocks: the blocks come out as one thread would write
/// them.
pub(crate) struct Packer {
    /// One per thread; the first one's output is the packed batch.
    workers: Vec<Worker>,
}

/// A compression context and the blocks it wrote for the batch at hand.
struct Worker {
    compressor: Compressor,
    bytes: Vec<u8>,
}

/// A batch smaller than this is compressed by one thread: starting another costs more than it
/// saves.
const PARALLEL_BYTES: usize = 1 << 20;
/// At most this many threads compress one batch, or read one page's blocks.
const MAX_WORKERS: usize = 4;
/// A read of fewer blocks than this runs on one thread: a page of a few dozen events costs
/// less than starting threads.
const PARALLEL_BLOCKS: usize = 64;

/// One thread per core, up to [`MAX_WORKERS`]: how many threads compress a batch or read a
/// page's blocks.
fn worker_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.min(MAX_WORKERS)
}

/// The result of a scoped worker thread; a panic there is an I/O error.
fn joined<T>(handle: std::thread::ScopedJoinHandle<'_, io::Result<T>>) -> io::Result<T> {
    handle
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("a body worker thread panicked")))
}

impl Packer {
    /// A packer with a thread for each core, up to [`MAX_WORKERS`].
    pub(crate) fn new() -> io::Result<Packer> {
        Packer::with_threads(worker_threads())
    }

    fn with_threads(threads: usize) -> io::Result<Packer> {
        let workers = (0..threads.max(1))
            .map(|_| {
                Ok(Worker {
                    compressor: Compressor::new()?,
                    bytes: Vec::new(),
                })
            })
            .collect::<io::Result<_>>()?;
        Ok(Packer { workers })
    }

    /// Packs `bodies` into blocks that start at `offset` of their file: returns the blocks, one
    /// after another, and each body's location, in the order the bodies came.
    pub(crate) fn pack(&mut self, bodies: &[&[u8]], offset: u64) -> io::Result<(&[u8], Vec<u64>)> {
        let blocks = blocks(bodies);
        let total: usize = bodies.iter().map(|b| b.len()).sum();
        let threads = if total < PARALLEL_BYTES {
            1
        } else {
            self.workers.len()
        };
        let runs = runs(&blocks, bodies, total, threads);
        let (first, others) = self
            .workers
            .split_first_mut()
            .ok_or_else(|| invalid("a packer without workers".into()))?;
        // Where each block of each run starts in its worker's output.
        let starts: Vec<io::Result<Vec<usize>>> = std::thread::scope(|scope| {
            let spawned: Vec<_> = others
                .iter_mut()
                .zip(runs.iter().skip(1))
                .map(|(worker, run)| scope.spawn(move || worker.compress(bodies, run)))
                .collect();
            let mut starts = vec![first.compress(bodies, runs.first().copied().unwrap_or(&[]))];
            starts.extend(spawned.into_iter().map(joined));
            starts
        });
        // The runs one after another in the first worker's buffer; each body located.
        let mut locations = vec![0; bodies.len()];
        for (thread, (run, starts)) in runs.iter().zip(starts).enumerate() {
            let starts = starts?;
            let base = match thread.checked_sub(1) {
                None => 0,
                Some(other) => {
                    let base = first.bytes.len();
                    first.bytes.extend_from_slice(&others[other].bytes);
                    base
                }
            };
            for (block, start) in run.iter().zip(starts) {
                let block_offset = offset + (base + start) as u64;
                for (index, body) in block.clone().enumerate() {
                    locations[body] = location(block_offset, index);
                }
            }
        }
        Ok((first.bytes.as_slice(), locations))
    }
}

/// Splits `blocks` into at most `threads` runs of consecutive blocks, each holding about an
/// equal share of the `total` bytes of `bodies`.
fn runs<'b>(
    blocks: &'b [Range<usize>],
    bodies: &[&[u8]],
    total: usize,
    threads: usize,
) -> Vec<&'b [Range<usize>]> {
    let mut runs = Vec::with_capacity(threads);
    let (mut rest, mut bytes_left) = (blocks, total);
    for thread in 0..threads {
        let last = thread + 1 == threads;
        let share = bytes_left / (threads - thread);
        let (mut taken, mut count) = (0, 0);
        while count < rest.len() && (taken < share || last) {
            taken += rest[count].clone().map(|i| bodies[i].len()).sum::<usize>();
            count += 1;
        }
        let (run, after) = rest.split_at(count);
        runs.push(run);
        (rest, bytes_left) = (after, bytes_left - taken);
    }
    runs
}

impl Worker {
    /// Compresses the `run` of blocks (ranges of `bodies`) into this worker's buffer, replacing
    /// what it held; returns where each block starts in it.
    fn compress(&mut self, bodies: &[&[u8]], run: &[Range<usize>]) -> io::Result<Vec<usize>> {
        self.bytes.clear();
        let mut starts = Vec::with_capacity(run.len());
        for block in run {
            starts.push(self.bytes.len());
            self.compressor
                .block(&bodies[block.clone()], &mut self.bytes)?;
        }
        Ok(starts)
    }
}

/// Cuts `bodies` into blocks (ranges of indexes): a block is closed before its bodies would
/// pass [`BLOCK_BYTES`] or [`BLOCK_BODIES`] (a larger body gets a block of its own).
fn blocks(bodies: &[&[u8]]) -> Vec<Range<usize>> {
    let mut blocks = Vec::new();
    let (mut start, mut block_bytes) = (0, 0);
    for (i, body) in bodies.iter().enumerate() {
        if i > start && (block_bytes + body.len() > BLOCK_BYTES || i - start == BLOCK_BODIES) {
            blocks.push(start..i);
            (start, block_bytes) = (i, 0);
        }
        block_bytes += body.len();
    }
    if start < bodies.len() {
        blocks.push(start..bodies.len());
    }
    blocks
}

/// A zstd compressor set up for blocks, with the buffers it reuses from block to block.
struct Compressor {
    zstd: zstd::bulk::Compressor<'static>,
    plain: Vec<u8>,
    compressed: Vec<u8>,
}

impl Compressor {
    fn new() -> io::Result<Compressor> {
        let mut zstd = zstd::bulk::Compressor::new(LEVEL)?;
        zstd.include_checksum(true)?;
        Ok(Compressor {
            zstd,
            plain: Vec::new(),
            compressed: Vec::new(),
        })
    }

    /// Appends one block of `bodies` to `out`.
    fn block(&mut self, bodies: &[&[u8]], out: &mut Vec<u8>) -> io::Result<()> {
        let too_large = || invalid("an event block over 4 GiB".into());
        let plain = &mut self.plain;
        plain.clear();
        let count = u32::try_from(bodies.len()).map_err(|_| too_large())?;
        plain.extend_from_slice(&count.to_le_bytes());
        let mut end = 0usize;
        for body in bodies {
            end += body.len();
            let end = u32::try_from(end).map_err(|_| too_large())?;
            plain.extend_from_slice(&end.to_le_bytes());
        }
        for body in bodies {
            plain.extend_from_slice(body);
        }
        let compressed = &mut self.compressed;
        compressed.clear();
        compressed.reserve(zstd::zstd_safe::compress_bound(plain.len()));
        self.zstd.compress_to_buffer(plain.as_slice(), compressed)?;
        out.extend_from_slice(&LIVE);
        for length in [compressed.len(), plain.len()] {
            let length = u32::try_from(length).map_err(|_| too_large())?;
            out.extend_from_slice(&length.to_le_bytes());
        }
        out.extend_from_slice(compressed);
        Ok(())
    }
}

/// Bytes written to a body file, not yet durable.
#[must_use = "written bytes are durable only once synced"]
pub(crate) struct Written {
    file: File,
    /// The directory of a file the write created, whose entry must be synced too.
    new_in: Option<PathBuf>,
}

impl Written {
    /// Makes the bytes (and a new file's name) durable.
    pub(crate) fn sync(self) -> io::Result<()> {
        self.file.sync_data()?;
        if let Some(dir) = self.new_in {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

/// A block's header: its tag, compressed length and plain length.
fn header(file: &File, offset: u64) -> io::Result<([u8; 4], usize, usize)> {
    let mut bytes = [0u8; HEADER];
    file.read_exact_at(&mut bytes, offset)?;
    let word = |at: usize| {
        let mut w = [0u8; 4];
        w.copy_from_slice(&bytes[at..at + 4]);
        w
    };
    let tag = word(0);
    if tag != LIVE && tag != DEAD {
        return Err(invalid(format!("no event block at offset {offset}")));
    }
    Ok((
        tag,
        u32::from_le_bytes(word(4)) as usize,
        u32::from_le_bytes(word(8)) as usize,
    ))
}

/// One block, decompressed.
struct Block {
    plain: Vec<u8>,
    count: usize,
}

impl Block {
    fn read(
        file: &File,
        offset: u64,
        decompressor: &mut zstd::bulk::Decompressor<'_>,
    ) -> io::Result<Block> {
        let (tag, compressed, plain) = header(file, offset)?;
        if tag != LIVE {
            return Err(invalid(format!(
                "the event block at offset {offset} was erased"
            )));
        }
        let mut data = vec![0u8; compressed];
        file.read_exact_at(&mut data, offset + HEADER as u64)?;
        let plain = decompressor.decompress(&data, plain)?;
        let count = plain
            .get(..4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]) as usize)
            .ok_or_else(|| invalid(format!("an empty event block at offset {offset}")))?;
        Ok(Block { plain, count })
    }

    fn end(&self, index: usize) -> Option<usize> {
        let at = 4 + 4 * index;
        let w = self.plain.get(at..at + 4)?;
        Some(u32::from_le_bytes([w[0], w[1], w[2], w[3]]) as usize)
    }

    fn body(&self, index: usize) -> io::Result<&str> {
        if index >= self.count {
            return Err(invalid(format!("no event body {index}")));
        }
        let base = 4 + 4 * self.count;
        let start = match index {
            0 => Some(0),
            _ => self.end(index - 1),
        };
        let bytes = start
            .zip(self.end(index))
            .and_then(|(start, end)| self.plain.get(base + start..base + end))
            .ok_or_else(|| invalid(format!("event body {index} lies outside its block")))?;
        std::str::from_utf8(bytes).map_err(|_| invalid(format!("event body {index} is not UTF-8")))
    }
}

/// The body files of one store, in their own directory.
#[derive(Debug)]
pub(crate) struct BodyFiles {
    dir: PathBuf,
}

impl BodyFiles {
    /// Opens `dir` (creating it) and brings its files back to their `committed` lengths: what a
    /// crash left past a committed length is cut off, and a day table's file that has no
    /// committed length (its table was dropped, or never committed a row) is removed.
    pub(crate) fn open(dir: &Path, committed: &HashMap<String, u64>) -> io::Result<BodyFiles> {
        fs::create_dir_all(dir)?;
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(table) = name.to_str().filter(|n| parse_day_table(n).is_some()) else {
                continue;
            };
            let Some(&length) = committed.get(table) else {
                fs::remove_file(entry.path())?;
                continue;
            };
            let file = OpenOptions::new().write(true).open(entry.path())?;
            let actual = file.metadata()?.len();
            if actual > length {
                file.set_len(length)?;
                file.sync_all()?;
            } else if actual < length {
                // Committed blocks were written and synced before their commit: only a disk
                // that lost synced data gets here. The rows pointing past the end fail to read.
                tracing::error!(
                    file = %entry.path().display(),
                    actual,
                    committed = length,
                    "event bodies file is shorter than committed"
                );
            }
        }
        Ok(BodyFiles {
            dir: dir.to_owned(),
        })
    }

    fn path(&self, table: &str) -> PathBuf {
        self.dir.join(table)
    }

    /// Writes `bytes` at `offset` of a table's file (created if new) and makes them durable.
    pub(crate) fn write(&self, table: &str, offset: u64, bytes: &[u8]) -> io::Result<()> {
        self.write_unsynced(table, offset, bytes)?.sync()
    }

    /// Writes `bytes` at `offset` of a table's file (created if new); they are durable once
    /// the returned [`Written`] is synced, which may happen on another thread.
    pub(crate) fn write_unsynced(
        &self,
        table: &str,
        offset: u64,
        bytes: &[u8],
    ) -> io::Result<Written> {
        let path = self.path(table);
        let new = !path.exists();
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        file.write_all_at(bytes, offset)?;
        Ok(Written {
            file,
            // The new name must survive a crash too.
            new_in: new.then(|| self.dir.clone()),
        })
    }

    /// The bodies at `locations` of a table's file, in the same order. Each block is read
    /// and decompressed once; many blocks are read on one thread per core.
    pub(crate) fn read(&self, table: &str, locations: &[u64]) -> io::Result<Vec<String>> {
        self.read_on(table, locations, worker_threads())
    }

    /// [`BodyFiles::read`] on up to `threads` threads.
    fn read_on(&self, table: &str, locations: &[u64], threads: usize) -> io::Result<Vec<String>> {
        let file = File::open(self.path(table))?;
        // The bodies wanted of each block, blocks in file order.
        let mut by_block: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for (i, location) in locations.iter().enumerate() {
            by_block.entry(block_of(*location)).or_default().push(i);
        }
        let blocks: Vec<(u64, Vec<usize>)> = by_block.into_iter().collect();
        let threads = if blocks.len() < PARALLEL_BLOCKS {
            1
        } else {
            threads.max(1)
        };
        let part = blocks.len().div_ceil(threads).max(1);
        let read_part = |blocks: &[(u64, Vec<usize>)]| -> io::Result<Vec<(usize, String)>> {
            let mut decompressor = zstd::bulk::Decompressor::new()?;
            let mut bodies = Vec::new();
            for (offset, wanted) in blocks {
                let block = Block::read(&file, *offset, &mut decompressor)?;
                for &i in wanted {
                    bodies.push((i, block.body(index_of(locations[i]))?.to_owned()));
                }
            }
            Ok(bodies)
        };
        let parts: Vec<io::Result<Vec<(usize, String)>>> = if threads == 1 {
            vec![read_part(&blocks)]
        } else {
            std::thread::scope(|scope| {
                let spawned: Vec<_> = blocks
                    .chunks(part)
                    .map(|blocks| scope.spawn(|| read_part(blocks)))
                    .collect();
                spawned.into_iter().map(joined).collect()
            })
        };
        let mut out = vec![String::new(); locations.len()];
        for part in parts {
            for (i, body) in part? {
                out[i] = body;
            }
        }
        Ok(out)
    }

    /// The block at `offset` of a table's file packed again, as one block, with the bodies at
    /// `erased` indexes emptied: wherever the copy is written, the other bodies keep their
    /// index.
    pub(crate) fn without(
        &self,
        table: &str,
        offset: u64,
        erased: &[usize],
    ) -> io::Result<Vec<u8>> {
        let file = File::open(self.path(table))?;
        let block = Block::read(&file, offset, &mut zstd::bulk::Decompressor::new()?)?;
        let bodies = (0..block.count)
            .map(|i| match erased.contains(&i) {
                true => Ok(&b""[..]),
                false => block.body(i).map(str::as_bytes),
            })
            .collect::<io::Result<Vec<&[u8]>>>()?;
        let mut out = Vec::new();
        Compressor::new()?.block(&bodies, &mut out)?;
        Ok(out)
    }

    /// Marks the block at `offset` of a table's file dead and zeroes its bytes. Burying a
    /// dead block again, or one of a removed file, does nothing more.
    pub(crate) fn bury(&self, table: &str, offset: u64) -> io::Result<()> {
        let file = match OpenOptions::new()
            .read(true)
            .write(true)
            .open(self.path(table))
        {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let (_, compressed, plain) = header(&file, offset)?;
        let mut region = Vec::with_capacity(HEADER + compressed);
        region.extend_from_slice(&DEAD);
        for length in [compressed, plain] {
            // Read from the header's 32-bit fields, so it fits them again.
            let length = u32::try_from(length)
                .map_err(|_| invalid(format!("block length {length} over 4 GiB")))?;
            region.extend_from_slice(&length.to_le_bytes());
        }
        region.resize(HEADER + compressed, 0);
        file.write_all_at(&region, offset)?;
        file.sync_data()
    }

    /// Removes a table's file (nothing if there is none).
    pub(crate) fn remove(&self, table: &str) -> io::Result<()> {
        match fs::remove_file(self.path(table)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Every live body of a table's file, block by block (for tests).
    #[cfg(test)]
    pub(crate) fn all(&self, table: &str) -> io::Result<Vec<String>> {
        let file = File::open(self.path(table))?;
        let length = file.metadata()?.len();
        let mut out = Vec::new();
        let mut offset = 0;
        while offset < length {
            let (tag, compressed, _) = header(&file, offset)?;
            if tag == LIVE {
                let block = Block::read(&file, offset, &mut zstd::bulk::Decompressor::new()?)?;
                for i in 0..block.count {
                    out.push(block.body(i)?.to_owned());
                }
            }
            offset += (HEADER + compressed) as u64;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "events_20261127";

    fn bodies(n: usize) -> Vec<String> {
        // Mostly small events, one larger than a block, one empty.
        (0..n)
            .map(|i| match i {
                7 => "x".repeat(BLOCK_BYTES + 10),
                9 => String::new(),
                _ => format!(r#"{{"event_id":"{i}","rcpt_to":"r{i}@example.com"}}"#),
            })
            .collect()
    }

    /// Bodies packed and written: the blocks' bytes and the bodies' locations.
    struct Packed {
        bytes: Vec<u8>,
        locations: Vec<u64>,
    }

    fn write(files: &BodyFiles, offset: u64, bodies: &[String]) -> Packed {
        let mut packer = Packer::new().unwrap();
        let bodies: Vec<&[u8]> = bodies.iter().map(String::as_bytes).collect();
        let (bytes, locations) = packer.pack(&bodies, offset).unwrap();
        files.write(TABLE, offset, bytes).unwrap();
        Packed {
            bytes: bytes.to_vec(),
            locations,
        }
    }

    #[test]
    fn bodies_read_back_from_several_blocks_in_any_order() {
        let dir = tempfile::tempdir().unwrap();
        let files = BodyFiles::open(dir.path(), &HashMap::new()).unwrap();
        let first = bodies(2_000);
        let a = write(&files, 0, &first);
        let blocks: std::collections::BTreeSet<u64> =
            a.locations.iter().map(|l| block_of(*l)).collect();
        assert!(blocks.len() > 3, "several blocks: {}", blocks.len());
        // A second write appends after the first.
        let second = bodies(10);
        let b = write(&files, a.bytes.len() as u64, &second);
        let mut wanted: Vec<(u64, &String)> = a
            .locations
            .iter()
            .zip(&first)
            .chain(b.locations.iter().zip(&second))
            .map(|(l, body)| (*l, body))
            .collect();
        wanted.reverse();
        wanted.swap(3, 1_500);
        let locations: Vec<u64> = wanted.iter().map(|(l, _)| *l).collect();
        let read = files.read(TABLE, &locations).unwrap();
        let expected: Vec<&String> = wanted.iter().map(|(_, b)| *b).collect();
        assert_eq!(read.iter().collect::<Vec<_>>(), expected);
        assert_eq!(files.all(TABLE).unwrap().len(), 2_010);
    }

    #[test]
    fn many_blocks_read_alike_on_one_thread_or_several() {
        let dir = tempfile::tempdir().unwrap();
        let files = BodyFiles::open(dir.path(), &HashMap::new()).unwrap();
        let stored: Vec<String> = (0..800)
            .map(|i| format!("{i}:{}", "y".repeat(4_000 + i % 97)))
            .collect();
        let packed = write(&files, 0, &stored);
        let blocks: std::collections::BTreeSet<u64> =
            packed.locations.iter().map(|l| block_of(*l)).collect();
        assert!(blocks.len() >= PARALLEL_BLOCKS, "{} blocks", blocks.len());
        // Every other body, newest first.
        let wanted: Vec<usize> = (0..stored.len()).rev().step_by(2).collect();
        let locations: Vec<u64> = wanted.iter().map(|&i| packed.locations[i]).collect();
        let expected: Vec<&String> = wanted.iter().map(|&i| &stored[i]).collect();
        for threads in [1, 3] {
            let read = files.read_on(TABLE, &locations, threads).unwrap();
            assert_eq!(
                read.iter().collect::<Vec<_>>(),
                expected,
                "{threads} threads"
            );
        }
    }

    #[test]
    fn open_cuts_what_no_commit_covers_and_removes_orphans() {
        let dir = tempfile::tempdir().unwrap();
        let files = BodyFiles::open(dir.path(), &HashMap::new()).unwrap();
        let committed = write(&files, 0, &bodies(100));
        let length = committed.bytes.len() as u64;
        // A crash after a write but before its commit.
        write(&files, length, &bodies(50));
        files.write("events_20261126", 0, b"orphan").unwrap();
        fs::write(dir.path().join("README"), "not ours").unwrap();

        let files =
            BodyFiles::open(dir.path(), &HashMap::from([(TABLE.to_owned(), length)])).unwrap();
        assert_eq!(fs::metadata(files.path(TABLE)).unwrap().len(), length);
        assert!(!files.path("events_20261126").exists());
        assert!(dir.path().join("README").exists());
        assert_eq!(files.all(TABLE).unwrap(), bodies(100));
    }

    #[test]
    fn an_erased_block_is_copied_without_its_bodies_and_buried() {
        let dir = tempfile::tempdir().unwrap();
        let files = BodyFiles::open(dir.path(), &HashMap::new()).unwrap();
        let original = bodies(20);
        let packed = write(&files, 0, &original);
        let offset = block_of(packed.locations[3]);
        let in_block: Vec<usize> = (0..20)
            .filter(|i| block_of(packed.locations[*i]) == offset)
            .collect();
        let erased = [index_of(packed.locations[3]), index_of(packed.locations[4])];
        let at = packed.bytes.len() as u64;
        let copy = files.without(TABLE, offset, &erased).unwrap();
        files.write(TABLE, at, &copy).unwrap();
        files.bury(TABLE, offset).unwrap();
        files.bury(TABLE, offset).unwrap();

        // The old block no longer reads; the copy holds every other body at its index.
        assert!(files.read(TABLE, &[packed.locations[5]]).is_err());
        for i in in_block {
            let moved = location(at, index_of(packed.locations[i]));
            let body = files.read(TABLE, &[moved]).unwrap().remove(0);
            match i {
                3 | 4 => assert_eq!(body, ""),
                _ => assert_eq!(body, original[i]),
            }
        }
        let all = files.all(TABLE).unwrap();
        assert!(!all.contains(&original[3]) && !all.contains(&original[4]));
        // The dead block's bytes are gone from the file.
        let raw = fs::read(files.path(TABLE)).unwrap();
        let dead = usize::try_from(offset).unwrap();
        assert_eq!(&raw[dead..dead + 4], b"EHB0");
        let len = u32::from_le_bytes(raw[dead + 4..dead + 8].try_into().unwrap()) as usize;
        assert!(raw[dead + HEADER..dead + HEADER + len]
            .iter()
            .all(|b| *b == 0));
    }

    #[test]
    fn damage_is_reported_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let files = BodyFiles::open(dir.path(), &HashMap::new()).unwrap();
        let packed = write(&files, 0, &bodies(5));
        let mut raw = fs::read(files.path(TABLE)).unwrap();
        let last = raw.len() - 6;
        raw[last] ^= 0xff;
        fs::write(files.path(TABLE), &raw).unwrap();
        assert!(files.read(TABLE, &packed.locations).is_err());
        assert!(files.read(TABLE, &[location(3, 0)]).is_err());
    }

    fn as_bytes(bodies: &[String]) -> Vec<&[u8]> {
        bodies.iter().map(String::as_bytes).collect()
    }

    #[test]
    fn a_packer_reused_packs_as_a_new_one() {
        let mut reused = Packer::new().unwrap();
        reused.pack(&as_bytes(&bodies(300)), 0).unwrap();
        let second = bodies(40);
        let (bytes, locations) = reused.pack(&as_bytes(&second), 77).unwrap();
        let (bytes, locations) = (bytes.to_vec(), locations);
        let mut fresh = Packer::new().unwrap();
        let (fresh_bytes, fresh_locations) = fresh.pack(&as_bytes(&second), 77).unwrap();
        assert_eq!(bytes, fresh_bytes);
        assert_eq!(locations, fresh_locations);
    }

    #[test]
    fn a_batch_packed_on_several_threads_packs_as_on_one() {
        // Over `PARALLEL_BYTES`, in blocks of several sizes.
        let many: Vec<String> = (0..40_000)
            .map(|i| format!(r#"{{"event_id":"{i}","pad":"{}"}}"#, "p".repeat(i % 97)))
            .collect();
        let bodies = as_bytes(&many);
        assert!(bodies.iter().map(|b| b.len()).sum::<usize>() > PARALLEL_BYTES);
        let mut parallel = Packer::with_threads(3).unwrap();
        let (bytes, locations) = parallel.pack(&bodies, 5).unwrap();
        let (bytes, locations) = (bytes.to_vec(), locations);
        let mut single = Packer::with_threads(1).unwrap();
        let (single_bytes, single_locations) = single.pack(&bodies, 5).unwrap();
        assert_eq!(bytes, single_bytes);
        assert_eq!(locations, single_locations);
        // And it reads back.
        let dir = tempfile::tempdir().unwrap();
        let files = BodyFiles::open(dir.path(), &HashMap::new()).unwrap();
        files.write(TABLE, 5, &bytes).unwrap();
        let read = files.read(TABLE, &locations[..50]).unwrap();
        assert_eq!(read, many[..50]);
        let last = files.read(TABLE, &locations[39_990..]).unwrap();
        assert_eq!(last, many[39_990..]);
    }
}
