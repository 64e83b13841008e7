//! `ARCHIVE` = `-`: the archive comes on standard input (`curl ... | punzip - DEST`); or
//! `ARCHIVE` names a stream, not a file (a FIFO, `<(curl ...)`, `/dev/stdin`).
//!
//! A zip file is read from its end: the central directory, which says what the archive
//! holds and where, comes last. Extracting front to back from the local headers as they
//! stream in would give up what the plan checks before anything is written (names that
//! collide, entries that overlap, declared sizes, local headers that disagree with the
//! central directory). So standard input is spooled first, to an unnamed temporary file
//! (`O_TMPFILE` in `$TMPDIR`: it has no name, so nothing is left behind even if punzip is
//! killed), and the archive is then read from there exactly as a named one is. An input
//! that is already a regular file (`< a.zip`, or any named archive) is mapped directly,
//! without a copy.

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use super::plan::Archive;
use crate::error::{Error, Result};

/// How much is read from standard input between two looks at the interrupt flag.
const CHUNK: usize = 1 << 20;

/// The name the archive goes by in messages.
pub const LABEL: &str = "-";

/// Whether `path` names standard input.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == LABEL
}

/// Opens the archive on standard input: mapped as it is when it is a regular file,
/// otherwise spooled to an unnamed temporary file first. Ctrl-C stops the spool.
pub fn open_stdin() -> Result<Archive> {
    if crate::stdio::stdin_closed_at_start() {
        return Err(open_error(
            LABEL.into(),
            io::Error::from_raw_os_error(libc::EBADF),
        ));
    }
    let stdin = io::stdin();
    let fd = stdin
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| open_error(LABEL.into(), e))?;
    let input = File::from(fd);
    // Waiting for someone to type a zip file is never what was meant.
    if input.is_terminal() {
        return Err(open_error(
            LABEL.into(),
            io::Error::other(
                "standard input is a terminal; pipe the archive in (curl ... | punzip - DEST, \
                 or ... | phash --members -)",
            ),
        ));
    }
    open_input(Path::new(LABEL), input)
}

/// Opens the archive `input`, which `label` names: mapped as it is when it is a regular
/// file, otherwise (a pipe, a FIFO, a character device) spooled to an unnamed temporary
/// file first. Ctrl-C stops the spool.
pub fn open_input(label: &Path, input: File) -> Result<Archive> {
    let md = input
        .metadata()
        .map_err(|e| open_error(label.to_owned(), e))?;
    let file = if md.is_file() {
        input
    } else {
        spool(&mut &input, label, &std::env::temp_dir())?
    };
    Archive::from_file(label, &file)
}

/// Copies `input` (which `label` names) to its end into a new unnamed file in `dir`,
/// looking at the interrupt flag between reads, and returns that file.
pub fn spool(input: &mut dyn Read, label: &Path, dir: &Path) -> Result<File> {
    let (create, copy) = match is_stdin(label) {
        true => (
            "cannot create a temporary file to hold standard input",
            "cannot spool standard input",
        ),
        false => (
            "cannot create a temporary file to hold the archive",
            "cannot spool the archive",
        ),
    };
    let mut file = tempfile::tempfile_in(dir).map_err(|e| Error::io(dir, create, e))?;
    let mut buf = vec![0; CHUNK];
    loop {
        if crate::cancel::interrupted() {
            return Err(Error::Interrupted);
        }
        let n = match input.read(&mut buf) {
            // An end met as an interrupt comes is where a writer that Ctrl-C killed
            // stopped (`curl ... | punzip -`: the whole pipeline gets the signal), not the
            // archive's end: "not a zip archive" (exit 9) blamed the data for a Ctrl-C.
            Ok(0) if crate::cancel::stream_cut(true) => return Err(Error::Interrupted),
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(open_error(label.to_owned(), e)),
        };
        file.write_all(&buf[..n])
            .map_err(|e| Error::io(dir, copy, e))?;
    }
    Ok(file)
}

fn open_error(path: PathBuf, source: io::Error) -> Error {
    Error::OpenArchive { path, source }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Seek;

    #[test]
    fn a_spool_holds_every_byte_and_leaves_no_name_behind() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..3 * CHUNK + 17).map(|i| (i % 251) as u8).collect();
        let mut f = spool(&mut &data[..], Path::new(LABEL), dir.path()).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let mut back = Vec::new();
        f.rewind().unwrap();
        f.read_to_end(&mut back).unwrap();
        assert!(back == data);
        // And the unnamed file maps as an archive.
        let a = Archive::from_file(LABEL, &f).unwrap();
        assert_eq!(a.bytes().len(), data.len());
    }
}
