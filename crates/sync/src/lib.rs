//! The sync engine: runs the ministry adapters into the registry.
//!
//! A run pulls each feed of one source from its stored cursor (incremental) or from
//! the start (`full`), a page at a time. Each page is written in one transaction with
//! the cursor that points past it, so a run killed at any moment resumes where its last
//! committed page left off and ends as an uninterrupted run would. Every record
//! received is kept raw; every rejection with its reason. A PostgreSQL advisory lock
//! per source keeps two processes (or two gateway replicas) from pulling one source at
//! once. A feed the source has not published yet (a payroll month still to come) is
//! not a failure: the run succeeds, stores nothing for it, and names it in
//! [`RunSummary::not_published`]. [`SyncEngine::stop`] ends every run after the page it
//! is writing, closed as `interrupted` (a shutdown); a run whose process died is closed
//! so by the next run of its source. See [`link`] for how a source's record joins the
//! registry's.
//!
//! The engine knows no adapter: it reads the [`Sources`] it was given, each an
//! `Arc<dyn Source>` keyed by ministry ([`sources`] builds them from typed settings).
//! [`SyncEngine::start_run`] locks a source for a run a caller starts in the
//! background (`POST /v1/sync/{ministry}`), so "started" means started.

pub mod link;
pub mod matching_pass;
pub mod sources;

use std::sync::Arc;
use std::time::{Duration, Instant};

use adapter_core::{Cursor, Feed, Page, Source, SourceError};
use schema::Ministry;
use store::{PassSummary, RunEnd, RunTotals, SourceLock, Store, StoreError};
use tokio_util::sync::CancellationToken;

pub use crate::sources::{SourceSettingsError, Sources};

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{0}: another process is syncing this source; skipped")]
    Busy(Ministry),
    #[error(
        "{0}: stopped (the process is shutting down); the next run resumes from the last page stored"
    )]
    Interrupted(Ministry),
    #[error("{0}: no base URL configured")]
    NotConfigured(Ministry),
    /// The source's own error (the adapter's error type, boxed).
    #[error("{ministry}: {error}")]
    Source {
        ministry: Ministry,
        #[source]
        error: SourceError,
    },
    #[error("{ministry}: stored cursor of {feed} is unreadable: {cause}")]
    Cursor {
        ministry: Ministry,
        feed: String,
        cause: String,
    },
    #[error("a task of the sync ended abnormally: {0}")]
    Task(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One page of `feed` from `cursor`.
async fn fetch(source: &dyn Source, feed: &Feed, cursor: &Cursor) -> Result<Page, SyncError> {
    source
        .fetch_page(feed, cursor)
        .await
        .map_err(|error| SyncError::Source {
            ministry: source.ministry(),
            error,
        })
}

/// The first page a pull reads of `feed`; none when the source says the feed is not
/// published yet. Only the first: a feed that vanishes in the middle of a pull failed.
async fn fetch_first(
    source: &dyn Source,
    feed: &Feed,
    cursor: &Cursor,
) -> Result<Option<Page>, SyncError> {
    match source.fetch_page(feed, cursor).await {
        Ok(page) => Ok(Some(page)),
        Err(e) if source.not_published(&e) => {
            tracing::info!(ministry = %source.ministry(), feed = %feed.name(), reason = %e,
                "not published yet; asked again next sync");
            Ok(None)
        }
        Err(error) => Err(SyncError::Source {
            ministry: source.ministry(),
            error,
        }),
    }
}

/// How a feed's pull ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pulled {
    /// Read to its end (or settled, and skipped).
    Done,
    /// The source has not published it yet.
    NotPublished,
}

/// A page fetched (and its staff looked up) ahead, on a task of its own.
type Ahead = (Page, Option<(link::StaffLookup, i64)>);

/// A page being fetched on a task of its own; dropped, the task is aborted.
struct FetchAhead(tokio::task::JoinHandle<Result<Ahead, SyncError>>);

impl FetchAhead {
    async fn page(mut self) -> Result<Ahead, SyncError> {
        match (&mut self.0).await {
            Ok(page) => page,
            Err(e) => Err(SyncError::Task(e.to_string())),
        }
    }
}

impl Drop for FetchAhead {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Gives a run's lock back before the run answers, so a run started next finds the
/// source free. Should releasing fail, dropping the lock closes its session, which
/// releases it.
async fn release(lock: SourceLock) {
    let ministry = lock.ministry();
    if let Err(e) = lock.release().await {
        tracing::warn!(%ministry, error = %e, "sync lock not released; its session closes instead");
    }
}

/// The order a full sync takes: the gazetteer first, so facilities can be placed;
/// facilities before the roll, so postings can be linked. The payroll, listed last,
/// links nothing: [`SyncEngine::sync_all`] pulls it alongside the others.
pub const ORDER: [Ministry; 5] = [
    Ministry::Moi,
    Ministry::Moh,
    Ministry::Moeys,
    Ministry::Mcs,
    Ministry::Mef,
];

/// Whether `ministry`'s records are people to link (the roll and the sector systems).
fn links_people(ministry: Ministry) -> bool {
    matches!(ministry, Ministry::Mcs | Ministry::Moh | Ministry::Moeys)
}

/// Rows inserted before a run first refreshes the planner's statistics.
const FIRST_ANALYZE: u64 = 5_000;

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub run_id: i64,
    pub ministry: Ministry,
    pub totals: RunTotals,
    pub duration: Duration,
    /// Feeds the source has not published yet (a payroll month still to come): not a
    /// failure; nothing is stored for them, and the next sync asks again.
    pub not_published: Vec<String>,
}

/// Told of each stored page (progress bars, logs).
pub trait Progress: Send + Sync {
    fn page(&self, ministry: Ministry, feed: &str, records: u64);
    fn feed_done(&self, ministry: Ministry, feed: &str);
}

/// Progress that reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {
    fn page(&self, _: Ministry, _: &str, _: u64) {}
    fn feed_done(&self, _: Ministry, _: &str) {}
}

/// A run whose source is locked for it and not yet begun: [`SyncEngine::start_run`]
/// made it, [`SyncEngine::run_locked`] runs it. Dropped unrun, its lock's session
/// closes, which releases the source.
#[derive(Debug)]
pub struct LockedRun {
    source: Arc<dyn Source>,
    lock: SourceLock,
    full: bool,
}

impl LockedRun {
    pub fn ministry(&self) -> Ministry {
        self.source.ministry()
    }

    /// Whether the run pulls everything rather than what changed.
    pub fn is_full(&self) -> bool {
        self.full
    }
}

#[derive(Debug)]
pub struct SyncEngine {
    store: Store,
    /// Shared with the tasks that fetch ahead.
    sources: Sources,
    last_pass: std::sync::Mutex<Option<PassSummary>>,
    /// Cancelled by [`SyncEngine::stop`].
    stopping: CancellationToken,
}

impl SyncEngine {
    pub fn new(store: Store, sources: Sources) -> Self {
        Self {
            store,
            sources,
            last_pass: std::sync::Mutex::new(None),
            stopping: CancellationToken::new(),
        }
    }

    /// Stops every run of this engine after the page it is writing (each page commits
    /// with its cursor, so nothing is lost): the run is closed as `interrupted` and the
    /// next one resumes there. No run starts after this, nor any discrepancy pass (the
    /// next pass after a sync catches up with what this one brought).
    pub fn stop(&self) {
        self.stopping.cancel();
    }

    /// Whether [`SyncEngine::stop`] was called.
    pub fn is_stopping(&self) -> bool {
        self.stopping.is_cancelled()
    }

    /// The sources this engine reads.
    pub fn sources(&self) -> &Sources {
        &self.sources
    }

    /// Locks `ministry`'s source for a run of it: [`SyncError::NotConfigured`] when it
    /// has no source, [`SyncError::Busy`] when another process is syncing it. The
    /// lock's session lives on the runtime this is called on, as long as the run:
    /// call it, and [`SyncEngine::run_locked`], where the run is to live.
    pub async fn start_run(&self, ministry: Ministry, full: bool) -> Result<LockedRun, SyncError> {
        let source = Arc::clone(self.source(ministry)?);
        match self.store.try_lock_source(ministry).await? {
            Some(lock) => Ok(LockedRun { source, lock, full }),
            None => Err(SyncError::Busy(ministry)),
        }
    }

    /// Runs a run [`SyncEngine::start_run`] locked, as [`SyncEngine::sync`] does
    /// (the discrepancy pass after it included); the lock is given back at its end.
    pub async fn run_locked(
        &self,
        run: LockedRun,
        progress: &dyn Progress,
    ) -> Result<RunSummary, SyncError> {
        let LockedRun { source, lock, full } = run;
        let ministry = source.ministry();
        let result = self.run(&source, full, progress, Some(lock)).await;
        if matches!(&result, Ok(run) if run.totals.fetched > 0) && !self.is_stopping() {
            if links_people(ministry) {
                self.match_people(full).await;
            }
            self.reconcile(Self::scoped(full, ministry)).await;
        }
        result
    }

    fn source(&self, ministry: Ministry) -> Result<&Arc<dyn Source>, SyncError> {
        self.sources
            .get(ministry)
            .ok_or(SyncError::NotConfigured(ministry))
    }

    /// `work`, unless the engine is stopped first.
    async fn unless_stopped<T>(
        &self,
        ministry: Ministry,
        work: impl std::future::Future<Output = Result<T, SyncError>>,
    ) -> Result<T, SyncError> {
        tokio::select! {
            biased;
            () = self.stopping.cancelled() => Err(SyncError::Interrupted(ministry)),
            done = work => done,
        }
    }

    /// Syncs one source: incremental from its stored cursors, or from the start; then
    /// recomputes the discrepancies between sources.
    pub async fn sync(
        &self,
        ministry: Ministry,
        full: bool,
        progress: &dyn Progress,
    ) -> Result<RunSummary, SyncError> {
        let result = self.sync_source(ministry, full, progress).await;
        if matches!(&result, Ok(run) if run.totals.fetched > 0) && !self.is_stopping() {
            if links_people(ministry) {
                self.match_people(full).await;
            }
            self.reconcile(Self::scoped(full, ministry)).await;
        }
        result
    }

    /// What the last discrepancy pass after a sync did, if one ran.
    pub fn last_reconciliation(&self) -> Option<PassSummary> {
        *self
            .last_pass
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the discrepancy pass after a run may look only at what changed since the
    /// last pass: not after a full run, nor after the payroll, whose new month is
    /// judged against everyone on the roll.
    fn scoped(full: bool, ministry: Ministry) -> bool {
        !full && ministry != Ministry::Mef
    }

    /// The matching pass after a sync of staff records (see [`matching_pass`]): a
    /// failed pass is logged and fails no sync (the records are stored; the next pass
    /// scores them).
    async fn match_people(&self, full: bool) {
        if let Err(e) = matching_pass::match_people(&self.store, full).await {
            tracing::error!(error = %e, "matching pass failed");
        }
    }

    /// The discrepancy pass after a sync: over what changed since the last pass, or the
    /// whole registry. A failed pass leaves the last findings in place and does not
    /// fail the sync: the records are stored, and the next pass looks back to where the
    /// last one that succeeded cut.
    async fn reconcile(&self, scoped: bool) {
        let pass = if scoped {
            self.store.reconcile_changed().await
        } else {
            self.store.reconcile().await
        };
        match pass {
            Ok(summary) => {
                *self
                    .last_pass
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(summary);
            }
            Err(e) => tracing::error!(error = %e, "discrepancy pass failed"),
        }
    }

    async fn sync_source(
        &self,
        ministry: Ministry,
        full: bool,
        progress: &dyn Progress,
    ) -> Result<RunSummary, SyncError> {
        self.run(self.source(ministry)?, full, progress, None).await
    }

    /// Syncs every configured source in [`ORDER`]; one source failing does not stop
    /// the others. The payroll, which links nothing and takes no record version, is
    /// pulled alongside the others. One discrepancy pass follows, over what all of
    /// them brought.
    pub async fn sync_all(
        &self,
        full: bool,
        progress: &dyn Progress,
    ) -> Vec<(Ministry, Result<RunSummary, SyncError>)> {
        let linked = async {
            let mut results = Vec::new();
            for ministry in ORDER.into_iter().filter(|m| *m != Ministry::Mef) {
                if self.is_stopping() {
                    break;
                }
                match self.sync_source(ministry, full, progress).await {
                    Err(SyncError::NotConfigured(_)) => continue,
                    other => results.push((ministry, other)),
                }
            }
            results
        };
        let payroll = self.sync_source(Ministry::Mef, full, progress);
        let (mut results, payroll) = tokio::join!(linked, payroll);
        if !matches!(payroll, Err(SyncError::NotConfigured(_))) {
            results.push((Ministry::Mef, payroll));
        }
        // A source that sent nothing cannot have changed what the sources say.
        if !self.is_stopping()
            && results
                .iter()
                .any(|(_, r)| matches!(r, Ok(run) if run.totals.fetched > 0))
        {
            // A run that brings a new payroll month ends in a country pass.
            let payroll = results.iter().any(|(m, r)| {
                *m == Ministry::Mef && matches!(r, Ok(run) if run.totals.fetched > 0)
            });
            if results
                .iter()
                .any(|(m, r)| links_people(*m) && matches!(r, Ok(run) if run.totals.fetched > 0))
            {
                self.match_people(full).await;
            }
            self.reconcile(!full && !payroll).await;
        }
        results
    }

    async fn run(
        &self,
        source: &Arc<dyn Source>,
        full: bool,
        progress: &dyn Progress,
        lock: Option<SourceLock>,
    ) -> Result<RunSummary, SyncError> {
        let ministry = source.ministry();
        let lock = match lock {
            Some(held) => held,
            None => match self.store.try_lock_source(ministry).await? {
                Some(taken) => taken,
                None => return Err(SyncError::Busy(ministry)),
            },
        };
        if self.is_stopping() {
            // Not started, so nothing to close.
            release(lock).await;
            return Err(SyncError::Interrupted(ministry));
        }
        let started = Instant::now();
        let run_id = self.store.start_run(ministry, full).await?;
        let mut totals = RunTotals::default();
        let mut outcome = Ok(());
        let mut not_published = Vec::new();
        for feed in source.feeds() {
            if self.is_stopping() {
                outcome = Err(SyncError::Interrupted(ministry));
                break;
            }
            match self
                .pull_feed(source, &feed, full, run_id, &mut totals, progress)
                .await
            {
                Ok(Pulled::Done) => {}
                // Not "done": nothing was read. The run's summary names it.
                Ok(Pulled::NotPublished) => {
                    not_published.push(feed.name());
                    continue;
                }
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
            progress.feed_done(ministry, &feed.name());
        }
        let error = outcome.as_ref().err().map(ToString::to_string);
        let end = match (&outcome, error.as_deref()) {
            (Err(SyncError::Interrupted(_)), Some(e)) => RunEnd::Interrupted(e),
            (_, Some(e)) => RunEnd::Failed(e),
            (_, None) => RunEnd::Succeeded,
        };
        self.store.finish_run(run_id, totals, end).await?;
        release(lock).await;
        outcome?;
        Ok(RunSummary {
            run_id,
            ministry,
            totals,
            duration: started.elapsed(),
            not_published,
        })
    }

    async fn pull_feed(
        &self,
        source: &Arc<dyn Source>,
        feed: &Feed,
        full: bool,
        run_id: i64,
        totals: &mut RunTotals,
        progress: &dyn Progress,
    ) -> Result<Pulled, SyncError> {
        let ministry = source.ministry();
        let name = feed.name();
        let stored = if full {
            None
        } else {
            self.stored_cursor(ministry, &name).await?
        };
        let cursor = match stored {
            // A feed that cannot change after a complete pull is not read again.
            Some(c) if c.is_done() && source.settled_once_pulled(feed) => {
                tracing::info!(%ministry, feed = %name, "settled since its last complete pull; skipped");
                return Ok(Pulled::Done);
            }
            // After a complete pull, from its high-water mark; after an interrupted one,
            // where it stopped.
            Some(c) if c.is_done() => c.next_pull(chrono::Duration::zero()),
            Some(c) => c,
            None => Cursor::full(),
        };
        // Statistics are refreshed each time the registry has about doubled since they
        // were taken: a pull into tables the planner already knows well needs none.
        let known = self.store.staff_known_to_planner().await?;
        let (mut grown, mut analyze_at) = (0, FIRST_ANALYZE.max(known));
        let Some(mut page) = self
            .unless_stopped(ministry, fetch_first(source.as_ref(), feed, &cursor))
            .await?
        else {
            return Ok(Pulled::NotPublished);
        };
        // The next page's lookups, made while this one was written; and the writer
        // number and staff records of the page written last, to lay over them.
        let mut ahead: Option<(link::StaffLookup, i64)> = None;
        let mut previous: Option<(i64, Vec<schema::Staff>)> = None;
        loop {
            let next = page.next.clone();
            let records = page.len() as u64;
            // The next page is fetched, read and looked up on another thread while this
            // one is written; a failed write drops (and so cancels) that task.
            let prefetch = (!next.is_done()).then(|| {
                let (source, feed, next) = (Arc::clone(source), feed.clone(), next.clone());
                let store = self.store.clone();
                FetchAhead(tokio::spawn(async move {
                    let page = fetch(source.as_ref(), &feed, &next).await?;
                    // A look-ahead that fails costs nothing: the page's own transaction
                    // looks its records up instead.
                    let lookup = link::look_ahead(&store, &page).await.unwrap_or_else(|e| {
                        tracing::debug!(error = %e, "look-ahead failed");
                        None
                    });
                    Ok((page, lookup))
                }))
            });
            let looked = ahead.take().map(|(lookup, writers)| link::LookedAhead {
                lookup,
                writers,
                previous: previous.take(),
            });
            let (counts, number, written) = self
                .write_page(ministry, feed, page, &next, run_id, looked)
                .await?;
            previous = number.map(|n| (n, written));
            totals.fetched += counts.fetched;
            totals.inserted += counts.inserted;
            totals.updated += counts.updated;
            totals.rejected += counts.rejected;
            totals.unchanged += counts.fetched - counts.rejected - counts.inserted - counts.updated;
            grown += counts.registry_inserted;
            if grown >= analyze_at {
                let analyze_started = Instant::now();
                self.store.analyze_registry().await?;
                tracing::debug!(target: "sync::timing", %ministry, analyze_us = analyze_started.elapsed().as_micros(), "analysed");
                grown = 0;
                // Then each time they have grown several times over: plans stay right
                // as a first load grows them, and a large load analyses only a few times.
                analyze_at *= 4;
            }
            progress.page(ministry, &name, records);
            // Stopped: the page and its cursor are committed, the one ahead is dropped
            // (and so cancelled); the next run starts from that cursor.
            match prefetch {
                None => return Ok(Pulled::Done),
                Some(_) if self.is_stopping() => return Err(SyncError::Interrupted(ministry)),
                Some(task) => (page, ahead) = self.unless_stopped(ministry, task.page()).await?,
            }
        }
    }

    /// Writes one page and the cursor past it, in one transaction.
    async fn write_page(
        &self,
        ministry: Ministry,
        feed: &Feed,
        page: Page,
        next: &Cursor,
        run_id: i64,
        ahead: Option<link::LookedAhead>,
    ) -> Result<(link::PageCounts, Option<i64>, Vec<schema::Staff>), SyncError> {
        let name = feed.name();
        let cursor_json = serde_json::to_value(next).map_err(|e| SyncError::Cursor {
            ministry,
            feed: name.clone(),
            cause: e.to_string(),
        })?;
        let write_started = Instant::now();
        // Payroll lines take no record version: their pages need not queue behind the
        // registry's writers.
        let versioned = !page
            .items
            .iter()
            .all(|r| matches!(r.record, adapter_core::Record::Payroll(_)));
        let tx = if versioned {
            self.store.begin().await?
        } else {
            self.store.begin_unversioned().await?
        };
        let (counts, written) =
            link::apply_page(&tx, &self.store, ministry, feed, page, run_id, ahead).await?;
        let number = tx.writer_number();
        tx.save_cursor(ministry, &name, &cursor_json).await?;
        let commit_started = Instant::now();
        tx.commit().await?;
        tracing::debug!(target: "sync::timing", %ministry, feed = %name,
            write_us = (commit_started - write_started).as_micros(),
            commit_us = commit_started.elapsed().as_micros(), "page written");
        Ok((counts, number, written))
    }

    /// The cursor a feed's last pull stored, if any.
    async fn stored_cursor(
        &self,
        ministry: Ministry,
        feed: &str,
    ) -> Result<Option<Cursor>, SyncError> {
        let Some(json) = self.store.load_cursor(ministry, feed).await? else {
            return Ok(None);
        };
        let cursor: Cursor = serde_json::from_value(json).map_err(|e| SyncError::Cursor {
            ministry,
            feed: feed.to_owned(),
            cause: e.to_string(),
        })?;
        Ok(Some(cursor))
    }
}
