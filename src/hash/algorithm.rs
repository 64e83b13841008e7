//! Which digest a run computes. phash hashes MD5 through its lane engine ([`super::md5`]);
//! every other algorithm, and any caller that digests a byte stream of its own (the
//! members of an archive), goes through the one object-safe [`Hasher`] made here, so adding
//! an algorithm is one enum variant and one match arm.

use md5::Digest as _;

/// A digest algorithm phash can compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    Md5,
}

/// A running digest: feed it bytes, then take the lowercase hex of the result.
pub trait Hasher: Send {
    fn update(&mut self, data: &[u8]);
    fn finish_hex(self: Box<Self>) -> String;
}

impl Algorithm {
    /// A fresh running digest of this algorithm.
    pub fn hasher(self) -> Box<dyn Hasher> {
        match self {
            Algorithm::Md5 => Box::new(Md5(md5::Md5::new())),
        }
    }
}

struct Md5(md5::Md5);

impl Hasher for Md5 {
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    fn finish_hex(self: Box<Self>) -> String {
        hex(&self.0.finalize())
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
}
