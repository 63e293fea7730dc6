//! End-to-end tests: the gateway over real HTTP, on a real PostgreSQL database of
//! each test's own. One test binary, so the workspace links it once.

mod admin_units;
mod architecture;
mod audit;
mod auth;
mod facilities;
mod operations;
mod staff;
mod store;
