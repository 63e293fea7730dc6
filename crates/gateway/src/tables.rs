//! Tables people open in a spreadsheet: one table, answered as CSV (UTF-8 with a
//! byte-order mark and CRLF line ends, so Khmer opens cleanly) or XLSX (Khmer intact,
//! a bold frozen header row, columns sized to their text), as the client asks by
//! `Accept` or `format=`. JSON stays each route's own.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use rust_xlsxwriter::{Format, Workbook};

use crate::error::Error;

/// The media type of an XLSX workbook.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// What form an answer takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    Json,
    Csv,
    Xlsx,
}

impl TableFormat {
    /// `format=` (`json`, `csv`, `xlsx`) wins; else the first of CSV or XLSX that
    /// `Accept` names; else JSON.
    pub fn requested(req: &HttpRequest, format: Option<&str>) -> Result<Self, Error> {
        if let Some(f) = format {
            return match f {
                "json" => Ok(Self::Json),
                "csv" => Ok(Self::Csv),
                "xlsx" => Ok(Self::Xlsx),
                other => Err(Error::invalid(
                    "format",
                    format!("{other:?} is not json, csv or xlsx"),
                )),
            };
        }
        let accepted = req
            .headers()
            .get_all(header::ACCEPT)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|m| {
                m.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            });
        for media in accepted {
            match media.as_str() {
                "text/csv" => return Ok(Self::Csv),
                XLSX => return Ok(Self::Xlsx),
                _ => {}
            }
        }
        Ok(Self::Json)
    }
}

/// One cell: text, or a number a spreadsheet can sum.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_owned())
    }
}

impl From<Option<String>> for Cell {
    fn from(s: Option<String>) -> Self {
        Cell::Text(s.unwrap_or_default())
    }
}

impl From<u64> for Cell {
    fn from(n: u64) -> Self {
        Cell::Number(n as f64)
    }
}

/// A header and rows, named for the sheet and the file.
#[derive(Debug, Clone)]
pub struct Table {
    name: String,
    header: Vec<String>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(name: &str, header: &[&str]) -> Self {
        Self {
            name: name.to_owned(),
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
    }

    fn csv(&self) -> Result<Vec<u8>, Error> {
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer("\u{FEFF}".as_bytes().to_vec());
        writer.write_record(&self.header)?;
        for row in &self.rows {
            writer.write_record(row.iter().map(|c| match c {
                Cell::Text(t) => t.clone(),
                Cell::Number(n) => n.to_string(),
            }))?;
        }
        writer
            .into_inner()
            .map_err(|e| Error::Csv(e.into_error().into()))
    }

    fn xlsx(&self) -> Result<Vec<u8>, Error> {
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet();
        // A sheet name is at most 31 characters.
        let name: String = self.name.chars().take(31).collect();
        sheet.set_name(&name)?;
        let bold = Format::new().set_bold();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for (col, h) in self.header.iter().enumerate() {
            sheet.write_string_with_format(0, col as u16, h, &bold)?;
        }
        for (r, row) in self.rows.iter().enumerate() {
            let r = (r + 1) as u32;
            for (col, cell) in row.iter().enumerate() {
                match cell {
                    Cell::Text(t) if t.is_empty() => {}
                    Cell::Text(t) => {
                        sheet.write_string(r, col as u16, t)?;
                        if let Some(w) = widths.get_mut(col) {
                            *w = (*w).max(t.chars().count());
                        }
                    }
                    Cell::Number(n) => {
                        sheet.write_number(r, col as u16, *n)?;
                    }
                }
            }
        }
        sheet.set_freeze_panes(1, 0)?;
        for (col, w) in widths.iter().enumerate() {
            sheet.set_column_width(col as u16, (*w as f64 + 2.0).min(60.0))?;
        }
        Ok(workbook.save_to_buffer()?)
    }

    /// The table as a file download in `format` (CSV or XLSX).
    pub fn respond(&self, format: TableFormat) -> Result<HttpResponse, Error> {
        let (bytes, media, extension) = match format {
            TableFormat::Xlsx => (self.xlsx()?, XLSX, "xlsx"),
            TableFormat::Csv | TableFormat::Json => (self.csv()?, "text/csv; charset=utf-8", "csv"),
        };
        let mut response = HttpResponse::Ok();
        response.content_type(media);
        let disposition = format!("attachment; filename=\"{}.{extension}\"", self.name);
        if let Ok(v) = HeaderValue::from_str(&disposition) {
            response.insert_header((header::CONTENT_DISPOSITION, v));
        }
        Ok(response.body(bytes))
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn table() -> Table {
        let mut t = Table::new("coverage-province-2025-12", &["code", "name_km", "staff"]);
        t.push(vec!["07".into(), "កំពត".into(), 9120u64.into()]);
        t
    }

    #[test]
    fn the_format_is_asked_by_parameter_or_accept() {
        let req = TestRequest::default().to_http_request();
        assert_eq!(
            TableFormat::requested(&req, None).ok(),
            Some(TableFormat::Json)
        );
        let req = TestRequest::default()
            .insert_header((header::ACCEPT, format!("{XLSX};q=0.9, text/html")))
            .to_http_request();
        assert_eq!(
            TableFormat::requested(&req, None).ok(),
            Some(TableFormat::Xlsx)
        );
        assert_eq!(
            TableFormat::requested(&req, Some("csv")).ok(),
            Some(TableFormat::Csv)
        );
        assert!(TableFormat::requested(&req, Some("pdf")).is_err());
    }

    #[test]
    fn csv_keeps_khmer_behind_a_byte_order_mark() {
        let bytes = table().csv().expect("csv");
        let text = String::from_utf8(bytes).expect("utf-8");
        assert_eq!(text, "\u{FEFF}code,name_km,staff\r\n07,កំពត,9120\r\n");
    }

    #[test]
    fn xlsx_is_a_zip_workbook() {
        let bytes = table().xlsx().expect("xlsx");
        // An XLSX file is a ZIP archive: "PK\x03\x04".
        assert_eq!(&bytes[..4], b"PK\x03\x04");
        assert!(bytes.len() > 1000);
    }
}
