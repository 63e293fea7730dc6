//! One export being downloaded: the body streamed into a CSV reader on a blocking
//! thread, which hands over batches of rows through a bounded channel. At most the
//! channel's few batches and the reader's buffer are in memory, whatever the export's
//! size.

use std::io;

use adapter_core::{ClientError, MinistryClient};
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use tokio::sync::mpsc;
use tokio_util::io::{StreamReader, SyncIoBridge};

use crate::export::{Export, ExportReader, ReadError, Row};

/// What the reading thread hands over.
#[derive(Debug)]
pub(crate) enum Chunk {
    /// The next rows (a full batch unless `last`); `last` when the export ends with them.
    Rows {
        rows: Vec<Row>,
        last: bool,
    },
    Failed(ReadError),
}

/// Batches read ahead of the caller: one being read, these waiting.
const READ_AHEAD: usize = 1;

/// An export being read, and how many of its rows were handed to the caller.
#[derive(Debug)]
pub(crate) struct Download {
    pub(crate) since: Option<DateTime<Utc>>,
    /// Rows already delivered (the skipped ones included).
    pub(crate) delivered: u64,
    rx: mpsc::Receiver<Chunk>,
}

impl Download {
    /// GETs `url` (retrying until the headers come) and starts reading it on a blocking
    /// thread, passing over the first `skip` rows.
    pub(crate) async fn start(
        client: &MinistryClient,
        url: &str,
        export: Export,
        since: Option<DateTime<Utc>>,
        skip: u64,
        batch: usize,
    ) -> Result<Self, ClientError> {
        let response = client.get_stream(url).await?;
        let body = response
            .bytes_stream()
            .map_err(|e| io::Error::other(cause_chain(&e)));
        let reader = SyncIoBridge::new(StreamReader::new(Box::pin(body)));
        let (tx, rx) = mpsc::channel(READ_AHEAD);
        tokio::task::spawn_blocking(move || read_export(export, reader, skip, batch.max(1), &tx));
        Ok(Self {
            since,
            delivered: skip,
            rx,
        })
    }

    /// The next chunk; a reading thread that went away is a broken download.
    pub(crate) async fn next(&mut self) -> Chunk {
        self.rx.recv().await.unwrap_or_else(|| {
            Chunk::Failed(ReadError::Broken("the export's reader stopped".to_owned()))
        })
    }
}

/// The reading thread: passes over `skip` rows, then sends batches of `batch` rows until
/// the end, a failure, or the receiver going away.
pub(crate) fn read_export(
    export: Export,
    source: impl io::Read,
    skip: u64,
    batch: usize,
    tx: &mpsc::Sender<Chunk>,
) {
    let send = |chunk| tx.blocking_send(chunk).is_ok();
    let mut reader = match ExportReader::new(export, source) {
        Ok(r) => r,
        Err(e) => {
            send(Chunk::Failed(e));
            return;
        }
    };
    for _ in 0..skip {
        match reader.skip_row() {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(
                    ?export,
                    skip,
                    "the export is shorter than the rows already delivered"
                );
                send(Chunk::Rows {
                    rows: Vec::new(),
                    last: true,
                });
                return;
            }
            Err(e) => {
                send(Chunk::Failed(e));
                return;
            }
        }
    }
    let mut ahead: Option<Row> = None;
    loop {
        let mut rows = Vec::with_capacity(batch);
        rows.extend(ahead.take());
        // Fill the batch, then read one row more to know whether it is the last.
        while rows.len() <= batch {
            match reader.next_row() {
                Ok(Some(row)) if rows.len() < batch => rows.push(row),
                Ok(Some(row)) => {
                    ahead = Some(row);
                    break;
                }
                Ok(None) => {
                    send(Chunk::Rows { rows, last: true });
                    return;
                }
                Err(e) => {
                    send(Chunk::Failed(e));
                    return;
                }
            }
        }
        if !send(Chunk::Rows { rows, last: false }) {
            return;
        }
    }
}

/// An error with its sources, one after another.
fn cause_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        cause = format!("{cause}: {s}");
        source = s.source();
    }
    cause
}
