//! Each ministry's wire format, written from the DESIGN.md contract; one module per
//! system. Everything here reads the world and writes bytes; nothing here serves.

pub(crate) mod dhis2;
pub(crate) mod emis;
pub(crate) mod fhir;
pub(crate) mod mcs;
pub(crate) mod mef;
pub(crate) mod moi;

use crate::MockError;
use crate::faults::Delivery;

/// The largest page any endpoint serves; larger requests are clamped to it.
pub const MAX_PAGE_SIZE: usize = 10_000;

/// A request's query string, in order, decoded.
#[derive(Debug)]
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub(crate) fn parse(query_string: &str) -> Result<Self, MockError> {
        let pairs = serde_urlencoded::from_str(query_string)
            .map_err(|e| MockError::BadRequest(format!("unreadable query string: {e}")))?;
        Ok(Self { pairs })
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A page number (from 1); `default` when absent.
    pub(crate) fn page(&self, key: &str) -> Result<usize, MockError> {
        match self.get(key) {
            None => Ok(1),
            Some(v) => match v.trim().parse::<usize>() {
                Ok(n) if n >= 1 => Ok(n),
                _ => Err(MockError::BadRequest(format!(
                    "{key} must be a whole number from 1, not {v:?}"
                ))),
            },
        }
    }

    /// A page size: at least `min`, clamped to [`MAX_PAGE_SIZE`]; `default` when absent.
    pub(crate) fn size(&self, key: &str, default: usize, min: usize) -> Result<usize, MockError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => match v.trim().parse::<usize>() {
                Ok(n) if n >= min => Ok(n.min(MAX_PAGE_SIZE)),
                Err(_) if v.trim().bytes().all(|b| b.is_ascii_digit()) && !v.trim().is_empty() => {
                    Ok(MAX_PAGE_SIZE)
                }
                _ => Err(MockError::BadRequest(format!(
                    "{key} must be a whole number from {min}, not {v:?}"
                ))),
            },
        }
    }

    /// This query string with `key` set to `value` (replacing it, or appended).
    pub(crate) fn with(&self, key: &str, value: &str) -> String {
        let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(self.pairs.len() + 1);
        let mut replaced = false;
        for (k, v) in &self.pairs {
            if k == key {
                if !replaced {
                    pairs.push((k, value));
                    replaced = true;
                }
            } else {
                pairs.push((k, v));
            }
        }
        if !replaced {
            pairs.push((key, value));
        }
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    }
}

/// One page of the records that pass a filter.
#[derive(Debug)]
pub(crate) struct Selection {
    /// How many records pass the filter.
    pub total: usize,
    /// Indices of the records on the page.
    pub indices: Vec<u32>,
}

/// Page `page` (from 1) of `size` of the records that `keep`.
pub(crate) fn select<T>(
    items: &[T],
    keep: impl Fn(&T) -> bool,
    page: usize,
    size: usize,
) -> Selection {
    let skip = (page - 1).saturating_mul(size);
    let mut total = 0;
    let mut indices = Vec::with_capacity(size.min(items.len()));
    for (i, item) in items.iter().enumerate() {
        if keep(item) {
            if total >= skip && indices.len() < size {
                indices.push(i as u32);
            }
            total += 1;
        }
    }
    Selection { total, indices }
}

/// The page whose records to serve: the previous one when a repeat fault is due.
pub(crate) fn content_page(page: usize, delivery: Delivery) -> usize {
    if delivery == Delivery::Repeat && page > 1 {
        page - 1
    } else {
        page
    }
}

pub(crate) fn page_count(total: usize, size: usize) -> usize {
    total.div_ceil(size.max(1))
}

/// Whole seconds compared with a filter value in milliseconds.
pub(crate) fn millis(stamp: i64) -> i64 {
    stamp * 1000
}
