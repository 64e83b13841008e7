//! What the zip crate's errors mean for a member. Typed errors are matched by variant;
//! the reader reports everything it finds while reading through `io::Error`, and for
//! those its message text is all there is to tell the cases apart. That text matching
//! lives here and nowhere else, with a test per message that provokes it through the zip
//! crate itself, so an upgrade that rewords a message fails a test instead of silently
//! turning a bad CRC into "corrupt data".

use std::io;

use zip::result::ZipError;

use crate::error::Error;
use crate::unzip::plan::Member;

/// The zip crate's texts we recognise, as of zip 9.
const BAD_CRC: &str = "Invalid checksum";
const TOO_LONG: &str = "larger than its declared";
const AES_AUTH: &str = "Invalid authentication code";

/// An error from opening a member's reader.
pub fn zip_error(m: &Member, e: ZipError) -> Error {
    let member = m.name.clone();
    match e {
        ZipError::UnsupportedArchive(ZipError::PASSWORD_REQUIRED) => Error::NeedPassword { member },
        ZipError::UnsupportedArchive(r) => Error::Unsupported {
            member,
            reason: r.to_string(),
        },
        ZipError::CompressionMethodNotSupported(id) => Error::Unsupported {
            member,
            reason: format!("compression method {id}"),
        },
        ZipError::InvalidPassword => Error::BadPassword { member },
        ZipError::Io(e) => read_error(m, e),
        other => Error::Corrupt {
            member,
            reason: unplaceholdered(other.to_string()),
        },
    }
}

/// The zip crate writes one of its messages with its format placeholder left in ("unexpected
/// LZMA properties size of {properties_size}"): the placeholder goes, not the message.
fn unplaceholdered(text: String) -> String {
    match (text.find(" of {"), text.ends_with('}')) {
        (Some(at), true) => text[..at].to_string(),
        _ => text,
    }
}

/// An error from reading a member's data.
pub fn read_error(m: &Member, e: io::Error) -> Error {
    // Some typed errors arrive wrapped in an io::Error (the lazily built decompressor's).
    if e.get_ref().is_some_and(|inner| inner.is::<ZipError>()) {
        if let Some(Ok(z)) = e.into_inner().map(|inner| inner.downcast::<ZipError>()) {
            return zip_error(m, *z);
        }
        unreachable!("checked to be a ZipError");
    }
    let member = m.name.clone();
    let text = e.to_string();
    if text.contains(TOO_LONG) {
        super::member::size_mismatch(m, m.size.saturating_add(1))
    } else if text.contains(AES_AUTH) || (m.encrypted && text.contains(BAD_CRC)) {
        // The password check passed, the data did not: see BadPasswordOrData.
        Error::BadPasswordOrData { member }
    } else if text.contains(BAD_CRC) {
        // The zip crate's error does not say what the CRC-32 came to.
        Error::BadCrc {
            member,
            got: None,
            want: m.crc,
        }
    } else if m.encrypted {
        Error::BadPasswordOrData { member }
    } else {
        Error::Corrupt {
            member,
            reason: format!("bad compressed data: {text}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Read, Write};

    use zip::write::SimpleFileOptions;
    use zip::{AesMode, CompressionMethod, ZipArchive, ZipWriter};

    #[test]
    fn a_format_placeholder_left_in_a_message_is_dropped() {
        assert_eq!(
            super::unplaceholdered(
                "invalid Zip archive: unexpected LZMA properties size of {properties_size}".into()
            ),
            "invalid Zip archive: unexpected LZMA properties size"
        );
        assert_eq!(
            super::unplaceholdered("bad {x} here".into()),
            "bad {x} here"
        );
    }

    use super::*;
    use crate::unzip::meta::Kind;

    fn member(encrypted: bool) -> Member {
        Member {
            index: 0,
            name: "m".into(),
            junk_paths: false,
            kind: Kind::File,
            size: 10,
            compressed: 10,
            mode: 0o644,
            mtime: None,
            encrypted,
            big_model: false,
            method: CompressionMethod::Stored,
            crc: 0,
            data_start: 0,
            dos_time: None,
        }
    }

    fn archive(method: CompressionMethod, aes: bool, data: &[u8]) -> Vec<u8> {
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        let mut o = SimpleFileOptions::default().compression_method(method);
        if aes {
            o = o.with_aes_encryption(AesMode::Aes256, "pw");
        }
        w.start_file("m", o).unwrap();
        w.write_all(data).unwrap();
        w.finish().unwrap().into_inner()
    }

    /// Reads member 0 to the end through the zip crate and maps the error it gives.
    fn read(bytes: Vec<u8>, password: Option<&[u8]>, m: &Member) -> Error {
        let mut z = ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut f = match password {
            Some(p) => z.by_index_decrypt(0, p),
            None => z.by_index(0),
        }
        .unwrap_or_else(|e| panic!("{}", zip_error(m, e)));
        let mut out = Vec::new();
        read_error(m, f.read_to_end(&mut out).unwrap_err())
    }

    fn patch_crc(b: &mut [u8]) {
        // The CRC field of both headers: local at 14, central at 16 after its signature.
        b[14] ^= 1;
        let c = b.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        b[c + 16] ^= 1;
    }

    #[test]
    fn a_crc_mismatch_is_a_bad_crc() {
        let mut b = archive(CompressionMethod::Stored, false, b"0123456789");
        patch_crc(&mut b);
        assert!(matches!(
            read(b, None, &member(false)),
            Error::BadCrc { .. }
        ));
    }

    #[test]
    fn data_beyond_the_declared_size_is_corrupt_and_says_so() {
        let data = b"0123456789".repeat(100);
        let mut b = archive(CompressionMethod::Deflated, false, &data);
        // Declare 10 bytes instead of 1000 in both headers.
        b[22..26].copy_from_slice(&10u32.to_le_bytes());
        let c = b.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        b[c + 24..c + 28].copy_from_slice(&10u32.to_le_bytes());
        let e = read(b, None, &member(false));
        assert!(
            matches!(&e, Error::Corrupt { reason, .. } if reason.contains("beyond its declared")),
            "{e}"
        );
    }

    #[test]
    fn a_failed_aes_authentication_is_a_bad_password_or_data() {
        let data = b"0123456789".repeat(10);
        let mut b = archive(CompressionMethod::Stored, true, &data);
        // Flip a byte of the encrypted data (after the local header, name and extra
        // field, the salt and the password verifier).
        let at = 30 + 1 + u16::from_le_bytes([b[28], b[29]]) as usize + 16 + 2 + 5;
        b[at] ^= 0x40;
        let e = read(b, Some(b"pw"), &member(true));
        assert!(matches!(e, Error::BadPasswordOrData { .. }), "{e}");
    }

    #[test]
    fn an_unknown_method_met_while_reading_is_unsupported() {
        let mut b = archive(CompressionMethod::Stored, false, b"0123456789");
        b[8] = 77;
        let c = b.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        b[c + 10] = 77;
        let e = read(b, None, &member(false));
        assert!(
            matches!(&e, Error::Unsupported { reason, .. } if reason.contains("77")),
            "{e}"
        );
    }

    #[test]
    fn typed_errors_map_by_variant() {
        let m = member(false);
        assert!(matches!(
            zip_error(&m, ZipError::InvalidPassword),
            Error::BadPassword { .. }
        ));
        assert!(matches!(
            zip_error(
                &m,
                ZipError::UnsupportedArchive(ZipError::PASSWORD_REQUIRED)
            ),
            Error::NeedPassword { .. }
        ));
        assert!(matches!(
            zip_error(&m, ZipError::CompressionMethodNotSupported(99)),
            Error::Unsupported { .. }
        ));
    }
}
