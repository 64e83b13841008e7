//! How the zip crate decodes one member without indexing the whole archive: it is shown a
//! virtual archive made of the real bytes up to the central directory (so every offset
//! stays valid, and nothing is copied) followed by a synthetic directory holding only that
//! member's central record, verbatim, and an end record. `ZipArchive::new` then parses
//! one entry instead of keeping a large record for each of a million.

use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;

use zip::read::{ArchiveOffset, Config, ZipFile};
use zip::result::{ZipError, ZipResult};
use zip::{ZipArchive, ZipReadOptions};

use super::central::{Directory, Entry};

/// The real archive's bytes before the central directory, then a synthetic tail.
pub struct Window<'a> {
    head: &'a [u8],
    tail: Vec<u8>,
    pos: u64,
}

impl Read for Window<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let head = self.head.len() as u64;
        let (src, at) = if self.pos < head {
            (self.head, self.pos)
        } else {
            (&self.tail[..], self.pos - head)
        };
        let Ok(at) = usize::try_from(at) else {
            return Ok(0);
        };
        let avail = src.get(at..).unwrap_or(&[]);
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Window<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let len = (self.head.len() + self.tail.len()) as i128;
        let new = match to {
            SeekFrom::Start(n) => i128::from(n),
            SeekFrom::End(d) => len + i128::from(d),
            SeekFrom::Current(d) => i128::from(self.pos) + i128::from(d),
        };
        self.pos = u64::try_from(new)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "seek before start"))?;
        Ok(self.pos)
    }
}

/// The reader each worker clones: the map and the directory, plus the member currently
/// open in the zip crate. Cloning is cheap (the directory is shared).
pub struct Reader<'a> {
    bytes: &'a [u8],
    dir: Arc<Directory>,
    open: Option<ZipArchive<Window<'a>>>,
}

impl Clone for Reader<'_> {
    fn clone(&self) -> Self {
        Reader {
            bytes: self.bytes,
            dir: Arc::clone(&self.dir),
            open: None,
        }
    }
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8], dir: Directory) -> Self {
        Reader {
            bytes,
            dir: Arc::new(dir),
            open: None,
        }
    }

    /// The parsed central directory.
    pub fn directory(&self) -> &Directory {
        &self.dir
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.dir.records.len()
    }

    /// Whether the archive has no entries.
    pub fn is_empty(&self) -> bool {
        self.dir.records.is_empty()
    }

    /// The entry at `index`, parsed from its central record.
    pub fn entry(&self, index: usize) -> Result<Entry<'a>, String> {
        let at = *self.dir.records.get(index).ok_or("no such entry")?;
        Entry::parse(self.bytes, at, self.dir.shift)
    }

    /// Entry `index`'s raw name, for a message about an entry that cannot be parsed (its
    /// extra fields are bad): read leniently, as lossy UTF-8; `#index` if even that is
    /// cut short.
    pub fn name_of_broken(&self, index: usize) -> String {
        let name = self.dir.records.get(index).and_then(|&at| {
            let at = usize::try_from(at).ok()?;
            let header = self.bytes.get(at..at.checked_add(46)?)?;
            let len = usize::from(u16::from_le_bytes([header[28], header[29]]));
            self.bytes.get(at + 46..at + 46 + len)
        });
        match name {
            Some(n) if !n.is_empty() => String::from_utf8_lossy(n).into_owned(),
            _ => format!("#{index}"),
        }
    }

    /// Opens member `index` for reading through the zip crate's decoders.
    pub fn by_index_with_options(
        &mut self,
        index: usize,
        opts: ZipReadOptions<'_>,
    ) -> ZipResult<ZipFile<'_, Window<'a>>> {
        let at = *self.dir.records.get(index).ok_or(ZipError::FileNotFound)?;
        let record = Entry::parse(self.bytes, at, self.dir.shift)
            .map_err(|r| ZipError::InvalidArchive(r.into()))?
            .raw;
        let start = usize::try_from(self.dir.start).map_err(|_| ZipError::FileNotFound)?;
        let head = &self.bytes[..start];
        let tail = synthetic_directory(record, self.dir.start - self.dir.shift);
        let window = Window { head, tail, pos: 0 };
        let config = Config {
            archive_offset: ArchiveOffset::Known(self.dir.shift),
        };
        let archive = self.open.insert(ZipArchive::with_config(config, window)?);
        archive.by_index_with_options(0, opts)
    }
}

/// One central record followed by the end records that declare it alone, at `offset`.
fn synthetic_directory(record: &[u8], offset: u64) -> Vec<u8> {
    let mut t = Vec::with_capacity(record.len() + 22 + 76);
    t.extend_from_slice(record);
    let size = record.len() as u64;
    let zip64 = offset >= 0xffff_ffff || size >= 0xffff_ffff;
    if zip64 {
        let at = offset + size;
        t.extend_from_slice(b"PK\x06\x06");
        t.extend_from_slice(&44u64.to_le_bytes());
        t.extend_from_slice(&45u16.to_le_bytes());
        t.extend_from_slice(&45u16.to_le_bytes());
        t.extend_from_slice(&0u32.to_le_bytes());
        t.extend_from_slice(&0u32.to_le_bytes());
        t.extend_from_slice(&1u64.to_le_bytes());
        t.extend_from_slice(&1u64.to_le_bytes());
        t.extend_from_slice(&size.to_le_bytes());
        t.extend_from_slice(&offset.to_le_bytes());
        t.extend_from_slice(b"PK\x06\x07");
        t.extend_from_slice(&0u32.to_le_bytes());
        t.extend_from_slice(&at.to_le_bytes());
        t.extend_from_slice(&1u32.to_le_bytes());
    }
    t.extend_from_slice(b"PK\x05\x06");
    t.extend_from_slice(&[0; 4]);
    t.extend_from_slice(&1u16.to_le_bytes());
    t.extend_from_slice(&1u16.to_le_bytes());
    let clamp = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
    t.extend_from_slice(&(if zip64 { u32::MAX } else { clamp(size) }).to_le_bytes());
    t.extend_from_slice(&(if zip64 { u32::MAX } else { clamp(offset) }).to_le_bytes());
    t.extend_from_slice(&0u16.to_le_bytes());
    t
}
