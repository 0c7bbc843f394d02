// The extended query protocol under pooling: the client's statement names are
// kept per client and mapped to backend names derived from the statement's
// text and parameter types, prepared on whichever backend runs them.
#include <xxhash.h>

#include "router/server.h"
#include "router/session/client_session.h"

namespace shardline::session {

namespace {

constexpr std::string_view kParseComplete("1\0\0\0\4", 5);
constexpr std::string_view kCloseComplete("3\0\0\0\4", 5);
constexpr std::string_view kNoData("n\0\0\0\4", 5);

// "sl_" and the hash in 16 hexadecimal digits.
std::string backendNameFor(std::string_view parseRest) {
  static constexpr std::string_view kDigits = "0123456789abcdef";
  uint64_t hash = XXH3_64bits(parseRest.data(), parseRest.size());
  std::string name = "sl_0000000000000000";
  for (size_t i = name.size(); hash != 0; hash >>= 4) {
    name[--i] = kDigits[hash & 0xf];
  }
  return name;
}

void appendParse(std::string& out, std::string_view name, std::string_view rest) {
  wire::MessageWriter(out).begin('P').cstring(name).raw(rest).end();
}

Statement describeStatement(std::string_view rest, const StatementClass& what) {
  Statement statement;
  statement.backendName = backendNameFor(rest);
  statement.parseRest = std::string(rest);
  statement.changesSettings = what.changesSettings;
  statement.pinsBackend = what.pinsBackend;
  statement.deallocates = what.deallocateName;
  return statement;
}

}  // namespace

awaitable<void> ClientSession::handleParse(wire::Frame frame) {
  wire::FieldReader r(frame.body);
  std::string_view name;
  std::string_view query;
  if (!r.cstring(name)) {
    protocolViolation("invalid Parse message");
    co_return;
  }
  std::string_view rest = r.rest();
  wire::FieldReader q(rest);
  if (!q.cstring(query)) {
    protocolViolation("invalid Parse message");
    co_return;
  }
  StatementClass what = classify(query);
  noteEffects(what);
  Statement statement = describeStatement(rest, what);
  std::string clientName(name);

  // Routing learns the statement's shard only at Bind: until a backend is attached, Parse
  // is answered here.
  if (worker_.routes()) {
    co_await settleBackend();
  }
  if (worker_.routes() && !backend_) {
    if (!name.empty() && statements_.count(clientName) != 0) {
      co_await pipelineError(
          errorResponse("42P05", "prepared statement \"" + clientName + "\" already exists"));
    } else if (!skipToSync_) {
      deferParse(clientName, query, std::move(statement));
    }
    co_return;
  }

  // A named Parse opening a pipeline takes a backend only if one is free at once.
  bool opensPipeline = !backend_ && !inPipeline_ && !name.empty();
  if (opensPipeline && statements_.count(clientName) == 0) {
    bool attached = attachNow();
    if (!attached) {
      attached = co_await ensureBackend(Reply::Parse, BackendWait::OnlyIfFree);
    }
    if (!attached) {
      if (!skipToSync_) {
        deferParse(clientName, query, std::move(statement));
      }
      co_return;
    }
  } else {
    bool attached = attachNow();
    if (!attached) {
      attached = co_await ensureBackend(Reply::Parse);
    }
    if (!attached) {
      co_return;
    }
  }
  inPipeline_ = true;

  if (name.empty()) {
    unnamed_ = std::move(statement);
    backend_->unnamedClient = id_;
    backend_->unnamedSeq = ++unnamedSeq_;
    toBackend_.append(frame.bytes);
    enqueue(Reply::Parse);
    co_return;
  }
  if (statements_.count(clientName) != 0) {
    failInPipeline(
        errorResponse("42P05", "prepared statement \"" + clientName + "\" already exists"));
    co_return;
  }
  if (backend_->prepared.count(statement.backendName) != 0) {
    statement.verified = true;  // this backend accepted the same text before
    pending_.push_back(
        Pending{Reply::Synthetic, clientName, statement.backendName, std::string(kParseComplete)});
  } else {
    appendParse(toBackend_, statement.backendName, rest);
    backend_->prepared.insert(statement.backendName);
    pending_.push_back(Pending{Reply::Parse, clientName, statement.backendName, {}});
  }
  statements_.emplace(std::move(clientName), std::move(statement));
}

// Answers a named Parse while every backend is busy: the grammar is checked
// here and the statement is prepared on whichever backend first runs it.
// Clients that prepare synchronously while others hold every backend in open
// transactions (pgbench -M prepared does) would otherwise wait on each other
// until checkout_timeout. Errors other than syntax then surface at Bind.
void ClientSession::deferParse(const std::string& name, std::string_view query,
                               Statement statement) {
  inPipeline_ = true;
  if (name.empty()) {
    unnamed_ = Statement{};  // Postgres drops the unnamed statement even when Parse fails
    ++unnamedSeq_;
  }
  std::string error = grammarError(query);
  if (!error.empty()) {
    synthetic(std::move(error));
    skipToSync_ = true;
    return;
  }
  if (name.empty()) {
    unnamed_ = std::move(statement);
  } else {
    statements_.emplace(name, std::move(statement));
  }
  synthetic(std::string(kParseComplete));
}

// The ErrorResponse Postgres gives at Parse for a statement it cannot parse, or empty. The
// analysis is the plan cache's, which the statement's Bind reuses.
std::string ClientSession::grammarError(std::string_view query) {
  if (statementsOf(query).size() > 1) {
    return errorResponse("42601", "cannot insert multiple commands into a prepared statement");
  }
  sql::AnalyzedStatement analyzed = worker_.plans().analyze(query);
  const sql::Analysis& analysis = *analyzed.analysis;
  if (analysis.ok()) {
    return {};
  }
  std::string error;
  wire::MessageWriter w(error);
  w.begin('E').byte('S').cstring("ERROR").byte('V').cstring("ERROR");
  w.byte('C').cstring("42601").byte('M').cstring(analysis.error);
  if (analysis.errorPosition > 0) {
    w.byte('P').cstring(std::to_string(analysis.errorPosition));
  }
  w.byte('\0').end();
  return error;
}

// Makes sure the backend has the statement, preparing it out of the client's sight.
void ClientSession::prepareOnBackend(const std::string& name, const Statement& statement) {
  if (backend_->prepared.count(statement.backendName) != 0) {
    return;
  }
  appendParse(toBackend_, statement.backendName, statement.parseRest);
  backend_->prepared.insert(statement.backendName);
  pending_.push_back(Pending{Reply::HiddenParse, name, statement.backendName, {}});
}

void ClientSession::ensureUnnamedOnBackend() {
  if (unnamed_.parseRest.empty() ||
      (backend_->unnamedClient == id_ && backend_->unnamedSeq == unnamedSeq_)) {
    return;
  }
  appendParse(toBackend_, "", unnamed_.parseRest);
  backend_->unnamedClient = id_;
  backend_->unnamedSeq = unnamedSeq_;
  pending_.push_back(Pending{Reply::HiddenParse, {}, {}, {}});
}

awaitable<void> ClientSession::handleBind(wire::Frame frame) {
  wire::FieldReader r(frame.body);
  std::string_view portal;
  std::string_view name;
  if (!r.cstring(portal) || !r.cstring(name)) {
    protocolViolation("invalid Bind message");
    co_return;
  }
  // A Bind replaces any portal of the same name, including one the router answered itself.
  controlPortals_.erase(std::string(portal));
  if (worker_.routes()) {
    const Statement* statement = nullptr;
    if (name.empty() && !unnamed_.parseRest.empty()) {
      statement = &unnamed_;
    } else if (!name.empty()) {
      auto it = statements_.find(std::string(name));
      statement = it == statements_.end() ? nullptr : &it->second;
    }
    if (statement != nullptr) {
      bool routed = co_await routeBind(*statement, name, portal, r.rest());
      if (!routed) {
        co_return;
      }
    }
  }
  bool attached = attachNow();
  if (!attached) {
    attached = co_await ensureBackend(Reply::Bind);
  }
  if (!attached) {
    co_return;
  }
  inPipeline_ = true;
  const Statement* bound = nullptr;
  if (name.empty() && unnamed_.parseRest.empty()) {
    // The client has no unnamed statement, whatever the backend still holds.
    failInPipeline(errorResponse("26000", "unnamed prepared statement does not exist"));
    co_return;
  }
  if (name.empty()) {
    ensureUnnamedOnBackend();
    toBackend_.append(frame.bytes);
    bound = &unnamed_;
  } else {
    auto it = statements_.find(std::string(name));
    if (it == statements_.end()) {
      // Unknown to this client: the backend answers 26000 with the client's own name.
      toBackend_.append(frame.bytes);
    } else {
      prepareOnBackend(it->first, it->second);
      wire::MessageWriter(toBackend_)
          .begin('B')
          .cstring(portal)
          .cstring(it->second.backendName)
          .raw(r.rest())
          .end();
      bound = &it->second;
    }
  }
  enqueue(Reply::Bind);
  pipelineBound_ = true;
  namedPortalBound_ = namedPortalBound_ || !portal.empty();
  if (bound != nullptr) {
    noteEffects(*bound);
    if (!bound->deallocates.empty() && statements_.count(bound->deallocates) != 0) {
      deallocatePortals_[std::string(portal)] = bound->deallocates;
    }
  }
}

awaitable<void> ClientSession::handleExecute(wire::Frame frame) {
  wire::FieldReader r(frame.body);
  std::string_view portal;
  if (!r.cstring(portal)) {
    protocolViolation("invalid Execute message");
    co_return;
  }
  auto control = controlPortals_.find(std::string(portal));
  if (control != controlPortals_.end()) {
    // A BEGIN, COMMIT or ROLLBACK the router answered at Bind.
    std::string reply;
    wire::appendCommandComplete(reply, control->second);
    synthetic(std::move(reply));
    co_return;
  }
  bool attached = attachNow();
  if (!attached) {
    attached = co_await ensureBackend(Reply::Execute);
  }
  if (!attached) {
    co_return;
  }
  inPipeline_ = true;
  auto it = deallocatePortals_.find(std::string(portal));
  if (it != deallocatePortals_.end()) {
    // `DEALLOCATE name` of a statement the backend knows by another name.
    std::string reply;
    wire::appendCommandComplete(reply, "DEALLOCATE");
    pending_.push_back(Pending{Reply::LocalClose, it->second, {}, std::move(reply)});
    deallocatePortals_.erase(it);
    emitReadySynthetic();
    co_return;
  }
  toBackend_.append(frame.bytes);
  enqueue(Reply::Execute);
}

awaitable<void> ClientSession::handleDescribe(wire::Frame frame) {
  wire::FieldReader r(frame.body);
  std::string_view kind;
  std::string_view name;
  if (!r.bytes(1, kind) || !r.cstring(name)) {
    protocolViolation("invalid Describe message");
    co_return;
  }
  if (kind[0] == 'P' && controlPortals_.count(std::string(name)) != 0) {
    synthetic(std::string(kNoData));
    co_return;
  }
  bool attached = attachNow();
  if (!attached) {
    attached = co_await ensureBackend(Reply::Describe);
  }
  if (!attached) {
    co_return;
  }
  inPipeline_ = true;
  if (kind[0] != 'S') {
    toBackend_.append(frame.bytes);
    enqueue(Reply::Describe);
    co_return;
  }
  if (name.empty() && unnamed_.parseRest.empty()) {
    failInPipeline(errorResponse("26000", "unnamed prepared statement does not exist"));
    co_return;
  }
  if (name.empty()) {
    ensureUnnamedOnBackend();
    toBackend_.append(frame.bytes);
    enqueue(Reply::Describe);
    co_return;
  }
  auto it = statements_.find(std::string(name));
  if (it == statements_.end()) {
    toBackend_.append(frame.bytes);
    enqueue(Reply::Describe);
    co_return;
  }
  prepareOnBackend(it->first, it->second);
  wire::MessageWriter(toBackend_).begin('D').byte('S').cstring(it->second.backendName).end();
  enqueue(Reply::Describe);
}

awaitable<void> ClientSession::handleClose(wire::Frame frame) {
  wire::FieldReader r(frame.body);
  std::string_view kind;
  std::string_view name;
  if (!r.bytes(1, kind) || !r.cstring(name)) {
    protocolViolation("invalid Close message");
    co_return;
  }
  if (kind[0] == 'S' && !name.empty()) {
    // The backend keeps its copy for other clients; only this client's name goes.
    // Should an earlier error make Postgres skip this Close, the name comes back.
    auto it = statements_.find(std::string(name));
    Pending entry{Reply::LocalClose, std::string(name), {}, std::string(kCloseComplete)};
    if (it != statements_.end()) {
      entry.closed = std::make_shared<Statement>(std::move(it->second));
      statements_.erase(it);
    }
    pending_.push_back(std::move(entry));
    emitReadySynthetic();
    co_return;
  }
  if (kind[0] == 'S') {
    unnamed_ = Statement{};
    ++unnamedSeq_;
  }
  if (!backend_) {
    synthetic(std::string(kCloseComplete));
    co_return;
  }
  inPipeline_ = true;
  toBackend_.append(frame.bytes);
  enqueue(Reply::Close);
}

awaitable<void> ClientSession::handleSync(wire::Frame frame) {
  skipToSync_ = false;
  deallocatePortals_.clear();
  controlPortals_.clear();
  pipelineBound_ = false;
  namedPortalBound_ = false;
  if (scatter_) {
    co_await runScatterPipeline();
    co_return;
  }
  if (!backend_) {
    inPipeline_ = false;
    std::string reply;
    wire::appendReadyForQuery(reply, txStatus_);
    synthetic(std::move(reply));
    co_return;
  }
  toBackend_.append(frame.bytes);
  if (copyIn_) {
    co_return;  // Postgres ignores Sync in copy-in mode: no reply comes
  }
  inPipeline_ = false;
  enqueue(Reply::Sync);
}

// Reports an error the router found in mid-pipeline. The backend is made to
// fail at the same point (a Parse that cannot succeed), so that it discards
// the rest of the pipeline and aborts its transaction exactly as Postgres
// would have for the client's own error.
void ClientSession::failInPipeline(std::string error) {
  // A lone ')' is a syntax error at Parse; no parameter types follow.
  appendParse(toBackend_, "", std::string_view(")\0\0\0", 4));
  backend_->unnamedClient = 0;
  pending_.push_back(Pending{Reply::ClientError, {}, {}, std::move(error)});
  skipToSync_ = true;
}

}  // namespace shardline::session
