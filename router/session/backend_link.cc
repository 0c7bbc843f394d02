// Attaching a backend to a client, the pump that relays its replies, and
// giving it back to the pool clean.
#include <spdlog/spdlog.h>

#include "router/server.h"
#include "router/session/client_session.h"
#include "router/session/shard_legs.h"

namespace shardline::session {

namespace {

// A fingerprint no client state has: the backend's settings are unknown.
constexpr uint64_t kUnknownState = ~uint64_t{0};
// Room for a transaction's replies to the client, which most need no more than.
constexpr size_t kFirstOutput = 512;

std::string simpleQuery(std::string_view sql) {
  std::string out;
  wire::MessageWriter(out).begin('Q').cstring(sql).end();
  return out;
}

bool startsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

}  // namespace

awaitable<bool> ClientSession::ensureBackend(Reply failureReply, BackendWait wait,
                                             std::string* failure) {
  while (releasing_) {
    co_await waitForChange();
  }
  if (backend_) {
    co_return true;
  }
  bool taken = co_await takeBackend(failureReply, wait, failure);
  if (taken) {
    startPump();
  }
  co_return taken;
}

awaitable<bool> ClientSession::takeBackend(Reply failureReply, BackendWait wait,
                                           std::string* failure) {
  if (pool_ == nullptr) {
    // The first backend: the default shard's primary, or while it is out, at login, a replica
    // (the settings and parameters it reports are the same), so that clients can still read.
    shard_ = worker_.map().defaultShard();
    bool login = cancelPid_ == 0 && worker_.status().primaryOf(shard_) < 0;
    std::string error;
    const NodeConfig* node =
        nodeFor(shard_, login ? NodeNeed::Replica : NodeNeed::Primary, 0, error);
    if (node == nullptr) {
      reportFailure(std::move(error), failureReply);
      co_return false;
    }
    pool_ = &worker_.pools().get(*node, login_->database, *login_->user);
  }
  pool::Checkout checkout = co_await pool_->acquire(login_->settings, wait == BackendWait::Queue);
  if (!checkout.backend && checkout.errorBytes.empty()) {
    co_return false;  // none free, and the caller chose not to wait
  }
  std::string error = std::move(checkout.errorBytes);
  if (checkout.backend) {
    backend_ = std::move(checkout.backend);
    if (!carriesSettings(*backend_)) {
      error = co_await restoreState(false);  // not entered when there is nothing to restore
    }
  }
  if (!error.empty()) {
    if (failure != nullptr) {
      *failure = std::move(error);
    } else {
      reportFailure(std::move(error), failureReply);
    }
    co_return false;
  }
  co_return true;
}

void ClientSession::reportFailure(std::string errorBytes, Reply failureReply) {
  out_.append(errorBytes);
  if (failureReply == Reply::Query) {
    wire::appendReadyForQuery(out_, txStatus_);
  } else {
    skipToSync_ = true;
  }
}

// The common case without suspending: a backend is attached already, or an
// idle one with this client's settings is in the pool.
bool ClientSession::attachNow() {
  if (releasing_) {
    return false;
  }
  if (backend_) {
    return true;
  }
  if (pool_ == nullptr) {
    return false;
  }
  std::unique_ptr<pool::Backend> idle = pool_->takeIdle(login_->settings);
  if (!idle) {
    return false;
  }
  if (!carriesSettings(*idle)) {
    pool_->release(std::move(idle));  // settings must be restored: the slow path does it
    return false;
  }
  backend_ = std::move(idle);
  startPump();
  return true;
}

void ClientSession::startPump() {
  spdlog::debug("{} node={} attached backend pid {}", tag(), backend_->node().name,
                backend_->pid());
  pumping_ = true;
  asio::co_spawn(
      worker_.io(), [self = shared_from_this()] { return self->pump(); }, asio::detached);
}

// Puts the client's settings on the backend unless it has them already.
// Returns an ErrorResponse when that failed (the backend is then gone).
awaitable<std::string> ClientSession::restoreState(bool force) {
  std::string error = co_await restoreStateOn(*backend_, force);
  if (!error.empty()) {
    pool_->discard(std::move(backend_));
  }
  co_return error;
}

// Returns an ErrorResponse when that failed; the caller then discards the backend.
awaitable<std::string> ClientSession::restoreStateOn(pool::Backend& backend, bool force) {
  if (!force && carriesSettings(backend)) {
    co_return std::string();
  }
  // Until the client is ready, the restore also reads back the values Postgres reports.
  bool startingUp = cancelPid_ == 0;
  pool::HiddenResult result;
  try {
    result = co_await backend.runHidden(restoreMessages(changedSettings(), customSettings()),
                                        kRestoreSyncs);
  } catch (const std::exception& e) {
    backend.broken = true;
    wire::appendError(result.errorBytes, "08006",
                      std::string("shardline: backend lost while restoring settings: ") + e.what());
  }
  backend.unnamedClient = 0;
  if (!result.ok() || result.status != 'I') {
    if (result.errorBytes.empty()) {
      wire::appendError(result.errorBytes, "08006", "shardline: restoring settings failed");
    }
    co_return result.errorBytes;
  }
  SessionState fresh = readBack(result.rows, login_->user->name);
  if (startingUp) {
    // The values Postgres reports become the client's first ParameterStatus messages.
    for (const auto& [name, value] : fresh.reported) {
      wire::appendParameterStatus(out_, name, value);
    }
  }
  keepSettings(std::move(fresh));
  backend.stateFingerprint = settingsFingerprint();
  co_return std::string();
}

const std::vector<Setting>& ClientSession::changedSettings() const {
  static const std::vector<Setting> kNone;
  return settings_ ? settings_->changed : kNone;
}

const std::vector<std::string>& ClientSession::customSettings() const {
  static const std::vector<std::string> kNone;
  return settings_ ? settings_->customNames : kNone;
}

void ClientSession::keepSettings(SessionState fresh) {
  if (fresh.settings.empty() && customSettings().empty()) {
    settings_.reset();  // the fingerprint of no settings is 0
    return;
  }
  if (!settings_) {
    settings_ = std::make_unique<ClientSettings>();
  }
  settings_->changed = std::move(fresh.settings);
  settings_->fingerprint = fresh.fingerprint;
}

// Sends the messages gathered for the backend now rather than after the client's read.
awaitable<void> ClientSession::sendToBackend() {
  if (toBackend_.empty() || !backend_) {
    co_return;
  }
  std::string batch;
  batch.swap(toBackend_);
  size_t sent = backend_->sendNow(batch);
  if (sent < batch.size()) {
    co_await backend_->send(std::string_view(batch).substr(sent));
  }
}

awaitable<void> ClientSession::pump() {
  auto self = shared_from_this();
  bool lost = false;
  try {
    for (;;) {
      wire::Frame frame;
      wire::FrameStatus status;
      bool read = false;
      if (out_.capacity() < kFirstOutput) {
        out_.reserve(kFirstOutput);  // given back while idle; one allocation, not several
      }
      while ((status = backend_->reader().next(frame)) == wire::FrameStatus::Ready) {
        onBackendFrame(frame);
        read = true;
      }
      if (status == wire::FrameStatus::Bad) {
        throw std::runtime_error("backend sent a malformed message");
      }
      emitReadySynthetic();
      signalChange();
      try {
        // With nothing read yet and replies due, what is queued goes out with them.
        bool replyDue = !read && !pending_.empty();
        if (!replyDue && !flushNow()) {
          co_await flushClient();
        }
      } catch (const std::exception&) {
        closing_ = true;
        client_->close();
        break;
      }
      if (shouldRelease()) {
        co_await releaseBackend();
        break;
      }
      if (closeRequested_ && isIdle()) {
        co_await terminate();  // shutdown: the reader then sees the close and cleans up
      }
      if (closing_) {
        break;
      }
      pumpWaiting_ = true;
      co_await backend_->fill();
      pumpWaiting_ = false;
    }
  } catch (const std::exception& e) {
    pumpWaiting_ = false;
    lost = !closing_;
    if (lost) {
      spdlog::warn("{} node={} backend connection lost: {}", tag(),
                   backend_ ? backend_->node().name : "?", e.what());
      if (backend_) {
        backend_->broken = true;
      }
    }
  }
  if (backend_ && backend_->broken) {
    pool_->discard(std::move(backend_));
  }
  if (lost) {
    // The client's protocol state is unknown now: tell it and close.
    wire::appendError(out_, "08006", "shardline: connection to the database node was lost",
                      "FATAL");
    closing_ = true;
    try {
      co_await flushClient();
    } catch (const std::exception&) {
    }
    client_->close();
  }
  pumping_ = false;
  releasing_ = false;
  signalChange();
}

void ClientSession::onBackendFrame(wire::Frame frame) {
  emitReadySynthetic();
  char type = frame.type;
  if (type == 'A' || type == 'N') {
    out_.append(frame.bytes);
    return;
  }
  if (type == 'S') {
    out_.append(frame.bytes);
    settingsTouched_ = true;
    return;
  }
  if (pending_.empty()) {
    backend_->broken = true;
    throw std::runtime_error(std::string("unexpected backend message '") + type + "'");
  }
  Pending& head = pending_.front();
  if (type == 'C') {
    std::string_view tag = frame.body;
    if (startsWith(tag, "DEALLOCATE ALL") || startsWith(tag, "DISCARD ALL")) {
      if (statements_) {
        statements_->named.clear();
      }
      backend_->prepared.clear();
    }
  }
  if (head.kind == Reply::HiddenQuery) {
    if (type == 'E') {
      out_.append(frame.bytes);
    }
    if (type == 'Z') {
      txStatus_ = frame.body.empty() ? 'I' : frame.body[0];
      pending_.pop_front();
    }
    emitReadySynthetic();
    return;
  }
  if (head.kind == Reply::Query) {
    bool replaced = type == 'E' && !head.bytes.empty();
    out_.append(replaced ? std::string_view(head.bytes) : frame.bytes);
    if (type == 'Z') {
      txStatus_ = frame.body.empty() ? 'I' : frame.body[0];
      pending_.pop_front();
    }
    emitReadySynthetic();
    return;
  }
  switch (type) {
    case '3':
      if (head.kind != Reply::HiddenClose) {
        out_.append(frame.bytes);
      }
      pending_.pop_front();
      break;
    case '1':
      if (head.kind != Reply::HiddenParse) {
        out_.append(frame.bytes);
      }
      markVerified(head);
      pending_.pop_front();
      break;
    case '2':
    case 'n':
    case 'C':
    case 'I':
    case 's':
      out_.append(frame.bytes);
      pending_.pop_front();
      break;
    case 'T':
      out_.append(frame.bytes);
      if (head.kind == Reply::Describe) {
        pending_.pop_front();
      }
      break;
    case 'G':
      out_.append(frame.bytes);
      dropSyncsIgnoredDuringCopy();
      break;
    case 'E':
      pipelineFailed_ = true;
      if (head.kind == Reply::Sync || head.kind == Reply::HiddenSync) {
        out_.append(frame.bytes);  // an error at commit, before ReadyForQuery
        break;
      }
      out_.append(head.kind == Reply::ClientError ? std::string_view(head.bytes) : frame.bytes);
      forgetDroppedParse(head);
      pending_.pop_front();
      popThroughSync();
      break;
    case 'Z':
      txStatus_ = frame.body.empty() ? 'I' : frame.body[0];
      if (head.kind != Reply::HiddenSync) {
        if (beginDeferred() && txStatus_ == 'I') {
          // The client's transaction has not reached a backend yet: for the client it is open.
          txStatus_ = 'T';
          wire::appendReadyForQuery(out_, 'T');
        } else {
          out_.append(frame.bytes);
        }
        pipelineFailed_ = false;
      }
      pending_.pop_front();
      break;
    default:
      out_.append(frame.bytes);
      break;
  }
  emitReadySynthetic();
}

// After an error Postgres skips every message up to Sync; so do the replies.
// What the skipped messages did to the client's statements is undone, latest
// first, so that a Close followed by a Parse of the same name ends as before.
void ClientSession::popThroughSync() {
  std::vector<Pending> skipped;
  while (!pending_.empty() && pending_.front().kind != Reply::Sync &&
         pending_.front().kind != Reply::HiddenSync && pending_.front().kind != Reply::Query) {
    skipped.push_back(std::move(pending_.front()));
    pending_.pop_front();
  }
  for (auto it = skipped.rbegin(); it != skipped.rend(); ++it) {
    forgetDroppedParse(*it);
    if (it->kind == Reply::LocalClose && it->closed) {
      statements().named[it->name] = std::move(*it->closed);
    }
  }
}

// Postgres ignores Sync during copy-in. Syncs the client sent after the
// Execute that started the COPY and before it ended the COPY get no reply.
void ClientSession::dropSyncsIgnoredDuringCopy() {
  if (pending_.empty() || pending_.front().kind != Reply::Execute) {
    return;  // a simple-query COPY: its Query entry waits for ReadyForQuery
  }
  bool ended = pending_.removeSyncsBeforeCopyEnd();
  copyIn_ = !ended;
}

void ClientSession::forgetDroppedParse(const Pending& entry) {
  if (entry.backendName.empty()) {
    return;
  }
  if (entry.kind == Reply::Parse || entry.kind == Reply::HiddenParse) {
    backend_->prepared.erase(entry.backendName);
  }
  if (entry.kind == Reply::Parse || entry.kind == Reply::Synthetic) {
    forgetStatement(entry.name);
  }
  // A statement whose Parse the router answered stays the client's when a backend refuses
  // to prepare it (a table not found yet): the client believes it exists, and each later Bind
  // prepares it again.
}

void ClientSession::markVerified(const Pending& entry) {
  if (entry.name.empty()) {
    return;
  }
  if (Statement* statement = findStatement(entry.name)) {
    statement->verified = true;
  }
}

void ClientSession::emitReadySynthetic() {
  while (!pending_.empty()) {
    Pending& head = pending_.front();
    if (head.kind == Reply::LocalClose) {
      // DEALLOCATE by Execute removes the statement only now; Close already did.
      if (!head.closed) {
        forgetStatement(head.name);
      }
    } else if (head.kind != Reply::Synthetic && head.kind != Reply::CopyEnd) {
      return;
    }
    out_.append(head.bytes);
    pending_.pop_front();
  }
}

bool ClientSession::isIdle() const {
  return pending_.empty() && !inPipeline_ && txStatus_ == 'I' && toBackend_.empty() &&
         (!backend_ || backend_->reader().empty());
}

bool ClientSession::shouldRelease() const {
  if (worker_.config().pool.mode != PoolMode::Transaction || pinned_) {
    return false;
  }
  // A backend that only described statements for a transaction the router answered BEGIN
  // for holds no transaction: it goes back too.
  bool backendIdle = txStatus_ == 'I' || beginDeferred();
  return backendIdle && pending_.empty() && !inPipeline_ && toBackend_.empty() &&
         (!backend_ || backend_->reader().empty());
}

awaitable<void> ClientSession::releaseBackend() {
  releasing_ = true;
  if (settingsTouched_) {
    pool::HiddenResult result;
    try {
      result = co_await backend_->runHidden(readBackMessages(customSettings()), kReadBackSyncs);
    } catch (const std::exception& e) {
      spdlog::warn("{} node={} reading settings back failed: {}", tag(), backend_->node().name,
                   e.what());
      backend_->broken = true;
    }
    backend_->unnamedClient = 0;
    if (backend_->broken) {
      pool_->discard(std::move(backend_));
      releasing_ = false;
      co_return;
    }
    if (result.ok()) {
      keepSettings(readBack(result.rows, login_->user->name));
      backend_->stateFingerprint = settingsFingerprint();
    } else {
      backend_->stateFingerprint = kUnknownState;
    }
    settingsTouched_ = false;
  }
  spdlog::debug("{} released backend pid {}", tag(), backend_->pid());
  if (wrote_) {
    noteWrite(shard_);  // acknowledged: the client's reads must see it from now on
    wrote_ = false;
  }
  pool_->release(std::move(backend_));
  releasing_ = false;
  if (closeRequested_) {
    co_await terminate();
  }
}

// The client is gone: give the backend back clean, or close it when it
// cannot be made clean (Postgres then rolls back whatever was open).
awaitable<void> ClientSession::cleanupOnClose() {
  closing_ = true;
  if (CopySplit* split = copySplit()) {
    // Closing the shards' connections aborts their COPY: none of its rows stay.
    for (Leg& leg : split->legs) {
      leg.backend->broken = true;
    }
    releaseLegs(split->legs);
    routing_->copySplit.reset();
    routing_->scatterBackends.clear();
  }
  // Only a pump idle in a read is interrupted; one running the router's own
  // statements finishes them so that nothing is left unread on the backend.
  if (pumping_ && pumpWaiting_ && backend_) {
    backend_->cancelIo();
  }
  while (pumping_) {
    co_await waitForChange();
  }
  if (!backend_) {
    co_return;
  }
  if (wrote_) {
    noteWrite(shard_);  // the user's next connection must see it
    wrote_ = false;
  }
  bool reusable =
      !backend_->broken && pending_.empty() && !inPipeline_ && backend_->reader().empty();
  if (reusable) {
    std::string cleanup;
    int syncs = 0;
    if (txStatus_ != 'I') {
      cleanup += simpleQuery("ROLLBACK");
      ++syncs;
    }
    bool discard = pinned_ || worker_.config().pool.mode == PoolMode::Session;
    if (discard) {
      cleanup += simpleQuery("DISCARD ALL");
      ++syncs;
    }
    if (syncs > 0) {
      auto result = co_await backend_->runHidden(cleanup, syncs);
      reusable = result.ok() && result.status == 'I';
    }
    if (discard) {
      backend_->prepared.clear();
      backend_->stateFingerprint = pool::kFreshState;
    } else if (settingsTouched_) {
      backend_->stateFingerprint = kUnknownState;
    }
  }
  if (reusable) {
    pool_->release(std::move(backend_));
  } else {
    pool_->discard(std::move(backend_));
  }
}

}  // namespace shardline::session
