//! Reading an EMIS CSV export row by row from any byte source, never the whole file.
//!
//! The first record is the header: it names the columns, which are found by name (their
//! order may differ between exports). Every later record is a [`Row`]; blank lines are
//! not rows. Row counting is the same on every read of the same bytes, which is what lets
//! a re-download skip the rows already delivered.

use std::io::{self, Read};
use std::sync::Arc;

use adapter_core::Feed;
use csv::ByteRecord;
use serde_json::{Map, Value};

/// One of the EMIS exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Export {
    Schools,
    Teachers,
}

/// The columns of `schools.csv`, as the contract names them.
pub(crate) const SCHOOL_COLUMNS: &[&str] = &[
    "school_code",
    "school_name_kh",
    "school_name_en",
    "school_level",
    "commune_code",
    "latitude",
    "longitude",
    "status",
    "managed_by",
    "updated_at",
];

/// The columns of `teachers.csv`, as the contract names them.
pub(crate) const TEACHER_COLUMNS: &[&str] = &[
    "teacher_id",
    "officer_id",
    "national_id",
    "name_kh",
    "name_en",
    "sex",
    "dob",
    "school_code",
    "position",
    "employment_type",
    "updated_at",
];

impl Export {
    pub(crate) fn of(feed: &Feed) -> Option<Self> {
        match feed {
            Feed::Schools => Some(Self::Schools),
            Feed::Teachers => Some(Self::Teachers),
            _ => None,
        }
    }

    pub(crate) fn feed(self) -> Feed {
        match self {
            Self::Schools => Feed::Schools,
            Self::Teachers => Feed::Teachers,
        }
    }

    /// The export's path under the base URL.
    pub(crate) fn path(self) -> &'static str {
        match self {
            Self::Schools => "/emis/export/schools.csv",
            Self::Teachers => "/emis/export/teachers.csv",
        }
    }

    /// Every column of the contract is required in the header: a renamed or dropped
    /// column would otherwise blank that field in every record without a word.
    pub(crate) fn columns(self) -> &'static [&'static str] {
        match self {
            Self::Schools => SCHOOL_COLUMNS,
            Self::Teachers => TEACHER_COLUMNS,
        }
    }

    /// The column holding the record's id in the source.
    pub(crate) fn id_column(self) -> &'static str {
        match self {
            Self::Schools => "school_code",
            Self::Teachers => "teacher_id",
        }
    }
}

/// The header row: the names as the export wrote them, and where each contract column is.
#[derive(Debug)]
pub(crate) struct Header {
    export: Export,
    names: Vec<String>,
    /// For each of `export.columns()`, its position in the row.
    positions: Vec<usize>,
}

impl Header {
    /// Reads the header row; a contract column missing or named twice makes the export
    /// unreadable.
    pub(crate) fn read(export: Export, names: Vec<String>) -> Result<Self, String> {
        let names: Vec<String> = names
            .into_iter()
            .map(|n| n.trim_start_matches('\u{feff}').trim().to_owned())
            .collect();
        let mut positions = Vec::with_capacity(export.columns().len());
        for column in export.columns() {
            let mut found = names
                .iter()
                .enumerate()
                .filter(|(_, n)| n.eq_ignore_ascii_case(column))
                .map(|(i, _)| i);
            match (found.next(), found.next()) {
                (Some(i), None) => positions.push(i),
                (None, _) => {
                    return Err(format!(
                        "the header has no column `{column}` (it has: {})",
                        names.join(",")
                    ));
                }
                (Some(_), Some(_)) => {
                    return Err(format!("the header names column `{column}` twice"));
                }
            }
        }
        Ok(Self {
            export,
            names,
            positions,
        })
    }

    pub(crate) fn export(&self) -> Export {
        self.export
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether a column name has a NUL: every row's raw record would carry it.
    pub(crate) fn has_nul(&self) -> bool {
        self.names.iter().any(|n| n.contains('\0'))
    }
}

/// One data row of an export, its cells as text.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) header: Arc<Header>,
    pub(crate) cells: Vec<String>,
    /// Some cell was not valid UTF-8 (and was read with replacement characters).
    pub(crate) not_utf8: bool,
}

impl Row {
    /// The cell of a contract column; none when the row is too short to have it.
    pub(crate) fn get(&self, column: &str) -> Option<&str> {
        let k = self
            .header
            .export
            .columns()
            .iter()
            .position(|c| *c == column)?;
        let i = *self.header.positions.get(k)?;
        self.cells.get(i).map(String::as_str)
    }

    /// The cell of a contract column, blank when the row is too short to have it.
    pub(crate) fn cell(&self, column: &str) -> &str {
        self.get(column).unwrap_or("")
    }

    /// The row as received: a JSON object from each header name to its cell's text.
    /// Cells beyond the header's columns are kept under `_extra`.
    pub(crate) fn raw(&self) -> Value {
        let mut object = Map::new();
        for (name, cell) in self.header.names.iter().zip(&self.cells) {
            object
                .entry(name.clone())
                .or_insert_with(|| Value::String(cell.clone()));
        }
        if self.cells.len() > self.header.names.len() {
            let extra = self.cells[self.header.names.len()..]
                .iter()
                .cloned()
                .map(Value::String)
                .collect();
            object.insert("_extra".to_owned(), Value::Array(extra));
        }
        Value::Object(object)
    }
}

/// Why an export could not be read on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// The bytes stopped coming (connection error, truncated body): worth reading again.
    Broken(String),
    /// The export itself is not readable (a missing column, an endless row).
    Unreadable(String),
}

/// The longest row accepted: far beyond any real one, it stops an unclosed quote from
/// swallowing the rest of the export into memory.
pub(crate) const MAX_ROW_BYTES: u64 = 1024 * 1024;

const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// The byte source under the CSV reader: drops a leading UTF-8 BOM and refuses to read
/// further than `MAX_ROW_BYTES` past the end of the last complete row.
#[derive(Debug)]
struct Source<R> {
    inner: R,
    head: Option<Vec<u8>>,
    read: u64,
    limit: u64,
    overlong: bool,
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.head.is_none() {
            let mut head = [0u8; 3];
            let mut n = 0;
            while n < head.len() {
                match self.inner.read(&mut head[n..]) {
                    Ok(0) => break,
                    Ok(k) => n += k,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            self.head = Some(if head == BOM && n == 3 {
                Vec::new()
            } else {
                head[..n].to_vec()
            });
        }
        if let Some(head) = self.head.as_mut().filter(|h| !h.is_empty()) {
            let k = head.len().min(buf.len());
            buf[..k].copy_from_slice(&head[..k]);
            head.drain(..k);
            self.read += k as u64;
            return Ok(k);
        }
        if self.read > self.limit {
            self.overlong = true;
            return Err(io::Error::new(io::ErrorKind::InvalidData, "row too long"));
        }
        let k = self.inner.read(buf)?;
        self.read += k as u64;
        Ok(k)
    }
}

/// Reads an export's rows one at a time.
#[derive(Debug)]
pub(crate) struct ExportReader<R> {
    csv: csv::Reader<Source<R>>,
    header: Option<Arc<Header>>,
    record: ByteRecord,
    rows: u64,
}

impl<R: Read> ExportReader<R> {
    /// Reads the header. An empty body (not even a header) is an export with no rows.
    pub(crate) fn new(export: Export, source: R) -> Result<Self, ReadError> {
        let source = Source {
            inner: source,
            head: None,
            read: 0,
            limit: MAX_ROW_BYTES,
            overlong: false,
        };
        let csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(source);
        let mut reader = Self {
            csv,
            header: None,
            record: ByteRecord::new(),
            rows: 0,
        };
        if reader.read_record()? {
            let (names, _) = cells_of(&reader.record);
            let header = Header::read(export, names).map_err(ReadError::Unreadable)?;
            reader.header = Some(Arc::new(header));
        }
        Ok(reader)
    }

    /// The next row, none at the end of the export.
    pub(crate) fn next_row(&mut self) -> Result<Option<Row>, ReadError> {
        let Some(header) = self.header.clone() else {
            return Ok(None);
        };
        if !self.read_record()? {
            return Ok(None);
        }
        self.rows += 1;
        let (cells, not_utf8) = cells_of(&self.record);
        Ok(Some(Row {
            header,
            cells,
            not_utf8,
        }))
    }

    /// Passes over the next row; false at the end of the export.
    pub(crate) fn skip_row(&mut self) -> Result<bool, ReadError> {
        if self.header.is_none() || !self.read_record()? {
            return Ok(false);
        }
        self.rows += 1;
        Ok(true)
    }

    /// The next record that is not a blank line (the CSV reader already passes over
    /// empty lines; a line of only spaces is passed over here).
    fn read_record(&mut self) -> Result<bool, ReadError> {
        loop {
            match self.csv.read_byte_record(&mut self.record) {
                Ok(false) => return Ok(false),
                Ok(true) => {
                    let end = self.csv.position().byte();
                    self.csv.get_mut().limit = end + MAX_ROW_BYTES;
                    let blank = self.record.len() == 1
                        && self.record[0].iter().all(u8::is_ascii_whitespace);
                    if !blank {
                        return Ok(true);
                    }
                }
                Err(e) => return Err(self.read_error(&e)),
            }
        }
    }

    fn read_error(&self, e: &csv::Error) -> ReadError {
        let row = self.rows + 1;
        if self.csv.get_ref().overlong {
            ReadError::Unreadable(format!(
                "row {row} runs past {MAX_ROW_BYTES} bytes without ending (an unclosed quote?)"
            ))
        } else if let csv::ErrorKind::Io(io) = e.kind() {
            ReadError::Broken(format!("reading row {row}: {io}"))
        } else {
            ReadError::Unreadable(format!("row {row}: {e}"))
        }
    }
}

/// A record's fields as text; true when some field was not valid UTF-8.
fn cells_of(record: &ByteRecord) -> (Vec<String>, bool) {
    let mut not_utf8 = false;
    let cells = record
        .iter()
        .map(|field| match std::str::from_utf8(field) {
            Ok(s) => s.to_owned(),
            Err(_) => {
                not_utf8 = true;
                String::from_utf8_lossy(field).into_owned()
            }
        })
        .collect();
    (cells, not_utf8)
}
