// Service benchmark (issue #5): what asterisk-api adds on top of talking to
// Asterisk's ARI directly, measured against the ARI simulator in one run.
//
//   service_bench --sim PORT --api PORT --pid SERVICE_PID --out FILE.json [--plot FILE.dat]
//
// bench/run.sh starts `ari-sim` and `asterisk-api` (ARI_URL pointing at the
// simulator) as separate processes and runs this program, which acts as every
// client: REST clients on keep-alive connections (direct to the simulator's ARI
// and through the service), an ARI events socket of its own (app "bench-direct"),
// and up to 1,000 /events WebSocket clients in this one thread. Every figure is
// a comparison made in the same run:
//   1. added latency per REST operation (service vs direct ARI), sequential and 16 clients;
//   2. event fan-out delay from the simulator's emission to each client, next to a
//      trivial in-process WebSocket broadcaster feeding the same kind of client
//      sockets (the rig's floor); a client that stops reading and the service's RSS;
//   3. originate -> answered -> hangup cycles/s, service vs direct;
//   4. the service's RSS idle, with 1,000 and 10,000 live calls, and after.
// Client, service and simulator share the machine's cores (nothing is pinned).
#include <openssl/sha.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/asio.hpp"
#include "common/json.hpp"
#include "common/util.hpp"

using namespace aa;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// ------------------------------------------------------------------ basics

int64_t realtime_us() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

double us_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

struct Summary {
  size_t n = 0;
  double p50 = 0, p99 = 0, max = 0, mean = 0;
};

// Nearest-rank percentiles of `v` (sorted in place).
Summary summarize(std::vector<double>& v) {
  Summary s;
  s.n = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto rank = [&](double q) {
    size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
    return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
  };
  s.p50 = rank(0.50);
  s.p99 = rank(0.99);
  s.max = v.back();
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  return s;
}

long rss_kib(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

// `"key":"value"` -> value (no unescaping: ids and digits are plain).
std::string_view view_after(std::string_view s, std::string_view key) {
  size_t p = s.find(key);
  if (p == std::string_view::npos) return {};
  p += key.size();
  size_t e = s.find('"', p);
  if (e == std::string_view::npos) return {};
  return s.substr(p, e - p);
}
std::string field_after(std::string_view s, std::string_view key) {
  return std::string(view_after(s, key));
}

// ------------------------------------------------------------ HTTP client

struct Resp {
  int status = 0;
  std::string body;
};

// One keep-alive HTTP/1.1 connection (Beast), reconnecting after an error.
class HttpConn {
 public:
  HttpConn(asio::io_context& io, uint16_t port, std::string auth)
      : sock_(io), ep_(asio::ip::make_address("127.0.0.1"), port), auth_(std::move(auth)) {
    host_ = "127.0.0.1:" + std::to_string(port);
  }

  awaitable<Resp> send(http::verb verb, std::string target, std::string body) {
    Resp out;
    boost::system::error_code ec;
    if (!open_) {
      sock_ = tcp::socket(sock_.get_executor());
      co_await sock_.async_connect(ep_, asio::redirect_error(use_awaitable, ec));
      if (ec) co_return out;
      sock_.set_option(tcp::no_delay(true), ec);
      buf_.clear();
      open_ = true;
    }
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, host_);
    if (!auth_.empty()) req.set(http::field::authorization, auth_);
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    req.body() = std::move(body);
    req.keep_alive(true);
    req.prepare_payload();
    co_await http::async_write(sock_, req, asio::redirect_error(use_awaitable, ec));
    if (ec) {
      open_ = false;
      co_return out;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(256 * 1024 * 1024);
    co_await http::async_read(sock_, buf_, parser, asio::redirect_error(use_awaitable, ec));
    if (ec) {
      open_ = false;
      co_return out;
    }
    out.status = static_cast<int>(parser.get().result_int());
    out.body = std::move(parser.get().body());
    if (!parser.get().keep_alive()) open_ = false;
    co_return out;
  }

 private:
  tcp::socket sock_;
  tcp::endpoint ep_;
  std::string auth_, host_;
  beast::flat_buffer buf_;
  bool open_ = false;
};

// ---------------------------------------------------------- WebSocket client

// A minimal WebSocket client over a raw socket: handshake, then frames parsed
// straight from the receive buffer (server frames are unmasked), so one read
// delivers every frame that arrived. Each message gets the CLOCK_REALTIME
// microsecond at which its read completed.
class WsClient : public std::enable_shared_from_this<WsClient> {
 public:
  explicit WsClient(asio::io_context& io) : sock_(io) {}

  std::function<void(std::string_view, int64_t)> on_message;
  bool open() const { return open_; }
  int close_code() const { return close_code_; }
  uint64_t messages() const { return messages_; }

  // Connects and completes the handshake (does not start reading).
  awaitable<bool> connect(uint16_t port, std::string target, int rcvbuf) {
    boost::system::error_code ec;
    sock_.open(tcp::v4(), ec);
    if (rcvbuf > 0) sock_.set_option(asio::socket_base::receive_buffer_size(rcvbuf), ec);
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    co_await sock_.async_connect(ep, asio::redirect_error(use_awaitable, ec));
    if (ec) co_return false;
    sock_.set_option(tcp::no_delay(true), ec);
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n";
    co_await asio::async_write(sock_, asio::buffer(req), asio::redirect_error(use_awaitable, ec));
    if (ec) co_return false;
    std::string head;
    size_t n = co_await asio::async_read_until(sock_, asio::dynamic_buffer(head), "\r\n\r\n",
                                               asio::redirect_error(use_awaitable, ec));
    if (ec || head.compare(0, 12, "HTTP/1.1 101") != 0) co_return false;
    buf_.resize(16 * 1024);
    len_ = head.size() - n;
    if (len_ > buf_.size()) buf_.resize(len_);
    std::memcpy(buf_.data(), head.data() + n, len_);
    open_ = true;
    co_return true;
  }

  void start_reading() {
    auto self = shared_from_this();
    spawn(sock_.get_executor(), read_loop(self), "ws client");
  }

  void close() {
    boost::system::error_code ec;
    sock_.close(ec);
    open_ = false;
  }

 private:
  awaitable<void> read_loop(std::shared_ptr<WsClient> self) {
    (void)self;
    int64_t now = realtime_us();
    consume(now);  // bytes that came with the handshake
    while (open_) {
      if (len_ == buf_.size()) buf_.resize(buf_.size() * 2);
      boost::system::error_code ec;
      size_t n =
          co_await sock_.async_read_some(asio::buffer(buf_.data() + len_, buf_.size() - len_),
                                         asio::redirect_error(use_awaitable, ec));
      if (ec) break;
      len_ += n;
      consume(realtime_us());
    }
    open_ = false;
  }

  void consume(int64_t now) {
    size_t pos = 0;
    const auto* b = reinterpret_cast<const unsigned char*>(buf_.data());
    while (len_ - pos >= 2) {
      const unsigned char b0 = b[pos], b1 = b[pos + 1];
      uint64_t plen = b1 & 0x7f;
      size_t hdr = 2;
      if (plen == 126) {
        if (len_ - pos < 4) break;
        plen = (uint64_t{b[pos + 2]} << 8) | b[pos + 3];
        hdr = 4;
      } else if (plen == 127) {
        if (len_ - pos < 10) break;
        plen = 0;
        for (int i = 0; i < 8; ++i) plen = (plen << 8) | b[pos + 2 + i];
        hdr = 10;
      }
      if (b1 & 0x80) hdr += 4;  // servers do not mask; tolerate it anyway
      if (len_ - pos < hdr + plen) {
        if (hdr + plen > buf_.size()) buf_.resize(hdr + plen);
        break;
      }
      std::string_view payload(buf_.data() + pos + hdr, plen);
      const int op = b0 & 0x0f;
      const bool fin = b0 & 0x80;
      if (op == 0x1 || op == 0x2 || op == 0x0) {
        if (fin && op != 0x0 && frag_.empty()) {
          deliver(payload, now);
        } else {
          frag_.append(payload);
          if (fin) {
            deliver(frag_, now);
            frag_.clear();
          }
        }
      } else if (op == 0x8) {
        close_code_ = plen >= 2 ? (static_cast<unsigned char>(payload[0]) << 8) |
                                      static_cast<unsigned char>(payload[1])
                                : 1005;
        open_ = false;
      } else if (op == 0x9) {
        pong(std::string(payload));
      }
      pos += hdr + plen;
    }
    if (pos > 0) {
      std::memmove(buf_.data(), buf_.data() + pos, len_ - pos);
      len_ -= pos;
    }
  }

  void deliver(std::string_view msg, int64_t now) {
    ++messages_;
    if (on_message) on_message(msg, now);
  }

  void pong(std::string payload) {
    // Masked with a zero key (the payload stays as it is).
    auto frame = std::make_shared<std::string>();
    frame->push_back(static_cast<char>(0x8a));
    frame->push_back(static_cast<char>(0x80 | (payload.size() & 0x7f)));
    frame->append(4, '\0');
    frame->append(payload);
    asio::async_write(sock_, asio::buffer(*frame),
                      [frame, self = shared_from_this()](boost::system::error_code, size_t) {});
  }

  tcp::socket sock_;
  std::vector<char> buf_;
  size_t len_ = 0;
  std::string frag_;
  bool open_ = false;
  int close_code_ = -1;
  uint64_t messages_ = 0;
};

// ------------------------------------------------- the floor: a trivial broadcaster

// The rig's floor: a WebSocket server on its own thread that sends one
// pre-encoded frame to every client (each client's pending frames go out in
// one write). Events have the same shape and size as the service's call.dtmf
// envelopes and are paced exactly like the simulator's bench emitter.
class Broadcaster {
 public:
  Broadcaster() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    spawn(io_, accept_loop(), "broadcaster accept");
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Broadcaster() {
    asio::post(io_, [this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
      for (auto& p : peers_) p->sock.close(ec);
      io_.stop();
    });
    thread_.join();
  }
  uint16_t port() const { return port_; }
  size_t peers() const { return peer_count_.load(); }

  struct Spec {
    std::vector<std::string> call_ids;
    std::string digits;
    double rate = 0;
    uint64_t count = 0;
  };

  void start(Spec spec) {
    done_ = false;
    asio::post(io_, [this, spec = std::move(spec)]() mutable {
      spec_ = std::move(spec);
      times_.clear();
      times_.reserve(spec_.count);
      next_ = 0;
      start_ = Clock::now();
      tick();
    });
  }
  bool done() const { return done_.load(std::memory_order_acquire); }
  std::vector<int64_t> times() const {
    std::lock_guard<std::mutex> lock(mu_);
    return times_;
  }

 private:
  struct Peer {
    explicit Peer(tcp::socket s) : sock(std::move(s)) {}
    tcp::socket sock;
    std::string out, inflight;
    bool writing = false;
  };

  awaitable<void> accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket s = co_await acceptor_.async_accept(asio::redirect_error(use_awaitable, ec));
      if (ec) co_return;
      spawn(io_, handshake(std::move(s)), "broadcaster handshake");
    }
  }

  awaitable<void> handshake(tcp::socket s) {
    boost::system::error_code ec;
    std::string head;
    co_await asio::async_read_until(s, asio::dynamic_buffer(head), "\r\n\r\n",
                                    asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
    std::string key;
    std::istringstream lines(head);
    std::string line;
    while (std::getline(lines, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      auto colon = line.find(':');
      if (colon != std::string::npos && iequals(line.substr(0, colon), "sec-websocket-key")) {
        key = line.substr(colon + 1);
        while (!key.empty() && key.front() == ' ') key.erase(0, 1);
      }
    }
    std::string accept_src = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(accept_src.data()), accept_src.size(), digest);
    std::string accept =
        base64_encode(std::string_view(reinterpret_cast<const char*>(digest), SHA_DIGEST_LENGTH));
    std::string resp =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        accept + "\r\n\r\n";
    co_await asio::async_write(s, asio::buffer(resp), asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
    s.set_option(tcp::no_delay(true), ec);
    peers_.push_back(std::make_shared<Peer>(std::move(s)));
    peer_count_ = peers_.size();
  }

  void tick() {
    const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    const uint64_t due = std::min<uint64_t>(
        spec_.count, static_cast<uint64_t>(std::floor(elapsed * spec_.rate)) + 1);
    while (next_ < due) {
      const uint64_t k = next_++;
      // The same bytes as the service's call.dtmf envelope (field order, timestamp, seq).
      std::string msg = "{\"type\":\"call.dtmf\",\"callId\":\"" +
                        spec_.call_ids[k % spec_.call_ids.size()] + "\",\"timestamp\":\"" +
                        iso8601_now() +
                        "\",\"state\":\"answered\",\"seq\":" + std::to_string(100000 + k) +
                        ",\"data\":{\"digit\":\"" + spec_.digits[k % spec_.digits.size()] + "\"}}";
      std::string frame;
      frame.push_back(static_cast<char>(0x81));
      if (msg.size() < 126) {
        frame.push_back(static_cast<char>(msg.size()));
      } else {
        frame.push_back(static_cast<char>(126));
        frame.push_back(static_cast<char>((msg.size() >> 8) & 0xff));
        frame.push_back(static_cast<char>(msg.size() & 0xff));
      }
      frame += msg;
      const int64_t t = realtime_us();
      {
        std::lock_guard<std::mutex> lock(mu_);
        times_.push_back(t);
      }
      for (auto& p : peers_) {
        p->out += frame;
        if (!p->writing) write(p);
      }
    }
    if (next_ >= spec_.count) {
      done_.store(true, std::memory_order_release);
      return;
    }
    timer_.expires_at(start_ + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(next_ / spec_.rate)));
    timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) tick();
    });
  }

  void write(const std::shared_ptr<Peer>& p) {
    p->writing = true;
    p->inflight.clear();
    std::swap(p->inflight, p->out);
    asio::async_write(p->sock, asio::buffer(p->inflight),
                      [this, p](boost::system::error_code ec, size_t) {
                        p->writing = false;
                        if (ec) return;
                        if (!p->out.empty()) write(p);
                      });
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  asio::steady_timer timer_{io_};
  uint16_t port_ = 0;
  std::thread thread_;
  std::vector<std::shared_ptr<Peer>> peers_;
  std::atomic<size_t> peer_count_{0};
  Spec spec_;
  uint64_t next_ = 0;
  Clock::time_point start_;
  mutable std::mutex mu_;
  std::vector<int64_t> times_;
  std::atomic<bool> done_{true};
};

// ------------------------------------------------------------------ signals

// "this happened" keys (e.g. "ready:<callId>") that coroutines can wait for;
// a key that fires before anyone waits is remembered.
class Signals {
 public:
  explicit Signals(asio::io_context& io) : io_(io) {}
  void fire(const std::string& key) {
    auto it = waiting_.find(key);
    if (it != waiting_.end()) {
      it->second->cancel();
      waiting_.erase(it);
    } else {
      seen_.insert(key);
    }
  }
  awaitable<bool> wait(std::string key, milliseconds timeout) {
    if (seen_.erase(key)) co_return true;
    auto t = std::make_shared<asio::steady_timer>(io_);
    t->expires_after(timeout);
    waiting_[key] = t;
    boost::system::error_code ec;
    co_await t->async_wait(asio::redirect_error(use_awaitable, ec));
    if (ec == asio::error::operation_aborted) co_return true;
    waiting_.erase(key);
    co_return false;
  }
  void clear() { seen_.clear(); }

 private:
  asio::io_context& io_;
  std::unordered_map<std::string, std::shared_ptr<asio::steady_timer>> waiting_;
  std::unordered_set<std::string> seen_;
};

// ------------------------------------------------------------------ the run

struct Options {
  uint16_t sim_port = 0, api_port = 0;
  int pid = 0;
  std::string out = "bench/service.json";
  std::string plot;
  bool quick = false;
  std::string only;  // memory | latency | throughput | fanout (development)
};

struct Call {
  std::string id, channel;
};

struct LatencyRow {
  std::string op, mode;
  Summary direct, service;
  double direct_ops = 0, service_ops = 0;
};

struct FanoutRow {
  std::string source;  // service | floor
  size_t clients = 0;
  double rate = 0;
  uint64_t events = 0;
  uint64_t expected = 0, received = 0, mismatched = 0;
  size_t clients_closed = 0;
  Summary delay_ms;
  bool keeps_up = false;
  int64_t emitter_late_us = 0;
};

// One /events client's view of one fan-out step.
struct Track {
  const std::vector<std::string>* call_of = nullptr;  // event k -> callId
  std::string digits;
  uint64_t count = 0;
  uint64_t got = 0;
  uint64_t mismatched = 0;
  std::vector<int64_t> recv;  // realtime us per event index, 0 = not received
};

class Bench {
 public:
  Bench(asio::io_context& io, Options o)
      : io_(io),
        opt_(std::move(o)),
        signals_(io),
        sim_(io, opt_.sim_port, "Basic " + base64_encode("asterisk_ari:asterisk_ari_pass")),
        api_(io, opt_.api_port, {}),
        auth_("Basic " + base64_encode("asterisk_ari:asterisk_ari_pass")) {}

  awaitable<void> run();
  bool failed() const { return failed_; }

 private:
  // ---- helpers
  awaitable<Resp> sim(http::verb v, std::string target, std::string body) {
    auto r = co_await sim_.send(v, std::move(target), std::move(body));
    co_return r;
  }
  awaitable<Resp> api(http::verb v, std::string target, std::string body) {
    auto r = co_await api_.send(v, std::move(target), std::move(body));
    co_return r;
  }
  awaitable<int64_t> active_calls() {
    auto r = co_await api(http::verb::get, "/health", "");
    auto doc = json::parse(r.body);
    if (!doc) co_return -1;
    co_return json::get_int(*doc, "activeCalls", -1);
  }
  awaitable<bool> wait_active(int64_t n, milliseconds timeout) {
    auto until = Clock::now() + timeout;
    while (Clock::now() < until) {
      int64_t a = co_await active_calls();
      if (a == n) co_return true;
      co_await sleep_for(milliseconds(20));
    }
    int64_t a = co_await active_calls();
    std::fprintf(stderr, "waited for %ld active calls, the service has %ld\n", static_cast<long>(n),
                 static_cast<long>(a));
    co_return false;
  }
  awaitable<std::vector<std::string>> inbound_calls(size_t n, size_t parallel);
  awaitable<std::vector<std::string>> inbound_paced(size_t n, size_t already);
  awaitable<void> hangup_paced(const std::vector<std::string>& channels);
  awaitable<void> inbound_worker(std::vector<std::string>& out, size_t& next, size_t n);
  awaitable<void> hangup_worker(const std::vector<std::string>& channels, size_t& next);
  awaitable<void> hangup_channels(const std::vector<std::string>& channels, size_t parallel);
  awaitable<std::vector<Call>> calls_for(const std::vector<std::string>& channels);
  awaitable<void> hangup_everything();

  // ---- parts
  awaitable<void> memory();
  awaitable<void> latency();
  awaitable<void> throughput();
  awaitable<void> fanout();

  awaitable<void> latency_op(const std::string& op, const std::vector<Call>& calls, size_t seq_n,
                             size_t conc_per_worker, size_t rounds);
  awaitable<void> conc_worker(const std::string& op, bool service, const std::vector<Call>& calls,
                              size_t n, size_t offset, std::vector<double>& out, bool& ok);
  awaitable<Resp> do_op(HttpConn& c, const std::string& op, bool service, const Call& call,
                        double& us);

  awaitable<void> cycle_worker(bool service, Clock::time_point until, uint64_t& cycles,
                               uint64_t& failures);
  awaitable<FanoutRow> fanout_step(bool floor, size_t clients, double rate, uint64_t count);
  awaitable<bool> connect_clients(bool floor, size_t n);
  awaitable<void> slow_client_test(double rate, uint64_t count);

  void write_results();
  awaitable<bool> open_ari_events();

  asio::io_context& io_;
  Options opt_;
  Signals signals_;
  HttpConn sim_, api_;
  std::string auth_;
  bool failed_ = false;

  std::shared_ptr<WsClient> ari_events_;
  std::shared_ptr<WsClient> api_events_;

  // results
  long rss_idle_ = 0, rss_1k_ = 0, rss_10k_ = 0, rss_after_ = 0, rss_after2_ = 0;
  double inject_s_ = 0;
  std::vector<LatencyRow> latency_;
  struct ThroughputRow {
    size_t inflight;
    double direct_cps, service_cps;
    uint64_t direct_fail, service_fail;
  };
  std::vector<ThroughputRow> throughput_;
  std::vector<FanoutRow> fanout_;
  struct SlowClient {
    double rate = 0;
    uint64_t events = 0;
    long rss_before = 0, rss_max = 0, rss_after = 0;
    int close_code = -1;
    uint64_t slow_received = 0;
    uint64_t fast_received = 0, fast_mismatched = 0;
    bool slow_closed = false;
  } slow_;
  std::map<std::string, std::vector<double>> cdf_;  // plot series -> sorted delays (ms)

  // fan-out state
  std::vector<Call> fan_calls_;
  std::vector<std::string> fan_call_ids_;
  std::vector<std::shared_ptr<WsClient>> svc_clients_, floor_clients_;
  std::vector<std::shared_ptr<Track>> svc_tracks_, floor_tracks_;
  std::unique_ptr<Broadcaster> broadcaster_;
};

// ---------------------------------------------------------------- setup helpers

awaitable<void> Bench::inbound_worker(std::vector<std::string>& out, size_t& next, size_t n) {
  HttpConn c(io_, opt_.sim_port, {});
  while (next < n) {
    size_t i = next++;
    auto r =
        co_await c.send(http::verb::post, "/_sim/inbound", R"({"from":"5551234","to":"1001"})");
    auto doc = json::parse(r.body);
    if (r.status != 201 || !doc) {
      std::fprintf(stderr, "inbound call failed: %d %s\n", r.status, r.body.c_str());
      failed_ = true;
      co_return;
    }
    out[i] = std::string(json::get_string(*doc, "channelId"));
  }
}

awaitable<std::vector<std::string>> Bench::inbound_calls(size_t n, size_t parallel) {
  std::vector<std::string> out(n);
  size_t next = 0;
  size_t running = parallel;
  for (size_t w = 0; w < parallel; ++w)
    asio::co_spawn(io_, inbound_worker(out, next, n),
                   [&running](std::exception_ptr) { --running; });
  while (running > 0) co_await sleep_for(milliseconds(5));
  co_return out;
}

awaitable<void> Bench::hangup_worker(const std::vector<std::string>& channels, size_t& next) {
  HttpConn c(io_, opt_.sim_port, {});
  while (next < channels.size()) {
    size_t i = next++;
    std::string target = "/_sim/channels/" + channels[i] + "/hangup";
    co_await c.send(http::verb::post, std::move(target), std::string{});
  }
}

awaitable<void> Bench::hangup_channels(const std::vector<std::string>& channels, size_t parallel) {
  size_t next = 0;
  size_t running = parallel;
  for (size_t w = 0; w < parallel; ++w)
    asio::co_spawn(io_, hangup_worker(channels, next),
                   [&running](std::exception_ptr) { --running; });
  while (running > 0) co_await sleep_for(milliseconds(5));
}

awaitable<std::vector<Call>> Bench::calls_for(const std::vector<std::string>& channels) {
  std::vector<Call> out;
  auto r = co_await api(http::verb::get, "/calls", "");
  auto doc = json::parse(r.body);
  std::unordered_map<std::string, std::string> by_channel;
  if (doc) {
    if (auto* a = json::find(*doc, "calls"); a && a->IsArray())
      for (const auto& c : a->GetArray())
        by_channel[std::string(json::get_string(c, "channelId"))] =
            std::string(json::get_string(c, "id"));
  }
  for (const auto& ch : channels) {
    auto it = by_channel.find(ch);
    if (it != by_channel.end()) out.push_back({it->second, ch});
  }
  co_return out;
}

// Hang up every channel the simulator has (through ARI) and wait until the
// service has no active call.
awaitable<void> Bench::hangup_everything() {
  auto r = co_await sim(http::verb::get, "/ari/channels", "");
  std::vector<std::string> ids;
  if (auto doc = json::parse(r.body); doc && doc->IsArray())
    for (const auto& c : doc->GetArray()) ids.emplace_back(json::get_string(c, "id"));
  co_await hangup_channels(ids, 16);
  if (!co_await wait_active(0, milliseconds(20000)))
    std::fprintf(stderr, "warning: the service still has active calls after hang-up\n");
  co_await sleep_for(milliseconds(200));
  signals_.clear();
}

// -------------------------------------------------------------------- memory

// The far end hangs up `channels` in chunks of 250, each chunk waited for (see
// inbound_paced).
awaitable<void> Bench::hangup_paced(const std::vector<std::string>& channels) {
  int64_t left = co_await active_calls();
  for (size_t i = 0; i < channels.size(); i += 250) {
    std::vector<std::string> chunk(
        channels.begin() + static_cast<std::ptrdiff_t>(i),
        channels.begin() + static_cast<std::ptrdiff_t>(std::min(channels.size(), i + 250)));
    co_await hangup_channels(chunk, 16);
    left -= static_cast<int64_t>(chunk.size());
    if (!co_await wait_active(left, milliseconds(20000))) {
      failed_ = true;
      co_return;
    }
  }
}

// Inject `n` inbound calls in chunks of 250, waiting after each chunk until the
// service has them all: an unpaced burst (~6,000 calls/s) outruns the service's
// event handling and the simulator then drops its events socket (1008, 1,024
// frames queued), as Asterisk would drop a consumer that falls that far behind.
awaitable<std::vector<std::string>> Bench::inbound_paced(size_t n, size_t already) {
  std::vector<std::string> all;
  while (all.size() < n) {
    const size_t chunk = std::min<size_t>(250, n - all.size());
    auto part = co_await inbound_calls(chunk, 16);
    all.insert(all.end(), part.begin(), part.end());
    const auto want = static_cast<int64_t>(already + all.size());
    if (!co_await wait_active(want, milliseconds(20000))) {
      failed_ = true;
      break;
    }
  }
  co_return all;
}

awaitable<void> Bench::memory() {
  std::printf("\n[4] memory of the service process (RSS)\n");
  std::fflush(stdout);
  rss_idle_ = rss_kib(opt_.pid);
  const size_t small = 1000, big = opt_.quick ? 3000 : 10000;
  auto t0 = Clock::now();
  auto first = co_await inbound_paced(small, 0);
  if (!co_await wait_active(static_cast<int64_t>(small), milliseconds(30000))) failed_ = true;
  co_await sleep_for(milliseconds(300));
  rss_1k_ = rss_kib(opt_.pid);
  std::printf("  %zu calls injected in %.1f s\n", small, us_since(t0) / 1e6);
  auto more = co_await inbound_paced(big - small, small);
  std::printf("  %zu calls injected in %.1f s\n", big, us_since(t0) / 1e6);
  if (!co_await wait_active(static_cast<int64_t>(big), milliseconds(60000))) failed_ = true;
  inject_s_ = us_since(t0) / 1e6;
  co_await sleep_for(milliseconds(300));
  rss_10k_ = rss_kib(opt_.pid);
  first.insert(first.end(), more.begin(), more.end());
  auto th = Clock::now();
  co_await hangup_paced(first);
  std::printf("  hang-up requests took %.1f s\n", us_since(th) / 1e6);
  if (!co_await wait_active(0, milliseconds(60000))) failed_ = true;
  std::printf("  all ended after %.1f s\n", us_since(th) / 1e6);
  co_await sleep_for(milliseconds(500));
  rss_after_ = rss_kib(opt_.pid);
  // Second round: the same load again must not raise the RSS further.
  auto again = co_await inbound_paced(big, 0);
  if (!co_await wait_active(static_cast<int64_t>(big), milliseconds(60000))) failed_ = true;
  co_await hangup_paced(again);
  if (!co_await wait_active(0, milliseconds(60000))) failed_ = true;
  co_await sleep_for(milliseconds(500));
  rss_after2_ = rss_kib(opt_.pid);
  std::printf(
      "  idle %ld KiB, %zu calls %ld KiB, %zu calls %ld KiB, after all ended %ld KiB, "
      "after a second round %ld KiB\n",
      rss_idle_, small, rss_1k_, big, rss_10k_, rss_after_, rss_after2_);
  std::fflush(stdout);
}

// ------------------------------------------------------------------- latency

// One timed request. An originated call is hung up right after (not timed), so
// the number of live calls (and the endpoint's channel list) stays small.
awaitable<Resp> Bench::do_op(HttpConn& c, const std::string& op, bool service, const Call& call,
                             double& us) {
  std::string target, body;
  http::verb v = http::verb::post;
  if (op == "GET call") {
    v = http::verb::get;
    target = service ? "/calls/" + call.id : "/ari/channels/" + call.channel;
  } else if (op == "DTMF") {
    if (service) {
      target = "/calls/" + call.id + "/dtmf";
      body = R"({"dtmf":"1"})";
    } else {
      target = "/ari/channels/" + call.channel + "/dtmf?dtmf=1";
    }
  } else if (op == "play (wait:false)") {
    if (service) {
      target = "/calls/" + call.id + "/play";
      body = R"({"media":"sound:beep","wait":false})";
    } else {
      target = "/ari/channels/" + call.channel + "/play?media=sound%3Abeep&playbackId=" + uuid_v4();
    }
  } else {  // originate
    if (service) {
      target = "/calls";
      body = R"({"endpoint":"PJSIP/bench"})";
    } else {
      target =
          "/ari/channels?endpoint=PJSIP%2Fbench&app=bench-direct&appArgs=dialed&timeout=30"
          "&channelId=" +
          uuid_v4();
    }
  }
  const auto t0 = Clock::now();
  auto r = co_await c.send(v, std::move(target), std::move(body));
  us = us_since(t0);
  if (op == "originate" && r.status / 100 == 2) {
    std::string id =
        service ? field_after(r.body, "\"callId\":\"") : field_after(r.body, "\"id\":\"");
    std::string hang = service ? "/calls/" + id : "/ari/channels/" + id;
    co_await c.send(http::verb::delete_, hang, std::string{});
  }
  co_return r;
}

awaitable<void> Bench::conc_worker(const std::string& op, bool service,
                                   const std::vector<Call>& calls, size_t n, size_t offset,
                                   std::vector<double>& out, bool& ok) {
  HttpConn c(io_, service ? opt_.api_port : opt_.sim_port, service ? std::string{} : auth_);
  for (size_t i = 0; i < n; ++i) {
    double us = 0;
    auto r = co_await do_op(c, op, service, calls[(offset + i) % calls.size()], us);
    if (r.status < 200 || r.status > 299) {
      if (ok)
        std::fprintf(stderr, "%s %s: status %d %s\n", op.c_str(), service ? "service" : "direct",
                     r.status, r.body.substr(0, 200).c_str());
      ok = false;
    }
    out.push_back(us);
  }
}

awaitable<void> Bench::latency_op(const std::string& op, const std::vector<Call>& calls,
                                  size_t seq_n, size_t conc_per_worker, size_t rounds) {
  bool ok = true;
  // Sequential: one keep-alive connection each, requests alternate between the
  // two paths so that both see the same machine load.
  {
    HttpConn d(io_, opt_.sim_port, auth_), s(io_, opt_.api_port, {});
    std::vector<double> dv, sv;
    const size_t warm = std::min<size_t>(200, seq_n / 5);
    for (size_t i = 0; i < seq_n + warm; ++i) {
      const Call& call = calls[i % calls.size()];
      for (int side = 0; side < 2; ++side) {
        const bool service = (side == 0) == (i % 2 == 1);
        double us = 0;
        auto r = co_await do_op(service ? s : d, op, service, call, us);
        if (r.status < 200 || r.status > 299) {
          if (ok)
            std::fprintf(stderr, "%s %s: status %d %s\n", op.c_str(),
                         service ? "service" : "direct", r.status, r.body.substr(0, 200).c_str());
          ok = false;
        }
        if (i >= warm) (service ? sv : dv).push_back(us);
      }
    }
    LatencyRow row;
    row.op = op;
    row.mode = "sequential";
    row.direct = summarize(dv);
    row.service = summarize(sv);
    row.direct_ops = 1e6 / row.direct.mean;
    row.service_ops = 1e6 / row.service.mean;
    latency_.push_back(row);
  }
  // 16 concurrent clients, each on its own keep-alive connection; the two paths
  // take turns in `rounds` rounds.
  {
    const size_t workers = 16;
    std::vector<double> dv, sv;
    double d_time = 0, s_time = 0;
    for (size_t round = 0; round < 2 * rounds; ++round) {
      const bool service = (round % 2 == 1) == (round / 2 % 2 == 0);
      std::vector<std::vector<double>> per(workers);
      size_t running = workers;
      auto t0 = Clock::now();
      for (size_t w = 0; w < workers; ++w)
        asio::co_spawn(io_,
                       conc_worker(op, service, calls, conc_per_worker, w * 7 + round, per[w], ok),
                       [&running](std::exception_ptr) { --running; });
      while (running > 0) co_await sleep_for(milliseconds(1));
      (service ? s_time : d_time) += us_since(t0);
      for (auto& p : per) (service ? sv : dv).insert((service ? sv : dv).end(), p.begin(), p.end());
    }
    LatencyRow row;
    row.op = op;
    row.mode = "16 clients";
    row.direct_ops = static_cast<double>(dv.size()) / (d_time / 1e6);
    row.service_ops = static_cast<double>(sv.size()) / (s_time / 1e6);
    row.direct = summarize(dv);
    row.service = summarize(sv);
    latency_.push_back(row);
  }
  if (!ok) failed_ = true;
}

awaitable<void> Bench::latency() {
  std::printf("\n[1] added latency per REST operation\n");
  std::fflush(stdout);
  const size_t n_calls = 16;
  auto channels = co_await inbound_calls(n_calls, 4);
  if (!co_await wait_active(static_cast<int64_t>(n_calls), milliseconds(10000))) failed_ = true;
  co_await sleep_for(milliseconds(300));  // the service answers them
  auto calls = co_await calls_for(channels);
  if (calls.size() != n_calls) {
    std::fprintf(stderr, "expected %zu calls, got %zu\n", n_calls, calls.size());
    failed_ = true;
    co_return;
  }
  const size_t seq = opt_.quick ? 500 : 3000;
  const size_t per_worker = opt_.quick ? 50 : 200;
  const std::vector<std::string> ops = {"GET call", "DTMF", "play (wait:false)"};
  for (const auto& op : ops) {
    co_await latency_op(op, calls, seq, per_worker, 2);
    std::printf("  %s done\n", op.c_str());
    std::fflush(stdout);
  }
  // Originate: every request makes a call (answered at once), hung up afterwards.
  const std::string originate = "originate";
  co_await latency_op(originate, calls, seq / 3, per_worker / 2, 1);
  std::printf("  originate done\n");
  co_await hangup_everything();
}

// ---------------------------------------------------------------- throughput

awaitable<void> Bench::cycle_worker(bool service, Clock::time_point until, uint64_t& cycles,
                                    uint64_t& failures) {
  HttpConn c(io_, service ? opt_.api_port : opt_.sim_port, service ? std::string{} : auth_);
  const milliseconds limit(10000);
  while (Clock::now() < until) {
    if (service) {
      std::string target0 = "/calls", body0 = R"({"endpoint":"PJSIP/bench"})";
      auto r = co_await c.send(http::verb::post, target0, body0);
      std::string id = field_after(r.body, "\"callId\":\"");
      if (r.status != 201 || id.empty()) {
        ++failures;
        continue;
      }
      std::string ready = "ready:" + id, ended = "ended:" + id, target = "/calls/" + id;
      bool up = co_await signals_.wait(ready, limit);
      if (!up) {
        ++failures;
        continue;
      }
      auto h = co_await c.send(http::verb::delete_, target, std::string{});
      bool gone = h.status == 200;
      if (gone) gone = co_await signals_.wait(ended, limit);
      if (!gone) {
        ++failures;
        continue;
      }
    } else {
      std::string id = uuid_v4();
      std::string create =
          "/ari/channels?endpoint=PJSIP%2Fbench&app=bench-direct&appArgs=dialed&timeout=30"
          "&channelId=" +
          id;
      std::string ready = "up:" + id, ended = "gone:" + id, target = "/ari/channels/" + id;
      auto r = co_await c.send(http::verb::post, create, std::string{});
      if (r.status != 200) {
        ++failures;
        continue;
      }
      bool up = co_await signals_.wait(ready, limit);
      if (!up) {
        ++failures;
        continue;
      }
      auto h = co_await c.send(http::verb::delete_, target, std::string{});
      bool gone = h.status == 204;
      if (gone) gone = co_await signals_.wait(ended, limit);
      if (!gone) {
        ++failures;
        continue;
      }
    }
    ++cycles;
  }
}

awaitable<void> Bench::throughput() {
  std::printf("\n[3] call throughput: originate -> answered -> hangup cycles\n");
  std::fflush(stdout);
  if (!co_await open_ari_events()) co_return;
  // The service's /events stream tells us when its calls are ready and ended.
  api_events_ = std::make_shared<WsClient>(io_);
  if (!co_await api_events_->connect(opt_.api_port, "/events", 0)) {
    std::fprintf(stderr, "cannot open /events\n");
    failed_ = true;
    co_return;
  }
  api_events_->on_message = [this](std::string_view m, int64_t) {
    if (m.find("\"type\":\"call.ready\"") != std::string_view::npos)
      signals_.fire("ready:" + field_after(m, "\"callId\":\""));
    else if (m.find("\"type\":\"call.ended\"") != std::string_view::npos)
      signals_.fire("ended:" + field_after(m, "\"callId\":\""));
  };
  api_events_->start_reading();
  const double secs = opt_.quick ? 1.0 : 2.5;
  const std::vector<size_t> inflights = {1, 16, 64};
  for (size_t inflight : inflights) {
    ThroughputRow row{inflight, 0, 0, 0, 0};
    for (int side = 0; side < 2; ++side) {
      const bool service = side == 1;
      uint64_t cycles = 0, failures = 0;
      size_t running = inflight;
      auto t0 = Clock::now();
      auto until =
          t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(secs));
      for (size_t w = 0; w < inflight; ++w)
        asio::co_spawn(io_, cycle_worker(service, until, cycles, failures),
                       [&running](std::exception_ptr) { --running; });
      while (running > 0) co_await sleep_for(milliseconds(2));
      double cps = static_cast<double>(cycles) / (us_since(t0) / 1e6);
      (service ? row.service_cps : row.direct_cps) = cps;
      (service ? row.service_fail : row.direct_fail) = failures;
      if (failures) failed_ = true;
      co_await sleep_for(milliseconds(200));
      signals_.clear();
    }
    throughput_.push_back(row);
    std::printf("  %zu in flight done\n", inflight);
    std::fflush(stdout);
  }
  api_events_->close();
  api_events_.reset();
  co_await hangup_everything();
}

// ------------------------------------------------------------------- fan-out

awaitable<bool> Bench::connect_clients(bool floor, size_t n) {
  auto& clients = floor ? floor_clients_ : svc_clients_;
  auto& tracks = floor ? floor_tracks_ : svc_tracks_;
  const uint16_t port = floor ? broadcaster_->port() : opt_.api_port;
  // Replace closed clients, then add new ones up to n.
  for (size_t i = 0; i < n; ++i) {
    if (i < clients.size() && clients[i]->open()) continue;
    auto c = std::make_shared<WsClient>(io_);
    if (!co_await c->connect(port, "/events", 0)) {
      std::fprintf(stderr, "client %zu cannot connect (%s)\n", i, floor ? "floor" : "service");
      co_return false;
    }
    auto track = i < tracks.size() ? tracks[i] : std::make_shared<Track>();
    std::weak_ptr<Track> weak = track;
    c->on_message = [weak](std::string_view m, int64_t now) {
      auto t = weak.lock();
      if (!t || m.compare(0, 19, "{\"type\":\"call.dtmf\"") != 0) return;
      const uint64_t k = t->got++;
      if (k >= t->count) {
        ++t->mismatched;
        return;
      }
      const std::string_view call = view_after(m, "\"callId\":\"");
      const std::string_view digit = view_after(m, "\"digit\":\"");
      if (call != (*t->call_of)[k % t->call_of->size()] || digit.size() != 1 ||
          digit[0] != t->digits[k % t->digits.size()]) {
        ++t->mismatched;
        return;
      }
      t->recv[k] = now;
    };
    c->start_reading();
    if (i < clients.size()) {
      clients[i] = c;
    } else {
      clients.push_back(c);
      tracks.push_back(track);
    }
  }
  if (floor) {
    auto until = Clock::now() + milliseconds(5000);
    while (broadcaster_->peers() < clients.size() && Clock::now() < until)
      co_await sleep_for(milliseconds(5));
  }
  co_await sleep_for(milliseconds(100));  // snapshots delivered
  co_return true;
}

awaitable<FanoutRow> Bench::fanout_step(bool floor, size_t n, double rate, uint64_t count) {
  FanoutRow row;
  row.source = floor ? "floor" : "service";
  row.clients = n;
  row.rate = rate;
  row.events = count;
  const std::string digits = "0123456789*#";
  auto& clients = floor ? floor_clients_ : svc_clients_;
  auto& tracks = floor ? floor_tracks_ : svc_tracks_;
  for (size_t i = 0; i < n; ++i) {
    auto& t = *tracks[i];
    t.call_of = &fan_call_ids_;
    t.digits = digits;
    t.count = count;
    t.got = 0;
    t.mismatched = 0;
    t.recv.assign(count, 0);
  }
  std::vector<int64_t> times;
  if (!floor) {
    // A step that overwhelmed the service may have cost it its ARI socket: wait for it.
    for (int i = 0; i < 400; ++i) {
      auto h = co_await api(http::verb::get, "/health", std::string{});
      if (h.body.find("\"ari\":true") != std::string::npos) break;
      co_await sleep_for(milliseconds(25));
    }
  }
  if (floor) {
    Broadcaster::Spec spec;
    spec.call_ids = fan_call_ids_;
    spec.digits = digits;
    spec.rate = rate;
    spec.count = count;
    broadcaster_->start(std::move(spec));
  } else {
    json::Writer w;
    w.begin_object().key("channels").begin_array();
    for (const auto& c : fan_calls_) w.string(c.channel);
    w.end_array().key("rate").number(rate).field_int("count", static_cast<int64_t>(count));
    w.field("digits", digits).end_object();
    auto r = co_await sim(http::verb::post, "/_sim/bench/dtmf", w.str());
    if (r.status != 202) {
      std::fprintf(stderr, "bench emitter: %d %s\n", r.status, r.body.c_str());
      failed_ = true;
      co_return row;
    }
  }
  // Wait for the emission to end and every client to have everything (or give
  // up), without asking the simulator anything while it emits.
  const double emit_s = static_cast<double>(count) / rate;
  co_await sleep_for(
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(emit_s)));
  auto until = Clock::now() + milliseconds(3000);
  bool emitting = true;
  while (Clock::now() < until) {
    if (floor) {
      emitting = !broadcaster_->done();
    } else if (emitting) {
      auto r = co_await sim(http::verb::get, "/_sim/bench", std::string{});
      auto doc = json::parse(r.body);
      emitting = !doc || json::get_bool(*doc, "running", true);
    }
    if (!emitting) {
      bool all = true;
      for (size_t i = 0; i < n && all; ++i) all = !clients[i]->open() || tracks[i]->got >= count;
      if (all) break;
    }
    co_await sleep_for(milliseconds(20));
  }
  // A step that fell behind may still be draining: let it finish before the next one.
  for (uint64_t last = ~uint64_t{0}, rounds = 0; rounds < 100; ++rounds) {
    uint64_t total = 0;
    for (size_t i = 0; i < n; ++i) total += tracks[i]->got;
    if (total == last) break;
    last = total;
    co_await sleep_for(milliseconds(100));
  }
  if (floor) {
    times = broadcaster_->times();
  } else {
    auto r = co_await sim(http::verb::get, "/_sim/bench/emitted", std::string{});
    auto doc = json::parse(r.body);
    if (doc) {
      if (auto* a = json::find(*doc, "timesUs"); a && a->IsArray())
        for (const auto& v : a->GetArray()) times.push_back(v.GetInt64());
      row.emitter_late_us = json::get_int(*doc, "maxLateUs", 0);
    }
  }
  std::vector<double> delays;
  delays.reserve(n * count);
  row.expected = n * count;
  for (size_t i = 0; i < n; ++i) {
    const auto& t = *tracks[i];
    if (!clients[i]->open()) ++row.clients_closed;
    row.mismatched += t.mismatched;
    for (uint64_t k = 0; k < count && k < times.size(); ++k) {
      if (t.recv[k] == 0 || times[k] == 0) continue;
      ++row.received;
      delays.push_back(static_cast<double>(t.recv[k] - times[k]) / 1000.0);
    }
  }
  row.delay_ms = summarize(delays);
  row.keeps_up = row.received == row.expected && row.mismatched == 0 && row.clients_closed == 0 &&
                 row.delay_ms.p99 < 100.0;
  if (rate == 1000) cdf_[row.source + " " + std::to_string(n)] = std::move(delays);
  co_await sleep_for(milliseconds(150));
  co_return row;
}

awaitable<void> Bench::slow_client_test(double rate, uint64_t count) {
  // One reading client and one that completes the handshake, then never reads
  // (4 KiB receive buffer). The service must drop the slow one (1008) and keep
  // its own memory flat.
  auto slow = std::make_shared<WsClient>(io_);
  if (!co_await slow->connect(opt_.api_port, "/events", 4096)) {
    failed_ = true;
    co_return;
  }
  co_await sleep_for(milliseconds(200));
  slow_.rate = rate;
  slow_.events = count;
  slow_.rss_before = rss_kib(opt_.pid);
  slow_.rss_max = slow_.rss_before;
  auto& t = *svc_tracks_[0];
  t.call_of = &fan_call_ids_;
  t.digits = "0123456789*#";
  t.count = count;
  t.got = 0;
  t.mismatched = 0;
  t.recv.assign(count, 0);
  json::Writer w;
  w.begin_object().key("channels").begin_array();
  for (const auto& c : fan_calls_) w.string(c.channel);
  w.end_array().key("rate").number(rate).field_int("count", static_cast<int64_t>(count));
  w.field("digits", t.digits).end_object();
  auto r = co_await sim(http::verb::post, "/_sim/bench/dtmf", w.str());
  if (r.status != 202) {
    failed_ = true;
    co_return;
  }
  auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(count / rate + 5.0));
  while (Clock::now() < until) {
    co_await sleep_for(milliseconds(50));
    slow_.rss_max = std::max(slow_.rss_max, rss_kib(opt_.pid));
    auto e = co_await sim(http::verb::get, "/_sim/bench", std::string{});
    auto doc = json::parse(e.body);
    if (doc && !json::get_bool(*doc, "running", true) && t.got >= count) break;
  }
  co_await sleep_for(milliseconds(2500));  // the service's close grace period
  slow_.rss_after = rss_kib(opt_.pid);
  slow_.fast_received = t.got;
  slow_.fast_mismatched = t.mismatched;
  // Now read what the slow client was sent: frames, then the close (or EOF).
  slow->on_message = [](std::string_view, int64_t) {};
  slow->start_reading();
  auto drain_until = Clock::now() + milliseconds(3000);
  while (slow->open() && Clock::now() < drain_until) co_await sleep_for(milliseconds(20));
  slow_.slow_closed = !slow->open();
  slow_.close_code = slow->close_code();
  slow_.slow_received = slow->messages();
  slow->close();
}

awaitable<void> Bench::fanout() {
  std::printf("\n[2] event fan-out (DTMF from many calls)\n");
  std::fflush(stdout);
  const size_t n_calls = 50;
  auto channels = co_await inbound_calls(n_calls, 8);
  if (!co_await wait_active(static_cast<int64_t>(n_calls), milliseconds(10000))) failed_ = true;
  co_await sleep_for(milliseconds(500));
  fan_calls_ = co_await calls_for(channels);
  if (fan_calls_.size() != n_calls) {
    failed_ = true;
    co_return;
  }
  // The simulator emits on channels; clients see our call ids.
  for (const auto& c : fan_calls_) fan_call_ids_.push_back(c.id);
  broadcaster_ = std::make_unique<Broadcaster>();
  const std::vector<double> rates =
      opt_.quick ? std::vector<double>{250, 1000, 4000}
                 : std::vector<double>{250, 500, 1000, 2000, 4000, 8000, 16000};
  const double step_s = opt_.quick ? 0.6 : 1.2;
  const std::vector<size_t> client_counts = {1, 100, 1000};
  for (size_t n : client_counts) {
    for (int side = 0; side < 2; ++side) {
      const bool floor = side == 1;
      for (double rate : rates) {
        if (!co_await connect_clients(floor, n)) {
          failed_ = true;
          co_return;
        }
        // 1,000 clients: shorter steps (a step that falls behind takes long to drain).
        const double secs = n >= 1000 ? step_s / 2.5 : step_s;
        uint64_t count = static_cast<uint64_t>(rate * secs);
        count = std::max<uint64_t>(count, n >= 1000 ? 200 : 300);
        auto row = co_await fanout_step(floor, n, rate, count);
        fanout_.push_back(row);
        std::printf(
            "  %-7s %4zu clients %6.0f ev/s: p50 %.2f ms p99 %.2f ms max %.2f ms, "
            "%lu/%lu delivered%s\n",
            row.source.c_str(), n, rate, row.delay_ms.p50, row.delay_ms.p99, row.delay_ms.max,
            static_cast<unsigned long>(row.received), static_cast<unsigned long>(row.expected),
            row.keeps_up ? "" : "  (behind)");
        std::fflush(stdout);
        if (!row.keeps_up && rate >= 1000) break;  // the next rates only fall further behind
      }
    }
  }
  // Back to one reading client for the slow-client test.
  for (size_t i = 1; i < svc_clients_.size(); ++i) svc_clients_[i]->close();
  floor_clients_.clear();
  broadcaster_.reset();
  co_await sleep_for(milliseconds(300));
  if (!co_await connect_clients(false, 1)) co_return;
  // Enough events to fill every buffer on the way (the kernel's send buffer can
  // grow to tcp_wmem's maximum) and then the service's 1,024-frame queue.
  uint64_t wmem_max = 4 << 20;
  {
    std::ifstream f("/proc/sys/net/ipv4/tcp_wmem");
    uint64_t a = 0, b = 0, c = 0;
    if (f >> a >> b >> c) wmem_max = c;
  }
  co_await slow_client_test(10000, wmem_max / 120 + 6000);
  std::printf(
      "  slow client: RSS before %ld KiB, max %ld KiB, after %ld KiB; slow client %s "
      "(close code %d) after %lu messages\n",
      slow_.rss_before, slow_.rss_max, slow_.rss_after, slow_.slow_closed ? "closed" : "NOT closed",
      slow_.close_code, static_cast<unsigned long>(slow_.slow_received));
  for (auto& c : svc_clients_) c->close();
  svc_clients_.clear();
}

// ------------------------------------------------------------------- report

std::string format_num(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

void Bench::write_results() {
  std::printf(
      "\n==== asterisk-api vs direct ARI (same run; client, service and simulator share "
      "%u cores, nothing pinned) ====\n",
      std::thread::hardware_concurrency());
  std::printf("\n1. Added latency per REST operation (keep-alive; us)\n");
  std::printf("%-18s %-11s %9s %9s %9s %9s %7s %7s %9s %9s %10s\n", "operation", "clients",
              "direct50", "svc p50", "direct99", "svc p99", "p50 x", "p99 x", "+p50 us", "+p99 us",
              "direct/s");
  for (const auto& r : latency_) {
    std::printf("%-18s %-11s %9.1f %9.1f %9.1f %9.1f %7.2f %7.2f %9.1f %9.1f %10.0f\n",
                r.op.c_str(), r.mode.c_str(), r.direct.p50, r.service.p50, r.direct.p99,
                r.service.p99, r.service.p50 / r.direct.p50, r.service.p99 / r.direct.p99,
                r.service.p50 - r.direct.p50, r.service.p99 - r.direct.p99, r.direct_ops);
  }
  std::printf(
      "(direct/s: the simulator's own ceiling for that operation with this client; "
      "service ops/s in results.json)\n");

  std::printf("\n2. Event fan-out: emission -> receipt at each client (ms)\n");
  std::printf("%-8s %7s %8s %8s %8s %8s %13s %s\n", "source", "clients", "ev/s", "p50", "p99",
              "max", "delivered", "keeps up");
  for (const auto& r : fanout_)
    std::printf("%-8s %7zu %8.0f %8.2f %8.2f %8.2f %6lu/%-6lu %s\n", r.source.c_str(), r.clients,
                r.rate, r.delay_ms.p50, r.delay_ms.p99, r.delay_ms.max,
                static_cast<unsigned long>(r.received), static_cast<unsigned long>(r.expected),
                r.keeps_up ? "yes" : "no");
  auto best = [&](const std::string& src, size_t n) {
    double b = 0;
    for (const auto& r : fanout_)
      if (r.source == src && r.clients == n && r.keeps_up) b = std::max(b, r.rate);
    return b;
  };
  for (size_t n : {size_t{1}, size_t{100}, size_t{1000}})
    std::printf("highest rate kept up with %4zu clients: service %.0f ev/s, floor %.0f ev/s\n", n,
                best("service", n), best("floor", n));
  std::printf(
      "(keeps up: every event delivered in order to every client, none dropped, p99 < "
      "100 ms; rates tried up to the first that falls behind)\n");
  std::printf(
      "slow reader (%0.f ev/s, %lu events, one client never reads): service RSS %ld -> "
      "max %ld -> %ld KiB; slow client closed: %s (code %d, %lu messages); "
      "reading client got %lu/%lu\n",
      slow_.rate, static_cast<unsigned long>(slow_.events), slow_.rss_before, slow_.rss_max,
      slow_.rss_after,
      !slow_.slow_closed       ? "no"
      : slow_.close_code == -1 ? "yes, cut after the close grace period (its socket was full: no "
                                 "close frame could reach it)"
                               : "yes",
      slow_.close_code, static_cast<unsigned long>(slow_.slow_received),
      static_cast<unsigned long>(slow_.fast_received), static_cast<unsigned long>(slow_.events));

  std::printf("\n3. Call throughput: originate -> answered -> hangup (cycles/s)\n");
  std::printf("%-10s %10s %10s %8s %s\n", "in flight", "direct", "service", "ratio",
              "failed cycles (direct/service)");
  for (const auto& r : throughput_)
    std::printf("%-10zu %10.0f %10.0f %8.2f %lu/%lu\n", r.inflight, r.direct_cps, r.service_cps,
                r.service_cps / r.direct_cps, static_cast<unsigned long>(r.direct_fail),
                static_cast<unsigned long>(r.service_fail));

  const long big = opt_.quick ? 3000 : 10000;
  std::printf("\n4. Service memory (RSS, KiB)\n");
  std::printf(
      "idle %ld | 1,000 calls %ld | %ld calls %ld | after all ended %ld | after a second "
      "round %ld\n",
      rss_idle_, rss_1k_, big, rss_10k_, rss_after_, rss_after2_);
  const double per_call = (rss_10k_ - rss_1k_) * 1024.0 / static_cast<double>(big - 1000);
  const double per_call_avg = (rss_10k_ - rss_idle_) * 1024.0 / static_cast<double>(big);
  std::printf("bytes per live call: %.0f (1,000 -> %ld), %.0f (idle -> %ld)\n", per_call, big,
              per_call_avg, big);

  // Targets.
  std::printf("\nTargets\n");
  auto row_of = [&](const std::string& op, const std::string& mode) -> const LatencyRow* {
    for (const auto& r : latency_)
      if (r.op == op && r.mode == mode) return &r;
    return nullptr;
  };
  json::Writer tw;
  tw.begin_array();
  auto target = [&](const std::string& name, bool ok, const std::string& value) {
    std::printf("  [%s] %s: %s\n", ok ? "ok  " : "FAIL", name.c_str(), value.c_str());
    tw.begin_object().field("target", name).field_bool("holds", ok).field("value", value);
    tw.end_object();
  };
  for (const std::string mode : {"sequential", "16 clients"}) {
    for (const std::string op : {"DTMF", "play (wait:false)", "originate"}) {
      auto* r = row_of(op, mode);
      if (!r) continue;
      double add = r->service.p50 - r->direct.p50;
      double ratio = r->service.p99 / r->direct.p99;
      target(op + " " + mode + ": <= 60 us added at p50", add <= 60, format_num("%.1f us", add));
      target(op + " " + mode + ": p99 <= 1.5x direct", ratio <= 1.5, format_num("%.2fx", ratio));
    }
    if (auto* r = row_of("GET call", mode))
      target("GET /calls/:id " + mode + ": p50 ratio <= 1.0", r->service.p50 <= r->direct.p50,
             format_num("%.2fx", r->service.p50 / r->direct.p50));
  }
  const FanoutRow *f1000 = nullptr, *floor1000 = nullptr;
  for (const auto& r : fanout_)
    if (r.clients == 1000 && r.rate == 1000) (r.source == "service" ? f1000 : floor1000) = &r;
  if (f1000 && floor1000) {
    double ratio = f1000->delay_ms.p99 / floor1000->delay_ms.p99;
    target("fan-out 1,000 clients at 1,000 ev/s: p99 <= 2x floor, nothing lost",
           ratio <= 2.0 && f1000->received == f1000->expected && f1000->mismatched == 0,
           format_num("%.2fx", ratio) + " (" + format_num("%.2f", f1000->delay_ms.p99) + " vs " +
               format_num("%.2f ms", floor1000->delay_ms.p99) + "), " +
               std::to_string(f1000->expected - f1000->received) + " lost, " +
               std::to_string(f1000->mismatched) + " out of order");
  }
  target("<= 4 KiB RSS per live call", per_call <= 4096, format_num("%.0f bytes", per_call));
  target("idle RSS <= 10 MB", rss_idle_ * 1024 <= 10'000'000,
         format_num("%.1f MB", rss_idle_ / 1024.0));
  target("memory bounded with a client that stops reading",
         slow_.slow_closed && slow_.rss_max - slow_.rss_before < 2048,
         format_num("+%.0f KiB max", static_cast<double>(slow_.rss_max - slow_.rss_before)));
  tw.end_array();

  // JSON.
  json::Writer w;
  w.begin_object();
  w.key("machine").begin_object();
  w.field_int("cores", std::thread::hardware_concurrency());
  w.field("note",
          "client, service and simulator run as three processes sharing the cores; "
          "nothing pinned");
  w.end_object();
  auto summary = [&](const Summary& s) {
    w.begin_object()
        .field_int("n", static_cast<int64_t>(s.n))
        .key("p50")
        .number(s.p50)
        .key("p99")
        .number(s.p99)
        .key("max")
        .number(s.max)
        .key("mean")
        .number(s.mean)
        .end_object();
  };
  w.key("rest_latency_us").begin_array();
  for (const auto& r : latency_) {
    w.begin_object().field("op", r.op).field("clients", r.mode);
    w.key("direct");
    summary(r.direct);
    w.key("service");
    summary(r.service);
    w.key("p50_ratio").number(r.service.p50 / r.direct.p50);
    w.key("p99_ratio").number(r.service.p99 / r.direct.p99);
    w.key("added_p50_us").number(r.service.p50 - r.direct.p50);
    w.key("added_p99_us").number(r.service.p99 - r.direct.p99);
    w.key("direct_ops_per_s").number(r.direct_ops);
    w.key("service_ops_per_s").number(r.service_ops);
    w.end_object();
  }
  w.end_array();
  w.key("fanout").begin_object();
  w.key("steps").begin_array();
  for (const auto& r : fanout_) {
    w.begin_object()
        .field("source", r.source)
        .field_int("clients", static_cast<int64_t>(r.clients));
    w.key("rate").number(r.rate).field_int("events", static_cast<int64_t>(r.events));
    w.field_int("expected", static_cast<int64_t>(r.expected))
        .field_int("received", static_cast<int64_t>(r.received))
        .field_int("out_of_order", static_cast<int64_t>(r.mismatched))
        .field_int("clients_closed", static_cast<int64_t>(r.clients_closed))
        .field_int("emitter_max_late_us", r.emitter_late_us);
    w.key("delay_ms");
    summary(r.delay_ms);
    w.field_bool("keeps_up", r.keeps_up).end_object();
  }
  w.end_array();
  w.key("highest_rate_kept_up").begin_object();
  for (size_t n : {size_t{1}, size_t{100}, size_t{1000}}) {
    w.key(std::to_string(n)).begin_object();
    w.key("service").number(best("service", n)).key("floor").number(best("floor", n));
    w.end_object();
  }
  w.end_object();
  w.key("slow_reader").begin_object();
  w.key("rate").number(slow_.rate).field_int("events", static_cast<int64_t>(slow_.events));
  w.field_int("rss_before_kib", slow_.rss_before)
      .field_int("rss_max_kib", slow_.rss_max)
      .field_int("rss_after_kib", slow_.rss_after)
      .field_bool("slow_client_closed", slow_.slow_closed)
      .field_int("close_code", slow_.close_code)
      .field_int("slow_client_messages", static_cast<int64_t>(slow_.slow_received))
      .field_int("reading_client_messages", static_cast<int64_t>(slow_.fast_received))
      .field_int("reading_client_out_of_order", static_cast<int64_t>(slow_.fast_mismatched));
  w.end_object();
  w.field("keeps_up_means",
          "every event delivered in order to every client, none dropped, p99 < 100 ms");
  w.end_object();
  w.key("call_throughput_cps").begin_array();
  for (const auto& r : throughput_) {
    w.begin_object().field_int("in_flight", static_cast<int64_t>(r.inflight));
    w.key("direct").number(r.direct_cps).key("service").number(r.service_cps);
    w.key("ratio").number(r.service_cps / r.direct_cps);
    w.field_int("direct_failures", static_cast<int64_t>(r.direct_fail))
        .field_int("service_failures", static_cast<int64_t>(r.service_fail))
        .end_object();
  }
  w.end_array();
  w.key("memory_kib").begin_object();
  w.field_int("idle", rss_idle_)
      .field_int("calls_1000", rss_1k_)
      .field_int("calls_" + std::to_string(big), rss_10k_)
      .field_int("after_all_ended", rss_after_)
      .field_int("after_second_round", rss_after2_);
  w.key("bytes_per_call_marginal").number(per_call);
  w.key("bytes_per_call_from_idle").number(per_call_avg);
  w.key("inject_seconds").number(inject_s_);
  w.end_object();
  w.key("targets").raw(tw.view());
  w.end_object();
  std::ofstream(opt_.out) << w.view() << "\n";

  if (!opt_.plot.empty()) {
    // Percentile table of the 1,000 ev/s steps: one column per series.
    std::ofstream p(opt_.plot);
    p << "percentile";
    std::vector<std::vector<double>*> cols;
    for (const char* name :
         {"service 1", "floor 1", "service 100", "floor 100", "service 1000", "floor 1000"}) {
      auto it = cdf_.find(name);
      if (it == cdf_.end() || it->second.empty()) continue;
      std::string label = name;
      const bool svc = label.rfind("service", 0) == 0;
      const std::string n = label.substr(label.find(' ') + 1);
      label = std::string(svc ? "asterisk-api" : "floor") + ", " + n +
              (n == "1" ? " client" : " clients");
      p << " \"" << label << "\"";
      cols.push_back(&it->second);
    }
    p << "\n";
    for (int i = 0; i <= 1000; ++i) {
      const double q = i / 1000.0;
      p << q * 100;
      for (auto* c : cols) {
        size_t idx =
            std::min(c->size() - 1, static_cast<size_t>(q * static_cast<double>(c->size())));
        p << " " << std::max(0.001, (*c)[idx]);
      }
      p << "\n";
    }
  }
}

// (Re)open our ARI events socket (app bench-direct). The simulator drops a
// socket whose reader falls 1,024 frames behind, which can happen to this
// single-threaded client on a loaded machine.
awaitable<bool> Bench::open_ari_events() {
  if (ari_events_ && ari_events_->open()) co_return true;
  if (ari_events_) {
    std::fprintf(stderr, "note: the simulator had closed our ARI events socket; reopening\n");
    ari_events_->close();
  }
  ari_events_ = std::make_shared<WsClient>(io_);
  if (!co_await ari_events_->connect(
          opt_.sim_port, "/ari/events?app=bench-direct&api_key=asterisk_ari:asterisk_ari_pass",
          0)) {
    std::fprintf(stderr, "cannot open the ARI events socket\n");
    failed_ = true;
    co_return false;
  }
  ari_events_->on_message = [this](std::string_view m, int64_t) {
    auto doc = json::parse(m);
    if (!doc) return;
    auto type = json::get_string(*doc, "type");
    auto* ch = json::find(*doc, "channel");
    if (!ch) return;
    std::string id(json::get_string(*ch, "id"));
    if (type == "StasisStart")
      signals_.fire("up:" + id);
    else if (type == "ChannelDestroyed")
      signals_.fire("gone:" + id);
  };
  ari_events_->start_reading();
  co_await sleep_for(milliseconds(50));
  co_return true;
}

awaitable<void> Bench::run() {
  // The simulator: an endpoint that answers at once, used by every originate.
  auto r = co_await sim(http::verb::put, "/_sim/endpoints/PJSIP/bench",
                        R"({"behavior":"answer","answerAfterMs":0})");
  if (r.status / 100 != 2) {
    std::fprintf(stderr, "cannot configure the simulator: %d %s\n", r.status, r.body.c_str());
    failed_ = true;
    co_return;
  }
  // Our own ARI events socket (app bench-direct) for the direct originates.
  if (!co_await open_ari_events()) co_return;
  // The service is up and connected to the simulator.
  for (int i = 0; i < 200; ++i) {
    auto h = co_await api(http::verb::get, "/health", "");
    if (h.status == 200 && h.body.find("\"ari\":true") != std::string::npos) break;
    co_await sleep_for(milliseconds(25));
  }
  co_await sleep_for(milliseconds(300));

  auto part = [&](const char* name) { return opt_.only.empty() || opt_.only == name; };
  const auto t0 = Clock::now();
  auto took = [&](const char* name) {
    std::printf("  (%s: %.0f s into the run)\n", name, us_since(t0) / 1e6);
    std::fflush(stdout);
  };
  if (part("memory")) co_await memory();
  took("memory");
  if (part("latency")) co_await latency();
  took("latency");
  if (part("throughput")) co_await throughput();
  took("throughput");
  if (part("fanout")) co_await fanout();
  took("fan-out");
  write_results();
  ari_events_->close();
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--sim")
      o.sim_port = static_cast<uint16_t>(std::atoi(val().c_str()));
    else if (a == "--api")
      o.api_port = static_cast<uint16_t>(std::atoi(val().c_str()));
    else if (a == "--pid")
      o.pid = std::atoi(val().c_str());
    else if (a == "--out")
      o.out = val();
    else if (a == "--plot")
      o.plot = val();
    else if (a == "--quick")
      o.quick = true;
    else if (a == "--only")
      o.only = val();
    else {
      std::fprintf(stderr,
                   "usage: service_bench --sim PORT --api PORT --pid PID [--out FILE] "
                   "[--plot FILE] [--quick]\n");
      return 2;
    }
  }
  if (!o.sim_port || !o.api_port || !o.pid) {
    std::fprintf(stderr, "service_bench: --sim, --api and --pid are required\n");
    return 2;
  }
  // 1,000 clients (and as many broadcaster peers) need file descriptors.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  asio::io_context io;
  Bench bench(io, o);
  bool done = false;
  asio::co_spawn(io, bench.run(), [&](std::exception_ptr ep) {
    done = true;
    if (ep) {
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "service_bench: %s\n", e.what());
      }
    }
    io.stop();
  });
  io.run();
  return done && !bench.failed() ? 0 : 1;
}
