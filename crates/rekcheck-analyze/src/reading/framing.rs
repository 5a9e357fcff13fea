//! Framing: bytes in any chunking -> ordered blocks of whole lines.
//!
//! The framer is push-based so that a blocking reader and an async S3 body can share it. It never
//! holds more than one block plus one partial line, and a line longer than the maximum line length
//! is counted and skipped to its newline without being buffered.

use std::io::Read;

use memchr::{memchr, memchr_iter};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// `bytes` without the one UTF-8 byte order mark a manifest may start with: it is not part of
/// line 1, however the manifest is read ([`Framer`] removes it from a stream).
pub(crate) fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(BOM).unwrap_or(bytes)
}

/// Default target size of a block of lines.
pub const DEFAULT_BLOCK_BYTES: usize = 1 << 20;
/// Bytes asked of a blocking reader at a time.
const READ_CHUNK: usize = 256 * 1024;
/// Default maximum length of a line; longer lines are unparsable.
pub const DEFAULT_MAX_LINE_BYTES: usize = 16 << 20;
/// Most lines in a block: a block of short lines (`{}` lines are 3 bytes) makes a row and its
/// CSV per line, so blocks are cut by line count as well as by bytes, to keep a block's
/// analysis a few megabytes whatever the shape of its lines.
pub const MAX_BLOCK_LINES: usize = 4096;

/// A run of whole lines from one manifest, with its position and its number of lines, counted
/// once: by the framer, which finds every newline anyway, or by [`Block::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// 0-based sequence number of the block within its manifest.
    pub seq: u64,
    /// 1-based physical line number of the block's first line.
    pub first_line: u64,
    /// The lines (not public, so that the count below always describes them; nothing in this
    /// crate changes them but [`Block::keep_lines`]).
    pub(crate) kind: BlockKind,
    /// The number of physical lines in `kind`.
    lines: u64,
}

/// What a block holds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlockKind {
    /// Whole lines, each ended by `\n` except possibly the manifest's last line.
    Lines(Vec<u8>),
    /// One line longer than the maximum line length; it was skipped, not buffered.
    Oversized {
        /// The line's length in bytes, without its `\n`.
        bytes: u64,
    },
}

impl Block {
    /// The block `seq` of a manifest, starting at physical line `first_line` (1-based), its
    /// lines counted.
    ///
    /// ```
    /// use rekcheck_analyze::{Block, BlockKind};
    ///
    /// let block = Block::new(0, 1, BlockKind::Lines(b"{}\n{}".to_vec()));
    /// assert_eq!(block.line_count(), 2);
    /// ```
    pub fn new(seq: u64, first_line: u64, kind: BlockKind) -> Block {
        let lines = kind.count_lines();
        Block::counted(seq, first_line, kind, lines)
    }

    /// [`Block::new`] with the lines already counted (by the framer, which finds every newline).
    pub(crate) fn counted(seq: u64, first_line: u64, kind: BlockKind, lines: u64) -> Block {
        let block = Block {
            seq,
            first_line,
            kind,
            lines,
        };
        debug_assert_eq!(lines, block.kind.count_lines());
        block
    }

    /// The lines.
    pub fn kind(&self) -> &BlockKind {
        &self.kind
    }

    /// The lines, the block taken apart.
    pub fn into_kind(self) -> BlockKind {
        self.kind
    }

    /// The number of physical lines in the block (counted once, when the block was made).
    pub fn line_count(&self) -> u64 {
        self.lines
    }

    /// Keeps the block's first `n` lines (`n` at least 1), as `--max-lines` cuts the last block
    /// it reads.
    pub(crate) fn keep_lines(&mut self, n: u64) {
        if let BlockKind::Lines(data) = &mut self.kind
            && n >= 1
            && n < self.lines
            && let Some(i) = usize::try_from(n - 1)
                .ok()
                .and_then(|k| memchr_iter(b'\n', data).nth(k))
        {
            data.truncate(i + 1);
            self.lines = n;
        }
    }

    /// The size of the block in bytes of the manifest (the skipped bytes for an oversized line).
    pub fn byte_len(&self) -> u64 {
        match &self.kind {
            BlockKind::Lines(data) => data.len() as u64,
            BlockKind::Oversized { bytes } => *bytes,
        }
    }
}

impl BlockKind {
    /// Its physical lines, counted.
    fn count_lines(&self) -> u64 {
        match self {
            BlockKind::Lines(data) => count_lines(data),
            BlockKind::Oversized { .. } => 1,
        }
    }
}

fn count_lines(data: &[u8]) -> u64 {
    let newlines = memchr_iter(b'\n', data).count() as u64;
    if data.last().is_some_and(|&b| b != b'\n') {
        newlines + 1
    } else {
        newlines
    }
}

/// Block buffers handed back after analysis, so that the framer does not take fresh pages from
/// the kernel for every block. Cloning shares the pool.
#[derive(Debug, Clone, Default)]
pub(crate) struct BufferPool(std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>);

impl BufferPool {
    /// Most buffers kept: about the number of blocks in flight.
    const KEEP: usize = 32;

    /// A cleared buffer with at least `capacity` bytes of room. The buffers of long lines are
    /// not reused: they are freed here, on the framer's thread that allocated them (freed on an
    /// analysis thread, the allocator kept them for a while: 16 lines of 15 MB held 200 MB).
    fn take(&self, capacity: usize) -> Vec<u8> {
        let reused = self.0.lock().ok().and_then(|mut p| {
            p.retain(|v| v.capacity() <= Self::KEEP_CAPACITY);
            p.pop()
        });
        match reused {
            Some(mut v) => {
                v.clear();
                v.reserve(capacity);
                v
            }
            None => Vec::with_capacity(capacity),
        }
    }

    /// Largest buffer reused: the buffer of a block that held a long line is freed, not reused
    /// (32 buffers of 16 MiB lines would hold half a gigabyte).
    const KEEP_CAPACITY: usize = 4 * DEFAULT_BLOCK_BYTES;

    /// Gives a block's buffer back, for reuse or to be freed by the framer.
    pub(crate) fn recycle(&self, block: Block) {
        if let BlockKind::Lines(v) = block.kind
            && let Ok(mut p) = self.0.lock()
            && p.len() < Self::KEEP
        {
            p.push(v);
        }
    }
}

/// Cuts a byte stream into [`Block`]s of whole lines.
///
/// Lines are split on `\n`; a UTF-8 byte order mark at the very start is removed; a final line
/// without `\n` is a line, the empty piece after a final `\n` is not.
#[derive(Debug)]
pub struct Framer {
    block_bytes: usize,
    max_line_bytes: usize,
    /// Whole lines not yet emitted, then the start of the current partial line.
    buf: Vec<u8>,
    /// Offset in `buf` just after the last `\n` (start of the partial line).
    partial_start: usize,
    /// Still looking at the first bytes of the stream for a byte order mark.
    at_start: bool,
    /// Inside an oversized line: its length so far.
    skipping: Option<u64>,
    next_seq: u64,
    next_line: u64,
    pool: Option<BufferPool>,
    /// Newlines still allowed in the current block before it is cut ([`MAX_BLOCK_LINES`]).
    lines_to_cut: usize,
    /// Newlines in `buf[..partial_start]`: the whole lines of the block being built, counted
    /// once, as they are found.
    newlines: u64,
}

impl Default for Framer {
    fn default() -> Self {
        Framer::new(DEFAULT_BLOCK_BYTES, DEFAULT_MAX_LINE_BYTES)
    }
}

impl Framer {
    /// A framer emitting blocks of about `block_bytes` bytes, which skips lines longer than
    /// `max_line_bytes`.
    pub fn new(block_bytes: usize, max_line_bytes: usize) -> Framer {
        Framer {
            block_bytes: block_bytes.max(1),
            max_line_bytes,
            buf: Vec::new(),
            partial_start: 0,
            at_start: true,
            skipping: None,
            next_seq: 0,
            next_line: 1,
            pool: None,
            lines_to_cut: MAX_BLOCK_LINES,
            newlines: 0,
        }
    }

    /// Takes block buffers from `pool` (fill it with [`BufferPool::recycle`]).
    #[must_use]
    pub(crate) fn with_pool(mut self, pool: BufferPool) -> Framer {
        self.pool = Some(pool);
        self
    }

    /// The number of lines framed so far.
    pub fn lines(&self) -> u64 {
        self.next_line - 1
    }

    /// Feeds the next bytes of the stream; complete blocks are appended to `out`.
    pub fn push(&mut self, mut data: &[u8], out: &mut Vec<Block>) {
        if self.at_start {
            let need = BOM.len().saturating_sub(self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..need]);
            data = &data[need..];
            if self.buf.len() < BOM.len() && BOM.starts_with(&self.buf) {
                return;
            }
            self.at_start = false;
            let pending = std::mem::take(&mut self.buf);
            let pending = pending.strip_prefix(BOM).unwrap_or(&pending);
            self.push_body(pending, out);
        }
        self.push_body(data, out);
    }

    fn push_body(&mut self, mut data: &[u8], out: &mut Vec<Block>) {
        while !data.is_empty() {
            if let Some(skipped) = self.skipping {
                if let Some(i) = memchr(b'\n', data) {
                    self.emit_oversized(skipped + i as u64, out);
                    self.skipping = None;
                    data = &data[i + 1..];
                } else {
                    self.skipping = Some(skipped + data.len() as u64);
                    return;
                }
                continue;
            }
            let old_len = self.buf.len();
            // At most enough bytes to complete a block's worth of lines, their newlines
            // counted in the same pass.
            let mut newlines = 0usize;
            let mut last = None;
            for i in memchr_iter(b'\n', data) {
                newlines += 1;
                last = Some(i);
                if newlines >= self.lines_to_cut {
                    break;
                }
            }
            let take = match last {
                Some(i) if newlines >= self.lines_to_cut => i + 1,
                _ => data.len(),
            };
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            if let Some(i) = last {
                self.partial_start = old_len + i + 1;
                self.lines_to_cut = self.lines_to_cut.saturating_sub(newlines);
                self.newlines += newlines as u64;
            }
            if self.lines_to_cut == 0 {
                self.emit_whole_lines(out);
                continue;
            }
            let partial_len = self.buf.len() - self.partial_start;
            if partial_len > self.max_line_bytes {
                // The current line is already too long: emit what precedes it and skip the rest.
                self.emit_whole_lines(out);
                self.skipping = Some(self.buf.len() as u64);
                self.buf.clear();
                self.partial_start = 0;
            } else if self.partial_start >= self.block_bytes {
                self.emit_whole_lines(out);
            }
        }
    }

    fn emit_whole_lines(&mut self, out: &mut Vec<Block>) {
        if self.partial_start == 0 {
            return;
        }
        // The next buffer starts with the partial line and has room for a whole block plus the
        // chunk that completes it, so that it never grows by reallocation (which took fresh,
        // zeroed pages from the kernel for half of the blocks).
        let capacity = self.block_bytes + (self.block_bytes >> 2) + READ_CHUNK;
        let mut next = match &self.pool {
            Some(pool) => pool.take(capacity),
            None => Vec::with_capacity(capacity),
        };
        next.extend_from_slice(&self.buf[self.partial_start..]);
        self.buf.truncate(self.partial_start);
        let lines = std::mem::replace(&mut self.buf, next);
        self.partial_start = 0;
        self.lines_to_cut = MAX_BLOCK_LINES;
        let newlines = std::mem::take(&mut self.newlines);
        self.emit(BlockKind::Lines(lines), newlines, out);
    }

    fn emit_oversized(&mut self, bytes: u64, out: &mut Vec<Block>) {
        self.emit(BlockKind::Oversized { bytes }, 1, out);
    }

    /// Emits a block of `lines` lines (as [`Block::line_count`] would count them).
    fn emit(&mut self, kind: BlockKind, lines: u64, out: &mut Vec<Block>) {
        let block = Block::counted(self.next_seq, self.next_line, kind, lines);
        self.next_seq += 1;
        self.next_line += lines;
        out.push(block);
    }

    /// Ends the stream: the remaining bytes become the last block.
    pub fn finish(&mut self, out: &mut Vec<Block>) {
        if self.at_start {
            self.at_start = false;
            let pending = std::mem::take(&mut self.buf);
            let pending = pending.strip_prefix(BOM).unwrap_or(&pending);
            self.push_body(pending, out);
        }
        if let Some(skipped) = self.skipping.take() {
            self.emit_oversized(skipped, out);
        }
        if !self.buf.is_empty() {
            let lines = std::mem::take(&mut self.buf);
            self.partial_start = 0;
            let newlines = std::mem::take(&mut self.newlines);
            let count = newlines + u64::from(lines.last().is_some_and(|&b| b != b'\n'));
            self.emit(BlockKind::Lines(lines), count, out);
        }
    }
}

/// Reads a blocking source into blocks: an iterator of `io::Result<Block>`.
#[derive(Debug)]
pub struct BlockReader<R> {
    reader: R,
    framer: Framer,
    ready: std::collections::VecDeque<Block>,
    scratch: Vec<Block>,
    chunk: Vec<u8>,
    done: bool,
}

impl<R: Read> BlockReader<R> {
    /// Reads `reader` with the given framer.
    pub fn new(reader: R, framer: Framer) -> BlockReader<R> {
        BlockReader {
            reader,
            framer,
            ready: std::collections::VecDeque::new(),
            scratch: Vec::new(),
            chunk: vec![0; READ_CHUNK],
            done: false,
        }
    }
}

impl<R: Read> Iterator for BlockReader<R> {
    type Item = std::io::Result<Block>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(block) = self.ready.pop_front() {
                return Some(Ok(block));
            }
            if self.done {
                return None;
            }
            match self.reader.read(&mut self.chunk) {
                Ok(0) => {
                    self.done = true;
                    self.framer.finish(&mut self.scratch);
                }
                Ok(n) => self.framer.push(&self.chunk[..n], &mut self.scratch),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
            self.ready.extend(self.scratch.drain(..));
        }
    }
}

/// Iterates over the lines of a [`BlockKind::Lines`] block: `(line number, bytes without \n)`.
pub fn block_lines(first_line: u64, data: &[u8]) -> impl Iterator<Item = (u64, &[u8])> {
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    // Newlines are found with memchr (a byte-at-a-time split was a tenth of the analysis).
    let mut ends = memchr_iter(b'\n', body).chain(std::iter::once(body.len()));
    let mut start = 0;
    let lines = std::iter::from_fn(move || {
        let end = ends.next()?;
        let line = &body[start..end];
        start = end + 1;
        Some(line)
    });
    lines
        .take(if data.is_empty() { 0 } else { usize::MAX })
        .zip(first_line..)
        .map(|(line, n)| (n, line))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(chunks: &[&[u8]], block: usize, max: usize) -> Vec<Block> {
        let mut f = Framer::new(block, max);
        let mut out = Vec::new();
        for c in chunks {
            f.push(c, &mut out);
        }
        f.finish(&mut out);
        out
    }

    #[test]
    fn blocks_end_after_max_block_lines_lines() {
        let lines = MAX_BLOCK_LINES * 2 + 5;
        let data = "{}\n".repeat(lines);
        for chunk in [1, 7, 100_000] {
            let chunks: Vec<&[u8]> = data.as_bytes().chunks(chunk).collect();
            let blocks = frame(&chunks, 1 << 20, 1 << 20);
            let counts: Vec<u64> = blocks.iter().map(Block::line_count).collect();
            assert_eq!(
                counts,
                vec![MAX_BLOCK_LINES as u64, MAX_BLOCK_LINES as u64, 5],
                "chunks of {chunk}"
            );
            assert_eq!(lines_of(&blocks).len(), lines);
        }
    }

    /// The count a block carries is the count of its bytes: as framed, as made by `new`, and
    /// after `keep_lines` cut it (the `--max-lines` accounting reads it without counting again).
    #[test]
    fn a_block_carries_the_count_of_its_lines() {
        for data in [&b"a\nb\nc\n"[..], b"a\nb\nc", b"\n\n\n", b"x"] {
            for blocks in [frame(&[data], 1 << 20, 1 << 20), frame(&[data], 1, 1 << 20)] {
                for b in &blocks {
                    let counted = Block::new(b.seq, b.first_line, b.kind().clone());
                    assert_eq!(b.line_count(), counted.line_count(), "{data:?}");
                }
            }
            assert_eq!(
                Block::new(0, 1, BlockKind::Lines(data.to_vec())).line_count(),
                3 - u64::from(data == b"x") * 2
            );
        }
        let mut b = Block::new(0, 1, BlockKind::Lines(b"a\nbb\nccc\ndddd".to_vec()));
        assert_eq!(b.line_count(), 4);
        b.keep_lines(9);
        assert_eq!(
            (b.line_count(), b.byte_len()),
            (4, 13),
            "more than it has: unchanged"
        );
        b.keep_lines(2);
        assert_eq!(
            (b.line_count(), b.kind()),
            (2, &BlockKind::Lines(b"a\nbb\n".to_vec()))
        );
        let oversized = Block::new(0, 7, BlockKind::Oversized { bytes: 99 });
        assert_eq!(oversized.line_count(), 1);
    }

    #[test]
    fn the_pool_does_not_keep_the_buffer_of_a_long_line() {
        let pool = BufferPool::default();
        let block =
            |capacity: usize| Block::new(0, 1, BlockKind::Lines(Vec::with_capacity(capacity)));
        pool.recycle(block(DEFAULT_BLOCK_BYTES));
        pool.recycle(block(16 << 20));
        let reused = pool.take(1);
        assert!(reused.capacity() >= DEFAULT_BLOCK_BYTES && reused.capacity() < 16 << 20);
        assert!(
            pool.0.lock().unwrap().is_empty(),
            "the long line's buffer is freed"
        );
    }

    fn lines_of(blocks: &[Block]) -> Vec<(u64, String)> {
        let mut v = Vec::new();
        for b in blocks {
            match &b.kind {
                BlockKind::Lines(d) => {
                    for (n, l) in block_lines(b.first_line, d) {
                        v.push((n, String::from_utf8_lossy(l).into_owned()));
                    }
                }
                BlockKind::Oversized { bytes } => v.push((b.first_line, format!("<{bytes}>"))),
            }
        }
        v
    }

    #[test]
    fn final_line_without_newline_is_a_line_and_empty_tail_is_not() {
        let with = lines_of(&frame(&[b"a\nb\n"], 1, 100));
        assert_eq!(with, vec![(1, "a".into()), (2, "b".into())]);
        let without = lines_of(&frame(&[b"a\nb"], 1, 100));
        assert_eq!(without, vec![(1, "a".into()), (2, "b".into())]);
    }

    #[test]
    fn block_lines_numbers_every_line_of_a_block() {
        let lines = |d: &'static [u8]| block_lines(7, d).collect::<Vec<_>>();
        assert_eq!(lines(b""), Vec::<(u64, &[u8])>::new());
        assert_eq!(lines(b"\n"), vec![(7, &b""[..])]);
        assert_eq!(
            lines(b"a\n\nbc"),
            vec![(7, &b"a"[..]), (8, &b""[..]), (9, &b"bc"[..])]
        );
        assert_eq!(lines(b"a\r\n\n"), vec![(7, &b"a\r"[..]), (8, &b""[..])]);
    }

    #[test]
    fn blank_lines_are_counted() {
        let got = lines_of(&frame(&[b"\n\na\n\n"], 1000, 100));
        assert_eq!(
            got,
            vec![
                (1, String::new()),
                (2, String::new()),
                (3, "a".into()),
                (4, String::new())
            ]
        );
    }

    #[test]
    fn bom_is_removed_only_at_the_start_even_when_split() {
        let got = lines_of(&frame(&[b"\xEF", b"\xBB", b"\xBFx\n\xEF\xBB\xBFy"], 1, 100));
        assert_eq!(got, vec![(1, "x".into()), (2, "\u{feff}y".into())]);
        // A partial BOM is data.
        let got = lines_of(&frame(&[b"\xEF\xBB"], 1, 100));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, 1);
    }

    #[test]
    fn empty_input_has_no_lines() {
        assert!(frame(&[], 10, 10).is_empty());
        assert!(frame(&[b""], 10, 10).is_empty());
        assert!(frame(&[b"\xEF\xBB\xBF"], 10, 10).is_empty());
    }

    #[test]
    fn oversized_lines_are_skipped_not_buffered() {
        let long = vec![b'x'; 50];
        let mut input = b"a\n".to_vec();
        input.extend_from_slice(&long);
        input.extend_from_slice(b"\nb\n");
        // Chunks smaller than the line: the framer sees it grow past the limit and skips it.
        // (A line that arrives whole in one chunk is checked by the line analyzer instead.)
        for chunk in [1, 3, 7, 11] {
            let chunks: Vec<&[u8]> = input.chunks(chunk).collect();
            let got = lines_of(&frame(&chunks, 4, 10));
            assert_eq!(
                got,
                vec![(1, "a".into()), (2, "<50>".into()), (3, "b".into())],
                "chunk {chunk}"
            );
        }
        // Oversized final line without newline.
        let got = lines_of(&frame(&[b"a\n", &long], 4, 10));
        assert_eq!(got, vec![(1, "a".into()), (2, "<50>".into())]);
    }

    #[test]
    fn sequence_numbers_and_first_lines_are_consecutive() {
        let input: Vec<u8> = (0..100)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let blocks = frame(&input.chunks(13).collect::<Vec<_>>(), 50, 1000);
        assert!(blocks.len() > 5);
        let mut line = 1;
        for (i, b) in blocks.iter().enumerate() {
            assert_eq!(b.seq, i as u64);
            assert_eq!(b.first_line, line);
            line += b.line_count();
        }
        assert_eq!(line, 101);
    }

    #[test]
    fn block_reader_matches_framer() {
        let input = b"x\ny\n\nz".to_vec();
        let blocks: Vec<Block> = BlockReader::new(&input[..], Framer::new(1, 100))
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(lines_of(&blocks).len(), 4);
    }
}
