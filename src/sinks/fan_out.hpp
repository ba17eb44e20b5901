#pragma once
/// An EventSink that forwards every event to several sinks, in the order added.
#include <vector>

#include "calls/model.hpp"

namespace aa::sinks {

class FanOut final : public calls::EventSink {
 public:
  FanOut() = default;
  /// `sink` must outlive this FanOut (or be removed first).
  void add(calls::EventSink& sink) { sinks_.push_back(&sink); }
  void remove(calls::EventSink& sink) { std::erase(sinks_, &sink); }
  void publish(const calls::DomainEvent& e) override {
    for (auto* s : sinks_) s->publish(e);
  }
  size_t size() const { return sinks_.size(); }

 private:
  std::vector<calls::EventSink*> sinks_;
};

}  // namespace aa::sinks
