//! End-to-end tests: the gateway over real HTTP, on a real PostgreSQL database of
//! each test's own, and the adapters against the mock ministries. One test binary,
//! so the workspace links it once.

mod adapters;
mod admin_units;
mod app;
mod app_area;
mod app_review;
mod architecture;
mod audit;
mod auth;
mod calendar;
mod corrections_loop;
mod facilities;
mod linkage;
mod matches;
mod operations;
mod push;
mod rate_limit;
mod reconcile;
mod rejections;
mod replicas;
mod reports;
mod review_queue;
mod rosters;
mod secrets;
mod spec_truth;
mod staff;
mod store;
mod sync;
mod sync_api;
mod triage;
