//! Integration tests: the real binaries, run in temporary directories, checked against
//! independent oracles (the zip crate's writer, Python's zipfile, Info-ZIP unzip, md5sum,
//! the md-5 crate).

mod bench;
mod corpus;
mod differential;
mod filesystems;
mod habits_phash;
mod hostile;
mod hostile_faults;
mod listing;
mod md5_speed;
mod phash;
mod pipe;
mod punzip;
mod punzip_floor;
mod punzip_names;
mod punzip_operands;
mod punzip_output;
mod scale;
mod shards;
mod signals;
mod util;

/// Signals ignored by whoever started the tests are ignored in every child too (a shell's
/// `cmd &` ignores SIGINT and SIGQUIT; so does `nohup` SIGHUP), and both tools keep an
/// ignored signal ignored, on purpose: the tests that interrupt them would then wait
/// forever (a CI run started with `&` hung on `--bench` tests). The harness restores the
/// default dispositions before anything runs; the test of that behaviour ignores the
/// signal in its own child.
extern "C" fn default_signal_dispositions() {
    for signal in [libc::SIGINT, libc::SIGQUIT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: runs alone, before main; SIG_DFL is always a valid disposition.
        unsafe { libc::signal(signal, libc::SIG_DFL) };
    }
}

#[used]
#[link_section = ".init_array"]
static DEFAULT_SIGNAL_DISPOSITIONS: extern "C" fn() = default_signal_dispositions;
