#include "router/pool/backend.h"

#include <spdlog/spdlog.h>

#include "router/auth/md5.h"
#include "router/auth/scram.h"
#include "router/net/tls.h"

namespace shardline::pool {

namespace {

// AuthenticationRequest codes (the int32 after 'R').
constexpr int32_t kAuthOk = 0;
constexpr int32_t kAuthCleartext = 3;
constexpr int32_t kAuthMd5 = 5;
constexpr int32_t kAuthSasl = 10;
constexpr int32_t kAuthSaslContinue = 11;
constexpr int32_t kAuthSaslFinal = 12;

std::string connectError(const NodeConfig& node, std::string_view what) {
  std::string out;
  wire::appendError(out, "08006",
                    "shardline: cannot connect to node " + node.name + ": " + std::string(what));
  return out;
}

void appendPasswordMessage(std::string& out, std::string_view password) {
  wire::MessageWriter(out).begin('p').cstring(password).end();
}

}  // namespace

awaitable<Backend::ConnectResult> Backend::connect(
    const NodeConfig& node, const std::string& database, const UserConfig& user,
    const StartupParameters& startup, const PoolConfig& pool, asio::ssl::context* tls) {
  ConnectResult result;
  try {
    auto transport = co_await net::connectTo(node.host, node.port, pool.connectTimeout);

    // TLS is negotiated before startup (SSLRequest) on TCP only.
    if (pool.tls != BackendTls::Disable && !node.isUnixSocket() && tls != nullptr) {
      std::string request;
      wire::MessageWriter(request).begin(0).int32(int32_t(wire::kSslRequestCode)).end();
      co_await transport->writeAll(request);
      char answer = 0;
      co_await transport->readSome(&answer, 1);
      if (answer == 'S') {
        std::string host = pool.tls == BackendTls::VerifyFull ? node.host : std::string();
        transport = co_await net::tlsConnect(std::move(transport), *tls, host);
      } else if (pool.tls == BackendTls::Require || pool.tls == BackendTls::VerifyFull) {
        result.errorBytes = connectError(node, "the server does not support TLS");
        co_return result;
      }
    }

    std::unique_ptr<Backend> backend(new Backend(node, std::move(transport)));
    std::string error = co_await backend->startup(database, user, startup);
    if (!error.empty()) {
      result.errorBytes = std::move(error);
      co_return result;
    }
    result.backend = std::move(backend);
  } catch (const std::exception& e) {
    result.errorBytes = connectError(node, e.what());
    result.unreachable = true;
    result.reason = e.what();
  }
  co_return result;
}

awaitable<void> Backend::fill() {
  co_await transport_->waitReadable();
  char* data = reader_.writable(8192);
  size_t n = transport_->readNow(data, reader_.writableSize());
  if (n == 0) {
    n = co_await transport_->readSome(data, reader_.writableSize());
  }
  reader_.commit(n);
}

awaitable<wire::Frame> Backend::readFrame() {
  wire::Frame frame;
  for (;;) {
    auto status = reader_.next(frame);
    if (status == wire::FrameStatus::Ready) {
      co_return frame;
    }
    if (status == wire::FrameStatus::Bad) {
      broken = true;
      throw std::runtime_error("backend sent a malformed message");
    }
    co_await fill();
  }
}

awaitable<std::string> Backend::startup(const std::string& database, const UserConfig& user,
                                        const StartupParameters& parameters) {
  startup_ = parameters;
  std::string out;
  wire::MessageWriter w(out);
  w.begin(0).int32(int32_t(wire::kProtocolV3));
  w.cstring("user").cstring(user.name).cstring("database").cstring(database);
  for (const auto& [name, value] : parameters) {
    w.cstring(name).cstring(value);
  }
  w.byte('\0').end();
  co_await send(out);

  std::unique_ptr<auth::ScramClient> scram;
  for (;;) {
    wire::Frame frame = co_await readFrame();
    // Plain if/else: GCC 12 miscompiles co_await inside switch cases.
    if (frame.type == 'R') {
      wire::FieldReader r(frame.body);
      int32_t method = 0;
      if (!r.int32(method)) {
        co_return connectError(*node_, "malformed authentication request");
      }
      std::string answer;
      std::string error = answerAuth(method, r.rest(), user, scram, answer);
      if (!error.empty()) {
        co_return error;
      }
      if (!answer.empty()) {
        co_await send(answer);
      }
    } else if (frame.type == 'E') {
      co_return std::string(frame.bytes);
    } else if (frame.type == 'S') {
      wire::FieldReader r(frame.body);
      std::string_view name;
      std::string_view value;
      if (r.cstring(name) && r.cstring(value)) {
        parameters_.emplace_back(name, value);
      }
    } else if (frame.type == 'K') {
      wire::FieldReader r(frame.body);
      r.int32(pid_);
      r.int32(secret_);
    } else if (frame.type == 'Z') {
      co_return std::string();
    }
    // NoticeResponse and anything else at startup is not for a client.
  }
}

// Builds the answer to one authentication request into `out` (empty: none needed).
std::string Backend::answerAuth(int32_t method, std::string_view body, const UserConfig& user,
                                std::unique_ptr<auth::ScramClient>& scram, std::string& out) {
  std::string error;
  switch (method) {
    case kAuthOk:
      return std::string();
    case kAuthCleartext:
      appendPasswordMessage(out, user.backendPassword);
      break;
    case kAuthMd5:
      if (body.size() < 4) {
        return connectError(*node_, "malformed md5 request");
      }
      appendPasswordMessage(out,
                            auth::md5Response(user.backendPassword, user.name, body.substr(0, 4)));
      break;
    case kAuthSasl: {
      if (body.find("SCRAM-SHA-256") == std::string_view::npos) {
        return connectError(*node_, "the server offers no supported SASL mechanism");
      }
      scram = std::make_unique<auth::ScramClient>(user.backendPassword);
      std::string first = scram->clientFirst();
      wire::MessageWriter(out)
          .begin('p')
          .cstring("SCRAM-SHA-256")
          .int32(int32_t(first.size()))
          .raw(first)
          .end();
      break;
    }
    case kAuthSaslContinue: {
      if (!scram) {
        return connectError(*node_, "SASL continue without a start");
      }
      auto final = scram->handleServerFirst(body, &error);
      if (!final) {
        return connectError(*node_, "SCRAM: " + error);
      }
      wire::MessageWriter(out).begin('p').raw(*final).end();
      break;
    }
    case kAuthSaslFinal: {
      bool verified = scram && scram->verifyServerFinal(body, &error);
      scram.reset();
      if (!verified) {
        return connectError(*node_, "SCRAM server signature rejected: " + error);
      }
      return std::string();
    }
    default:
      return connectError(*node_, "unsupported authentication method " + std::to_string(method));
  }
  return std::string();
}

awaitable<HiddenResult> Backend::runHidden(std::string_view messages, int syncs) {
  HiddenResult result;
  co_await send(messages);
  while (syncs > 0) {
    wire::Frame frame = co_await readFrame();
    switch (frame.type) {
      case 'D': {
        wire::FieldReader r(frame.body);
        int16_t count = 0;
        r.int16(count);
        auto& row = result.rows.emplace_back();
        for (int i = 0; i < count; ++i) {
          int32_t len = 0;
          std::string_view value;
          if (!r.int32(len)) {
            break;
          }
          if (len < 0) {
            row.emplace_back(std::nullopt);
          } else if (r.bytes(size_t(len), value)) {
            row.emplace_back(std::string(value));
          }
        }
        break;
      }
      case 'E':
        if (result.errorBytes.empty()) {
          result.errorBytes = std::string(frame.bytes);
        }
        break;
      case 'Z':
        result.status = frame.body.empty() ? 'I' : frame.body[0];
        --syncs;
        break;
      default:
        break;
    }
  }
  co_return result;
}

}  // namespace shardline::pool
