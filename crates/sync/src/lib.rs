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

pub mod link;

use std::sync::Arc;
use std::time::{Duration, Instant};

use adapter_core::{Adapter, Cursor, Feed, Page};
use adapter_mcs::McsAdapter;
use adapter_mef::MefAdapter;
use adapter_moeys::MoeysAdapter;
use adapter_moh::MohAdapter;
use adapter_moi::MoiAdapter;
use schema::Ministry;
use store::{PassSummary, RunEnd, RunTotals, SourceLock, Store, StoreError};
use tokio_util::sync::CancellationToken;

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
    #[error("{ministry}: {cause}")]
    Source { ministry: Ministry, cause: String },
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

/// The adapters of the sources configured.
#[derive(Debug, Default)]
pub struct Sources {
    pub moi: Option<MoiAdapter>,
    pub mcs: Option<McsAdapter>,
    pub moh: Option<MohAdapter>,
    pub moeys: Option<MoeysAdapter>,
    pub mef: Option<MefAdapter>,
}

/// One page of `feed` from `cursor`.
async fn fetch<A: Adapter>(adapter: &A, feed: &Feed, cursor: &Cursor) -> Result<Page, SyncError> {
    adapter
        .fetch_page(feed, cursor)
        .await
        .map_err(|e| source_error(adapter, &e))
}

fn source_error<A: Adapter>(adapter: &A, e: &A::Error) -> SyncError {
    SyncError::Source {
        ministry: adapter.ministry(),
        cause: e.to_string(),
    }
}

/// The first page a pull reads of `feed`; none when the source says the feed is not
/// published yet. Only the first: a feed that vanishes in the middle of a pull failed.
async fn fetch_first<A: Adapter>(
    adapter: &A,
    feed: &Feed,
    cursor: &Cursor,
) -> Result<Option<Page>, SyncError> {
    match adapter.fetch_page(feed, cursor).await {
        Ok(page) => Ok(Some(page)),
        Err(e) if adapter.not_published(&e) => {
            tracing::info!(ministry = %adapter.ministry(), feed = %feed.name(), reason = %e,
                "not published yet; asked again next sync");
            Ok(None)
        }
        Err(e) => Err(source_error(adapter, &e)),
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

/// The configured adapters, shared with the tasks that fetch ahead.
#[derive(Debug, Default)]
struct Adapters {
    moi: Option<Arc<MoiAdapter>>,
    mcs: Option<Arc<McsAdapter>>,
    moh: Option<Arc<MohAdapter>>,
    moeys: Option<Arc<MoeysAdapter>>,
    mef: Option<Arc<MefAdapter>>,
}

#[derive(Debug)]
pub struct SyncEngine {
    store: Store,
    sources: Adapters,
    last_pass: std::sync::Mutex<Option<PassSummary>>,
    /// Cancelled by [`SyncEngine::stop`].
    stopping: CancellationToken,
}

impl SyncEngine {
    pub fn new(store: Store, sources: Sources) -> Self {
        Self {
            store,
            sources: Adapters {
                moi: sources.moi.map(Arc::new),
                mcs: sources.mcs.map(Arc::new),
                moh: sources.moh.map(Arc::new),
                moeys: sources.moeys.map(Arc::new),
                mef: sources.mef.map(Arc::new),
            },
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

    /// Takes `ministry`'s sync lock if no other process holds it (for
    /// [`SyncEngine::sync_locked`]).
    pub async fn try_lock(&self, ministry: Ministry) -> Result<Option<SourceLock>, StoreError> {
        self.store.try_lock_source(ministry).await
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

    /// Whether `ministry`'s system is configured.
    pub fn is_configured(&self, ministry: Ministry) -> bool {
        match ministry {
            Ministry::Moi => self.sources.moi.is_some(),
            Ministry::Mcs => self.sources.mcs.is_some(),
            Ministry::Moh => self.sources.moh.is_some(),
            Ministry::Moeys => self.sources.moeys.is_some(),
            Ministry::Mef => self.sources.mef.is_some(),
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
        let result = self.sync_source(ministry, full, progress, None).await;
        if matches!(&result, Ok(run) if run.totals.fetched > 0) && !self.is_stopping() {
            self.reconcile(Self::scoped(full, ministry)).await;
        }
        result
    }

    /// [`SyncEngine::sync`] under a lock the caller already took (so a caller that
    /// answered "started" knows no other run can slip in between).
    pub async fn sync_locked(
        &self,
        lock: SourceLock,
        full: bool,
        progress: &dyn Progress,
    ) -> Result<RunSummary, SyncError> {
        let ministry = lock.ministry();
        let result = self.sync_source(ministry, full, progress, Some(lock)).await;
        if matches!(&result, Ok(run) if run.totals.fetched > 0) && !self.is_stopping() {
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
        lock: Option<SourceLock>,
    ) -> Result<RunSummary, SyncError> {
        let missing = || SyncError::NotConfigured(ministry);
        match ministry {
            Ministry::Moi => {
                self.run(
                    self.sources.moi.as_ref().ok_or_else(missing)?,
                    full,
                    progress,
                    lock,
                )
                .await
            }
            Ministry::Mcs => {
                self.run(
                    self.sources.mcs.as_ref().ok_or_else(missing)?,
                    full,
                    progress,
                    lock,
                )
                .await
            }
            Ministry::Moh => {
                self.run(
                    self.sources.moh.as_ref().ok_or_else(missing)?,
                    full,
                    progress,
                    lock,
                )
                .await
            }
            Ministry::Moeys => {
                self.run(
                    self.sources.moeys.as_ref().ok_or_else(missing)?,
                    full,
                    progress,
                    lock,
                )
                .await
            }
            Ministry::Mef => {
                self.run(
                    self.sources.mef.as_ref().ok_or_else(missing)?,
                    full,
                    progress,
                    lock,
                )
                .await
            }
        }
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
                match self.sync_source(ministry, full, progress, None).await {
                    Err(SyncError::NotConfigured(_)) => continue,
                    other => results.push((ministry, other)),
                }
            }
            results
        };
        let payroll = self.sync_source(Ministry::Mef, full, progress, None);
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
            self.reconcile(!full && !payroll).await;
        }
        results
    }

    async fn run<A: Adapter + 'static>(
        &self,
        adapter: &Arc<A>,
        full: bool,
        progress: &dyn Progress,
        lock: Option<SourceLock>,
    ) -> Result<RunSummary, SyncError> {
        let ministry = adapter.ministry();
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
        for feed in adapter.feeds() {
            if self.is_stopping() {
                outcome = Err(SyncError::Interrupted(ministry));
                break;
            }
            match self
                .pull_feed(adapter, &feed, full, run_id, &mut totals, progress)
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

    async fn pull_feed<A: Adapter + 'static>(
        &self,
        adapter: &Arc<A>,
        feed: &Feed,
        full: bool,
        run_id: i64,
        totals: &mut RunTotals,
        progress: &dyn Progress,
    ) -> Result<Pulled, SyncError> {
        let ministry = adapter.ministry();
        let name = feed.name();
        let stored = if full {
            None
        } else {
            self.stored_cursor(ministry, &name).await?
        };
        let cursor = match stored {
            // A feed that cannot change after a complete pull is not read again.
            Some(c) if c.is_done() && adapter.settled_once_pulled(feed) => {
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
            .unless_stopped(ministry, fetch_first(adapter.as_ref(), feed, &cursor))
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
                let (adapter, feed, next) = (Arc::clone(adapter), feed.clone(), next.clone());
                let store = self.store.clone();
                FetchAhead(tokio::spawn(async move {
                    let page = fetch(adapter.as_ref(), &feed, &next).await?;
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
