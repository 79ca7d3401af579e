//! `drainscale simulate`: a backtest of a scaling policy. Recorded logs (or a CSV trace) replay through the
//! same parser, windows, inputs, controllers and policies as `drainscale run`, on a virtual clock driven by the
//! logs' own timestamps. A simulated formation stands in for every backend and applies a boot delay, so a
//! spike's under-provisioned minutes are the ones users would have seen.
//!
//! [`source`] reads log files, [`trace`] CSV traces, [`replay`] drives the clock and the runs ([`lane`]),
//! [`runs`] builds the runs (the config, `--compare`, `--policy`, Dynosaur's and HPA's reference curves),
//! [`summary`], [`csv`] and [`chart`] report them.

pub mod chart;
pub mod clock;
pub mod csv;
pub mod day;
pub mod formation;
pub mod lane;
pub mod overrides;
pub mod png;
pub mod progress;
pub mod reference;
pub mod replay;
pub mod runs;
pub mod source;
pub mod summary;
pub mod trace;
pub mod windows;

pub use clock::VirtualClock;
pub use lane::{Lane, Row};
pub use replay::Replay;
