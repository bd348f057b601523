//! WAV files for prompts and recordings: reading PCM/G.711 WAVs at any rate into 8 kHz mono,
//! resampling, and a streaming writer that fixes its header when finished.

pub mod reader;
pub mod resample;
pub mod writer;

pub use reader::{decode_wav, load_wav_8k, parse_wav, DecodedWav, WavError, WavFormat, WavInfo};
pub use resample::{downmix, resample_to_8k};
pub use writer::{wav_to_vec, WavWriter};
