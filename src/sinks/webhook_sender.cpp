#include "sinks/webhook_sender.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <deque>
#include <map>
#include <random>
#include <stdexcept>
#include <unordered_set>

#include "api/wire.hpp"
#include "common/log.hpp"
#include "common/util.hpp"
#include "net/http_client.hpp"

namespace aa::sinks {

std::string hmac_sha256_hex(std::string_view secret, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 0xf];
  }
  return out;
}

std::string webhook_signature(std::string_view secret, int64_t t, std::string_view body) {
  const std::string ts = std::to_string(t);
  std::string signed_text;
  signed_text.reserve(ts.size() + 1 + body.size());
  signed_text.append(ts).append(".").append(body);
  return "t=" + ts + ",v1=" + hmac_sha256_hex(secret, signed_text) +
         ",sha256=" + hmac_sha256_hex(secret, body);
}

struct WebhookSender::State : std::enable_shared_from_this<WebhookSender::State> {
  asio::any_io_executor ex;
  WebhookOptions opts;
  store::EventStore* store;
  std::optional<Url> url;
  std::string target;  // path + query at the receiver
  std::unique_ptr<net::HttpClient> client;
  asio::steady_timer wake;
  // Pending deliveries per call, oldest first: only a call's first is ever in flight.
  std::map<std::string, std::deque<store::Delivery>> by_call;
  std::unordered_set<std::string> in_flight;  // calls with a delivery in flight
  // Deliveries made for the store whose events are not published yet (in seq order).
  std::deque<std::pair<uint64_t, store::Delivery>> made;
  std::deque<store::Delivery> failed_ring;  // the last failed ones (bounded)
  size_t pending = 0;
  Stats stats;
  bool running = false;
  bool stopped = false;
  bool full_logged = false;
  std::mt19937_64 rng{std::random_device{}()};

  State(asio::any_io_executor e, WebhookOptions o, store::EventStore* s)
      : ex(e), opts(std::move(o)), store(s), wake(e) {
    if (opts.url.empty()) return;
    url = parse_url(opts.url);
    if (!url || (url->scheme != "http" && url->scheme != "https"))
      throw std::invalid_argument("webhook URL is not an http(s) URL: " + opts.url);
    target = url->path.empty() ? "/" : url->path;
    if (target.front() != '/') target.insert(target.begin(), '/');
    net::ClientOptions co;
    co.connect_timeout = opts.timeout;
    co.request_timeout = opts.timeout;
    co.max_idle_connections = std::max<size_t>(opts.concurrency, 1);
    co.max_response_body = 64 * 1024;
    co.user_agent = "asterisk-api-webhook";
    Url base = *url;
    base.path.clear();
    client = std::make_unique<net::HttpClient>(ex, base, co);
  }

  bool has_room() {
    if (pending + made.size() < std::max<size_t>(opts.max_pending, 1)) {
      full_logged = false;
      return true;
    }
    ++stats.dropped;
    if (!full_logged || stats.dropped % 1000 == 0)
      log::error("webhook outbox is full ({} pending): new deliveries are refused ({} so far)",
                 pending, stats.dropped);
    full_logged = true;
    return false;
  }

  store::Delivery make(const calls::DomainEvent& e, std::string_view name) {
    store::Delivery d;
    d.id = e.seq;
    d.call_id = e.call_id;
    d.event = std::string(name);
    d.body = api::webhook_body(e);
    d.status = "pending";
    d.created_ms = now_epoch_ms();
    d.next_at_ms = d.created_ms;
    return d;
  }

  void enqueue(store::Delivery d) {
    auto& q = by_call[d.call_id];
    // In id order (a requeued old delivery goes before newer ones not yet in flight).
    auto it = q.end();
    while (it != q.begin() && std::prev(it)->id > d.id) --it;
    if (it == q.begin() && !q.empty() && in_flight.count(d.call_id))
      ++it;  // never before the one in flight
    q.insert(it, std::move(d));
    ++pending;
    ++stats.enqueued;
    start();
    wake.cancel();
  }

  void start() {
    if (running || stopped || !url) return;
    running = true;
    spawn(ex, dispatcher(shared_from_this()), "webhook dispatcher");
  }

  std::chrono::milliseconds backoff(int attempts) {
    // Exponential with full jitter: a uniform pick in [d/2, d].
    double d = static_cast<double>(opts.retry_base.count());
    for (int i = 1; i < attempts && d < static_cast<double>(opts.retry_max.count()); ++i) d *= 2;
    d = std::min(d, static_cast<double>(opts.retry_max.count()));
    std::uniform_real_distribution<double> pick(d / 2, d);
    return std::chrono::milliseconds(static_cast<int64_t>(pick(rng)));
  }

  void fail(store::Delivery d, const std::string& why) {
    d.status = "failed";
    d.last_error = why;
    ++stats.failed;
    log::warn("webhook {} #{} failed after {} attempts: {}", d.event, d.id, d.attempts, why);
    if (store) store->put_delivery(d);
    failed_ring.push_back(std::move(d));
    if (failed_ring.size() > 1000) failed_ring.pop_front();
  }

  // One attempt of `call_id`'s first delivery; writes the outcome.
  static awaitable<void> attempt(std::shared_ptr<State> self, std::string call_id) {
    store::Delivery d = self->by_call[call_id].front();
    std::vector<net::Header> headers;
    headers.push_back({"X-Webhook-Event", d.event});
    headers.push_back({"X-Event-Id", std::to_string(d.id)});
    headers.push_back({"X-Delivery-Attempt", std::to_string(d.attempts + 1)});
    if (!self->opts.secret.empty())
      headers.push_back(
          {"X-Signature", webhook_signature(self->opts.secret, now_epoch_ms() / 1000, d.body)});
    std::string body = d.body;
    const std::string_view ct = "application/json";
    ++self->stats.attempts;
    if (d.attempts > 0) ++self->stats.retries;
    net::ClientResponse r =
        co_await self->client->request("POST", self->target, std::move(body), ct, headers);
    self->in_flight.erase(call_id);
    self->wake.cancel();
    if (self->stopped) co_return;
    auto it = self->by_call.find(call_id);
    if (it == self->by_call.end() || it->second.empty() || it->second.front().id != d.id) co_return;
    store::Delivery& cur = it->second.front();
    cur.attempts += 1;
    cur.last_status = r.ok() ? r.status : 0;
    auto finish = [&] {
      it->second.pop_front();
      if (it->second.empty()) self->by_call.erase(it);
      --self->pending;
    };
    if (r.ok() && r.status >= 200 && r.status < 300) {
      ++self->stats.delivered;
      if (self->store) self->store->delete_delivery(d.id);
      finish();
      co_return;
    }
    const std::string why =
        r.ok() ? "the receiver answered " + std::to_string(r.status) : r.error_message;
    cur.last_error = why;
    const int64_t now = now_epoch_ms();
    const bool gone = r.ok() && r.status == 410;
    const bool too_old = now - cur.created_ms >= self->opts.max_age.count();
    if (gone || cur.attempts >= self->opts.max_attempts || too_old) {
      store::Delivery done = std::move(cur);
      finish();
      self->fail(std::move(done), gone      ? why + " (410 Gone: not retried)"
                                  : too_old ? why + " (WEBHOOK_MAX_AGE reached)"
                                            : why + " (WEBHOOK_MAX_ATTEMPTS reached)");
      co_return;
    }
    cur.next_at_ms = now + self->backoff(cur.attempts).count();
    if (cur.attempts == 1 || cur.attempts % 5 == 0)
      log::warn("webhook {} #{}: {}; attempt {} in {} ms", cur.event, cur.id, why, cur.attempts + 1,
                cur.next_at_ms - now);
    if (self->store) self->store->put_delivery(cur);
  }

  static awaitable<void> dispatcher(std::shared_ptr<State> self) {
    while (!self->stopped) {
      const int64_t now = now_epoch_ms();
      int64_t soonest = INT64_MAX;
      // The oldest due first delivery of a call that has none in flight.
      const std::string* pick = nullptr;
      uint64_t pick_id = UINT64_MAX;
      if (self->in_flight.size() < std::max<size_t>(self->opts.concurrency, 1)) {
        for (const auto& [call, q] : self->by_call) {
          if (q.empty() || self->in_flight.count(call)) continue;
          const auto& d = q.front();
          if (d.next_at_ms <= now) {
            if (d.id < pick_id) {
              pick_id = d.id;
              pick = &call;
            }
          } else {
            soonest = std::min(soonest, d.next_at_ms);
          }
        }
      }
      if (pick) {
        std::string call = *pick;
        self->in_flight.insert(call);
        spawn(self->ex, attempt(self, call), "webhook attempt");
        continue;
      }
      self->stats.busy = !self->in_flight.empty();
      if (soonest == INT64_MAX)
        self->wake.expires_at(asio::steady_timer::time_point::max());
      else
        self->wake.expires_after(std::chrono::milliseconds(std::max<int64_t>(soonest - now, 1)));
      boost::system::error_code ec;
      co_await self->wake.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    self->running = false;
  }
};

WebhookSender::WebhookSender(asio::any_io_executor ex, WebhookOptions opts,
                             store::EventStore* store)
    : state_(std::make_shared<State>(ex, std::move(opts), store)) {}

WebhookSender::~WebhookSender() {
  stop();
}

bool WebhookSender::enabled() const {
  return state_->url.has_value();
}

size_t WebhookSender::load() {
  auto& st = *state_;
  if (!st.store || !st.url) return 0;
  size_t n = 0;
  uint64_t after = 0;
  for (;;) {
    auto page = st.store->deliveries("pending", 1000, after);
    if (!page) {
      log::error("webhook outbox: cannot read pending deliveries: {}", page.error().message);
      break;
    }
    if (page->empty()) break;
    for (auto& d : *page) {
      after = d.id;
      if (st.pending >= st.opts.max_pending) break;
      st.enqueue(std::move(d));
      ++n;
    }
    if (st.pending >= st.opts.max_pending) break;
  }
  st.stats.enqueued -= n;  // taken back, not new
  if (n > 0) log::info("webhook outbox: {} pending deliveries taken back from the store", n);
  return n;
}

std::optional<store::Delivery> WebhookSender::make_delivery(const calls::DomainEvent& e) {
  auto& st = *state_;
  if (!st.url || st.stopped) return std::nullopt;
  const std::string_view name = api::webhook_event_name(e);
  if (name.substr(0, 5) != "call.") return std::nullopt;
  if (!st.has_room()) return std::nullopt;
  store::Delivery d = st.make(e, name);
  st.made.emplace_back(e.seq, d);
  return d;
}

void WebhookSender::publish(const calls::DomainEvent& e) {
  auto& st = *state_;
  if (!st.url || st.stopped) return;
  // Made for the store: queue it now that its event is committed.
  while (!st.made.empty() && st.made.front().first < e.seq) st.made.pop_front();
  if (!st.made.empty() && st.made.front().first == e.seq) {
    store::Delivery d = std::move(st.made.front().second);
    st.made.pop_front();
    st.enqueue(std::move(d));
    return;
  }
  if (st.store) return;  // the store path decided: not a webhook, or refused
  const std::string_view name = api::webhook_event_name(e);
  if (name.substr(0, 5) != "call.") return;
  if (!st.has_room()) return;
  st.enqueue(st.make(e, name));
}

void WebhookSender::stop() {
  state_->stopped = true;
  state_->wake.cancel();
}

std::vector<store::Delivery> WebhookSender::pending(size_t limit, uint64_t after_id) const {
  std::vector<store::Delivery> out;
  for (const auto& [call, q] : state_->by_call)
    for (const auto& d : q)
      if (d.id > after_id) out.push_back(d);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  if (out.size() > limit) out.resize(limit);
  return out;
}

std::vector<store::Delivery> WebhookSender::failed_recent(size_t limit, uint64_t after_id) const {
  std::vector<store::Delivery> out;
  for (const auto& d : state_->failed_ring)
    if (d.id > after_id) out.push_back(d);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  if (out.size() > limit) out.resize(limit);
  return out;
}

std::optional<store::Delivery> WebhookSender::retry_now(uint64_t id) {
  auto& st = *state_;
  for (auto& [call, q] : st.by_call)
    for (auto& d : q)
      if (d.id == id) {
        d.next_at_ms = now_epoch_ms();
        st.wake.cancel();
        return d;
      }
  return std::nullopt;
}

std::optional<store::Delivery> WebhookSender::requeue(store::Delivery d) {
  auto& st = *state_;
  if (!st.url || st.stopped) return std::nullopt;
  if (auto p = retry_now(d.id)) return p;
  if (st.pending >= st.opts.max_pending) return std::nullopt;
  std::erase_if(st.failed_ring, [&](const auto& f) { return f.id == d.id; });
  d.status = "pending";
  d.attempts = 0;
  d.created_ms = now_epoch_ms();
  d.next_at_ms = d.created_ms;
  if (st.store) st.store->put_delivery(d);
  st.enqueue(d);
  --st.stats.enqueued;  // not a new event
  return d;
}

WebhookSender::Stats WebhookSender::stats() const {
  Stats s = state_->stats;
  s.queued = state_->pending;
  s.in_flight = state_->in_flight.size();
  s.busy = s.in_flight > 0;
  int64_t oldest = 0;
  for (const auto& [call, q] : state_->by_call)
    if (!q.empty() && (oldest == 0 || q.front().created_ms < oldest)) oldest = q.front().created_ms;
  s.oldest_pending_ms = oldest;
  return s;
}

}  // namespace aa::sinks
