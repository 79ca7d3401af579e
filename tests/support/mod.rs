//! Shared helpers for integration tests.
#![allow(dead_code)]

pub mod binary;
pub mod built;
pub mod fake_cronut;
pub mod fake_google;
pub mod fake_heroku;
pub mod fake_new_relic;
pub mod fake_papertrail;
pub mod fake_smtp;
pub mod panics;
pub mod promtool;
pub mod receiver;
pub mod redis;
pub mod router;
pub mod serve;
pub mod simulate;
pub mod status_page;
