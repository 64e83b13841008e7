//! MD5's compression function over many independent streams at once: our own kernels for
//! streamed files, scheduled for the latency of the vector units they run on.
//!
//! Why our own: a stream in a SIMD lane can go no faster than one MD5 step per latency of
//! the step's dependency chain, and with few streams in flight (a group of big files)
//! that latency is the whole cost. Each step is `a = b + rol(a + K + W + F(b, c, d))`, and
//! only `b` is new, so `a + K + W` can be summed beforehand and the chain is four
//! operations: F, add, rotate, add. md5-many leaves the order of the additions to the
//! compiler, which puts the constant after F: five dependent operations. On this project's
//! AMD Zen 5 machines every vector integer operation has two cycles of latency (measured:
//! `vpaddd`, `vprold`, `vpternlogd`, at every width), so that is 10 cycles a step instead
//! of 8, and measured per stream 320 MB/s against 440 MB/s here. An empty `asm!` on the
//! early sum keeps the compiler from reassociating it; it emits no instruction.
//!
//! The paths: 16 lanes per AVX-512 register (F, G, H and I are one `vpternlogd` each,
//! rotation one `vprold`), 8 per AVX2 register (two-operation F, G and I with their
//! older-operand halves off the chain, rotation by two shifts), and one stream's path for
//! a lane left alone in its group and for every message's padding ([`Kernel::one`]: one
//! XMM lane with AVX-512VL on Intel, where it runs four single-cycle operations a step,
//! else scalar). Two registers' worth of lanes are interleaved in one call, so with many
//! streams the vector units are kept busy while each chain waits (three measured slower:
//! see [`Kernel::MOST`]).
//!
//! Two entries: [`Kernel::compress`] for streams ([`Stream`] states, fed equal,
//! block-aligned chunks by [`super::update_round`]), and [`Kernel::digest_many`] for whole
//! small files (a lane refilled as soon as its message ends). Tests compare every path
//! against the md-5 crate.

use super::engine::Engine;

/// The round constants, `floor(abs(sin(i + 1)) * 2^32)`.
const K: [u32; 64] = [
    0xd76a_a478,
    0xe8c7_b756,
    0x2420_70db,
    0xc1bd_ceee,
    0xf57c_0faf,
    0x4787_c62a,
    0xa830_4613,
    0xfd46_9501,
    0x6980_98d8,
    0x8b44_f7af,
    0xffff_5bb1,
    0x895c_d7be,
    0x6b90_1122,
    0xfd98_7193,
    0xa679_438e,
    0x49b4_0821,
    0xf61e_2562,
    0xc040_b340,
    0x265e_5a51,
    0xe9b6_c7aa,
    0xd62f_105d,
    0x0244_1453,
    0xd8a1_e681,
    0xe7d3_fbc8,
    0x21e1_cde6,
    0xc337_07d6,
    0xf4d5_0d87,
    0x455a_14ed,
    0xa9e3_e905,
    0xfcef_a3f8,
    0x676f_02d9,
    0x8d2a_4c8a,
    0xfffa_3942,
    0x8771_f681,
    0x6d9d_6122,
    0xfde5_380c,
    0xa4be_ea44,
    0x4bde_cfa9,
    0xf6bb_4b60,
    0xbebf_bc70,
    0x289b_7ec6,
    0xeaa1_27fa,
    0xd4ef_3085,
    0x0488_1d05,
    0xd9d4_d039,
    0xe6db_99e5,
    0x1fa2_7cf8,
    0xc4ac_5665,
    0xf429_2244,
    0x432a_ff97,
    0xab94_23a7,
    0xfc93_a039,
    0x655b_59c3,
    0x8f0c_cc92,
    0xffef_f47d,
    0x8584_5dd1,
    0x6fa8_7e4f,
    0xfe2c_e6e0,
    0xa301_4314,
    0x4e08_11a1,
    0xf753_7e82,
    0xbd3a_f235,
    0x2ad7_d2bb,
    0xeb86_d391,
];

/// Lanes in one call at most: [`Kernel::MOST`] AVX-512 registers.
const MAX_LANES: usize = 32;

/// MD5's initial state.
pub(super) const INIT: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

/// The 64 steps of one block, as `$step!(function, words, a, b, c, d, word, step, shift)` with the
/// state registers already rotated into place: the one schedule every path expands.
macro_rules! md5_steps {
    ($step:ident, $w:ident, $a:ident, $b:ident, $c:ident, $d:ident) => {
        $step!(f, $w, $a, $b, $c, $d, 0, 0, 7);
        $step!(f, $w, $d, $a, $b, $c, 1, 1, 12);
        $step!(f, $w, $c, $d, $a, $b, 2, 2, 17);
        $step!(f, $w, $b, $c, $d, $a, 3, 3, 22);
        $step!(f, $w, $a, $b, $c, $d, 4, 4, 7);
        $step!(f, $w, $d, $a, $b, $c, 5, 5, 12);
        $step!(f, $w, $c, $d, $a, $b, 6, 6, 17);
        $step!(f, $w, $b, $c, $d, $a, 7, 7, 22);
        $step!(f, $w, $a, $b, $c, $d, 8, 8, 7);
        $step!(f, $w, $d, $a, $b, $c, 9, 9, 12);
        $step!(f, $w, $c, $d, $a, $b, 10, 10, 17);
        $step!(f, $w, $b, $c, $d, $a, 11, 11, 22);
        $step!(f, $w, $a, $b, $c, $d, 12, 12, 7);
        $step!(f, $w, $d, $a, $b, $c, 13, 13, 12);
        $step!(f, $w, $c, $d, $a, $b, 14, 14, 17);
        $step!(f, $w, $b, $c, $d, $a, 15, 15, 22);
        $step!(g, $w, $a, $b, $c, $d, 1, 16, 5);
        $step!(g, $w, $d, $a, $b, $c, 6, 17, 9);
        $step!(g, $w, $c, $d, $a, $b, 11, 18, 14);
        $step!(g, $w, $b, $c, $d, $a, 0, 19, 20);
        $step!(g, $w, $a, $b, $c, $d, 5, 20, 5);
        $step!(g, $w, $d, $a, $b, $c, 10, 21, 9);
        $step!(g, $w, $c, $d, $a, $b, 15, 22, 14);
        $step!(g, $w, $b, $c, $d, $a, 4, 23, 20);
        $step!(g, $w, $a, $b, $c, $d, 9, 24, 5);
        $step!(g, $w, $d, $a, $b, $c, 14, 25, 9);
        $step!(g, $w, $c, $d, $a, $b, 3, 26, 14);
        $step!(g, $w, $b, $c, $d, $a, 8, 27, 20);
        $step!(g, $w, $a, $b, $c, $d, 13, 28, 5);
        $step!(g, $w, $d, $a, $b, $c, 2, 29, 9);
        $step!(g, $w, $c, $d, $a, $b, 7, 30, 14);
        $step!(g, $w, $b, $c, $d, $a, 12, 31, 20);
        $step!(h, $w, $a, $b, $c, $d, 5, 32, 4);
        $step!(h, $w, $d, $a, $b, $c, 8, 33, 11);
        $step!(h, $w, $c, $d, $a, $b, 11, 34, 16);
        $step!(h, $w, $b, $c, $d, $a, 14, 35, 23);
        $step!(h, $w, $a, $b, $c, $d, 1, 36, 4);
        $step!(h, $w, $d, $a, $b, $c, 4, 37, 11);
        $step!(h, $w, $c, $d, $a, $b, 7, 38, 16);
        $step!(h, $w, $b, $c, $d, $a, 10, 39, 23);
        $step!(h, $w, $a, $b, $c, $d, 13, 40, 4);
        $step!(h, $w, $d, $a, $b, $c, 0, 41, 11);
        $step!(h, $w, $c, $d, $a, $b, 3, 42, 16);
        $step!(h, $w, $b, $c, $d, $a, 6, 43, 23);
        $step!(h, $w, $a, $b, $c, $d, 9, 44, 4);
        $step!(h, $w, $d, $a, $b, $c, 12, 45, 11);
        $step!(h, $w, $c, $d, $a, $b, 15, 46, 16);
        $step!(h, $w, $b, $c, $d, $a, 2, 47, 23);
        $step!(i, $w, $a, $b, $c, $d, 0, 48, 6);
        $step!(i, $w, $d, $a, $b, $c, 7, 49, 10);
        $step!(i, $w, $c, $d, $a, $b, 14, 50, 15);
        $step!(i, $w, $b, $c, $d, $a, 5, 51, 21);
        $step!(i, $w, $a, $b, $c, $d, 12, 52, 6);
        $step!(i, $w, $d, $a, $b, $c, 3, 53, 10);
        $step!(i, $w, $c, $d, $a, $b, 10, 54, 15);
        $step!(i, $w, $b, $c, $d, $a, 1, 55, 21);
        $step!(i, $w, $a, $b, $c, $d, 8, 56, 6);
        $step!(i, $w, $d, $a, $b, $c, 15, 57, 10);
        $step!(i, $w, $c, $d, $a, $b, 6, 58, 15);
        $step!(i, $w, $b, $c, $d, $a, 13, 59, 21);
        $step!(i, $w, $a, $b, $c, $d, 4, 60, 6);
        $step!(i, $w, $d, $a, $b, $c, 11, 61, 10);
        $step!(i, $w, $c, $d, $a, $b, 2, 62, 15);
        $step!(i, $w, $b, $c, $d, $a, 9, 63, 21);
    };
}

/// A compression path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kernel {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Kernel {
    /// The kernel for an engine, if this CPU has what it needs (else scalar).
    pub(super) fn for_engine(engine: Engine) -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            match engine {
                Engine::Avx512 if std::arch::is_x86_feature_detected!("avx512f") => {
                    return Kernel::Avx512;
                }
                Engine::Avx2 if std::arch::is_x86_feature_detected!("avx2") => {
                    return Kernel::Avx2;
                }
                _ => {}
            }
        }
        let _ = engine;
        Kernel::Scalar
    }

    /// Registers interleaved per call. Two keep the vector units busy; three measured
    /// slower than two (48 lanes 5.2-6.9 GB/s against 32 lanes 8.9-9.8 GB/s on Zen 5:
    /// the loop outgrows what the front end feeds).
    const MOST: usize = 2;

    /// Streams worth keeping in flight: as many as one call takes.
    pub(super) fn lanes(self) -> usize {
        Kernel::MOST * self.group()
    }

    /// Compresses whole blocks of one stream: with the AVX-512 kernel on a CPU whose vector
    /// operations take one cycle ([`x86::one512`]), else on the scalar path. AMD's AVX-512
    /// cores (Zen 4 and 5) take two cycles for `vpaddd`, `vprold` and `vpternlogd`
    /// (measured on Zen 5, see the module header), so one stream there would run at half
    /// the scalar path's speed; Intel's take one. The vendor decides, as no feature flag
    /// tells latency.
    pub(super) fn one(self, state: &mut [u32; 4], blocks: &[u8]) {
        #[cfg(target_arch = "x86_64")]
        if self == Kernel::Avx512 && x86::one_cycle_avx512vl() {
            // SAFETY: `one_cycle_avx512vl` checked AVX-512F and VL.
            unsafe { x86::one512(state, blocks) };
            return;
        }
        scalar(state, blocks);
    }

    /// Lanes per register.
    fn group(self) -> usize {
        match self {
            Kernel::Scalar => 1,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => 8,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => 16,
        }
    }

    /// Compresses `inputs[i]` (whole blocks, all the same length) into `states[i]` for
    /// every `i`. Lanes are taken [`Kernel::MOST`] registers' worth at a time; the last group
    /// is padded with dummy lanes (a register costs the same full or not).
    pub(super) fn compress(self, states: &mut [[u32; 4]], inputs: &[&[u8]]) {
        assert_eq!(states.len(), inputs.len(), "one input per state");
        let Some(len) = inputs.first().map(|i| i.len()) else {
            return;
        };
        assert!(
            len.is_multiple_of(64) && inputs.iter().all(|i| i.len() == len),
            "equal, block-aligned inputs"
        );
        if len == 0 {
            return;
        }
        let group = self.group();
        if group == 1 || states.len() == 1 {
            for (state, input) in states.iter_mut().zip(inputs) {
                self.one(state, input);
            }
            return;
        }
        let most = Kernel::MOST * group;
        let mut soa = [[0u32; MAX_LANES]; 4];
        let mut ps = [inputs[0]; MAX_LANES];
        for (states, inputs) in states.chunks_mut(most).zip(inputs.chunks(most)) {
            let n = states.len();
            for (l, h) in states.iter().enumerate() {
                for j in 0..4 {
                    soa[j][l] = h[j];
                }
            }
            ps[..n].copy_from_slice(inputs);
            self.compress_soa(&mut soa, &mut ps, n, len / 64);
            for (l, h) in states.iter_mut().enumerate() {
                for j in 0..4 {
                    h[j] = soa[j][l];
                }
            }
        }
    }

    /// Compresses `blocks` blocks of `ps[l]` into lane `l` of `soa` (word `j` of lane `l`
    /// in `soa[j][l]`) for `l < n`; the lanes up to a whole register are dummies (reading
    /// `ps[0]`, their words left as garbage).
    fn compress_soa(
        self,
        soa: &mut [[u32; MAX_LANES]; 4],
        ps: &mut [&[u8]; MAX_LANES],
        n: usize,
        blocks: usize,
    ) {
        let group = self.group();
        let lanes = n.div_ceil(group) * group;
        assert!(n > 0 && lanes <= MAX_LANES && ps[..n].iter().all(|p| p.len() >= 64 * blocks));
        for l in n..lanes {
            ps[l] = ps[0];
        }
        // SAFETY: the kernel was chosen only if the CPU has its features (`for_engine`),
        // and every input of the `lanes` lanes holds `blocks` blocks (asserted).
        unsafe {
            match (self, lanes / group) {
                #[cfg(target_arch = "x86_64")]
                (Kernel::Avx512, 1) => x86::avx512::<1>(soa, ps, blocks),
                #[cfg(target_arch = "x86_64")]
                (Kernel::Avx512, _) => x86::avx512::<2>(soa, ps, blocks),
                #[cfg(target_arch = "x86_64")]
                (Kernel::Avx2, 1) => x86::avx2::<1>(soa, ps, blocks),
                #[cfg(target_arch = "x86_64")]
                (Kernel::Avx2, _) => x86::avx2::<2>(soa, ps, blocks),
                (Kernel::Scalar, _) => {
                    for l in 0..n {
                        let mut h = [soa[0][l], soa[1][l], soa[2][l], soa[3][l]];
                        scalar(&mut h, &ps[l][..64 * blocks]);
                        for j in 0..4 {
                            soa[j][l] = h[j];
                        }
                    }
                }
            }
        }
    }
}

impl Kernel {
    /// The digest of every whole message in `inputs` into `out`, many at once: a lane per
    /// message, refilled with the next one as soon as its message ends (messages of any
    /// lengths, best longest first). Lanes move in step through [`Kernel::compress`]'s
    /// kernel, as many whole blocks at a time as every lane has; a lane left with less than
    /// a block is finished on the scalar path (its tail and padding: one or two blocks)
    /// and refilled at once, so no call is spent on one lane's last block. Messages under
    /// a block never enter a lane.
    pub(super) fn digest_many(self, inputs: &[&[u8]], out: &mut [[u8; 16]]) {
        assert_eq!(inputs.len(), out.len(), "one digest per input");
        let width = self.lanes();
        if width == 1 || inputs.len() == 1 {
            for (input, digest) in inputs.iter().zip(out.iter_mut()) {
                let mut s = Stream::default();
                s.update(self, input);
                *digest = s.finalize(self);
            }
            return;
        }
        // The message and the bytes of it compressed, of each lane. Lane `k`'s words are
        // column `k` of `soa`, kept there from call to call; lanes stay packed at the front.
        let mut lanes: Vec<(usize, usize)> = Vec::with_capacity(width);
        let mut soa = [[0u32; MAX_LANES]; 4];
        let mut next = 0;
        loop {
            while lanes.len() < width && next < inputs.len() {
                if inputs[next].len() < 64 {
                    out[next] = finish(self, INIT, inputs[next], inputs[next].len() as u64);
                } else {
                    for (j, w) in INIT.into_iter().enumerate() {
                        soa[j][lanes.len()] = w;
                    }
                    lanes.push((next, 0));
                }
                next += 1;
            }
            let n = lanes.len();
            if n == 0 {
                return;
            }
            // Every lane has a whole block left (see below).
            let step = lanes
                .iter()
                .map(|&(m, at)| (inputs[m].len() - at) & !63)
                .min()
                .unwrap_or(64);
            let mut blocks: [&[u8]; MAX_LANES] = [&[]; MAX_LANES];
            for (b, &(m, at)) in blocks.iter_mut().zip(&lanes) {
                *b = &inputs[m][at..at + step];
            }
            self.compress_soa(&mut soa, &mut blocks, n, step / 64);
            let mut k = 0;
            while k < lanes.len() {
                let (m, at) = &mut lanes[k];
                *at += step;
                let data = inputs[*m];
                if data.len() - *at >= 64 {
                    k += 1;
                    continue;
                }
                let h = [soa[0][k], soa[1][k], soa[2][k], soa[3][k]];
                out[*m] = finish(self, h, &data[*at..], data.len() as u64);
                // The last lane moves into this one's place, words and all.
                let end = lanes.len() - 1;
                for col in soa.iter_mut() {
                    col[k] = col[end];
                }
                lanes.swap_remove(k);
            }
        }
    }
}

/// The digest of a message from its chaining words `h` after its whole blocks, its
/// `tail` (under a block) and its length; the padded blocks go through `kernel`'s
/// single-stream path (one or two blocks a message: with many small files, that measured
/// 4-6% of the lanes' time on an Intel Xeon, where the path is AVX-512VL).
fn finish(kernel: Kernel, mut h: [u32; 4], tail: &[u8], len: u64) -> [u8; 16] {
    let (last, n) = padded(tail, len);
    kernel.one(&mut h, &last[..64 * n]);
    to_bytes(h)
}

/// A message's last blocks: its `tail` (under 64 bytes), the 0x80 marker, zeros and the
/// message's length in bits; with how many blocks that takes (1, or 2 when the tail
/// leaves no room for the length).
fn padded(tail: &[u8], len: u64) -> ([u8; 128], usize) {
    let mut last = [0u8; 128];
    last[..tail.len()].copy_from_slice(tail);
    last[tail.len()] = 0x80;
    let n = if tail.len() < 56 { 1 } else { 2 };
    last[64 * n - 8..64 * n].copy_from_slice(&len.wrapping_mul(8).to_le_bytes());
    (last, n)
}

/// The digest's bytes from the chaining words.
fn to_bytes(h: [u32; 4]) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (bytes, word) in out.chunks_exact_mut(4).zip(h) {
        bytes.copy_from_slice(&word.to_le_bytes());
    }
    out
}

/// Compresses whole blocks of one stream.
pub(super) fn scalar(state: &mut [u32; 4], blocks: &[u8]) {
    #[inline(always)]
    fn f(b: u32, c: u32, d: u32) -> u32 {
        d ^ (b & (c ^ d))
    }
    #[inline(always)]
    fn h(b: u32, c: u32, d: u32) -> u32 {
        b ^ c ^ d
    }
    #[inline(always)]
    fn i(b: u32, c: u32, d: u32) -> u32 {
        c ^ (b | !d)
    }
    macro_rules! step {
        // G's two halves have no bit in common, so G is their sum, and the half of the
        // older words joins the early sum: one operation fewer on the chain.
        (g, $ws:ident, $a:ident, $b:ident, $c:ident, $d:ident, $w:expr, $k:expr, $s:expr) => {{
            let t = $a
                .wrapping_add(K[$k])
                .wrapping_add($ws[$w])
                .wrapping_add($c & !$d);
            let t = early(t);
            $a = $b.wrapping_add(t.wrapping_add($b & $d).rotate_left($s));
        }};
        ($fn:ident, $ws:ident, $a:ident, $b:ident, $c:ident, $d:ident, $w:expr, $k:expr, $s:expr) => {{
            let t = $a.wrapping_add(K[$k]).wrapping_add($ws[$w]);
            let t = early(t);
            $a = $b.wrapping_add(t.wrapping_add($fn($b, $c, $d)).rotate_left($s));
        }};
    }
    let [mut a, mut b, mut c, mut d] = *state;
    for block in blocks.chunks_exact(64) {
        // The block eight ahead, as in `x86::one512`.
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            // SAFETY: a prefetch never faults, wherever it points; SSE is part of x86-64.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(block.as_ptr().wrapping_add(512).cast()) };
        }
        let w: [u32; 16] = std::array::from_fn(|j| {
            u32::from_le_bytes(block[4 * j..4 * j + 4].try_into().unwrap())
        });
        let (aa, bb, cc, dd) = (a, b, c, d);
        md5_steps!(step, w, a, b, c, d);
        a = a.wrapping_add(aa);
        b = b.wrapping_add(bb);
        c = c.wrapping_add(cc);
        d = d.wrapping_add(dd);
    }
    *state = [a, b, c, d];
}

/// `x`, opaque to the optimiser, so that a sum meant to be ready early is not reassociated
/// into the dependency chain (see the module header). Emits no instruction.
#[inline(always)]
fn early(mut x: u32) -> u32 {
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    // SAFETY: an empty template; the value stays in its register.
    unsafe {
        std::arch::asm!("/* {0:e} */", inout(reg) x, options(pure, nomem, nostack, preserves_flags));
    }
    x
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{K, MAX_LANES};

    /// 16 x 16 words: `rows[l]` is lane `l`'s block; returns word `j` of every lane in `[j]`.
    #[inline(always)]
    unsafe fn transpose16(r: &[__m512i; 16], w: &mut [__m512i; 16]) {
        unsafe {
            let mut a = [_mm512_setzero_si512(); 16];
            for i in 0..8 {
                a[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
                a[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
            }
            // b[4i + m] holds, in its 128-bit lane k, word 4k + m of rows 4i..4i + 3.
            let mut b = [_mm512_setzero_si512(); 16];
            for i in 0..4 {
                b[4 * i] = _mm512_unpacklo_epi64(a[4 * i], a[4 * i + 2]);
                b[4 * i + 1] = _mm512_unpackhi_epi64(a[4 * i], a[4 * i + 2]);
                b[4 * i + 2] = _mm512_unpacklo_epi64(a[4 * i + 1], a[4 * i + 3]);
                b[4 * i + 3] = _mm512_unpackhi_epi64(a[4 * i + 1], a[4 * i + 3]);
            }
            // A 4 x 4 transpose of 128-bit lanes for each m.
            for m in 0..4 {
                let c0 = _mm512_shuffle_i32x4::<0b01_00_01_00>(b[m], b[4 + m]);
                let c1 = _mm512_shuffle_i32x4::<0b11_10_11_10>(b[m], b[4 + m]);
                let c2 = _mm512_shuffle_i32x4::<0b01_00_01_00>(b[8 + m], b[12 + m]);
                let c3 = _mm512_shuffle_i32x4::<0b11_10_11_10>(b[8 + m], b[12 + m]);
                w[m] = _mm512_shuffle_i32x4::<0b10_00_10_00>(c0, c2);
                w[4 + m] = _mm512_shuffle_i32x4::<0b11_01_11_01>(c0, c2);
                w[8 + m] = _mm512_shuffle_i32x4::<0b10_00_10_00>(c1, c3);
                w[12 + m] = _mm512_shuffle_i32x4::<0b11_01_11_01>(c1, c3);
            }
        }
    }

    /// 8 x 8 words: `rows[l]` is half a block of lane `l`; returns word `j` of every lane.
    #[inline(always)]
    unsafe fn transpose8(r: &[__m256i; 8]) -> [__m256i; 8] {
        unsafe {
            let mut a = [_mm256_setzero_si256(); 8];
            for i in 0..4 {
                a[2 * i] = _mm256_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
                a[2 * i + 1] = _mm256_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
            }
            let mut b = [_mm256_setzero_si256(); 8];
            for i in 0..2 {
                b[4 * i] = _mm256_unpacklo_epi64(a[4 * i], a[4 * i + 2]);
                b[4 * i + 1] = _mm256_unpackhi_epi64(a[4 * i], a[4 * i + 2]);
                b[4 * i + 2] = _mm256_unpacklo_epi64(a[4 * i + 1], a[4 * i + 3]);
                b[4 * i + 3] = _mm256_unpackhi_epi64(a[4 * i + 1], a[4 * i + 3]);
            }
            let mut w = [_mm256_setzero_si256(); 8];
            for m in 0..4 {
                w[m] = _mm256_permute2x128_si256::<0x20>(b[m], b[4 + m]);
                w[4 + m] = _mm256_permute2x128_si256::<0x31>(b[m], b[4 + m]);
            }
            w
        }
    }

    /// `C` registers of 16 lanes: `hs[l]` and `ps[l]` for `l < 16 * C`, `blocks` blocks.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn avx512<const C: usize>(
        hs: &mut [[u32; MAX_LANES]; 4],
        ps: &[&[u8]; MAX_LANES],
        blocks: usize,
    ) {
        macro_rules! step {
            ($fn:ident, $ws:ident, $a:ident, $b:ident, $c:ident, $d:ident, $w:expr, $k:expr, $s:expr) => {{
                for r in 0..C {
                    let mut t = _mm512_add_epi32(
                        _mm512_add_epi32($a[r], _mm512_set1_epi32(K[$k] as i32)),
                        $ws[r][$w],
                    );
                    // SAFETY: an empty template (see `early`).
                    unsafe {
                        std::arch::asm!("/* {0} */", inout(zmm_reg) t,
                            options(pure, nomem, nostack, preserves_flags));
                    }
                    let t = _mm512_add_epi32(t, $fn($b[r], $c[r], $d[r]));
                    $a[r] = _mm512_add_epi32($b[r], _mm512_rol_epi32::<$s>(t));
                }
            }};
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        fn f(b: __m512i, c: __m512i, d: __m512i) -> __m512i {
            _mm512_ternarylogic_epi32::<0xCA>(b, c, d)
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        fn g(b: __m512i, c: __m512i, d: __m512i) -> __m512i {
            _mm512_ternarylogic_epi32::<0xE4>(b, c, d)
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        fn h(b: __m512i, c: __m512i, d: __m512i) -> __m512i {
            _mm512_ternarylogic_epi32::<0x96>(b, c, d)
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        fn i(b: __m512i, c: __m512i, d: __m512i) -> __m512i {
            _mm512_ternarylogic_epi32::<0x39>(b, c, d)
        }
        // No closures here: they would not inherit this function's target features.
        let zero = _mm512_setzero_si512();
        let mut abcd = [[zero; C]; 4];
        for (j, v) in abcd.iter_mut().enumerate() {
            for (r, v) in v.iter_mut().enumerate() {
                // SAFETY: 64 bytes read from within `hs[j]` (16 * C <= MAX_LANES).
                *v = unsafe { _mm512_loadu_si512(hs[j][16 * r..].as_ptr().cast()) };
            }
        }
        let [mut a, mut b, mut c, mut d] = abcd;
        let mut w = [[zero; 16]; C];
        for blk in 0..blocks {
            for (r, w) in w.iter_mut().enumerate() {
                let mut rows = [zero; 16];
                for (l, row) in rows.iter_mut().enumerate() {
                    // SAFETY: every input holds `blocks` blocks.
                    *row =
                        unsafe { _mm512_loadu_si512(ps[16 * r + l].as_ptr().add(64 * blk).cast()) };
                }
                // SAFETY: the caller's features include AVX-512F.
                unsafe { transpose16(&rows, w) };
            }
            let (aa, bb, cc, dd) = (a, b, c, d);
            md5_steps!(step, w, a, b, c, d);
            for r in 0..C {
                a[r] = _mm512_add_epi32(a[r], aa[r]);
                b[r] = _mm512_add_epi32(b[r], bb[r]);
                c[r] = _mm512_add_epi32(c[r], cc[r]);
                d[r] = _mm512_add_epi32(d[r], dd[r]);
            }
        }
        for r in 0..C {
            for (j, v) in [a[r], b[r], c[r], d[r]].into_iter().enumerate() {
                // SAFETY: 64 bytes written within `hs[j]` (16 * C <= MAX_LANES).
                unsafe { _mm512_storeu_si512(hs[j][16 * r..].as_mut_ptr().cast(), v) };
            }
        }
    }

    /// `C` registers of 8 lanes: `hs[l]` and `ps[l]` for `l < 8 * C`, `blocks` blocks.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn avx2<const C: usize>(
        hs: &mut [[u32; MAX_LANES]; 4],
        ps: &[&[u8]; MAX_LANES],
        blocks: usize,
    ) {
        // F, G and I split into a part of the older words `c` and `d` (ready early) and
        // the operations on the new `b` (two on the chain each; H one).
        macro_rules! step {
            ($fn:ident, $ws:ident, $a:ident, $b:ident, $c:ident, $d:ident, $w:expr, $k:expr, $s:expr) => {{
                for r in 0..C {
                    let mut t = _mm256_add_epi32(
                        _mm256_add_epi32($a[r], _mm256_set1_epi32(K[$k] as i32)),
                        $ws[r][$w],
                    );
                    t = _mm256_add_epi32(t, early_part!($fn, $c[r], $d[r]));
                    // SAFETY: an empty template (see `early`).
                    unsafe {
                        std::arch::asm!("/* {0} */", inout(ymm_reg) t,
                            options(pure, nomem, nostack, preserves_flags));
                    }
                    let t = _mm256_add_epi32(t, $fn($b[r], $c[r], $d[r]));
                    let t = _mm256_or_si256(
                        _mm256_slli_epi32::<$s>(t),
                        _mm256_srli_epi32::<{ 32 - $s }>(t),
                    );
                    $a[r] = _mm256_add_epi32($b[r], t);
                }
            }};
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        fn f(b: __m256i, c: __m256i, d: __m256i) -> __m256i {
            _mm256_xor_si256(d, _mm256_and_si256(b, _mm256_xor_si256(c, d)))
        }
        // G's two halves have no bit in common, so G is their sum, and the half of the
        // older words joins the early sum: `g` is only the half with `b`.
        macro_rules! early_part {
            (g, $c:expr, $d:expr) => {
                _mm256_andnot_si256($d, $c)
            };
            ($fn:ident, $c:expr, $d:expr) => {
                _mm256_setzero_si256()
            };
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        fn g(b: __m256i, _: __m256i, d: __m256i) -> __m256i {
            _mm256_and_si256(b, d)
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        fn h(b: __m256i, c: __m256i, d: __m256i) -> __m256i {
            _mm256_xor_si256(b, _mm256_xor_si256(c, d))
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        fn i(b: __m256i, c: __m256i, d: __m256i) -> __m256i {
            let not_d = _mm256_xor_si256(d, _mm256_set1_epi32(-1));
            _mm256_xor_si256(c, _mm256_or_si256(b, not_d))
        }
        // No closures here: they would not inherit this function's target features.
        let zero = _mm256_setzero_si256();
        let mut abcd = [[zero; C]; 4];
        for (j, v) in abcd.iter_mut().enumerate() {
            for (r, v) in v.iter_mut().enumerate() {
                // SAFETY: 32 bytes read from within `hs[j]` (8 * C <= MAX_LANES).
                *v = unsafe { _mm256_loadu_si256(hs[j][8 * r..].as_ptr().cast()) };
            }
        }
        let [mut a, mut b, mut c, mut d] = abcd;
        let mut w = [[zero; 16]; C];
        for blk in 0..blocks {
            for (r, w) in w.iter_mut().enumerate() {
                for half in 0..2 {
                    let mut rows = [zero; 8];
                    for (l, row) in rows.iter_mut().enumerate() {
                        let at = 64 * blk + 32 * half;
                        // SAFETY: every input holds `blocks` blocks.
                        *row = unsafe { _mm256_loadu_si256(ps[8 * r + l].as_ptr().add(at).cast()) };
                    }
                    // SAFETY: the caller's features include AVX2.
                    let t = unsafe { transpose8(&rows) };
                    w[8 * half..8 * half + 8].copy_from_slice(&t);
                }
            }
            let (aa, bb, cc, dd) = (a, b, c, d);
            md5_steps!(step, w, a, b, c, d);
            for r in 0..C {
                a[r] = _mm256_add_epi32(a[r], aa[r]);
                b[r] = _mm256_add_epi32(b[r], bb[r]);
                c[r] = _mm256_add_epi32(c[r], cc[r]);
                d[r] = _mm256_add_epi32(d[r], dd[r]);
            }
        }
        for r in 0..C {
            for (j, v) in [a[r], b[r], c[r], d[r]].into_iter().enumerate() {
                // SAFETY: 32 bytes written within `hs[j]` (8 * C <= MAX_LANES).
                unsafe { _mm256_storeu_si256(hs[j][8 * r..].as_mut_ptr().cast(), v) };
            }
        }
    }

    /// Whether this CPU has AVX-512F and VL and is Intel's (see [`super::Kernel::one`]).
    pub(super) fn one_cycle_avx512vl() -> bool {
        static ANSWER: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *ANSWER.get_or_init(|| {
            // Leaf 0: the vendor string in EBX, EDX, ECX.
            let id = __cpuid(0);
            let intel = (id.ebx, id.edx, id.ecx) == (0x756e_6547, 0x4965_6e69, 0x6c65_746e);
            intel
                && std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512vl")
        })
    }

    /// One stream's blocks on AVX-512VL, the state in the low lane of four XMM registers:
    /// F, G, H and I are one `vpternlogd` each, so a step's chain is four single-cycle
    /// operations (function, add, rotate, add), 256 cycles a block, against the scalar
    /// path's 288. Measured on an Intel Xeon (Sapphire Rapids class): 256 cycles a block in
    /// a loop of this step alone, against 310 for the compiled scalar path.
    ///
    /// Each step is one `asm!` block, because two things the compiler did cost a fifth:
    /// - The function's first operand is the register it overwrites. Left to itself, the
    ///   compiler copied `b`, the newest word, into it, and the copy sat on the chain (it
    ///   is not eliminated for the upper registers). Here the operands are `(d, b, c)`, so
    ///   the copy is of `d`, made early; in that order F, G, H and I are 0xB8, 0xCA, 0x96
    ///   and 0x65.
    /// - The word and the constant are added to `a` straight from the block and from `K`
    ///   (broadcast loads). Summing a block's words and constants beforehand into a buffer
    ///   cost 25 cycles a block: 64-byte stores do not forward to 4-byte loads, so each
    ///   block's first steps waited for its stores to retire.
    #[target_feature(enable = "avx512f,avx512vl")]
    pub(super) unsafe fn one512(state: &mut [u32; 4], blocks: &[u8]) {
        const F: u8 = 0xB8;
        const G: u8 = 0xCA;
        const H: u8 = 0x96;
        const I: u8 = 0x65;
        static KS: [u32; 64] = K;
        macro_rules! step {
            ($fn:ident, $p:ident, $a:ident, $b:ident, $c:ident, $d:ident, $w:expr, $k:expr, $s:expr) => {{
                // SAFETY: reads word `$w` of the block at `$p` (64 bytes) and `K[$k]`;
                // AVX-512F and VL are this function's features.
                unsafe {
                    std::arch::asm!(
                        "vpaddd {a}, {a}, dword ptr [{p} + {w}]{{1to4}}",
                        "vpaddd {a}, {a}, dword ptr [{k} + {kk}]{{1to4}}",
                        "vmovdqa {t}, {d}",
                        "vpternlogd {t}, {b}, {c}, {imm}",
                        "vpaddd {a}, {a}, {t}",
                        "vprold {a}, {a}, {s}",
                        "vpaddd {a}, {a}, {b}",
                        a = inout(xmm_reg) $a,
                        b = in(xmm_reg) $b,
                        c = in(xmm_reg) $c,
                        d = in(xmm_reg) $d,
                        t = out(xmm_reg) _,
                        p = in(reg) $p,
                        k = in(reg) KS.as_ptr(),
                        w = const 4 * $w,
                        kk = const 4 * $k,
                        imm = const step!(@$fn),
                        s = const $s,
                        options(pure, readonly, nostack, preserves_flags),
                    );
                }
            }};
            (@f) => { F };
            (@g) => { G };
            (@h) => { H };
            (@i) => { I };
        }
        let [mut a, mut b, mut c, mut d] = state.map(|x| _mm_cvtsi32_si128(x as i32));
        for block in blocks.chunks_exact(64) {
            let p = block.as_ptr();
            // The steps load the block's words as they go, so a word missing from the
            // cache stalls the chain: ask for the block eight ahead (2-3% on 256 MiB read
            // into a buffer by another core). A prefetch never faults, wherever it points.
            _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(512).cast());
            let (aa, bb, cc, dd) = (a, b, c, d);
            md5_steps!(step, p, a, b, c, d);
            a = _mm_add_epi32(a, aa);
            b = _mm_add_epi32(b, bb);
            c = _mm_add_epi32(c, cc);
            d = _mm_add_epi32(d, dd);
        }
        *state = [a, b, c, d].map(|v| _mm_cvtsi128_si32(v) as u32);
    }
}

/// One stream's MD5 state for [`Kernel::compress`]: the chaining words, the bytes of an
/// unfinished block, and the length so far.
#[derive(Clone, Copy, Debug)]
pub(super) struct Stream {
    pub(super) h: [u32; 4],
    tail: [u8; 64],
    len: u64,
}

impl Default for Stream {
    fn default() -> Self {
        Stream {
            h: INIT,
            tail: [0; 64],
            len: 0,
        }
    }
}

impl Stream {
    /// Whether no bytes wait in `tail`, so whole blocks can go to [`Kernel::compress`]
    /// (which the caller then counts with [`Stream::advance`]).
    pub(super) fn aligned(&self) -> bool {
        self.len.is_multiple_of(64)
    }

    /// Counts `n` bytes compressed by [`Kernel::compress`] on `h`.
    pub(super) fn advance(&mut self, n: usize) {
        debug_assert!(self.aligned() && n.is_multiple_of(64));
        self.len = self.len.wrapping_add(n as u64);
    }

    /// Adds bytes on `kernel`'s single-stream path ([`Kernel::one`]), buffering what does
    /// not fill a block.
    pub(super) fn update(&mut self, kernel: Kernel, mut input: &[u8]) {
        let held = (self.len % 64) as usize;
        self.len = self.len.wrapping_add(input.len() as u64);
        if held > 0 {
            let take = input.len().min(64 - held);
            self.tail[held..held + take].copy_from_slice(&input[..take]);
            input = &input[take..];
            if held + take < 64 {
                return;
            }
            let block = self.tail;
            kernel.one(&mut self.h, &block);
        }
        let whole = input.len() & !63;
        kernel.one(&mut self.h, &input[..whole]);
        self.tail[..input.len() - whole].copy_from_slice(&input[whole..]);
    }

    /// The digest of everything added, its padding compressed on `kernel`'s single-stream
    /// path (the state is left as it was).
    pub(super) fn finalize(&self, kernel: Kernel) -> [u8; 16] {
        let held = (self.len % 64) as usize;
        finish(kernel, self.h, &self.tail[..held], self.len)
    }
}

#[cfg(test)]
mod tests {
    use ::md5::{Digest, Md5};

    use super::super::tests::bytes;
    use super::*;

    /// Every kernel this CPU can run.
    fn kernels() -> Vec<Kernel> {
        let mut v: Vec<Kernel> = Engine::ALL.into_iter().map(Kernel::for_engine).collect();
        v.dedup();
        v
    }

    /// Whole blocks through `compress` (in two calls, so states carry over), the rest
    /// through `update`: md-5's digest for every lane, at every lane count up to past two
    /// calls' worth, so every padding of a register and every split into calls is met.
    #[test]
    fn every_lane_count_on_every_kernel_gives_md5_crate_digests() {
        for kernel in kernels() {
            for lanes in 1..=70 {
                for blocks in [1usize, 2, 5] {
                    let data: Vec<Vec<u8>> = (0..lanes)
                        .map(|l| bytes(64 * 2 * blocks + l % 70, (1000 * lanes + l) as u64))
                        .collect();
                    let mut streams = vec![Stream::default(); lanes];
                    for half in 0..2 {
                        let at = 64 * blocks * half;
                        let mut words: Vec<[u32; 4]> = streams.iter().map(|s| s.h).collect();
                        let inputs: Vec<&[u8]> =
                            data.iter().map(|d| &d[at..at + 64 * blocks]).collect();
                        kernel.compress(&mut words, &inputs);
                        for (s, h) in streams.iter_mut().zip(words) {
                            s.h = h;
                            s.advance(64 * blocks);
                        }
                    }
                    for (l, (s, d)) in streams.iter_mut().zip(&data).enumerate() {
                        s.update(kernel, &d[128 * blocks..]);
                        let want: [u8; 16] = Md5::digest(d).into();
                        assert_eq!(
                            s.finalize(kernel),
                            want,
                            "{kernel:?}, {lanes} lanes, lane {l}"
                        );
                    }
                }
            }
        }
    }

    /// Each kernel's single-stream path split at every point: buffering, block boundaries
    /// and both padding shapes (tail under and over 55 bytes).
    #[test]
    fn updates_split_anywhere_give_md5_crate_digests() {
        for kernel in kernels() {
            for len in 0..=200 {
                let data = bytes(len, len as u64);
                let want: [u8; 16] = Md5::digest(&data).into();
                for cut in 0..=len {
                    let mut s = Stream::default();
                    s.update(kernel, &data[..cut]);
                    s.update(kernel, &data[cut..]);
                    assert_eq!(
                        s.finalize(kernel),
                        want,
                        "{kernel:?}: {len} bytes cut at {cut}"
                    );
                    assert_eq!(
                        s.finalize(kernel),
                        want,
                        "finalize leaves the state as it was"
                    );
                }
            }
        }
    }

    /// The AVX-512VL single-stream compressor on any CPU that has it (whoever made it: on
    /// AMD's the engine does not pick it, but it must still be right): the scalar path's
    /// state for every block count up to 40 from a running state, and md-5's digest for a
    /// large message fed in uneven calls.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_avx512vl_single_stream_compressor_equals_the_scalar_one() {
        if !(std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl"))
        {
            eprintln!("skipped: this CPU has no AVX-512VL");
            return;
        }
        let data = bytes(64 * 40, 99);
        let start = [0x0123_4567, 0x89ab_cdef, 0xfedc_ba98, 0x7654_3210];
        for blocks in 0..=40 {
            let (mut want, mut got) = (start, start);
            scalar(&mut want, &data[..64 * blocks]);
            // SAFETY: AVX-512F and VL checked above.
            unsafe { x86::one512(&mut got, &data[..64 * blocks]) };
            assert_eq!(got, want, "{blocks} blocks");
        }
        let big = bytes(1_000_003, 5);
        let mut h = INIT;
        let mut at = 0;
        let mut sizes = [64, 128, 4096, 640, 64 * 997].into_iter().cycle();
        while big.len() - at >= 64 {
            let take = sizes.next().unwrap().min((big.len() - at) & !63);
            // SAFETY: as above.
            unsafe { x86::one512(&mut h, &big[at..at + take]) };
            at += take;
        }
        let want: [u8; 16] = Md5::digest(&big).into();
        assert_eq!(
            finish(Kernel::Scalar, h, &big[at..], big.len() as u64),
            want
        );
    }

    /// Whole messages of every length around the padding edges (55, 56, 63, 64 bytes...)
    /// and longer ones, in batches of every size up to past two calls' worth of lanes,
    /// in any order: md-5's digest for each, on every kernel.
    #[test]
    fn digest_many_gives_md5_crate_digests_for_any_mix_of_lengths() {
        let lens: Vec<usize> = (0..300).chain([1000, 4095, 4096, 4097, 70_000]).collect();
        let data: Vec<Vec<u8>> = lens.iter().map(|&n| bytes(n, n as u64 + 7)).collect();
        let want: Vec<[u8; 16]> = data.iter().map(|d| Md5::digest(d).into()).collect();
        for kernel in kernels() {
            for n in (0..=70).chain([data.len()]) {
                // A window of the lengths, rotated so each batch mixes short and long.
                let pick: Vec<usize> = (0..n).map(|i| (i * 37 + n) % data.len()).collect();
                let inputs: Vec<&[u8]> = pick.iter().map(|&i| data[i].as_slice()).collect();
                let mut out = vec![[0u8; 16]; n];
                kernel.digest_many(&inputs, &mut out);
                for (k, &i) in pick.iter().enumerate() {
                    assert_eq!(
                        out[k], want[i],
                        "{kernel:?}, batch of {n}, {} bytes",
                        lens[i]
                    );
                }
            }
        }
    }

    #[test]
    fn no_inputs_and_empty_inputs_change_nothing() {
        for kernel in kernels() {
            kernel.compress(&mut [], &[]);
            let mut words = [INIT; 3];
            kernel.compress(&mut words, &[&[], &[], &[]]);
            assert_eq!(words, [INIT; 3]);
        }
    }
}
