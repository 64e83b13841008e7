//! Fuzz target over what punzip does with untrusted bytes before writing anything:
//! find the central directory, plan (names sanitised, overlaps, duplicates, links
//! through links), then read every planned member through the same zip reader options
//! the workers use, bounded, into nothing. Any panic here would be a crash of punzip
//! (exit 101) on a hostile archive.

#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use punzip::unzip::{plan, Archive, Filter};

/// Members are read at most this far: the point is the parsers, not inflating bombs.
const READ_LIMIT: u64 = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let archive = Archive::from_bytes("fuzz.zip", data.to_vec());
    let Ok(mut reader) = archive.reader() else {
        return;
    };
    let Ok(plan) = plan::build(&archive, &mut reader, &Filter::default(), 0o022) else {
        return;
    };
    let _ = plan.declared_size();
    let mut sink = Vec::new();
    let _ = punzip::unzip::list::write_listing(&mut sink, "fuzz.zip", &plan);
    for m in &plan.members {
        let opts = zip::ZipReadOptions::new()
            .password(Some(b"password".as_slice()))
            .enforce_header_consistency(!plan.has_duplicates);
        if let Ok(f) = reader.by_index_with_options(m.index, opts) {
            let _ = std::io::copy(&mut f.take(READ_LIMIT), &mut std::io::sink());
        }
    }
});
