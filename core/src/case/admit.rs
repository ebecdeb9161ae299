//! Admission: whether raw automerge bytes fit a budget, decided before automerge
//! loads them.
//!
//! Schema validation needs a loaded document, and loading is where the damage is
//! done: automerge inflates every DEFLATE-compressed chunk or column whole and
//! materialises every operation, so a 4.5 KB push once became 390 MB on the server
//! (issue 15). [`admit_bytes`] walks the chunk structure of a saved document or a
//! run of change chunks itself, streams every compressed part through a bounded
//! inflater, and counts bytes, operations and created objects from the columns
//! without decoding them into values, stopping at the first limit crossed.
//!
//! The format is automerge's binary storage format
//! (<https://alexjg.github.io/automerge-storage-docs/>): chunks of
//! `magic, checksum, type, uLEB length, body`, where a document chunk (type 0) holds
//! column metadata and columns, each possibly DEFLATE-compressed; a change chunk
//! (type 1) holds a header and uncompressed columns; a compressed change (type 2) is
//! a change body DEFLATE-compressed whole. Columns are run-length encoded: a signed
//! LEB run header `n > 0` repeats one value `n` times, `n < 0` introduces `-n`
//! literal values, `0` introduces a uLEB count of nulls; boolean columns are
//! alternating uLEB run lengths; value columns are raw bytes. The row count of a
//! column is therefore known from its run headers alone, which is how a short
//! column claiming millions of operations is caught without expanding it.
//!
//! Checksums and the meaning of values are automerge's business; this module only
//! bounds the work the load will do. Bytes it admits may still fail to load.

use std::cell::Cell;
use std::io::{self, BufReader, Read};

/// Column type bits of a column specification, from the storage format.
const INTEGER: u32 = 2;
const BOOLEAN: u32 = 4;
const STRING: u32 = 5;
const VALUE: u32 = 7;
/// The deflate bit of a column specification.
const DEFLATE: u32 = 0b1000;
/// Column id of the operation action column, in change and document chunks alike.
const ACTION_COLUMN_ID: u32 = 4;
/// Action codes that create an object: make map, make list, make text, make table.
const MAKE_ACTIONS: [u64; 4] = [0, 2, 4, 6];
/// First bytes of every chunk.
const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// Most columns one chunk may declare. Automerge writes at most 14 per section; the
/// cap keeps the column table this module holds small whatever the input says.
const MAX_COLUMNS: u64 = 64;
/// Bytes an inflater's output is buffered by, and read at a time when skipping.
const SCRATCH: usize = 4096;

/// What one document or push may expand to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdmissionBudget {
    /// Most bytes once every compressed part is inflated (uncompressed parts count
    /// as they are).
    pub max_expanded_bytes: u64,
    /// Most operation rows over all chunks; also the most rows any one column
    /// (including a document's change metadata) may claim. One text character is
    /// one operation.
    pub max_ops: u64,
    /// Most objects created (maps, lists, texts, tables). Nesting depth never
    /// exceeds this, so it also bounds depth.
    pub max_objects: u64,
}

impl AdmissionBudget {
    /// The budget for one case or duty-log document, generous for honest use: a
    /// full case (5,000 timeline entries, each with a status `prev` list, and a
    /// 20,000-character description rewritten many times over) stays well inside
    /// it, while the pushes of issue 15 (6 MiB blob, 20,000 nested maps, 1M-character
    /// text) each cross one limit.
    pub const DOCUMENT: AdmissionBudget =
        AdmissionBudget { max_expanded_bytes: 8 << 20, max_ops: 500_000, max_objects: 12_000 };
}

/// What admitted bytes measured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Admitted {
    /// Bytes after inflating every compressed part.
    pub expanded_bytes: u64,
    /// Operation rows over all chunks.
    pub ops: u64,
    /// Objects created over all chunks.
    pub objects: u64,
    /// Chunks read.
    pub chunks: u64,
}

/// Why bytes were refused. Each variant has a stable code ([`AdmissionError::code`])
/// meant for the sync protocol's refusal table.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AdmissionError {
    /// More bytes once inflated than the budget allows.
    #[error("the document expands to more than {limit} bytes")]
    TooLarge {
        /// The budget's `max_expanded_bytes`.
        limit: u64,
    },
    /// More operations than the budget allows.
    #[error("the document holds more than {limit} operations")]
    TooManyOps {
        /// The budget's `max_ops`.
        limit: u64,
    },
    /// More objects than the budget allows.
    #[error("the document creates more than {limit} objects")]
    TooManyObjects {
        /// The budget's `max_objects`.
        limit: u64,
    },
    /// Not a sequence of automerge chunks this build loads.
    #[error("not readable as automerge chunks: {0}")]
    Malformed(&'static str),
}

impl AdmissionError {
    /// The stable code string: `doc.too_large`, `doc.too_many_ops`,
    /// `doc.too_many_objects` or `doc.malformed`. Never renamed.
    pub fn code(&self) -> &'static str {
        match self {
            AdmissionError::TooLarge { .. } => "doc.too_large",
            AdmissionError::TooManyOps { .. } => "doc.too_many_ops",
            AdmissionError::TooManyObjects { .. } => "doc.too_many_objects",
            AdmissionError::Malformed(_) => "doc.malformed",
        }
    }
}

/// Decides whether automerge bytes (a saved document, `save_after` output, or any
/// concatenation of document and change chunks) fit `budget`, without loading them.
///
/// Memory bound: whatever the input, this holds at most one inflater (zlib-rs, the
/// backend automerge itself uses: a 32 KiB window and its state), two 4 KiB
/// buffers and a table of at most 64 column entries per chunk section, so under
/// 64 KiB besides the input itself. Inflated bytes are counted and dropped as they stream, and inflation
/// stops within 4 KiB of the running total crossing `max_expanded_bytes`. Time is
/// linear in the bytes actually read, at most the input plus `max_expanded_bytes`.
pub fn admit_bytes(bytes: &[u8], budget: &AdmissionBudget) -> Result<Admitted, AdmissionError> {
    admit_metered(bytes, &Meter { budget: *budget, expanded: Cell::new(0), over: Cell::new(false) })
}

fn admit_metered(bytes: &[u8], meter: &Meter) -> Result<Admitted, AdmissionError> {
    let mut admitted = Admitted::default();
    let mut rest = bytes;
    while !rest.is_empty() {
        let chunk_len = read_chunk(rest, meter, &mut admitted)?;
        rest = &rest[chunk_len..];
        admitted.chunks += 1;
    }
    admitted.expanded_bytes = meter.expanded.get();
    Ok(admitted)
}

/// Reads the chunk at the start of `bytes`, adding what it holds to `admitted`, and
/// returns the chunk's length.
fn read_chunk(bytes: &[u8], meter: &Meter, admitted: &mut Admitted) -> Result<usize, AdmissionError> {
    let mut header = Metered { inner: bytes, meter };
    let mut magic = [0u8; 4];
    read_exact(&mut header, &mut magic, meter)?;
    if magic != MAGIC {
        return Err(AdmissionError::Malformed("a chunk does not start with automerge's magic bytes"));
    }
    read_exact(&mut header, &mut [0u8; 4], meter)?; // checksum
    let chunk_type = read_byte(&mut header, meter)?.ok_or(AdmissionError::Malformed("a chunk header ends early"))?;
    let body_len = read_uleb(&mut header, meter)?;
    let header_len = bytes.len() - header.inner.len();
    let body = usize::try_from(body_len)
        .ok()
        .and_then(|body_len| bytes.get(header_len..header_len.checked_add(body_len)?))
        .ok_or(AdmissionError::Malformed("a chunk is longer than the bytes that hold it"))?;
    match chunk_type {
        0 => read_document(body, meter, admitted)?,
        1 => read_change(&mut Metered { inner: body, meter }, meter, admitted)?,
        2 => {
            let inflater = flate2::bufread::DeflateDecoder::new(body);
            read_change(&mut BufReader::with_capacity(SCRATCH, Metered { inner: inflater, meter }), meter, admitted)?;
        }
        3 => return Err(AdmissionError::Malformed("bundle chunks are not accepted")),
        _ => return Err(AdmissionError::Malformed("unknown chunk type")),
    }
    Ok(header_len + body.len())
}

/// A document chunk's body: actors, heads, change and op column metadata, the
/// columns (each possibly deflated), then head indices.
fn read_document(body: &[u8], meter: &Meter, admitted: &mut Admitted) -> Result<(), AdmissionError> {
    let mut prefix = Metered { inner: body, meter };
    let n_actors = read_uleb(&mut prefix, meter)?;
    for _ in 0..n_actors {
        let len = read_uleb(&mut prefix, meter)?;
        skip(&mut prefix, len, meter)?;
    }
    let n_heads = read_uleb(&mut prefix, meter)?;
    skip(&mut prefix, n_heads.saturating_mul(32), meter)?;
    let change_columns = read_column_table(&mut prefix, meter)?;
    let op_columns = read_column_table(&mut prefix, meter)?;
    let mut data = prefix.inner;
    for (columns, are_ops) in [(&change_columns, false), (&op_columns, true)] {
        let mut chunk_ops = 0;
        for &(spec, len) in columns {
            let raw = usize::try_from(len)
                .ok()
                .and_then(|len| data.get(..len))
                .ok_or(AdmissionError::Malformed("a column is longer than its chunk"))?;
            data = &data[raw.len()..];
            let rows = if spec & DEFLATE == 0 {
                count_rows(&mut Metered { inner: raw, meter }, spec, meter, admitted)?
            } else {
                let inflater = flate2::bufread::DeflateDecoder::new(raw);
                count_rows(
                    &mut BufReader::with_capacity(SCRATCH, Metered { inner: inflater, meter }),
                    spec,
                    meter,
                    admitted,
                )?
            };
            chunk_ops = chunk_ops.max(rows);
        }
        if are_ops {
            add_ops(admitted, chunk_ops, meter)?;
        }
    }
    // Head indices, and anything else automerge will refuse anyway, count as bytes.
    skip_to_end(&mut Metered { inner: data, meter }, meter)
}

/// A change chunk's body: dependencies, actor, seq, start op, time, message, other
/// actors, op column metadata, the columns, then extra bytes.
fn read_change(body: &mut impl Read, meter: &Meter, admitted: &mut Admitted) -> Result<(), AdmissionError> {
    let n_deps = read_uleb(body, meter)?;
    skip(body, n_deps.saturating_mul(32), meter)?;
    let actor_len = read_uleb(body, meter)?;
    skip(body, actor_len, meter)?;
    read_uleb(body, meter)?; // seq
    read_uleb(body, meter)?; // start op
    read_uleb(body, meter)?; // time (signed LEB; skipping reads the same bytes)
    let message_len = read_uleb(body, meter)?;
    skip(body, message_len, meter)?;
    let n_others = read_uleb(body, meter)?;
    for _ in 0..n_others {
        let len = read_uleb(body, meter)?;
        skip(body, len, meter)?;
    }
    let columns = read_column_table(body, meter)?;
    let mut chunk_ops = 0;
    for (spec, len) in columns {
        if spec & DEFLATE != 0 {
            return Err(AdmissionError::Malformed("a change chunk has a deflated column"));
        }
        let mut column = Read::take(&mut *body, len);
        chunk_ops = chunk_ops.max(count_rows(&mut column, spec, meter, admitted)?);
        if column.limit() > 0 {
            return Err(AdmissionError::Malformed("a column is longer than its chunk"));
        }
    }
    add_ops(admitted, chunk_ops, meter)?;
    skip_to_end(body, meter)
}

/// A column metadata table: a count, then (specification, length) pairs.
fn read_column_table(input: &mut impl Read, meter: &Meter) -> Result<Vec<(u32, u64)>, AdmissionError> {
    let n_columns = read_uleb(input, meter)?;
    if n_columns > MAX_COLUMNS {
        return Err(AdmissionError::Malformed("a chunk declares too many columns"));
    }
    (0..n_columns)
        .map(|_| {
            let spec = u32::try_from(read_uleb(input, meter)?)
                .map_err(|_| AdmissionError::Malformed("a column specification is out of range"))?;
            Ok((spec, read_uleb(input, meter)?))
        })
        .collect()
}

/// Reads one column to its end and returns how many rows it encodes; counts the
/// objects an action column creates into `admitted`.
fn count_rows<R: Read>(
    column: &mut R,
    spec: u32,
    meter: &Meter,
    admitted: &mut Admitted,
) -> Result<u64, AdmissionError> {
    let col_type = spec & 0b111;
    let is_action = spec >> 4 == ACTION_COLUMN_ID && col_type == INTEGER;
    let mut rows: u64 = 0;
    let mut objects: u64 = 0;
    match col_type {
        VALUE => skip_to_end(column, meter)?,
        BOOLEAN => {
            while let Some(first) = read_byte(column, meter)? {
                rows = rows.saturating_add(finish_uleb(first, column, meter)?);
            }
        }
        _ => {
            // Run-length encoded: a signed run header, then values.
            let value = |column: &mut R| -> Result<u64, AdmissionError> {
                if col_type == STRING {
                    let len = read_uleb(column, meter)?;
                    skip(column, len, meter)?;
                    Ok(0)
                } else {
                    read_uleb(column, meter)
                }
            };
            while let Some(first) = read_byte(column, meter)? {
                let run = finish_sleb(first, column, meter)?;
                if run > 0 {
                    let action = value(column)?;
                    let count = run.unsigned_abs();
                    rows = rows.saturating_add(count);
                    if is_action && MAKE_ACTIONS.contains(&action) {
                        objects = objects.saturating_add(count);
                    }
                } else if run < 0 {
                    for _ in 0..run.unsigned_abs() {
                        let action = value(column)?;
                        rows = rows.saturating_add(1);
                        if is_action && MAKE_ACTIONS.contains(&action) {
                            objects = objects.saturating_add(1);
                        }
                    }
                } else {
                    rows = rows.saturating_add(read_uleb(column, meter)?);
                }
                check_rows(rows, meter)?;
            }
        }
    }
    check_rows(rows, meter)?;
    admitted.objects = admitted.objects.saturating_add(objects);
    if admitted.objects > meter.budget.max_objects {
        return Err(AdmissionError::TooManyObjects { limit: meter.budget.max_objects });
    }
    Ok(rows)
}

fn check_rows(rows: u64, meter: &Meter) -> Result<(), AdmissionError> {
    if rows > meter.budget.max_ops { Err(AdmissionError::TooManyOps { limit: meter.budget.max_ops }) } else { Ok(()) }
}

fn add_ops(admitted: &mut Admitted, ops: u64, meter: &Meter) -> Result<(), AdmissionError> {
    admitted.ops = admitted.ops.saturating_add(ops);
    check_rows(admitted.ops, meter)
}

/// The running total of expanded bytes, shared by every reader of one admission.
struct Meter {
    budget: AdmissionBudget,
    expanded: Cell<u64>,
    /// Set when the total crossed the budget, so the I/O error that stops the read
    /// can be told apart from a corrupt DEFLATE stream.
    over: Cell<bool>,
}

/// A reader that adds every byte it yields to the meter and fails once the budget
/// is crossed, so no stream is read further than the budget.
struct Metered<'m, R> {
    inner: R,
    meter: &'m Meter,
}

impl<R: Read> Read for Metered<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let total = self.meter.expanded.get().saturating_add(n as u64);
        self.meter.expanded.set(total);
        if total > self.meter.budget.max_expanded_bytes {
            self.meter.over.set(true);
            return Err(io::Error::other("over the expansion budget"));
        }
        Ok(n)
    }
}

fn io_error(meter: &Meter) -> AdmissionError {
    if meter.over.get() {
        AdmissionError::TooLarge { limit: meter.budget.max_expanded_bytes }
    } else {
        AdmissionError::Malformed("a compressed part does not inflate")
    }
}

fn read_byte(input: &mut impl Read, meter: &Meter) -> Result<Option<u8>, AdmissionError> {
    let mut byte = [0u8];
    loop {
        return match input.read(&mut byte) {
            Ok(0) => Ok(None),
            Ok(_) => Ok(Some(byte[0])),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => Err(io_error(meter)),
        };
    }
}

fn read_exact(input: &mut impl Read, buf: &mut [u8], meter: &Meter) -> Result<(), AdmissionError> {
    for slot in buf {
        *slot = read_byte(input, meter)?.ok_or(AdmissionError::Malformed("a chunk ends early"))?;
    }
    Ok(())
}

/// An unsigned LEB128 number (at most 64 bits).
fn read_uleb(input: &mut impl Read, meter: &Meter) -> Result<u64, AdmissionError> {
    let first = read_byte(input, meter)?.ok_or(AdmissionError::Malformed("a chunk ends inside a number"))?;
    finish_uleb(first, input, meter)
}

fn finish_uleb(first: u8, input: &mut impl Read, meter: &Meter) -> Result<u64, AdmissionError> {
    let mut value = u64::from(first & 0x7f);
    let mut byte = first;
    let mut shift = 7;
    while byte & 0x80 != 0 {
        byte = read_byte(input, meter)?.ok_or(AdmissionError::Malformed("a chunk ends inside a number"))?;
        if shift >= 64 || (shift == 63 && byte & 0x7e != 0) {
            return Err(AdmissionError::Malformed("a number overflows 64 bits"));
        }
        value |= u64::from(byte & 0x7f) << shift;
        shift += 7;
    }
    Ok(value)
}

/// A signed LEB128 number (at most 64 bits).
fn finish_sleb(first: u8, input: &mut impl Read, meter: &Meter) -> Result<i64, AdmissionError> {
    let mut value = i64::from(first & 0x7f);
    let mut byte = first;
    let mut shift = 7;
    while byte & 0x80 != 0 {
        byte = read_byte(input, meter)?.ok_or(AdmissionError::Malformed("a chunk ends inside a number"))?;
        if shift >= 64 {
            return Err(AdmissionError::Malformed("a number overflows 64 bits"));
        }
        value |= i64::from(byte & 0x7f) << shift;
        shift += 7;
    }
    if shift < 64 && byte & 0x40 != 0 {
        value |= -1i64 << shift;
    }
    Ok(value)
}

/// Reads and drops `len` bytes.
fn skip(input: &mut impl Read, len: u64, meter: &Meter) -> Result<(), AdmissionError> {
    let copied = io::copy(&mut Read::take(input, len), &mut io::sink()).map_err(|_| io_error(meter))?;
    if copied < len { Err(AdmissionError::Malformed("a chunk ends early")) } else { Ok(()) }
}

fn skip_to_end(input: &mut impl Read, meter: &Meter) -> Result<(), AdmissionError> {
    let mut scratch = [0u8; SCRATCH];
    loop {
        match input.read(&mut scratch) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err(io_error(meter)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use automerge::transaction::Transactable;
    use automerge::{Automerge, AutomergeError, ObjType, ROOT, ReadDoc};

    use super::*;

    const MIB: u64 = 1 << 20;

    fn metered(budget: AdmissionBudget) -> Meter {
        Meter { budget, expanded: Cell::new(0), over: Cell::new(false) }
    }

    fn uleb(mut value: u64, out: &mut Vec<u8>) {
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    /// Rewrites one uncompressed change chunk as a compressed one (type 2), as
    /// automerge writes large changes: the same checksum over the deflated body.
    fn compress_change(chunk: &[u8]) -> Vec<u8> {
        assert_eq!(chunk[8], 1, "a change chunk");
        let meter = metered(AdmissionBudget::DOCUMENT);
        let mut header = Metered { inner: &chunk[9..], meter: &meter };
        let body_len = read_uleb(&mut header, &meter).unwrap();
        let body = header.inner;
        assert_eq!(body.len() as u64, body_len, "one chunk");
        let mut deflater = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        deflater.write_all(body).unwrap();
        let deflated = deflater.finish().unwrap();
        let mut out = chunk[..8].to_vec();
        out.push(2);
        uleb(deflated.len() as u64, &mut out);
        out.extend(deflated);
        out
    }

    /// Long enough that `save` deflates its columns.
    fn sample_text() -> String {
        "hello ".repeat(2_000)
    }

    fn sample_doc() -> Automerge {
        let mut doc = Automerge::new();
        doc.transact(|tx| {
            let text = tx.put_object(ROOT, "text", ObjType::Text)?;
            tx.splice_text(&text, 0, 0, &sample_text())?;
            let map = tx.put_object(ROOT, "map", ObjType::Map)?;
            tx.put(&map, "key", "value")
        })
        .unwrap();
        doc.transact(|tx| tx.put(ROOT, "n", 1)).unwrap();
        doc
    }

    #[test]
    fn a_saved_document_and_its_changes_are_admitted_with_their_counts() {
        let doc = sample_doc();
        let saved = doc.save();
        assert!(saved.len() < sample_text().len() / 4, "the columns are deflated ({} bytes)", saved.len());
        let ops = doc.stats().num_ops;
        let saved = admit_bytes(&saved, &AdmissionBudget::DOCUMENT).unwrap();
        assert_eq!((saved.ops, saved.objects, saved.chunks), (ops, 2, 1));
        let changes = admit_bytes(&doc.save_after(&[]), &AdmissionBudget::DOCUMENT).unwrap();
        assert_eq!((changes.ops, changes.objects, changes.chunks), (ops, 2, 2));
        assert!(changes.expanded_bytes >= doc.save_after(&[]).len() as u64);
    }

    #[test]
    fn a_compressed_change_is_read_through_the_inflater() {
        let doc = sample_doc();
        let first = doc.get_changes(&[]).into_iter().next().unwrap();
        let compressed = compress_change(first.raw_bytes());
        // Automerge reads the hand-made chunk, so it is the format automerge writes.
        let loaded = Automerge::load(&compressed).unwrap();
        assert_eq!(loaded.text(loaded.get(ROOT, "text").unwrap().unwrap().1).unwrap(), sample_text());
        let admitted = admit_bytes(&compressed, &AdmissionBudget::DOCUMENT).unwrap();
        assert_eq!((admitted.ops, admitted.objects), (first.len() as u64, 2));
    }

    #[test]
    fn a_compressed_bomb_is_refused_without_being_inflated_past_the_budget() {
        let mut doc = Automerge::new();
        doc.transact(|tx| tx.put(ROOT, "blob", "a".repeat(6 << 20))).unwrap();
        let saved = doc.save();
        let change = compress_change(&doc.save_after(&[]));
        let budget = AdmissionBudget { max_expanded_bytes: MIB, ..AdmissionBudget::DOCUMENT };
        for bomb in [saved, change] {
            assert!(bomb.len() < 64 << 10, "6 MiB compresses to {} bytes", bomb.len());
            let meter = metered(budget);
            let refused = admit_metered(&bomb, &meter).unwrap_err();
            assert_eq!(refused, AdmissionError::TooLarge { limit: MIB });
            assert_eq!(refused.code(), "doc.too_large");
            assert!(meter.expanded.get() <= MIB + SCRATCH as u64, "inflated {} bytes", meter.expanded.get());
        }
    }

    #[test]
    fn a_long_run_of_characters_is_counted_from_its_run_headers() {
        // A million identical characters save to a few kilobytes; the operations
        // they load into are counted from the run-length headers.
        let mut doc = Automerge::new();
        doc.transact(|tx| {
            let text = tx.put_object(ROOT, "hidden", ObjType::Text)?;
            tx.splice_text(&text, 0, 0, &"a".repeat(1_000_000))
        })
        .unwrap();
        let saved = doc.save();
        assert!(saved.len() < 64 << 10, "{} bytes", saved.len());
        let refused = admit_bytes(&saved, &AdmissionBudget::DOCUMENT).unwrap_err();
        assert_eq!(refused, AdmissionError::TooManyOps { limit: 500_000 });
        assert_eq!(refused.code(), "doc.too_many_ops");
    }

    #[test]
    fn twenty_thousand_nested_maps_are_too_many_objects() {
        let mut doc = Automerge::new();
        doc.transact(|tx| {
            let mut nest = tx.put_object(ROOT, "n", ObjType::Map)?;
            for _ in 0..20_000 {
                nest = tx.put_object(&nest, "n", ObjType::Map)?;
            }
            Ok::<_, AutomergeError>(())
        })
        .unwrap();
        for bytes in [doc.save(), doc.save_after(&[])] {
            let refused = admit_bytes(&bytes, &AdmissionBudget::DOCUMENT).unwrap_err();
            assert_eq!(refused, AdmissionError::TooManyObjects { limit: 12_000 });
            assert_eq!(refused.code(), "doc.too_many_objects");
        }
    }

    #[test]
    fn bytes_that_are_not_chunks_are_malformed() {
        let saved = sample_doc().save();
        for bad in [&b"not automerge"[..], &saved[..saved.len() - 1], &saved[..3]] {
            let refused = admit_bytes(bad, &AdmissionBudget::DOCUMENT).unwrap_err();
            assert!(matches!(refused, AdmissionError::Malformed(_)), "{refused:?}");
            assert_eq!(refused.code(), "doc.malformed");
        }
    }
}
