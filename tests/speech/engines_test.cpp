// Engine selection from the configuration.
#include "speech/engines.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "app/config.hpp"
#include "common/worker_pool.hpp"
#include "speech/fakes.hpp"

using namespace aa;
using namespace aa::speech;

TEST(SpeechEngines, DefaultsAreEmbeddedUnlessAUrlIsSet) {
  SpeechOptions o;
  EXPECT_EQ(resolved_tts_engine(o), "flite");
  EXPECT_EQ(resolved_asr_engine(o), "pocketsphinx");
  o.tts_url = "http://tts:8000";
  o.asr_url = "ws://asr:8001/ws/transcribe";
  EXPECT_EQ(resolved_tts_engine(o), "http");
  EXPECT_EQ(resolved_asr_engine(o), "ws");
  o.tts_engine = "FLITE";
  o.asr_engine = "none";
  EXPECT_EQ(resolved_tts_engine(o), "flite");
  EXPECT_EQ(resolved_asr_engine(o), "none");
}

TEST(SpeechEngines, FactoriesBuildWhatTheOptionsName) {
  aa::test::SpeechRig rig(1);
  auto& io = rig.io;
  auto& pool = rig.pool;
  SpeechOptions o;
  o.tts_default_voice = "kal16";
  auto flite = make_tts_engine(o, io.get_executor(), pool);
  ASSERT_TRUE(flite.ok());
  EXPECT_EQ((*flite)->name(), "flite");
  EXPECT_EQ((*flite)->default_voice(), "kal16");

  o.tts_url = "http://127.0.0.1:9";
  o.tts_default_voice.clear();
  auto http = make_tts_engine(o, io.get_executor(), pool);
  ASSERT_TRUE(http.ok());
  EXPECT_EQ((*http)->name(), "http");
  EXPECT_EQ((*http)->default_voice(), "vivian");

  o.tts_engine = "none";
  auto none = make_tts_engine(o, io.get_executor(), pool);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, nullptr);

  o.asr_url = "ws://127.0.0.1:9/ws";
  auto ws = make_asr_engine(o, io.get_executor(), pool);
  ASSERT_TRUE(ws.ok());
  EXPECT_EQ((*ws)->name(), "ws");
  o.asr_engine = "none";
  EXPECT_EQ(*make_asr_engine(o, io.get_executor(), pool), nullptr);

  o.asr_engine = "pocketsphinx";
  o.asr_grammar_file = "/nonexistent/grammar.jsgf";
  auto bad = make_asr_engine(o, io.get_executor(), pool);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("ASR_GRAMMAR"), std::string::npos);

  SpeechOptions wrong;
  wrong.tts_engine = "espeak";
  wrong.asr_engine = "whisper";
  EXPECT_FALSE(make_tts_engine(wrong, io.get_executor(), pool).ok());
  EXPECT_FALSE(make_asr_engine(wrong, io.get_executor(), pool).ok());
  wrong.tts_engine = "http";
  wrong.asr_engine = "ws";
  EXPECT_NE(make_tts_engine(wrong, io.get_executor(), pool).error().message.find("TTS_URL"),
            std::string::npos);
  EXPECT_NE(make_asr_engine(wrong, io.get_executor(), pool).error().message.find("ASR_URL"),
            std::string::npos);
}

TEST(SpeechConfig, VariablesAreParsedAndBadValuesNameTheVariable) {
  auto ok = app::load_config({{"TTS_URL", "http://tts:8000/"},
                              {"TTS_DEFAULT_VOICE", "serena"},
                              {"TTS_DEFAULT_LANGUAGE", "German"},
                              {"TTS_TIMEOUT_MS", "45000"},
                              {"ASR_URL", "wss://asr.example/ws/transcribe"},
                              {"ASR_LANGUAGE", "auto"},
                              {"ASR_MAX_SESSIONS", "12"}});
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  const auto& s = ok->speech;
  EXPECT_EQ(s.tts_url, "http://tts:8000");
  EXPECT_EQ(resolved_tts_engine(s), "http");
  EXPECT_EQ(s.tts_default_voice, "serena");
  EXPECT_EQ(s.tts_default_language, "German");
  EXPECT_EQ(s.tts_timeout, std::chrono::milliseconds(45000));
  EXPECT_EQ(resolved_asr_engine(s), "ws");
  EXPECT_EQ(s.asr_language, "auto");
  EXPECT_EQ(s.asr_max_sessions, 12u);

  auto defaults = app::load_config({});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(resolved_tts_engine(defaults->speech), "flite");
  EXPECT_EQ(resolved_asr_engine(defaults->speech), "pocketsphinx");
  EXPECT_EQ(defaults->speech.tts_timeout, std::chrono::milliseconds(30000));
  EXPECT_EQ(defaults->speech.asr_language, "English");

  const std::pair<const char*, const char*> bad[] = {{"TTS_ENGINE", "espeak"},
                                                     {"TTS_URL", "ftp://x"},
                                                     {"TTS_TIMEOUT_MS", "0"},
                                                     {"ASR_ENGINE", "vosk"},
                                                     {"ASR_URL", "http://asr:8001"},
                                                     {"ASR_MAX_SESSIONS", "0"},
                                                     {"ASR_GRAMMAR", "/nonexistent/g.jsgf"}};
  for (const auto& [k, v] : bad) {
    auto r = app::load_config({{k, v}});
    ASSERT_FALSE(r.ok()) << k;
    EXPECT_EQ(r.error().message.rfind(std::string(k) + ":", 0), 0u) << r.error().message;
  }
  auto http_without_url = app::load_config({{"TTS_ENGINE", "http"}});
  ASSERT_FALSE(http_without_url.ok());
  EXPECT_EQ(http_without_url.error().message.rfind("TTS_URL:", 0), 0u);
  auto ws_without_url = app::load_config({{"ASR_ENGINE", "ws"}});
  ASSERT_FALSE(ws_without_url.ok());
  EXPECT_EQ(ws_without_url.error().message.rfind("ASR_URL:", 0), 0u);
  for (const char* v :
       {"TTS_ENGINE", "TTS_URL", "TTS_DEFAULT_VOICE", "TTS_DEFAULT_LANGUAGE", "TTS_TIMEOUT_MS",
        "ASR_ENGINE", "ASR_URL", "ASR_LANGUAGE", "ASR_GRAMMAR", "ASR_MAX_SESSIONS"})
    EXPECT_NE(app::describe_variables().find(v), std::string::npos) << v;
}
