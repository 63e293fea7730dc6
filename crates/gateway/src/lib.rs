//! The interop gateway: one authenticated, audited, OpenAPI-documented REST API over
//! the registry the ministries' records are synced into.
//!
//! This crate is the only one that serves HTTP. It reads the caller and the request
//! into domain values at the edge ([`auth`], [`params`]), asks the [`store::Store`],
//! and shapes the answer ([`views`]); every error becomes problem+json in [`error`].
//! Each route module registers its handlers once, for the app and the OpenAPI
//! document alike ([`routes::register`], [`openapi::spec`]);
//! [`startup::Application`] assembles the server; [`cli`] is the
//! `interop-gateway` command. [`app`] serves the people's side: Khmer-first pages
//! under `/app`, signed in through an OpenID provider, on the same services.

pub mod app;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod delivery;
pub mod error;
pub mod observe;
pub mod openapi;
pub mod params;
pub mod progress;
pub mod push;
pub mod rate_limit;
pub mod routes;
pub mod startup;
pub mod syncs;
pub mod tables;
pub mod views;
mod worker_pools;

pub use error::Error;
