//! Text-to-speech for prompts: the `Tts` trait the media role calls, an espeak-ng engine
//! (Debian `espeak-ng`, run as a child process, output resampled to 8 kHz) and a disk cache
//! keyed by a hash of engine, text, voice and language. Calls block: run them off the media
//! clock (e.g. `spawn_blocking`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::wav::{load_wav_8k, wav_to_vec, WavError, WavFormat};

/// Longest text accepted in one request, in bytes.
pub const MAX_TEXT_LEN: usize = 8192;

/// Why speech could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TtsError {
    /// The request itself is unusable (empty or long text, odd voice or language name).
    #[error("bad tts request: {0}")]
    BadRequest(String),
    /// The engine could not be started (not installed?).
    #[error("tts engine unavailable: {0}")]
    Unavailable(String),
    /// The engine ran and failed.
    #[error("tts engine failed: {0}")]
    Failed(String),
    /// The engine's audio could not be decoded.
    #[error("tts audio unreadable: {0}")]
    Audio(#[from] WavError),
    /// The cache directory could not be used.
    #[error("tts cache: {0}")]
    Cache(String),
}

/// What to say and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TtsRequest<'a> {
    /// The text.
    pub text: &'a str,
    /// Engine voice or variant (`""` for the language's default).
    pub voice: &'a str,
    /// Language tag, e.g. `en-us`, `de`, `fr`.
    pub language: &'a str,
}

/// A speech engine producing 8 kHz mono linear audio.
pub trait Tts: Send + Sync {
    /// A short stable name, part of the cache key.
    fn name(&self) -> &str;

    /// Synthesises the request (blocking).
    fn synthesize(&self, request: &TtsRequest<'_>) -> Result<Arc<[i16]>, TtsError>;
}

/// Voice and language names: letters, digits, `-`, `_`, `+`, not starting with `-`.
fn check_name(kind: &str, name: &str) -> Result<(), TtsError> {
    let ok = name.len() <= 64
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+'));
    if ok {
        Ok(())
    } else {
        Err(TtsError::BadRequest(format!(
            "{kind} {name:?} is not a valid name"
        )))
    }
}

fn check_request(request: &TtsRequest<'_>) -> Result<(), TtsError> {
    if request.text.trim().is_empty() {
        return Err(TtsError::BadRequest("text is empty".into()));
    }
    if request.text.len() > MAX_TEXT_LEN {
        return Err(TtsError::BadRequest(format!(
            "text is longer than {MAX_TEXT_LEN} bytes"
        )));
    }
    check_name("voice", request.voice)?;
    check_name("language", request.language)?;
    if request.language.is_empty() {
        return Err(TtsError::BadRequest("language is empty".into()));
    }
    Ok(())
}

/// The espeak-ng engine (22.05 kHz output, resampled to 8 kHz).
#[derive(Debug, Clone)]
pub struct EspeakTts {
    binary: PathBuf,
    words_per_minute: u32,
}

impl Default for EspeakTts {
    fn default() -> Self {
        EspeakTts {
            binary: PathBuf::from("espeak-ng"),
            words_per_minute: 160,
        }
    }
}

impl EspeakTts {
    /// An engine running `binary` at `words_per_minute` (espeak's default is 175).
    pub fn new(binary: impl Into<PathBuf>, words_per_minute: u32) -> Self {
        EspeakTts {
            binary: binary.into(),
            words_per_minute: words_per_minute.clamp(80, 450),
        }
    }
}

impl Tts for EspeakTts {
    fn name(&self) -> &str {
        "espeak-ng"
    }

    fn synthesize(&self, request: &TtsRequest<'_>) -> Result<Arc<[i16]>, TtsError> {
        check_request(request)?;
        let voice = if request.voice.is_empty() {
            request.language.to_string()
        } else {
            format!("{}+{}", request.language, request.voice)
        };
        // text goes through stdin so it can never be read as an option
        let mut child = Command::new(&self.binary)
            .args([
                "--stdin",
                "--stdout",
                "-v",
                &voice,
                "-s",
                &self.words_per_minute.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| TtsError::Unavailable(format!("{}: {e}", self.binary.display())))?;
        let mut stdin = child
            .stdin
            .take()
            .ok_or_else(|| TtsError::Failed("no stdin".into()))?;
        let text = request.text.to_string();
        // write from a thread so a large output cannot deadlock against a full input pipe
        let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
        let output = child
            .wait_with_output()
            .map_err(|e| TtsError::Failed(e.to_string()))?;
        let wrote = writer
            .join()
            .map_err(|_| TtsError::Failed("stdin writer panicked".into()))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(TtsError::Failed(format!(
                "{}: {}",
                output.status,
                stderr.trim()
            )));
        }
        wrote.map_err(|e| TtsError::Failed(format!("writing text: {e}")))?;
        if output.stdout.is_empty() {
            return Err(TtsError::Failed(format!("no audio for voice {voice:?}")));
        }
        Ok(load_wav_8k(&output.stdout)?.into())
    }
}

/// Cache key of a request for an engine: hex SHA-256 of the fields, NUL-separated.
pub fn cache_key(engine: &str, request: &TtsRequest<'_>) -> String {
    let mut h = Sha256::new();
    for part in [engine, request.text, request.voice, request.language] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Wraps an engine with a directory of 8 kHz WAV files, one per request hash.
#[derive(Debug, Clone)]
pub struct CachedTts<T> {
    inner: T,
    dir: PathBuf,
}

impl<T: Tts> CachedTts<T> {
    /// Caches `inner`'s results in `dir` (created if missing).
    pub fn new(inner: T, dir: impl Into<PathBuf>) -> Result<Self, TtsError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)
            .map_err(|e| TtsError::Cache(format!("{}: {e}", dir.display())))?;
        Ok(CachedTts { inner, dir })
    }

    /// Path of a request's cache file.
    pub fn path_for(&self, request: &TtsRequest<'_>) -> PathBuf {
        self.dir
            .join(format!("{}.wav", cache_key(self.inner.name(), request)))
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl<T: Tts> Tts for CachedTts<T> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn synthesize(&self, request: &TtsRequest<'_>) -> Result<Arc<[i16]>, TtsError> {
        check_request(request)?;
        let path = self.path_for(request);
        if let Ok(bytes) = std::fs::read(&path) {
            // a damaged entry is rebuilt rather than failing the prompt
            if let Ok(pcm) = load_wav_8k(&bytes) {
                return Ok(pcm.into());
            }
        }
        let pcm = self.inner.synthesize(request)?;
        let bytes = wav_to_vec(&pcm, WavFormat::Pcm16, 8000)?;
        // write then rename, so concurrent readers never see half a file
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, bytes)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| TtsError::Cache(format!("{}: {e}", path.display())))?;
        Ok(pcm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::frame_rms;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fake engine: one second of a constant level per call, counting its calls.
    #[derive(Default)]
    struct Counting(AtomicUsize);

    impl Tts for &Counting {
        fn name(&self) -> &str {
            "counting"
        }

        fn synthesize(&self, request: &TtsRequest<'_>) -> Result<Arc<[i16]>, TtsError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(vec![request.text.len() as i16; 8000].into())
        }
    }

    fn req<'a>(text: &'a str, voice: &'a str, language: &'a str) -> TtsRequest<'a> {
        TtsRequest {
            text,
            voice,
            language,
        }
    }

    #[test]
    fn cache_hits_skip_the_engine() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Counting::default();
        let tts = CachedTts::new(&engine, dir.path().join("tts")).unwrap();
        let a = tts.synthesize(&req("hello", "", "en")).unwrap();
        let b = tts.synthesize(&req("hello", "", "en")).unwrap();
        assert_eq!(a, b);
        assert_eq!(engine.0.load(Ordering::SeqCst), 1);
        // voice and language are part of the key
        tts.synthesize(&req("hello", "f3", "en")).unwrap();
        tts.synthesize(&req("hello", "", "de")).unwrap();
        assert_eq!(engine.0.load(Ordering::SeqCst), 3);
        assert!(tts.path_for(&req("hello", "", "en")).exists());
        // a corrupt entry is rebuilt
        std::fs::write(tts.path_for(&req("hello", "", "en")), b"junk").unwrap();
        assert_eq!(tts.synthesize(&req("hello", "", "en")).unwrap().len(), 8000);
        assert_eq!(engine.0.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn keys_and_bad_requests() {
        let k = cache_key("e", &req("a", "", "en"));
        assert_eq!(k.len(), 64);
        assert_ne!(k, cache_key("e", &req("a\0", "", "en")));
        assert_ne!(k, cache_key("e", &req("a", "", "en-us")));
        let dir = tempfile::tempdir().unwrap();
        let engine = Counting::default();
        let tts = CachedTts::new(&engine, dir.path()).unwrap();
        for bad in [
            req("", "", "en"),
            req("x", "-v", "en"),
            req("x", "", "en us"),
            req("x", "", ""),
        ] {
            assert!(
                matches!(tts.synthesize(&bad), Err(TtsError::BadRequest(_))),
                "{bad:?}"
            );
        }
        assert_eq!(engine.0.load(Ordering::SeqCst), 0);
        assert!(matches!(
            check_request(&req(&"a".repeat(MAX_TEXT_LEN + 1), "", "en")),
            Err(TtsError::BadRequest(_))
        ));
        let missing = EspeakTts::new("/nonexistent/espeak-ng", 160);
        assert!(matches!(
            missing.synthesize(&req("hi", "", "en")),
            Err(TtsError::Unavailable(_))
        ));
    }

    /// The espeak-ng binary; this test needs it (scripts/test installs Debian's `espeak-ng`).
    fn espeak() -> EspeakTts {
        let found = Command::new("espeak-ng")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok();
        assert!(
            found,
            "espeak-ng is not installed: apt-get install espeak-ng (scripts/test does it)"
        );
        EspeakTts::default()
    }

    #[test]
    fn espeak_speaks_with_plausible_duration_and_energy() {
        let tts = espeak();
        let short = tts.synthesize(&req("Hello.", "", "en-us")).unwrap();
        let sentence =
            "Welcome to voxbin. Please enter your four digit code, then press the pound key.";
        let long = tts.synthesize(&req(sentence, "", "en-us")).unwrap();
        let secs = |pcm: &[i16]| pcm.len() as f64 / 8000.0;
        assert!(
            (0.3..2.0).contains(&secs(&short)),
            "short prompt {} s",
            secs(&short)
        );
        // 14 words at 160 words per minute is about 5 s, plus pauses
        assert!(
            (3.0..9.0).contains(&secs(&long)),
            "long prompt {} s",
            secs(&long)
        );
        // speech, not silence: many 20 ms frames well above the noise floor
        let voiced = long.chunks(160).filter(|f| frame_rms(f) > 500.0).count();
        let frames = long.len() / 160;
        assert!(voiced * 3 > frames, "{voiced} of {frames} frames voiced");
        // another language and a voice variant also work
        let german = tts.synthesize(&req("Guten Tag.", "f3", "de")).unwrap();
        assert!(secs(&german) > 0.3);
        assert!(matches!(
            tts.synthesize(&req("x", "", "zz-nolang")),
            Err(TtsError::Failed(_))
        ));
    }
}
