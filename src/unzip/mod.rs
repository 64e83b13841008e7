//! punzip's library side. [`session`] is the way in: open an archive, plan it, then list,
//! test or extract it, getting one [`Report`] back. Underneath, [`plan`] turns the
//! central directory into a checked list of members; [`mod@extract`] runs them through the
//! worker pool (extract, or test only); [`list`] prints them like `unzip -l`. [`members`]
//! decodes members without writing files, for [`pipe`] (`-p`, to standard output) and for
//! member digests (`phash --members`); [`spool`] reads an archive from standard input.

pub mod central;
pub mod extract;
pub mod fast;
pub mod fsops;
pub mod list;
pub mod members;
pub mod meta;
pub mod names;
pub mod patterns;
pub mod pipe;
pub mod plan;
pub mod session;
mod split;
pub mod spool;
pub mod window;

pub use extract::{extract, Event, OnBytes, Options, Outcome, Overwrite};

/// File descriptors a run with `jobs` workers wants: every worker's directory cache full,
/// plus its files, plus the process's own (see `extract::dirs`). The binary makes room
/// for them before any thread starts ([`crate::fdtable::reserve`]); under a lower hard
/// limit the caches shrink instead.
pub fn descriptors(jobs: std::num::NonZeroUsize) -> usize {
    jobs.get() * 40 + 64
}
pub use plan::{Archive, Filter, Member, Plan};
pub use session::{Report, Session};
