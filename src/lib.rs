//! punzip: a parallel, safe zip extractor (`punzip`) and a parallel, md5sum-compatible
//! tree hasher (`phash`), as one library with two thin binaries.
//!
//! Both tools are the same shape: an enumerator (the zip central directory, or a directory
//! walk) produces work items; [`pool::run`] hands them to `jobs` workers, each with its own
//! state (an archive handle over one shared memory map, a buffer); each item yields a
//! [`totals::Totals`], folded at the end. `jobs = 1` runs the very same code serially.
//!
//! - [`unzip`]: plan (central directory to a checked list of members), extract, test, list.
//! - [`hash`]: walk, digest, md5sum line format, check mode.
//! - [`bench`]: serial-vs-parallel runs of either tool, the table, the JSON and the chart.
//! - [`error`]: typed errors that name the member or file, and the exit statuses.

pub mod bench;
pub mod cancel;
pub mod error;
pub mod hash;
pub mod pool;
pub mod totals;
pub mod unzip;
