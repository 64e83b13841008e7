//! punzip's library side: [`plan`] turns the central directory into a checked list of
//! members; [`extract`] runs them through the worker pool (extract, or test only);
//! [`list`] prints them like `unzip -l`.

pub mod central;
pub mod extract;
pub mod fast;
pub mod fsops;
pub mod list;
pub mod meta;
pub mod names;
pub mod plan;
pub mod window;

pub use extract::{extract, Event, Options, Outcome, Overwrite};
pub use plan::{Archive, Filter, Member, Plan};
