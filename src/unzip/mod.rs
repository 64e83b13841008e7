//! punzip's library side. [`session`] is the way in: open an archive, plan it, then list,
//! test or extract it, getting one [`Report`] back. Underneath, [`plan`] turns the
//! central directory into a checked list of members; [`mod@extract`] runs them through the
//! worker pool (extract, or test only); [`list`] prints them like `unzip -l`.

pub mod central;
pub mod extract;
pub mod fast;
pub mod fsops;
pub mod list;
pub mod meta;
pub mod names;
pub mod plan;
pub mod session;
pub mod window;

pub use extract::{extract, Event, Options, Outcome, Overwrite};
pub use plan::{Archive, Filter, Member, Plan};
pub use session::{Report, Session};
