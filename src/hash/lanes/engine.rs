//! Which MD5 code path runs: picked once per process from what the CPU has, or forced with
//! `PHASH_MD5_ENGINE=scalar|avx2|avx512|auto` so every path can be tested and measured on a
//! machine that has it.
//!
//! The SIMD paths are our multi-buffer kernels ([`super::kernel`]): 16 lanes per register
//! with AVX-512 (it needs only AVX-512F), 8 with AVX2. "avx2" on an AVX-512 machine really
//! runs the AVX2 kernel. A stream alone runs scalar, except with "avx512" on an Intel CPU
//! that has AVX-512VL: one XMM lane there (see `Kernel::one` for why only Intel's).

use std::sync::OnceLock;

/// The environment variable that forces an engine.
pub const ENV: &str = "PHASH_MD5_ENGINE";

/// An MD5 code path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Engine {
    /// One stream at a time, the scalar compressor (no SIMD lanes).
    Scalar,
    /// 8 x 32-bit lanes, interleaved up to 24 streams.
    Avx2,
    /// 16 x 32-bit lanes, interleaved up to 48 streams.
    Avx512,
}

/// A `PHASH_MD5_ENGINE` value that names no engine, or one this CPU lacks.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EngineChoiceError {
    #[error("{ENV}={0}: unknown engine (expected scalar, avx2, avx512 or auto)")]
    Unknown(String),
    #[error("{ENV}={}: this CPU does not support it (available: {})", .0.name(), names(&Engine::available()))]
    Unavailable(Engine),
}

fn names(engines: &[Engine]) -> String {
    let v: Vec<&str> = engines.iter().map(|e| e.name()).collect();
    v.join(", ")
}

impl Engine {
    /// Every engine, slowest first.
    pub const ALL: [Engine; 3] = [Engine::Scalar, Engine::Avx2, Engine::Avx512];

    /// The name `PHASH_MD5_ENGINE` uses.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Scalar => "scalar",
            Engine::Avx2 => "avx2",
            Engine::Avx512 => "avx512",
        }
    }

    /// The engines this CPU can run, slowest first (always starts with `Scalar`).
    pub fn available() -> Vec<Engine> {
        Engine::ALL
            .into_iter()
            .filter(|e| e.is_available())
            .collect()
    }

    /// Whether this CPU can run the engine.
    pub fn is_available(self) -> bool {
        self.cpu_has()
    }

    /// The fastest engine this CPU can run.
    pub fn detect() -> Engine {
        *Engine::available().last().unwrap_or(&Engine::Scalar)
    }

    /// Parses a `PHASH_MD5_ENGINE` value: `None` for `auto` (or empty).
    pub fn parse(value: &str) -> Result<Option<Engine>, EngineChoiceError> {
        let engine = match value.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => return Ok(None),
            "scalar" => Engine::Scalar,
            "avx2" => Engine::Avx2,
            "avx512" => Engine::Avx512,
            _ => return Err(EngineChoiceError::Unknown(value.to_string())),
        };
        if engine.is_available() {
            Ok(Some(engine))
        } else {
            Err(EngineChoiceError::Unavailable(engine))
        }
    }

    /// What `PHASH_MD5_ENGINE` asks for, checked against this CPU; `Ok(None)` when unset or
    /// `auto`. For a binary that wants to reject a bad value up front.
    pub fn from_env() -> Result<Option<Engine>, EngineChoiceError> {
        match std::env::var(ENV) {
            Ok(v) => Engine::parse(&v),
            Err(_) => Ok(None),
        }
    }

    /// The engine for this process: `PHASH_MD5_ENGINE` if it names an available engine,
    /// else the fastest one. Read once; a bad value falls back to detection (see
    /// [`Engine::from_env`] to report it).
    pub fn selected() -> Engine {
        static SELECTED: OnceLock<Engine> = OnceLock::new();
        *SELECTED.get_or_init(|| {
            Engine::from_env()
                .ok()
                .flatten()
                .unwrap_or_else(Engine::detect)
        })
    }

    /// Lane slots of a [`super::Lanes`] on this engine, each [`super::CHUNK`] bytes: the
    /// buffer small files are read into, whole, before one `digest_many` call, and the
    /// most files a stream group gathers (streamed [`super::kernel::Kernel::lanes`] at a
    /// time: 32 on AVX-512, 16 on AVX2).
    pub fn width(self) -> usize {
        match self {
            Engine::Scalar => 1,
            Engine::Avx2 => 24,
            Engine::Avx512 => 48,
        }
    }

    fn cpu_has(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            match self {
                Engine::Scalar => true,
                Engine::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
                Engine::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            self == Engine::Scalar
        }
    }
}
