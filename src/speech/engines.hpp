#pragma once
/// Engine selection from the configuration (TTS_ENGINE / ASR_ENGINE and the
/// variables in speech_options.hpp). The service builds one TTS and one ASR
/// engine at start and shares them between calls.
#include <memory>
#include <string>

#include "common/asio.hpp"
#include "common/error.hpp"
#include "common/worker_pool.hpp"
#include "speech/asr.hpp"
#include "speech/speech_options.hpp"
#include "speech/tts.hpp"

namespace aa::speech {

/// "flite", "http" or "none": TTS_ENGINE, else http when TTS_URL is set, else flite.
std::string resolved_tts_engine(const SpeechOptions& o);
/// "pocketsphinx", "ws" or "none": ASR_ENGINE, else ws when ASR_URL is set, else pocketsphinx.
std::string resolved_asr_engine(const SpeechOptions& o);

/// The TTS engine the options ask for; null for "none" (speak answers 501).
/// Callbacks go to `io`, work to `pool` (both must outlive the engine).
/// Errors (validation_failed) name the variable: unknown engine, http without TTS_URL.
Outcome<std::shared_ptr<TtsEngine>> make_tts_engine(const SpeechOptions& o,
                                                    asio::any_io_executor io, WorkerPool& pool);
/// The ASR engine; null for "none". PocketSphinx starts loading its first
/// decoder on `pool` at once. Errors (validation_failed) name the variable:
/// unknown engine, ws without ASR_URL, unreadable ASR_GRAMMAR file.
Outcome<std::shared_ptr<AsrEngine>> make_asr_engine(const SpeechOptions& o,
                                                    asio::any_io_executor io, WorkerPool& pool);

}  // namespace aa::speech
