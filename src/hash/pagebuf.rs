//! Byte buffers that start on a page, for reading files into.
//!
//! The kernel copies a file out of the page cache with `rep movsb`, which on AMD Zen 3 ran
//! at about half speed into a destination 16 bytes past a page, which is where the
//! allocator's `mmap`ed blocks (any buffer over 128 KiB) start. Measured with phash on a
//! Zen 3 machine, medians of alternating runs: 16 x 64 MiB at `-j2` 0.773 -> 0.277 s,
//! `-a sha256` on four of them 0.391 -> 0.247 s, a /usr/share copy at `-j2`
//! 0.595 -> 0.503 s. (Aligning each small file packed into a lane buffer as well, to 64
//! bytes or a page, measured no better; punzip's writes, which copy the other way,
//! measured no different with aligned buffers.)
//!
//! A buffer's pages are touched only when first used (the allocator hands out fresh zero
//! pages). They are left as 4 KiB pages: asked for huge pages (`MADV_HUGEPAGE`), a virtual
//! machine of the kind CI uses took 2 ms per MiB to fault them in against 0.45 ms in small
//! pages, which cost more than the thousands of small faults it saved (about 5% of a
//! /usr/share run).

/// A zeroed, page-aligned byte buffer of a fixed length (empty by default).
#[derive(Default)]
pub(super) struct PageBuf {
    bytes: Vec<u8>,
    /// Where the page-aligned buffer starts in `bytes`.
    start: usize,
    len: usize,
}

/// A page: where a [`PageBuf`] starts.
const PAGE: usize = 4096;

impl PageBuf {
    pub(super) fn zeroed(len: usize) -> PageBuf {
        let bytes = vec![0; len + PAGE];
        let start = bytes.as_ptr().align_offset(PAGE);
        PageBuf { bytes, start, len }
    }
}

impl std::ops::Deref for PageBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes[self.start..self.start + self.len]
    }
}

impl std::ops::DerefMut for PageBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.bytes[self.start..self.start + self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_starts_on_a_page_and_has_its_length_zeroed() {
        for len in [1, 4096, 256 << 10, (6 << 20) + 17] {
            let mut b = PageBuf::zeroed(len);
            assert_eq!(b.as_ptr() as usize % PAGE, 0, "{len}");
            assert_eq!(b.len(), len);
            assert!(b.iter().all(|&x| x == 0));
            b[len - 1] = 1;
        }
        assert!(PageBuf::default().is_empty());
    }
}
