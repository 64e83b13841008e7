//! punzip: a parallel, safe zip extractor (`punzip`) and a parallel, md5sum-compatible
//! tree hasher (`phash`), as one library with two thin binaries.
//!
//! Both tools are the same shape: an enumerator (the zip central directory, or a directory
//! walk, a checksum list) produces a stream of work items; [`pool::stream`] hands them to
//! `jobs` workers of one pool, each with its own state (an archive reader over one shared
//! memory map, a decoder, a lane MD5 engine), and gives the results back in item order as
//! they come; totals are folded at the end. `jobs = 1` runs the very same code serially.
//!
//! - [`unzip::session`]: the way in for extraction (open, plan, list, test or extract).
//!
//! - [`unzip`]: plan (our central-directory parser to a checked list of members),
//!   extract, test, list.
//! - [`hash`]: walk (by directory descriptors), digest (lanes), md5sum lines, check mode.
//! - [`cancel`]: SIGINT/SIGTERM/SIGHUP as a flag, with a watchdog for blocked reads.
//! - [`mod@bench`]: serial-vs-parallel runs of either tool, the table, the JSON and the chart.
//! - [`json`]: the `--json` lines both tools write.
//! - [`shard`]: `--shard K/N`, the deterministic partition that lets N processes on any
//!   machines do one run's work (phash's `--merge` is in [`hash::merge`]).
//! - [`error`]: typed errors that name the member or file, and the exit statuses.
//! - [`stdio`]: standard input and output as they were at start (a closed one is an error).
//! - [`locale`]: whether the locale's character set is UTF-8 (quoting, progress glyphs).
//! - [`oom`]: a refused allocation as exit status 4, not an abort; [`memlimit`]: buffers
//!   sized to a container's memory limit.

// Module docs explain the design and link the private modules that carry it; `cargo doc
// --document-private-items` (which CI runs with warnings as errors) renders those links
// and catches broken ones.
#![allow(rustdoc::private_intra_doc_links)]

pub mod bench;
pub mod cancel;
pub mod error;
pub mod fdtable;
pub mod hash;
pub mod json;
pub mod locale;
pub mod memlimit;
pub mod oom;
pub mod pool;
pub mod shard;
pub(crate) mod sigbus;
pub mod stdio;
pub mod totals;
pub mod unzip;
