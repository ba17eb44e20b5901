#include "sinks/webhook_sender.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <deque>
#include <stdexcept>

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

struct WebhookSender::State : std::enable_shared_from_this<WebhookSender::State> {
  struct Item {
    std::string event;
    std::string body;
  };

  asio::any_io_executor ex;
  WebhookOptions opts;
  std::optional<Url> url;
  std::string target;  // path + query at the receiver
  std::unique_ptr<net::HttpClient> client;
  asio::steady_timer wake;
  std::deque<Item> queue;
  Stats stats;
  bool running = false;
  bool stopped = false;

  State(asio::any_io_executor e, WebhookOptions o) : ex(e), opts(std::move(o)), wake(e) {
    if (opts.url.empty()) return;
    url = parse_url(opts.url);
    if (!url || (url->scheme != "http" && url->scheme != "https"))
      throw std::invalid_argument("webhook URL is not an http(s) URL: " + opts.url);
    target = url->path.empty() ? "/" : url->path;
    if (target.front() != '/') target.insert(target.begin(), '/');
    net::ClientOptions co;
    co.connect_timeout = opts.timeout;
    co.request_timeout = opts.timeout;
    co.max_idle_connections = 2;
    co.max_response_body = 64 * 1024;
    co.user_agent = "asterisk-api-webhook";
    Url base = *url;
    base.path.clear();
    client = std::make_unique<net::HttpClient>(ex, base, co);
  }

  void start() {
    if (running || stopped) return;
    running = true;
    spawn(ex, worker(shared_from_this()), "webhook worker");
  }

  // One attempt; true on a 2xx answer. `retryable` says whether another try may help.
  awaitable<bool> attempt(const Item& item, bool& retryable) {
    std::vector<net::Header> headers;
    headers.push_back({"X-Webhook-Event", item.event});
    if (!opts.secret.empty())
      headers.push_back({"X-Signature", "sha256=" + hmac_sha256_hex(opts.secret, item.body)});
    std::string body = item.body;
    const std::string_view ct = "application/json";
    net::ClientResponse r = co_await client->request("POST", target, std::move(body), ct, headers);
    if (r.ok() && r.status >= 200 && r.status < 300) co_return true;
    // Network trouble, timeouts, 5xx and 429 may pass on a second try; other 4xx will not.
    retryable = !r.ok() || r.status >= 500 || r.status == 429 || r.status == 408;
    if (r.ok())
      log::warn("webhook {}: receiver answered {}", item.event, r.status);
    else
      log::warn("webhook {}: {}", item.event, r.error_message);
    co_return false;
  }

  static awaitable<void> worker(std::shared_ptr<State> self) {
    while (!self->stopped) {
      if (self->queue.empty()) {
        self->wake.expires_at(asio::steady_timer::time_point::max());
        boost::system::error_code ec;
        co_await self->wake.async_wait(asio::redirect_error(use_awaitable, ec));
        continue;
      }
      Item item = std::move(self->queue.front());
      self->queue.pop_front();
      self->stats.busy = true;
      bool ok = false;
      for (int i = 0; i <= self->opts.retries && !self->stopped; ++i) {
        if (i > 0) {
          self->wake.expires_after(self->opts.retry_delay);
          boost::system::error_code ec;
          co_await self->wake.async_wait(asio::redirect_error(use_awaitable, ec));
          if (self->stopped) break;
        }
        bool retryable = false;
        ok = co_await self->attempt(item, retryable);
        if (ok || !retryable) break;
      }
      self->stats.busy = false;
      if (ok)
        ++self->stats.delivered;
      else
        ++self->stats.failed;
    }
    self->running = false;
  }
};

WebhookSender::WebhookSender(asio::any_io_executor ex, WebhookOptions opts)
    : state_(std::make_shared<State>(ex, std::move(opts))) {}

WebhookSender::~WebhookSender() {
  stop();
}

bool WebhookSender::enabled() const {
  return state_->url.has_value();
}

void WebhookSender::publish(const calls::DomainEvent& e) {
  auto& st = *state_;
  if (!st.url || st.stopped) return;
  std::string_view name = api::webhook_event_name(e);
  if (name.substr(0, 5) != "call.") return;
  if (st.queue.size() >= std::max<size_t>(st.opts.max_queue, 1)) {
    st.queue.pop_front();
    ++st.stats.dropped;
    if (st.stats.dropped == 1 || st.stats.dropped % 100 == 0)
      log::warn("webhook queue full: dropped the oldest event ({} so far)", st.stats.dropped);
  }
  st.queue.push_back({std::string(name), api::webhook_body(e)});
  ++st.stats.enqueued;
  st.start();
  // Wake the worker if it is idle (a cancel while it sends or waits to retry is harmless:
  // the retry just happens a little sooner).
  if (!st.stats.busy) st.wake.cancel();
}

void WebhookSender::stop() {
  state_->stopped = true;
  state_->queue.clear();
  state_->wake.cancel();
}

WebhookSender::Stats WebhookSender::stats() const {
  Stats s = state_->stats;
  s.queued = state_->queue.size();
  return s;
}

}  // namespace aa::sinks
