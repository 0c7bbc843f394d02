// The startup phase of a client: SSLRequest, GSSENCRequest, CancelRequest,
// StartupMessage, authentication, and the first ReadyForQuery.
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include "router/auth/md5.h"
#include "router/auth/scram.h"
#include "router/net/tls.h"
#include "router/server.h"
#include "router/session/client_session.h"

namespace shardline::session {

namespace {

void appendAuthRequest(std::string& out, int32_t code, std::string_view data = {}) {
  wire::MessageWriter(out).begin('R').int32(code).raw(data).end();
}

void appendAuthFailed(std::string& out, const std::string& user) {
  wire::appendError(out, "28P01", "password authentication failed for user \"" + user + "\"",
                    "FATAL");
}

}  // namespace

awaitable<bool> ClientSession::startup() {
  for (;;) {
    std::string_view body;
    auto status = in_.nextStartup(body);
    if (status == wire::FrameStatus::Bad) {
      wire::appendError(out_, "08P01", "invalid length of startup packet", "FATAL");
      co_await flushClient();
      co_return false;
    }
    if (status == wire::FrameStatus::NeedMore) {
      // Waiting before taking a buffer: a client connects some time before it speaks.
      co_await client_->waitReadable();
      char* data = in_.writable(1024);
      size_t n = co_await client_->readSome(data, in_.writableSize());
      in_.commit(n);
      continue;
    }

    wire::FieldReader r(body);
    int32_t code = 0;
    r.int32(code);
    if (uint32_t(code) == wire::kSslRequestCode) {
      bool useTls = worker_.serverTls() != nullptr && client_->isTcp();
      out_.push_back(useTls ? 'S' : 'N');
      if (!in_.empty()) {
        // Bytes after an SSLRequest, before its answer, could be injected: refuse.
        wire::appendError(out_, "08P01", "received unencrypted data after SSL request", "FATAL");
        co_await flushClient();
        co_return false;
      }
      co_await flushClient();
      if (useTls) {
        bool upgraded = co_await upgradeToTls();
        if (!upgraded) {
          co_return false;
        }
      }
      continue;
    }
    if (uint32_t(code) == wire::kGssEncRequestCode) {
      out_.push_back('N');
      co_await flushClient();
      continue;
    }
    if (uint32_t(code) == wire::kCancelRequestCode) {
      int32_t pid = 0;
      int32_t secret = 0;
      if (r.int32(pid) && r.int32(secret)) {
        worker_.cancels().cancel(pid, secret);
      }
      co_return false;
    }
    if ((uint32_t(code) >> 16) != 3) {
      wire::appendError(out_, "0A000",
                        "unsupported frontend protocol " + std::to_string(uint32_t(code) >> 16) +
                            "." + std::to_string(uint32_t(code) & 0xffff) +
                            ": server supports 3.0 to 3.0",
                        "FATAL");
      co_await flushClient();
      co_return false;
    }

    std::vector<Setting> parameters;
    for (;;) {
      std::string_view name;
      std::string_view value;
      if (!r.cstring(name) || name.empty() || !r.cstring(value)) {
        break;
      }
      parameters.emplace_back(name, value);
    }
    negotiateProtocol(uint32_t(code) & 0xffff, parameters);
    std::string userName;
    ClientLogin login;
    for (const auto& [name, value] : parameters) {
      if (name == "user") {
        userName = value;
      } else if (name == "database") {
        login.database = value;
      }
    }
    if (userName.empty()) {
      wire::appendError(out_, "28000", "no PostgreSQL user name specified in startup packet",
                        "FATAL");
      co_await flushClient();
      co_return false;
    }
    if (login.database.empty()) {
      login.database = userName;
    }
    login.user = worker_.config().findUser(userName);
    if (login.user == nullptr) {
      // As Postgres does, ask for a password anyway so that the answer does
      // not tell which user names exist.
      spdlog::info("{} unknown user \"{}\" refused", tag(), userName);
      std::string ignored;
      co_await authenticateScram(auth::makeScramVerifier(userName + "\x01unknown"), ignored);
      appendAuthFailed(out_, userName);
      co_await flushClient();
      co_return false;
    }
    login.settings = startupSettings(parameters);
    login_ = worker_.logins().share(std::move(login));
    co_return true;
  }
}

awaitable<bool> ClientSession::readTyped(wire::Frame& frame) {
  for (;;) {
    auto status = in_.next(frame);
    if (status == wire::FrameStatus::Ready) {
      co_return true;
    }
    if (status == wire::FrameStatus::Bad) {
      co_return false;
    }
    co_await flushClient();
    co_await client_->waitReadable();
    char* data = in_.writable(1024);
    size_t n = co_await client_->readSome(data, in_.writableSize());
    in_.commit(n);
  }
}

awaitable<bool> ClientSession::authenticate() {
  std::string error;
  bool ok = login_->user->auth == ClientAuth::Trust;
  if (login_->user->auth == ClientAuth::Md5) {
    ok = co_await authenticateMd5();
  } else if (login_->user->auth == ClientAuth::ScramSha256) {
    ok = co_await authenticateScram(error);
  }
  if (!ok) {
    spdlog::info("{} authentication failed for user \"{}\" {}", tag(), login_->user->name, error);
    appendAuthFailed(out_, login_->user->name);
    co_await flushClient();
    co_return false;
  }
  appendAuthRequest(out_, 0);
  co_return true;
}

awaitable<bool> ClientSession::authenticateMd5() {
  unsigned char salt[4];
  RAND_bytes(salt, sizeof salt);
  std::string_view saltView(reinterpret_cast<const char*>(salt), sizeof salt);
  appendAuthRequest(out_, 5, saltView);
  wire::Frame frame;
  bool done = co_await readTyped(frame);
  if (!done || frame.type != 'p') {
    co_return false;
  }
  std::string_view response = frame.body.substr(0, frame.body.find('\0'));
  co_return auth::constantTimeEqual(response,
                                    auth::md5ResponseFromStored(login_->user->password, saltView));
}

awaitable<bool> ClientSession::upgradeToTls() {
  try {
    client_ = co_await net::tlsAccept(std::move(client_), *worker_.serverTls());
  } catch (const std::exception& e) {
    spdlog::info("{} TLS handshake failed: {}", tag(), e.what());
    client_.reset();
    co_return false;
  }
  co_return true;
}

// Tells a client asking for a newer minor version, or for protocol options,
// what this server speaks (NegotiateProtocolVersion), as Postgres does.
void ClientSession::negotiateProtocol(uint32_t minor, const std::vector<Setting>& parameters) {
  std::vector<std::string_view> unknown;
  for (const auto& [name, value] : parameters) {
    if (name.rfind("_pq_.", 0) == 0) {
      unknown.push_back(name);
    }
  }
  if (minor == 0 && unknown.empty()) {
    return;
  }
  wire::MessageWriter w(out_);
  w.begin('v').int32(int32_t(wire::kProtocolV3)).int32(int32_t(unknown.size()));
  for (auto name : unknown) {
    w.cstring(name);
  }
  w.end();
}

awaitable<bool> ClientSession::authenticateScram(std::string& error) {
  co_return co_await authenticateScram(login_->user->password, error);
}

awaitable<bool> ClientSession::authenticateScram(const std::string& secret, std::string& error) {
  auto verifier = auth::parseScramVerifier(secret);
  if (!verifier) {
    co_return false;
  }
  auth::ScramServer scram(*verifier);
  // Over TLS, SCRAM-SHA-256-PLUS is offered first, as Postgres does.
  std::string endPoint = client_->tlsServerEndPoint();
  if (endPoint.empty()) {
    appendAuthRequest(out_, 10, std::string_view("SCRAM-SHA-256\0\0", 15));
  } else {
    appendAuthRequest(out_, 10, std::string_view("SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0", 34));
  }
  wire::Frame frame;
  bool done = co_await readTyped(frame);
  if (!done || frame.type != 'p') {
    co_return false;
  }
  wire::FieldReader r(frame.body);
  std::string_view mechanism;
  int32_t length = 0;
  std::string_view data;
  bool named = r.cstring(mechanism);
  bool plus = named && !endPoint.empty() && mechanism == "SCRAM-SHA-256-PLUS";
  if (!named || (mechanism != "SCRAM-SHA-256" && !plus) || !r.int32(length) || length < 0 ||
      !r.bytes(size_t(length), data)) {
    error = "malformed SASLInitialResponse";
    co_return false;
  }
  if (plus) {
    scram.expectChannelBinding(endPoint);
  }
  auto serverFirst = scram.handleClientFirst(data, &error);
  if (!serverFirst) {
    co_return false;
  }
  appendAuthRequest(out_, 11, *serverFirst);
  done = co_await readTyped(frame);
  if (!done || frame.type != 'p') {
    co_return false;
  }
  auto serverFinal = scram.handleClientFinal(frame.body, &error);
  if (!serverFinal) {
    co_return false;
  }
  appendAuthRequest(out_, 12, *serverFinal);
  co_return true;
}

// Takes a first backend to apply the client's startup settings and learn the
// values Postgres reports for them, then says ready.
awaitable<bool> ClientSession::finishStartup() {
  // The client sends nothing more before it is ready: its input buffer goes while it waits,
  // perhaps queued for a backend with many others.
  in_.releaseIfEmpty();
  bool done = co_await takeBackend(Reply::Query, BackendWait::Queue, nullptr);
  if (!done) {
    // The error is in out_, followed by a ReadyForQuery that must not be sent.
    // Failing to start a session is FATAL, as in Postgres.
    out_.resize(out_.size() - 6);
    wire::Frame frame;
    wire::FrameReader reader(1u << 20);
    std::memcpy(reader.writable(out_.size()), out_.data(), out_.size());
    reader.commit(out_.size());
    std::string rewritten;
    while (reader.next(frame) == wire::FrameStatus::Ready) {
      if (frame.type == 'E') {
        wire::ErrorFields fields = wire::parseError(frame.body);
        wire::appendError(rewritten, fields.sqlstate, fields.message, "FATAL", fields.detail);
      } else {
        rewritten.append(frame.bytes);
      }
    }
    out_.swap(rewritten);
    co_await flushClient();
    co_return false;
  }
  // In transaction mode the backend goes back at once, without a pump: the client now
  // waits for nothing.
  if (shouldRelease()) {
    pool_->release(std::move(backend_));
  } else {
    startPump();
  }
  RAND_bytes(reinterpret_cast<unsigned char*>(&cancelPid_), sizeof cancelPid_);
  RAND_bytes(reinterpret_cast<unsigned char*>(&cancelSecret_), sizeof cancelSecret_);
  cancelPid_ = (cancelPid_ & 0x7fffffff) | 1;
  worker_.cancels().add(cancelPid_, cancelSecret_, weak_from_this(), &worker_);
  wire::MessageWriter(out_).begin('K').int32(cancelPid_).int32(cancelSecret_).end();
  wire::appendReadyForQuery(out_, 'I');
  spdlog::debug("{} user={} database={} ready", tag(), login_->user->name, login_->database);
  co_return true;
}

}  // namespace shardline::session
