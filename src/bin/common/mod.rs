//! Command-line pieces both binaries share: the common options group and the way errors
//! reach the user. Binaries turn clap types into plain library configs; the library never
//! sees clap.

use std::num::NonZeroUsize;

/// Options every tool has.
#[derive(clap::Args, Debug, Clone)]
pub struct CommonArgs {
    /// Number of worker threads (default: the number of cores; 1 runs serially through the
    /// same code path).
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    pub jobs: Option<NonZeroUsize>,

    /// Print totals and throughput on stderr at the end.
    #[arg(long)]
    pub stats: bool,

    /// Silence warnings (errors are still reported).
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

impl CommonArgs {
    pub fn jobs(&self) -> NonZeroUsize {
        self.jobs.unwrap_or_else(punzip::pool::default_jobs)
    }
}

/// Whether an I/O error is a closed pipe (`phash | head`): that is success, as in ripgrep.
#[allow(dead_code)]
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
