//! Turns play requests into audio the worker can play: WAV files and downloaded URLs decoded
//! to 8 kHz (kept in a small shared cache so a thousand calls playing one prompt share one
//! buffer), speech from the TTS engine, and generated tones.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::g711::{Frame, FRAME_SAMPLES};
use crate::player::Source;
use crate::tone::{ToneGenerator, ToneSpec};
use crate::tts::{Tts, TtsRequest};
use crate::wav::load_wav_8k;

use super::config::EngineConfig;
use super::error::EngineError;
use super::fetch::Fetcher;
use super::ops::PlaySource;

/// Decoded prompts kept in memory (by path or URL); beyond this the cache is emptied.
const PROMPT_CACHE_ENTRIES: usize = 256;
/// Longest silence or tone accepted in one request.
const MAX_GENERATED: Duration = Duration::from_secs(3600);

/// Loads and caches prompt audio.
pub(crate) struct AudioLoader {
    tts: Arc<dyn Tts>,
    fetcher: Fetcher,
    prompts: Mutex<HashMap<String, Arc<[i16]>>>,
}

fn tone_source(spec: ToneSpec) -> Source {
    Source::Tone(spec)
}

/// Renders a finite tone into samples (for concatenation with other pieces).
fn render(spec: ToneSpec, out: &mut Vec<i16>) {
    let mut g = ToneGenerator::new(spec);
    let mut f: Frame = [0; FRAME_SAMPLES];
    while !g.finished() {
        let n = g.fill(&mut f);
        out.extend_from_slice(&f[..n.min(FRAME_SAMPLES)]);
        if n == 0 {
            break;
        }
    }
}

fn ms_of(d: Duration) -> Result<u32, EngineError> {
    if d.is_zero() || d > MAX_GENERATED {
        return Err(EngineError::BadRequest(format!(
            "duration {d:?} is not in 1 ms..1 h"
        )));
    }
    Ok(d.as_millis() as u32)
}

fn tone_of(source: &PlaySource) -> Result<Option<ToneSpec>, EngineError> {
    Ok(match source {
        PlaySource::Beep => Some(ToneSpec::beep()),
        PlaySource::Ringback => Some(ToneSpec::ringback()),
        PlaySource::Silence(d) => Some(ToneSpec::silence(ms_of(*d)?)),
        PlaySource::DtmfTone { digit, duration } => Some(
            ToneSpec::dtmf(*digit, ms_of(*duration)?)
                .map_err(|e| EngineError::BadRequest(e.to_string()))?,
        ),
        _ => None,
    })
}

impl AudioLoader {
    /// A loader using the configured TTS engine and download cache.
    pub fn new(config: &EngineConfig) -> Result<Self, EngineError> {
        Ok(AudioLoader {
            tts: config.tts.clone(),
            fetcher: Fetcher::new(config.media_dir.clone(), config.max_download)?,
            prompts: Mutex::new(HashMap::new()),
        })
    }

    /// Music on hold: the configured WAV, or a soft 440+480 Hz pattern (2 s on, 4 s off).
    pub fn music_on_hold(&self, path: Option<&Path>) -> Result<Source, EngineError> {
        match path {
            Some(p) => {
                let bytes = std::fs::read(p).map_err(|e| {
                    EngineError::Config(format!("music_on_hold: {}: {e}", p.display()))
                })?;
                let pcm = load_wav_8k(&bytes).map_err(|e| {
                    EngineError::Config(format!("music_on_hold: {}: {e}", p.display()))
                })?;
                if pcm.is_empty() {
                    return Err(EngineError::Config(format!(
                        "music_on_hold: {} holds no audio",
                        p.display()
                    )));
                }
                Ok(Source::Pcm(pcm.into()))
            }
            None => Ok(tone_source(ToneSpec {
                amplitude: 2000.0,
                ..ToneSpec::ringback()
            })),
        }
    }

    fn cached(&self, key: &str) -> Option<Arc<[i16]>> {
        self.prompts.lock().get(key).cloned()
    }

    fn remember(&self, key: String, pcm: Arc<[i16]>) {
        let mut prompts = self.prompts.lock();
        if prompts.len() >= PROMPT_CACHE_ENTRIES {
            prompts.clear();
        }
        prompts.insert(key, pcm);
    }

    async fn file(&self, path: &Path) -> Result<Arc<[i16]>, EngineError> {
        let meta = tokio::fs::metadata(path)
            .await
            .map_err(|e| EngineError::Media(format!("{}: {e}", path.display())))?;
        // the key changes when the file does
        let key = format!(
            "file:{}:{}:{:?}",
            path.display(),
            meta.len(),
            meta.modified().ok()
        );
        if let Some(pcm) = self.cached(&key) {
            return Ok(pcm);
        }
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|e| EngineError::Media(format!("{}: {e}", path.display())))?;
        let pcm = decode(bytes, path.display().to_string()).await?;
        self.remember(key, pcm.clone());
        Ok(pcm)
    }

    async fn url(&self, url: &str) -> Result<Arc<[i16]>, EngineError> {
        let key = format!("url:{url}");
        if let Some(pcm) = self.cached(&key) {
            return Ok(pcm);
        }
        let path = self.fetcher.fetch(url).await?;
        let bytes = tokio::fs::read(&path)
            .await
            .map_err(|e| EngineError::Media(format!("{}: {e}", path.display())))?;
        let pcm = decode(bytes, url.to_string()).await?;
        self.remember(key, pcm.clone());
        Ok(pcm)
    }

    async fn speech(
        &self,
        text: &str,
        voice: &str,
        language: &str,
    ) -> Result<Arc<[i16]>, EngineError> {
        let tts = self.tts.clone();
        let (text, voice, language) = (text.to_string(), voice.to_string(), language.to_string());
        tokio::task::spawn_blocking(move || {
            tts.synthesize(&TtsRequest {
                text: &text,
                voice: &voice,
                language: &language,
            })
        })
        .await
        .map_err(|e| EngineError::Media(format!("tts task: {e}")))?
        .map_err(|e| match e {
            crate::tts::TtsError::BadRequest(m) => EngineError::BadRequest(m),
            other => EngineError::Media(other.to_string()),
        })
    }

    /// The audio of a play request: one tone stays a generated tone; anything else becomes
    /// one buffer (shared, not copied, when it is a single cached prompt).
    pub async fn load(&self, sources: &[PlaySource]) -> Result<Source, EngineError> {
        if sources.is_empty() {
            return Err(EngineError::BadRequest("nothing to play".into()));
        }
        if let [single] = sources {
            if let Some(spec) = tone_of(single)? {
                return Ok(tone_source(spec));
            }
        }
        let mut pieces: Vec<Arc<[i16]>> = Vec::with_capacity(sources.len());
        for source in sources {
            let pcm = match source {
                PlaySource::File(path) => self.file(path).await?,
                PlaySource::Url(url) => self.url(url).await?,
                PlaySource::Speech {
                    text,
                    voice,
                    language,
                } => self.speech(text, voice, language).await?,
                PlaySource::Ringback => {
                    // endless: rendering it into a list would never finish
                    return Err(EngineError::BadRequest(
                        "ringback plays alone, not in a list".into(),
                    ));
                }
                tone => {
                    let mut v = Vec::new();
                    if let Some(spec) = tone_of(tone)? {
                        render(spec, &mut v);
                    }
                    v.into()
                }
            };
            pieces.push(pcm);
        }
        if pieces.len() == 1 {
            return Ok(Source::Pcm(pieces.remove(0)));
        }
        let total = pieces.iter().map(|p| p.len()).sum();
        let mut all = Vec::with_capacity(total);
        for p in &pieces {
            all.extend_from_slice(p);
        }
        Ok(Source::Pcm(all.into()))
    }
}

async fn decode(bytes: Vec<u8>, name: String) -> Result<Arc<[i16]>, EngineError> {
    tokio::task::spawn_blocking(move || {
        load_wav_8k(&bytes)
            .map(Arc::from)
            .map_err(|e| EngineError::Media(format!("{name}: {e}")))
    })
    .await
    .map_err(|e| EngineError::Media(format!("decode task: {e}")))?
}
