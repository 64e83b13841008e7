//! The locale's character set, the one thing either tool takes from the locale: whether
//! it is UTF-8. In one that is not (C, POSIX, `LANG` unset, a locale that is not
//! installed), md5sum escapes every byte that is not ASCII in the names its messages quote
//! (`'nonex'$'\303\251'`), and so does phash ([`crate::hash::format`]); and progress lines
//! are drawn in ASCII, where their UTF-8 glyphs came out as raw bytes.

use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the locale's character set is UTF-8 (see [`use_locale`]); UTF-8 until told.
static UTF8_LOCALE: AtomicBool = AtomicBool::new(true);

/// Takes the locale's character set as GNU's tools do (`setlocale(LC_CTYPE, "")`, then
/// its codeset).
///
/// # Safety
///
/// Call before any other thread exists: `setlocale` racing another thread's use of the
/// locale is undefined behaviour.
pub unsafe fn use_locale() {
    // SAFETY: the caller runs this before other threads exist; the codeset string is
    // read at once, before anything could change it.
    let utf8 = unsafe {
        libc::setlocale(libc::LC_CTYPE, c"".as_ptr());
        let codeset = libc::nl_langinfo(libc::CODESET);
        !codeset.is_null() && {
            let cs = std::ffi::CStr::from_ptr(codeset).to_bytes();
            cs.eq_ignore_ascii_case(b"UTF-8") || cs.eq_ignore_ascii_case(b"utf8")
        }
    };
    UTF8_LOCALE.store(utf8, Ordering::Relaxed);
}

/// Whether the locale's character set is UTF-8, as [`use_locale`] found it (UTF-8 until
/// it is called).
pub fn utf8_locale() -> bool {
    UTF8_LOCALE.load(Ordering::Relaxed)
}
