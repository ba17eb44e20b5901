// Stored and live recordings, and endpoints: pass-through to ARI with our
// error mapping.
#include "calls/call_manager_impl.hpp"

namespace aa::calls {

awaitable<Outcome<std::vector<ari::StoredRecording>>> CallManager::list_recordings() {
  auto& im = *impl_;
  if (auto s = im.require_ari(); !s) co_return s.error();
  auto r = co_await im.ari.list_stored_recordings();
  if (!r.ok()) co_return from_ari(r.error, ErrorCode::recording_not_found, "Recording");
  co_return std::move(*r);
}

awaitable<Outcome<ari::StoredRecording>> CallManager::get_recording(std::string name) {
  auto& im = *impl_;
  if (auto s = im.require_ari(); !s) co_return s.error();
  auto r = co_await im.ari.get_stored_recording(name);
  if (!r.ok()) co_return from_ari(r.error, ErrorCode::recording_not_found, "Recording");
  co_return std::move(*r);
}

awaitable<Outcome<std::string>> CallManager::download_recording(std::string name,
                                                                std::string file_path) {
  auto& im = *impl_;
  if (auto s = im.require_ari(); !s) co_return s.error();
  auto r = co_await im.ari.download_stored_recording(name, file_path);
  if (!r.ok()) co_return from_ari(r.error, ErrorCode::recording_not_found, "Recording");
  co_return std::move(*r);
}

awaitable<Outcome<ari::StoredRecording>> CallManager::copy_recording(std::string name,
                                                                     std::string dest) {
  auto& im = *impl_;
  if (auto s = im.require_ari(); !s) co_return s.error();
  auto r = co_await im.ari.copy_stored_recording(name, dest);
  if (!r.ok()) {
    if (r.error.kind == ari::AriError::Kind::http && r.error.status == 409)
      co_return Error(ErrorCode::recording_exists, "A recording named " + dest + " already exists");
    co_return from_ari(r.error, ErrorCode::recording_not_found, "Recording");
  }
  co_return std::move(*r);
}

awaitable<Status> CallManager::delete_recording(std::string name) {
  auto& im = *impl_;
  if (auto s = im.require_ari(); !s) co_return s.error();
  auto r = co_await im.ari.delete_stored_recording(name);
  if (!r.ok()) co_return from_ari(r.error, ErrorCode::recording_not_found, "Recording");
  co_return ok_status();
}

awaitable<Status> CallManager::stop_recording(std::string name) {
  auto& im = *impl_;
  if (auto s = im.require_ari(); !s) co_return s.error();
  auto r = co_await im.ari.stop_live_recording(name);
  if (!r.ok()) co_return from_ari(r.error, ErrorCode::recording_not_found, "Live recording");
  co_return ok_status();
}

awaitable<Outcome<std::vector<ari::Endpoint>>> CallManager::list_endpoints() {
  auto& im = *impl_;
  if (auto s = im.require_ari(); !s) co_return s.error();
  auto r = co_await im.ari.list_endpoints();
  if (!r.ok()) co_return from_ari(r.error, ErrorCode::endpoint_not_found, "Endpoint");
  co_return std::move(*r);
}
}  // namespace aa::calls
