//! Local headers, read for every entry on the planning threads before the serial walk:
//! whether each agrees with its central record (the same name, method, encryption flag,
//! and, unless a data descriptor follows, CRC and sizes), where its data starts, its
//! modification time (what extraction sets, as unzip); then the overlap check (zip
//! bombs by overlap) over the ranges they give. An archive that reads one way front to
//! back and another way from its index is ambiguous: scanners and extractors would
//! disagree on what it holds.

use std::num::NonZeroUsize;

use super::{interrupt_point, split, Archive, Reader, PLAN_PER_THREAD};
use crate::error::{Error, Result};
use crate::unzip::central;

/// What an entry's local header says, read for every entry before the serial walk.
#[derive(Clone, Copy)]
pub(super) enum Local {
    /// The header is whole and names the member as the central directory does; its
    /// data starts here. With its modification time ([`NO_TIME`] if none): the header is
    /// in hand here, on every worker's thread, where the serial walk would read it a
    /// second time.
    Agrees(u64, i64),
    /// The entry, or its local header, is at fault: the walk finds out how (a header
    /// that cannot be read, or [`other_local_name`]).
    Look,
}

/// [`Local::Agrees`] without a local time.
const NO_TIME: i64 = i64::MIN;

impl Local {
    /// Where `entry`'s data starts, or why its local header cannot say.
    pub(super) fn data_start(
        self,
        bytes: &[u8],
        entry: &central::Entry<'_>,
    ) -> Result<u64, String> {
        match self {
            Local::Agrees(d, _) => Ok(d),
            Local::Look => entry.data_start(bytes),
        }
    }

    /// The local header's modification time, from its Unix extra fields.
    pub(super) fn mtime(self, bytes: &[u8], entry: &central::Entry<'_>) -> Option<i64> {
        match self {
            Local::Agrees(_, NO_TIME) => None,
            Local::Agrees(_, t) => Some(t),
            Local::Look => entry.local_mtime(bytes),
        }
    }
}

/// Every entry's local header, read on `jobs` threads (the reads are cache and TLB
/// misses spread over the whole archive, the bulk of planning's time).
pub(super) fn local_headers(
    bytes: &[u8],
    reader: &Reader<'_>,
    jobs: NonZeroUsize,
) -> Result<Vec<Local>> {
    let runs = split::runs(jobs, reader.len(), PLAN_PER_THREAD, |run| {
        let mut out = Vec::with_capacity(run.len());
        for index in run {
            interrupt_point(index)?;
            out.push(match reader.entry(index) {
                Ok(entry) => match (entry.data_start(bytes), entry.local_name(bytes)) {
                    (Ok(d), Some(name))
                        if name == entry.name_raw && entry.local_disagreement(bytes).is_none() =>
                    {
                        Local::Agrees(d, entry.local_mtime(bytes).unwrap_or(NO_TIME))
                    }
                    _ => Local::Look,
                },
                Err(_) => Local::Look,
            });
        }
        Ok(out)
    });
    let mut all = Vec::with_capacity(reader.len());
    for run in runs {
        all.extend(run?);
    }
    Ok(all)
}

/// The name `entry`'s local header gives, if it is another one. The local header must
/// name the same member as the central directory: an archive that reads one way front to
/// back and another way from its index is ambiguous (scanners and extractors would
/// disagree on what it holds). Other local fields (flags, sizes behind a data descriptor)
/// legitimately differ and are not used.
///
/// Raw names that differ agree when the local header's Unicode Path field gives the name
/// the central record does: a Windows writer puts a CP437 name in one header and a
/// placeholder in the other, and
/// unzip, bsdtar and 7-Zip all extract that one name (3 of 4 members of libarchive's
/// `test_read_format_zip_7075_utf8_paths.zip` were refused). The placeholder must still
/// sit at the same depth and climb nowhere, so that no reader of the raw names goes
/// elsewhere.
pub(super) fn other_local_name(bytes: &[u8], entry: &central::Entry<'_>) -> Option<String> {
    let local = entry.local_name(bytes)?;
    let same_place = |raw: &[u8], name: &str| {
        let parts = |s: &[u8]| s.split(|&b| b == b'/' || b == b'\\').count();
        parts(raw) == parts(name.as_bytes())
            && !raw.split(|&b| b == b'/' || b == b'\\').any(|c| c == b"..")
    };
    let name = entry.name();
    let renamed_alike =
        entry.local_unicode_path(bytes) == Some(name.as_str()) && same_place(local, &name);
    (local != entry.name_raw && !renamed_alike).then(|| {
        format!(
            "local header names it {:?}: local and central headers disagree",
            String::from_utf8_lossy(local)
        )
    })
}

/// Zip bombs by overlap (CVE-2019-13232): no byte may belong to two entries, and no entry
/// may reach into the central directory. Done before the members are built, so that the
/// ranges and the members are never in memory together.
pub(super) fn refuse_overlaps(
    archive: &Archive,
    reader: &Reader<'_>,
    local: &[Local],
) -> Result<()> {
    let bytes = archive.bytes();
    let cd_start = reader.directory().start;
    // [local header, end of data) of every entry whose local header can be read (the
    // others are refused when planned).
    let mut ranges: Vec<(u64, u64, u32)> = Vec::with_capacity(reader.len());
    for (index, &local) in local.iter().enumerate() {
        interrupt_point(index)?;
        let Ok(entry) = reader.entry(index) else {
            continue;
        };
        let Ok(data_start) = local.data_start(bytes, &entry) else {
            continue;
        };
        let Some(end) = data_start.checked_add(entry.compressed) else {
            return Err(Error::Overlap {
                path: archive.path.clone(),
                detail: format!("{}: data end overflows", entry.name()),
            });
        };
        ranges.push((entry.local, end, index as u32));
    }
    let name_of = |i: u32| {
        reader
            .entry(i as usize)
            .map(|e| e.name())
            .unwrap_or_else(|_| "?".into())
    };
    ranges.sort_unstable();
    for w in ranges.windows(2) {
        if w[0].1 > w[1].0 {
            return Err(Error::Overlap {
                path: archive.path.clone(),
                detail: format!("{} overlaps {}", name_of(w[0].2), name_of(w[1].2)),
            });
        }
    }
    if let Some(&(_, end, i)) = ranges.iter().find(|r| r.1 > cd_start) {
        return Err(Error::Overlap {
            path: archive.path.clone(),
            detail: format!(
                "{} reaches into the central directory ({end} > {cd_start})",
                name_of(i)
            ),
        });
    }
    Ok(())
}
