#include "router/session/client_session.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "router/server.h"
#include "router/session/shard_legs.h"
#include "router/session/statement_class.h"

namespace shardline::session {

namespace {
constexpr size_t kMaxPendingReplies = 1024;
constexpr size_t kMaxOutput = 1 << 20;
// Room for a transaction's messages to the backend, which most need no more than.
constexpr size_t kFirstToBackend = 256;
}  // namespace

ClientSession::ClientSession(Worker& worker, std::unique_ptr<net::Transport> transport, uint64_t id)
    : worker_(worker),
      client_(std::move(transport)),
      in_(worker.config().maxMessageBytes),
      id_(id) {}

ClientSession::~ClientSession() {
  if (cancelPid_ != 0) {
    worker_.cancels().remove(cancelPid_, cancelSecret_);
  }
}

awaitable<void> ClientSession::run() {
  auto self = shared_from_this();
  worker_.sessions.push_back(*this);
  // A client that has not finished logging in within client_login_ms is dropped.
  Timer loginTimer(worker_.io());
  loginTimer.expires_after(worker_.config().timeouts.clientLogin);
  loginTimer.async_wait([weak = weak_from_this()](ErrorCode ec) {
    auto self = weak.lock();
    if (!ec && self && self->cancelPid_ == 0 && self->client_) {
      spdlog::info("{} login timeout", self->tag());
      self->client_->close();
    }
  });
  bool ready = false;
  try {
    ready = co_await startup();
    if (ready) {
      ready = co_await authenticate();
    }
    if (ready) {
      ready = co_await finishStartup();
    }
  } catch (const std::exception& e) {
    spdlog::debug("{} connection ended: {}", tag(), e.what());
  }
  loginTimer.cancel();
  if (ready) {
    co_await serveOrEnd(Wake::Buffered);
  } else {
    co_await finish();
  }
}

awaitable<void> ClientSession::serveOrEnd(Wake wake) {
  Served served = Served::Ended;
  try {
    served = co_await serve(wake);
  } catch (const std::exception& e) {
    spdlog::debug("{} connection ended: {}", tag(), e.what());
  }
  if (served == Served::Ended) {
    co_await finish();
  }
}

// The client's socket is readable, or closed, after an idle wait. A failed wait shows again
// in the read, which then ends the session.
void ClientSession::onReadable(ErrorCode) {
  asio::co_spawn(
      worker_.io(), [self = shared_from_this()] { return self->serveOrEnd(Wake::Readable); },
      asio::detached);
}

awaitable<void> ClientSession::finish() {
  closing_ = true;
  try {
    co_await cleanupOnClose();
  } catch (const std::exception& e) {
    spdlog::debug("{} cleanup failed: {}", tag(), e.what());
  }
  if (client_) {
    client_->close();
  }
  unlink();  // from the worker's sessions
  spdlog::debug("{} closed", tag());
}

void ClientSession::requestClose() {
  closeRequested_ = true;
  if (isIdle()) {
    asio::co_spawn(
        worker_.io(), [self = shared_from_this()] { return self->terminate(); }, asio::detached);
  }
}

awaitable<void> ClientSession::terminate() {
  if (terminated_) {
    co_return;  // shutdown may ask from several places; the client is told once
  }
  terminated_ = true;
  wire::appendError(out_, "57P01", "terminating connection due to administrator command", "FATAL");
  co_await terminateQuietly();
}

awaitable<void> ClientSession::terminateQuietly() {
  try {
    co_await flushClient();
  } catch (const std::exception&) {
  }
  if (client_) {
    client_->close();
  }
}

awaitable<ClientSession::Served> ClientSession::serve(Wake wake) {
  wire::Frame frame;
  bool readable = wake == Wake::Readable;
  for (;;) {
    if (readable) {
      // Read here, not in a coroutine of its own: that would cost a frame per client read.
      if (toBackend_.capacity() < kFirstToBackend) {
        toBackend_.reserve(kFirstToBackend);  // given back while idle; one allocation
      }
      char* data = in_.writable(4096);
      size_t n = client_->readNow(data, in_.writableSize());
      if (n == 0) {
        n = co_await client_->readSome(data, in_.writableSize());
      }
      in_.commit(n);
      heardFromClient_ = true;
      if (idleTimer_) {
        idleTimer_->cancel();  // the client is not idle
      }
      readable = false;
    }
    auto status = in_.next(frame);
    if (status == wire::FrameStatus::Bad) {
      protocolViolation("invalid message length");
      co_await flushClient();
      co_return Served::Ended;
    }
    if (status == wire::FrameStatus::NeedMore) {
      // Everything gathered from this read goes to the backend in one write.
      if (!toBackend_.empty() && backend_) {
        std::string batch;
        batch.swap(toBackend_);
        size_t sent = backend_->sendNow(batch);
        if (sent < batch.size()) {
          co_await backend_->send(std::string_view(batch).substr(sent));
        }
      }
      emitReadySynthetic();
      // Replies the router gave itself (a Parse it answered) wait for the backend's, which
      // the pump writes together with them: one write, not two.
      bool pumpWrites = backend_ && pumping_ && !pending_.empty();
      if (!pumpWrites && !flushNow()) {
        co_await flushClient();
      }
      if (closeRequested_ && !backend_) {
        co_return Served::Ended;
      }
      // A client that sends faster than it reads waits here, so that neither
      // its replies nor its queued requests grow without bound.
      while (pumping_ && (pending_.size() > kMaxPendingReplies || out_.size() > kMaxOutput)) {
        co_await waitForChange();
      }
      releaseIdleMemory();
      armIdleTimer();
      // Waited for here, not in a coroutine of its own, for the same reason. parkIfIdle() may
      // cut the wait short when the session became idle meanwhile: then it parks.
      while (!readable) {
        if (park()) {
          co_return Served::Parked;
        }
        readerWaiting_ = true;
        try {
          co_await client_->waitReadable();
          readable = true;
        } catch (const boost::system::system_error& e) {
          if (!parkAsked_ || e.code() != asio::error::operation_aborted) {
            readerWaiting_ = parkAsked_ = false;
            throw;
          }
          releaseIdleMemory();  // what was in flight when the reader began waiting is done
        }
        readerWaiting_ = parkAsked_ = false;
      }
      continue;
    }
    if (frame.type == 'X') {
      co_return Served::Ended;
    }
    if (skipToSync_ && frame.type != 'S') {
      continue;
    }
    if (!handleNow(frame)) {
      AwaitingHandler handler = awaitingHandler(frame.type);
      co_await (this->*handler)(frame);
    }
    if (closing_) {
      co_await flushClient();  // a protocol violation's FATAL goes out before the close
      co_return Served::Ended;
    }
  }
}

void ClientSession::parkIfIdle() {
  bool heard = std::exchange(heardFromClient_, false);
  if (heard || !readerWaiting_ || parkAsked_ || !parkable()) {
    return;
  }
  parkAsked_ = true;
  client_->cancel();  // only the reader's wait is under way on the client's socket
}

// No backend, nothing in flight: whatever comes next starts with the client's next message.
bool ClientSession::parkable() const {
  bool busy = backend_ || pumping_ || releasing_ || writing_ || !pending_.empty() ||
              !toBackend_.empty() || !out_.empty() || scatterPipeline() || copySplit();
  return !busy;
}

// An idle session waits for its client with a socket wait that owns it, not with the
// reader's coroutine: thousands of idle clients then hold no coroutine frames.
bool ClientSession::park() {
  if (!parkable() || !client_->notifyWhenReadable(shared_from_this())) {
    return false;
  }
  changed_.reset();  // nobody waits on it: the reader is leaving and nothing else runs
  return true;
}

// A message while a scatter pipeline gathers or a COPY is split over shards. (An if/else
// chain: GCC 12 has miscompiled co_await inside switch statements here.)
awaitable<void> ClientSession::handleSplitting(wire::Frame frame) {
  const char type = frame.type;
  if (scatterPipeline() && type != 'S') {
    gatherForScatter(frame);
  } else if (copySplit() == nullptr) {
    co_await handleSync(frame);  // the Sync that runs the scatter pipeline
  } else if (type == 'd') {
    co_await copySplitData(frame);
  } else if (type == 'c' || type == 'f') {
    co_await endCopySplit(frame);
  } else if (type == 'H' || type == 'S') {
    // Postgres ignores Flush and Sync during copy-in.
  } else {
    protocolViolation("unexpected message type during COPY from stdin");
  }
}

awaitable<void> ClientSession::handleFunctionCall(wire::Frame frame) {
  bool attached = attachNow();
  if (!attached) {
    attached = co_await ensureBackend(Reply::Query);
  }
  if (attached) {
    startDeferredTransaction();
    toBackend_.append(frame.bytes);
    enqueue(Reply::Query);
  }
}

// The awaitable handler of a message of `type`, called straight from the reader so that no
// dispatching coroutine frame stands in between; null for a type the protocol does not have.
ClientSession::AwaitingHandler ClientSession::awaitingHandler(char type) const {
  if (scatterPipeline() || copySplit() != nullptr) {
    return &ClientSession::handleSplitting;
  }
  switch (type) {
    case 'Q':
      return &ClientSession::handleQuery;
    case 'P':
      return &ClientSession::handleParse;
    case 'B':
      return &ClientSession::handleBind;
    case 'D':
      return &ClientSession::handleDescribe;
    case 'C':
      return &ClientSession::handleClose;
    case 'E':
      return &ClientSession::handleExecute;
    case 'F':
      return &ClientSession::handleFunctionCall;
    case 'S':
      return &ClientSession::handleSync;
    default:
      return nullptr;
  }
}

// Handles a client message that needs no waiting, without a coroutine frame: with a backend
// attached, most of a pipeline. False when the message's awaitingHandler() must run.
bool ClientSession::handleNow(const wire::Frame& frame) {
  if (scatterPipeline() || copySplit() != nullptr) {
    return false;
  }
  const char type = frame.type;
  if (type == 'P') {
    return parseNow(frame);
  }
  if (type == 'B') {
    return bindNow(frame);
  }
  if (type == 'D') {
    return describeNow(frame);
  }
  if (type == 'E') {
    return executeNow(frame);
  }
  if (type == 'S') {
    sync(frame);
    return true;
  }
  if (type == 'H' || type == 'd') {
    // Flush and COPY data go to the attached backend; outside COPY Postgres ignores data.
    if (backend_) {
      toBackend_.append(frame.bytes);
    }
    return true;
  }
  if (type == 'c' || type == 'f') {
    if (backend_) {
      toBackend_.append(frame.bytes);
      enqueue(Reply::CopyEnd);
      copyIn_ = false;
    }
    return true;
  }
  if (awaitingHandler(type) == nullptr) {
    protocolViolation(std::string("invalid frontend message type ") +
                      std::to_string(int(uint8_t(type))));
    return true;
  }
  return false;
}

// An idle client keeps no buffers: thousands of them may sit connected.
void ClientSession::releaseIdleMemory() {
  in_.releaseIfEmpty();
  if (out_.empty()) {
    std::string().swap(out_);
  }
  if (toBackend_.empty()) {
    std::string().swap(toBackend_);
  }
  pending_.release();
}

// Closes the client after client_idle_ms without a message while no
// transaction is open, as Postgres' idle_session_timeout does. While a reply is
// still on its way or a transaction is open, the timer starts over.
void ClientSession::armIdleTimer() {
  if (worker_.config().timeouts.clientIdle.count() == 0) {
    return;
  }
  if (!idleTimer_) {
    idleTimer_ = std::make_unique<Timer>(worker_.io());
  }
  idleTimer_->expires_after(worker_.config().timeouts.clientIdle);
  idleTimer_->async_wait([weak = weak_from_this()](ErrorCode ec) {
    auto self = weak.lock();
    if (ec || !self || !self->client_) {
      return;
    }
    if (!self->isIdle()) {
      self->armIdleTimer();
      return;
    }
    wire::appendError(self->out_, "57P05", "terminating connection due to idle-session timeout",
                      "FATAL");
    asio::co_spawn(
        self->worker_.io(), [self] { return self->terminateQuietly(); }, asio::detached);
  });
}

void ClientSession::protocolViolation(std::string_view message) {
  spdlog::info("{} protocol violation: {}", tag(), message);
  wire::appendError(out_, "08P01", message, "FATAL");
  closing_ = true;
}

awaitable<void> ClientSession::handleQuery(wire::Frame frame) {
  std::string_view text = frame.body.substr(0, frame.body.find('\0'));
  StatementClass what = classify(text);

  // DEALLOCATE of a statement the router prepared under another name is answered here.
  if (!what.deallocateName.empty() && txStatus_ != 'E') {
    if (findStatement(what.deallocateName) != nullptr) {
      forgetStatement(what.deallocateName);
      std::string reply;
      wire::appendCommandComplete(reply, "DEALLOCATE");
      wire::appendReadyForQuery(reply, txStatus_);
      synthetic(std::move(reply));
      co_return;
    }
  }

  if (worker_.routes()) {
    bool routed = co_await routeQuery(frame);
    if (!routed) {
      co_return;
    }
  }
  bool done = attachNow();
  if (!done) {
    done = co_await ensureBackend(Reply::Query);
  }
  if (!done) {
    co_return;
  }
  noteEffects(what);

  // Protocol-level statements share one namespace with SQL PREPARE/EXECUTE.
  if (!what.prepareName.empty() && findStatement(what.prepareName) != nullptr) {
    Pending failing(Reply::Query);
    wire::appendError(failing.bytes, "42P05",
                      "prepared statement \"" + what.prepareName + "\" already exists");
    wire::MessageWriter(toBackend_).begin('Q').cstring(")").end();
    pending_.push_back(std::move(failing));
    co_return;
  }
  Statement* executed = what.executeName.empty() ? nullptr : findStatement(what.executeName);
  if (executed != nullptr) {
    executeUnderClientName(what.executeName, *executed, frame.bytes);
    co_return;
  }
  toBackend_.append(frame.bytes);
  enqueue(Reply::Query);
  // A simple query destroys the unnamed statement, the client's and the backend's.
  backend_->unnamedClient = 0;
  dropUnnamed();
}

// SQL EXECUTE of a statement the client prepared with Parse: the backend
// knows it under another name, so it is prepared under the client's name for
// this one EXECUTE and closed again, out of the client's sight.
void ClientSession::executeUnderClientName(const std::string& name, const Statement& statement,
                                           std::string_view query) {
  wire::MessageWriter(toBackend_).begin('P').cstring(name).raw(statement.parseRest).end();
  wire::MessageWriter(toBackend_).begin('S').end();
  toBackend_.append(query);
  wire::MessageWriter(toBackend_).begin('C').byte('S').cstring(name).end();
  wire::MessageWriter(toBackend_).begin('S').end();
  enqueue(Reply::HiddenParse);
  enqueue(Reply::HiddenSync);
  enqueue(Reply::Query);
  enqueue(Reply::HiddenClose);
  enqueue(Reply::HiddenSync);
  noteEffects(statement);
}

void ClientSession::noteEffects(const StatementClass& what) {
  settingsTouched_ = settingsTouched_ || what.changesSettings;
  if (what.pinsBackend && !pinned_) {
    pinned_ = true;
    spdlog::debug("{} backend pinned to the client", tag());
  }
  for (const auto& name : what.customSettings) {
    const std::vector<std::string>& known = customSettings();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      if (!settings_) {
        settings_ = std::make_unique<ClientSettings>();
      }
      settings_->customNames.push_back(name);
    }
  }
}

void ClientSession::noteEffects(const Statement& statement) {
  settingsTouched_ = settingsTouched_ || statement.changesSettings;
  if (statement.pinsBackend && !pinned_) {
    pinned_ = true;
    spdlog::debug("{} backend pinned to the client", tag());
  }
}

void ClientSession::synthetic(std::string bytes) {
  pending_.push_back(Pending{Reply::Synthetic, {}, {}, std::move(bytes)});
  emitReadySynthetic();
}

// A timer that never expires, cancelled to wake whoever waits on it. Most sessions never
// wait, so it is made on first use.
awaitable<void> ClientSession::waitForChange() {
  if (!changed_) {
    changed_ = std::make_unique<Timer>(worker_.io(), Timer::time_point::max());
  }
  ErrorCode ec;
  co_await changed_->async_wait(asio::redirect_error(use_awaitable, ec));
}

void ClientSession::signalChange() {
  if (changed_) {
    changed_->cancel();
  }
}

// Writes queued output without suspending when the socket takes all of it
// and no other write is under way; returns whether nothing is left queued.
bool ClientSession::flushNow() {
  if (out_.empty()) {
    return true;
  }
  if (writing_ || !client_) {
    return false;
  }
  size_t n = client_->writeNow(out_);
  if (n == out_.size()) {
    out_.clear();
    return true;
  }
  out_.erase(0, n);
  return false;
}

awaitable<void> ClientSession::flushClient() {
  while (writing_) {
    co_await waitForChange();
  }
  if (out_.empty() || !client_) {
    out_.clear();
    co_return;
  }
  writing_ = true;
  std::string sending;
  try {
    while (!out_.empty()) {
      sending.swap(out_);
      co_await client_->writeAll(sending);
      sending.clear();
    }
  } catch (...) {
    writing_ = false;
    signalChange();
    throw;
  }
  writing_ = false;
  signalChange();
  if (out_.capacity() == 0 && sending.capacity() <= 65536) {
    out_.swap(sending);  // keeps the buffer for the next replies
  }
}

void ClientSession::cancelCurrentQuery() {
  if (backend_) {
    sendCancel(*backend_);
  }
  if (!routing_) {
    return;
  }
  for (pool::Backend* backend : routing_->scatterBackends) {
    sendCancel(*backend);  // a statement running on several shards is cancelled on each
  }
}

void ClientSession::sendCancel(const pool::Backend& backend) {
  const NodeConfig& node = backend.node();
  int32_t pid = backend.pid();
  int32_t secret = backend.secret();
  auto timeout = worker_.config().pool.connectTimeout;
  spdlog::info("{} node={} cancel request for backend pid {}", tag(), node.name, pid);
  asio::co_spawn(
      worker_.io(),
      [&node, pid, secret, timeout]() -> awaitable<void> {
        auto transport = co_await net::connectTo(node.host, node.port, timeout);
        std::string request;
        wire::MessageWriter(request)
            .begin(0)
            .int32(int32_t(wire::kCancelRequestCode))
            .int32(pid)
            .int32(secret)
            .end();
        co_await transport->writeAll(request);
        char ignored[16];
        try {
          co_await transport->readSome(ignored, sizeof ignored);
        } catch (const std::exception&) {
          // Postgres closes the connection without a reply.
        }
      },
      asio::detached);
}

}  // namespace shardline::session
