// A backend: one authenticated connection from the router to a Postgres node.
//
// A Backend belongs to one worker. While a client holds it, only that client's
// session touches it; in the pool, only the pool does.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "router/asio.h"
#include "router/config.h"
#include "router/net/transport.h"
#include "router/wire/message.h"

namespace boost::asio::ssl {
class context;
}

namespace shardline::auth {
class ScramClient;
}

namespace shardline::pool {

using Clock = std::chrono::steady_clock;

// Startup parameters as (name, value) pairs, in the order the client sent them.
using StartupParameters = std::vector<std::pair<std::string, std::string>>;

// Fingerprint of the session state of a backend fresh from startup.
constexpr uint64_t kFreshState = 0;

// The rows and outcome of statements the router runs on a backend for itself.
struct HiddenResult {
  std::vector<std::vector<std::optional<std::string>>> rows;
  std::string errorBytes;  // the first ErrorResponse, whole; empty when none
  char status = 'I';       // status of the last ReadyForQuery
  bool ok() const { return errorBytes.empty(); }
};

class Backend {
 public:
  struct ConnectResult {
    std::unique_ptr<Backend> backend;
    std::string errorBytes;  // an ErrorResponse to pass to the client when connecting failed
    // The node could not be reached (refused, timed out, cut), as opposed to refusing the
    // login: it is ejected from rotation.
    bool unreachable = false;
    std::string reason;
  };

  // Connects, negotiates TLS as `pool.tls` says, starts up and authenticates.
  // `startup` holds the client's startup parameters (other than user and
  // database); they become the backend's own, so RESET returns to them.
  static awaitable<ConnectResult> connect(const NodeConfig& node, const std::string& database,
                                          const UserConfig& user, const StartupParameters& startup,
                                          const PoolConfig& pool, asio::ssl::context* tls);

  awaitable<void> send(std::string_view bytes) { co_await transport_->writeAll(bytes); }
  // Sends what the socket takes at once; the caller sends the rest with send().
  size_t sendNow(std::string_view bytes) { return transport_->writeNow(bytes); }
  // Reads until at least one more frame can be taken from reader().
  awaitable<void> fill();
  // Next frame, reading as needed. Throws on a broken stream.
  awaitable<wire::Frame> readFrame();
  wire::FrameReader& reader() { return reader_; }

  // Sends `messages` (ending in `syncs` Sync or Query messages) and reads
  // every reply up to that many ReadyForQuery, keeping rows and the first error.
  awaitable<HiddenResult> runHidden(std::string_view messages, int syncs);

  void close() { transport_->close(); }
  void cancelIo() { transport_->cancel(); }
  // An idle backend that has something to say, or closed, is dead or desynchronized.
  bool idleIsBroken() { return !reader_.empty() || transport_->idleIsBroken(); }

  const NodeConfig& node() const { return *node_; }
  int32_t pid() const { return pid_; }
  int32_t secret() const { return secret_; }
  const std::vector<std::pair<std::string, std::string>>& parameters() const { return parameters_; }
  Clock::time_point createdAt() const { return createdAt_; }
  // The startup parameters this backend was opened with.
  const StartupParameters& startupParameters() const { return startup_; }

  // Names of statements prepared on this backend by the router ("sl_<hash>").
  std::unordered_set<std::string> prepared;
  // Fingerprint of the session settings currently applied on this backend.
  uint64_t stateFingerprint = kFreshState;
  // Which client's unnamed statement is current here: (client id, its sequence).
  uint64_t unnamedClient = 0;
  uint64_t unnamedSeq = 0;
  Clock::time_point lastUsed = Clock::now();
  bool broken = false;  // set when the stream failed or holds unread replies

 private:
  Backend(const NodeConfig& node, std::unique_ptr<net::Transport> transport)
      : node_(&node), transport_(std::move(transport)), reader_(1u << 30) {}

  awaitable<std::string> startup(const std::string& database, const UserConfig& user,
                                 const StartupParameters& parameters);
  // `scram` carries a SASL exchange across requests.
  std::string answerAuth(int32_t method, std::string_view body, const UserConfig& user,
                         std::unique_ptr<auth::ScramClient>& scram, std::string& out);

  const NodeConfig* node_;
  std::unique_ptr<net::Transport> transport_;
  wire::FrameReader reader_;
  int32_t pid_ = 0;
  int32_t secret_ = 0;
  std::vector<std::pair<std::string, std::string>> parameters_;
  Clock::time_point createdAt_ = Clock::now();
  StartupParameters startup_;
};

}  // namespace shardline::pool
