//! The mock ministries over real HTTP: contracts, determinism, filters, faults,
//! mutations, and the truth against what is served.

mod contract;
mod corrections;
mod determinism;
mod faults;
mod filters;
mod harness;
mod linkage;
mod mutations;
mod real_gazetteer;
mod time;
mod truth;
