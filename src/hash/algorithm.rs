//! Which digest a run computes. phash hashes MD5 through its lane engine ([`super::md5`]);
//! every other algorithm, and any caller that digests a byte stream of its own (the
//! members of an archive), goes through the one object-safe [`Hasher`] made here, so adding
//! an algorithm is one enum variant and one match arm in each table below.
//!
//! The names are the ones users already type and read: `-a sha256` as `cksum -a` takes it,
//! `SHA256 (NAME) = HEX` as `sha256sum --tag` writes it, and the digest length by which
//! `cksum -c` tells an untagged line's algorithm.

use std::fmt;
use std::str::FromStr;

use md5::Digest as _;

/// A digest algorithm phash can compute.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// MD5, as `md5sum` (phash's default).
    #[default]
    Md5,
    /// SHA-1, as `sha1sum`.
    Sha1,
    /// SHA-224, as `sha224sum`.
    Sha224,
    /// SHA-256, as `sha256sum`.
    Sha256,
    /// SHA-384, as `sha384sum`.
    Sha384,
    /// SHA-512, as `sha512sum`.
    Sha512,
    /// BLAKE3 with its default 32-byte output, as `b3sum`.
    Blake3,
}

/// A running digest: feed it bytes, then take the lowercase hex of the result.
pub trait Hasher: Send {
    fn update(&mut self, data: &[u8]);
    fn finish_hex(self: Box<Self>) -> String;
}

impl Algorithm {
    /// Every algorithm, in the order `--help` lists them.
    pub const ALL: [Algorithm; 7] = [
        Algorithm::Md5,
        Algorithm::Sha1,
        Algorithm::Sha224,
        Algorithm::Sha256,
        Algorithm::Sha384,
        Algorithm::Sha512,
        Algorithm::Blake3,
    ];

    /// A fresh running digest of this algorithm.
    pub fn hasher(self) -> Box<dyn Hasher> {
        match self {
            Algorithm::Md5 => Box::new(Rust(md5::Md5::new())),
            Algorithm::Sha1 => Box::new(Rust(sha1::Sha1::new())),
            Algorithm::Sha224 => Box::new(Rust(sha2::Sha224::new())),
            Algorithm::Sha256 => Box::new(Rust(sha2::Sha256::new())),
            Algorithm::Sha384 => Box::new(Rust(sha2::Sha384::new())),
            Algorithm::Sha512 => Box::new(Rust(sha2::Sha512::new())),
            Algorithm::Blake3 => Box::new(Blake3(Box::default())),
        }
    }

    /// The lowercase name: the value of `-a` and the key of the digest in `--json`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "md5",
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha224 => "sha224",
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha384 => "sha384",
            Algorithm::Sha512 => "sha512",
            Algorithm::Blake3 => "blake3",
        }
    }

    /// The name in a `--tag` line (`SHA256 (NAME) = HEX`) and in check-mode messages.
    pub fn tag(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha224 => "SHA224",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha384 => "SHA384",
            Algorithm::Sha512 => "SHA512",
            Algorithm::Blake3 => "BLAKE3",
        }
    }

    /// Hex digits in a digest of this algorithm.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Md5 => 32,
            Algorithm::Sha1 => 40,
            Algorithm::Sha224 => 56,
            Algorithm::Sha256 | Algorithm::Blake3 => 64,
            Algorithm::Sha384 => 96,
            Algorithm::Sha512 => 128,
        }
    }

    /// The algorithm `cksum -c` assumes for an untagged line with a digest of `len` hex
    /// digits: 64 is SHA-256 (a BLAKE3 list needs `-a blake3`).
    pub fn by_hex_len(len: usize) -> Option<Algorithm> {
        match len {
            32 => Some(Algorithm::Md5),
            40 => Some(Algorithm::Sha1),
            56 => Some(Algorithm::Sha224),
            64 => Some(Algorithm::Sha256),
            96 => Some(Algorithm::Sha384),
            128 => Some(Algorithm::Sha512),
            _ => None,
        }
    }

    /// The algorithm whose [`Algorithm::tag`] is `tag`, exactly (case matters, as in cksum).
    pub fn from_tag(tag: &[u8]) -> Option<Algorithm> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.tag().as_bytes() == tag)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An `-a` value that names no algorithm.
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown algorithm {0:?} (choose one of md5, sha1, sha224, sha256, sha384, sha512, blake3)"
)]
pub struct UnknownAlgorithm(pub String);

impl FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    /// Parses a lowercase name ([`Algorithm::name`]); upper case is accepted too.
    fn from_str(s: &str) -> Result<Algorithm, UnknownAlgorithm> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownAlgorithm(s.to_string()))
    }
}

/// Any RustCrypto digest (md-5, sha1, sha2 share the `digest` 0.10 traits).
struct Rust<D>(D);

impl<D: md5::Digest + Send> Hasher for Rust<D> {
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    fn finish_hex(self: Box<Self>) -> String {
        hex(&self.0.finalize())
    }
}

/// BLAKE3's hasher is large (about 1.9 KiB); boxed so moving it costs nothing.
struct Blake3(Box<blake3::Hasher>);

impl Hasher for Blake3 {
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    fn finish_hex(self: Box<Self>) -> String {
        hex(self.0.finalize().as_bytes())
    }
}

/// Lowercase hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_of_abc_in_pieces_is_the_rfc_1321_value() {
        let mut h = Algorithm::Md5.hasher();
        h.update(b"a");
        h.update(b"bc");
        assert_eq!(h.finish_hex(), "900150983cd24fb0d6963f7d28e17f72");
    }

    /// The published test vectors for "abc" (FIPS 180-2 examples, the BLAKE3 spec's
    /// reference implementation output as printed by `b3sum`).
    #[test]
    fn every_algorithm_gives_the_published_digest_of_abc() {
        let want = [
            (Algorithm::Md5, "900150983cd24fb0d6963f7d28e17f72"),
            (Algorithm::Sha1, "a9993e364706816aba3e25717850c26c9cd0d89d"),
            (
                Algorithm::Sha256,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
            (
                Algorithm::Sha224,
                "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7",
            ),
            (
                Algorithm::Sha384,
                "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed\
                 8086072ba1e7cc2358baeca134c825a7",
            ),
            (
                Algorithm::Sha512,
                "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
                 2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
            ),
            (
                Algorithm::Blake3,
                "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85",
            ),
        ];
        for (a, hex) in want {
            let mut h = a.hasher();
            h.update(b"ab");
            h.update(b"c");
            let got = h.finish_hex();
            assert_eq!(got, hex, "{a}");
            assert_eq!(got.len(), a.hex_len(), "{a}");
        }
    }

    #[test]
    fn names_tags_and_lengths_round_trip() {
        for a in Algorithm::ALL {
            assert_eq!(a.name().parse::<Algorithm>().unwrap(), a);
            assert_eq!(Algorithm::from_tag(a.tag().as_bytes()), Some(a));
        }
        assert_eq!(Algorithm::by_hex_len(64), Some(Algorithm::Sha256));
        assert_eq!(Algorithm::by_hex_len(33), None);
        assert!("crc".parse::<Algorithm>().is_err());
        assert_eq!(Algorithm::from_tag(b"md5"), None);
    }
}
