//! Fuzz target over what punzip does with untrusted bytes, through the same library
//! entry point the binary uses ([`Session`]): find the central directory, plan (names
//! sanitised, overlaps, duplicates, links through links), list, then test every planned
//! member (the extraction path with a sink instead of files), with a 1 MiB output limit so
//! the point stays the parsers rather than inflating bombs. Any panic here would be a
//! crash of punzip (exit 101) on a hostile archive.

#![no_main]

use libfuzzer_sys::fuzz_target;
use punzip::unzip::{Archive, Filter, Options, Session};

/// Archives declaring more output than this are refused before any member is read.
const OUTPUT_LIMIT: u64 = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let archive = Archive::from_bytes("fuzz.zip", data.to_vec());
    let Ok(session) = Session::new(&archive, &Filter::default(), 0o022, std::num::NonZeroUsize::MIN) else {
        return;
    };
    let _ = session.list(&mut std::io::sink());
    let mut opts = Options::new("unused-in-test-mode");
    opts.test_only = true;
    opts.jobs = std::num::NonZeroUsize::MIN;
    opts.max_size = Some(OUTPUT_LIMIT);
    opts.password = Some(b"password".to_vec());
    let report = session.run(&opts, &mut |_| {});
    let _ = report.status();
});
