//! Sound: the PC speaker's samples, played on the host's sound device (cpal, with the
//! `audio` feature) and/or recorded to a WAV file (`--speaker-wav FILE`).
//!
//! The speaker model renders exact samples for each slice of virtual time; the front end
//! hands them here after every slice. Playback keeps a short queue the sound device drains; a
//! machine running faster than real time drops what the device cannot take, a slower one
//! lets the device play silence. Where no sound device exists the speaker is silent and one
//! notice says so.

use crate::machine::Pc;
use std::path::{Path, PathBuf};

/// The sample rate of recordings (and of playback when the device allows it).
pub const SAMPLE_RATE: u32 = 44_100;

/// Where speaker samples go.
pub struct Audio {
    wav: Option<(PathBuf, hound::WavWriter<std::io::BufWriter<std::fs::File>>)>,
    #[cfg(feature = "audio")]
    player: Option<player::Player>,
    buf: Vec<f32>,
}

impl Audio {
    /// Records to `wav` (if given) and plays on the sound device when `play` is set and the
    /// `audio` feature is built in.
    pub fn new(wav: Option<&Path>, play: bool) -> anyhow::Result<Audio> {
        let wav = match wav {
            Some(p) => {
                let spec = hound::WavSpec {
                    channels: 1,
                    sample_rate: SAMPLE_RATE,
                    bits_per_sample: 16,
                    sample_format: hound::SampleFormat::Int,
                };
                let w = hound::WavWriter::create(p, spec)
                    .map_err(|e| anyhow::anyhow!("--speaker-wav {}: {e}", p.display()))?;
                Some((p.to_path_buf(), w))
            }
            None => None,
        };
        #[cfg(not(feature = "audio"))]
        let _ = play;
        Ok(Audio {
            wav,
            #[cfg(feature = "audio")]
            player: if play { player::Player::open() } else { None },
            buf: Vec::new(),
        })
    }

    /// Whether anything listens (so the front end renders samples at all).
    pub fn active(&self) -> bool {
        #[cfg(feature = "audio")]
        if self.player.is_some() {
            return true;
        }
        self.wav.is_some()
    }

    /// Takes the speaker's samples up to the machine's present.
    pub fn pump(&mut self, pc: &mut Pc) -> anyhow::Result<()> {
        if !self.active() {
            return Ok(());
        }
        self.buf.clear();
        let now = glassbox_devices::Cycles(pc.cpu.cycles);
        pc.board
            .platform
            .speaker
            .render(now, SAMPLE_RATE, &mut self.buf);
        if let Some((path, w)) = self.wav.as_mut() {
            for &s in &self.buf {
                let v = (s.clamp(-1.0, 1.0) * i16::MAX as f32) as i16;
                w.write_sample(v)
                    .map_err(|e| anyhow::anyhow!("--speaker-wav {}: {e}", path.display()))?;
            }
        }
        #[cfg(feature = "audio")]
        if let Some(p) = self.player.as_mut() {
            p.push(&self.buf);
        }
        Ok(())
    }

    /// Finishes the WAV file.
    pub fn finish(self) -> anyhow::Result<()> {
        if let Some((path, w)) = self.wav {
            w.finalize()
                .map_err(|e| anyhow::anyhow!("--speaker-wav {}: {e}", path.display()))?;
        }
        Ok(())
    }
}

#[cfg(feature = "audio")]
mod player {
    //! Playback through cpal.

    use super::SAMPLE_RATE;
    use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    /// At most this many samples wait for the device (a quarter second).
    const QUEUE: usize = SAMPLE_RATE as usize / 4;

    pub struct Player {
        queue: Arc<Mutex<VecDeque<f32>>>,
        _stream: cpal::Stream,
    }

    impl Player {
        /// The default output device, or `None` (with one notice) when there is none.
        pub fn open() -> Option<Player> {
            match Player::try_open() {
                Ok(p) => Some(p),
                Err(e) => {
                    eprintln!("glassbox: no sound ({e}); the PC speaker is silent");
                    None
                }
            }
        }

        fn try_open() -> Result<Player, String> {
            let host = cpal::default_host();
            let device = host.default_output_device().ok_or("no output device")?;
            let config = cpal::StreamConfig {
                channels: 1,
                sample_rate: cpal::SampleRate(SAMPLE_RATE),
                buffer_size: cpal::BufferSize::Default,
            };
            let queue = Arc::new(Mutex::new(VecDeque::with_capacity(QUEUE)));
            let q = queue.clone();
            let stream = device
                .build_output_stream(
                    &config,
                    move |out: &mut [f32], _| {
                        let mut q = q.lock().unwrap_or_else(|e| e.into_inner());
                        for s in out.iter_mut() {
                            *s = q.pop_front().unwrap_or(0.0);
                        }
                    },
                    |e| log::warn!("sound: {e}"),
                    None,
                )
                .map_err(|e| e.to_string())?;
            stream.play().map_err(|e| e.to_string())?;
            Ok(Player {
                queue,
                _stream: stream,
            })
        }

        pub fn push(&mut self, samples: &[f32]) {
            let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            for &s in samples {
                if q.len() >= QUEUE {
                    q.pop_front();
                }
                q.push_back(s);
            }
        }
    }
}
