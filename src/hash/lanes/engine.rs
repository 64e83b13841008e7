//! Which MD5 code path runs: picked once per process from what the CPU has, or forced with
//! `PHASH_MD5_ENGINE=scalar|avx2|avx512|auto` so every path can be tested and measured on a
//! machine that has it.
//!
//! The SIMD paths are md5-many's multi-buffer kernels, which it selects from a
//! `fearless_simd::Level`: we hand it the level we want instead of letting it detect one, so
//! "avx2" on an AVX-512 machine really runs the AVX2 kernels. A path is available only when
//! the level is (fearless_simd's AVX-512 level wants the whole Ice Lake feature set, so some
//! virtual machines that show `avx512f` still only get AVX2).

use std::sync::OnceLock;

use fearless_simd::Level;

/// The environment variable that forces an engine.
pub const ENV: &str = "PHASH_MD5_ENGINE";

/// An MD5 code path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Engine {
    /// One stream at a time, md5-many's single-stream compressor (no SIMD lanes).
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
        self == Engine::Scalar || self.level().is_some()
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

    /// Whole small files hashed at once by a [`super::Lanes`] on this engine: md5-many's
    /// `hash_many` interleaves up to three register sets of lanes (3 x 8 on AVX2, 3 x 16 on
    /// AVX-512), which hides the latency of MD5's serial dependency chain; measured on
    /// AVX2, 24 streams give about 1.5 x the throughput of 8 (benches/md5_engines.rs).
    /// Streamed files use at most two register sets (see `kernel`).
    pub fn width(self) -> usize {
        match self {
            Engine::Scalar => 1,
            Engine::Avx2 => 24,
            Engine::Avx512 => 48,
        }
    }

    /// The md5-many batch engine for a SIMD path; `None` for scalar or when unavailable.
    pub(super) fn many(self) -> Option<md5_many::Md5Many> {
        self.level().map(md5_many::Md5Many::from_level)
    }

    fn level(self) -> Option<Level> {
        let detected = Level::new();
        match self {
            Engine::Scalar => None,
            Engine::Avx2 => detected.as_avx2().map(Level::Avx2),
            Engine::Avx512 => detected.as_avx512().map(Level::Avx512),
        }
    }
}
