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

// An unnamed statement needs no backend name: the backend knows it as its unnamed one.
Statement describeStatement(std::string_view rest, const StatementClass& what, bool named) {
  Statement statement;
  if (named) {
    statement.backendName = backendNameFor(rest);
  }
  statement.parseRest = std::string(rest);
  statement.changesSettings = what.changesSettings;
  statement.pinsBackend = what.pinsBackend;
  statement.deallocates = what.deallocateName;
  return statement;
}

}  // namespace

ClientStatements& ClientSession::statements() {
  if (!statements_) {
    statements_ = std::make_unique<ClientStatements>();
  }
  return *statements_;
}

Statement* ClientSession::findStatement(const std::string& name) {
  if (!statements_) {
    return nullptr;
  }
  auto it = statements_->named.find(name);
  return it == statements_->named.end() ? nullptr : &it->second;
}

void ClientSession::forgetStatement(const std::string& name) {
  if (statements_) {
    statements_->named.erase(name);
  }
}

const Statement* ClientSession::unnamedStatement() const {
  bool exists = statements_ && !statements_->unnamed.parseRest.empty();
  return exists ? &statements_->unnamed : nullptr;
}

void ClientSession::dropUnnamed() {
  if (statements_) {
    statements_->unnamed = Statement{};
  }
  ++unnamedSeq_;
}

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
  Statement statement = describeStatement(rest, what, !name.empty());
  std::string clientName(name);

  // Routing learns the statement's shard only at Bind: until a backend is attached, Parse
  // is answered here.
  if (worker_.routes()) {
    co_await settleBackend();
  }
  if (worker_.routes() && !backend_) {
    if (!name.empty() && findStatement(clientName) != nullptr) {
      co_await pipelineError(
          errorResponse("42P05", "prepared statement \"" + clientName + "\" already exists"));
    } else if (!skipToSync_) {
      deferParse(clientName, query, std::move(statement));
    }
    co_return;
  }

  // A named Parse opening a pipeline takes a backend only if one is free at once.
  bool opensPipeline = !backend_ && !inPipeline_ && !name.empty();
  if (opensPipeline && findStatement(clientName) == nullptr) {
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
  parseOnBackend(frame, clientName, rest, std::move(statement));
}

bool ClientSession::parseNow(const wire::Frame& frame) {
  if (worker_.routes()) {
    return false;  // the shard is known only at Bind
  }
  wire::FieldReader r(frame.body);
  std::string_view name;
  std::string_view query;
  if (!r.cstring(name)) {
    return false;
  }
  std::string_view rest = r.rest();
  wire::FieldReader q(rest);
  if (!q.cstring(query) || !attachNow()) {
    return false;
  }
  StatementClass what = classify(query);
  noteEffects(what);
  parseOnBackend(frame, std::string(name), rest, describeStatement(rest, what, !name.empty()));
  return true;
}

// `rest` is the Parse after the statement's name.
void ClientSession::parseOnBackend(const wire::Frame& frame, std::string clientName,
                                   std::string_view rest, Statement statement) {
  inPipeline_ = true;
  if (clientName.empty()) {
    statements().unnamed = std::move(statement);
    backend_->unnamedClient = id_;
    backend_->unnamedSeq = ++unnamedSeq_;
    toBackend_.append(frame.bytes);
    enqueue(Reply::Parse);
    return;
  }
  if (findStatement(clientName) != nullptr) {
    failInPipeline(
        errorResponse("42P05", "prepared statement \"" + clientName + "\" already exists"));
    return;
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
  statements().named.emplace(std::move(clientName), std::move(statement));
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
    dropUnnamed();  // Postgres drops the unnamed statement even when Parse fails
  }
  std::string error = grammarError(query);
  if (!error.empty()) {
    synthetic(std::move(error));
    skipToSync_ = true;
    return;
  }
  if (name.empty()) {
    statements().unnamed = std::move(statement);
  } else {
    statements().named.emplace(name, std::move(statement));
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
  const Statement* unnamed = unnamedStatement();
  if (unnamed == nullptr ||
      (backend_->unnamedClient == id_ && backend_->unnamedSeq == unnamedSeq_)) {
    return;
  }
  appendParse(toBackend_, "", unnamed->parseRest);
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
  if (routing_) {
    routing_->controlPortals.erase(std::string(portal));
  }
  if (worker_.routes()) {
    const Statement* statement =
        name.empty() ? unnamedStatement() : findStatement(std::string(name));
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
  if (attached) {
    bindOnBackend(frame, portal, name, r.rest());
  }
}

bool ClientSession::bindNow(const wire::Frame& frame) {
  wire::FieldReader r(frame.body);
  std::string_view portal;
  std::string_view name;
  if (!r.cstring(portal) || !r.cstring(name)) {
    return false;
  }
  if (worker_.routes()) {
    const Statement* statement =
        name.empty() ? unnamedStatement() : findStatement(std::string(name));
    if (statement != nullptr) {
      return false;  // routeBind() may wait
    }
  }
  if (!attachNow()) {
    return false;
  }
  if (routing_) {
    routing_->controlPortals.erase(std::string(portal));
  }
  bindOnBackend(frame, portal, name, r.rest());
  return true;
}

// `rest` is the Bind after the portal and statement names.
void ClientSession::bindOnBackend(const wire::Frame& frame, std::string_view portal,
                                  std::string_view name, std::string_view rest) {
  inPipeline_ = true;
  const Statement* bound = nullptr;
  if (name.empty() && unnamedStatement() == nullptr) {
    // The client has no unnamed statement, whatever the backend still holds.
    failInPipeline(errorResponse("26000", "unnamed prepared statement does not exist"));
    return;
  }
  if (name.empty()) {
    ensureUnnamedOnBackend();
    toBackend_.append(frame.bytes);
    bound = unnamedStatement();
  } else {
    std::string clientName(name);
    Statement* statement = findStatement(clientName);
    if (statement == nullptr) {
      // Unknown to this client: the backend answers 26000 with the client's own name.
      toBackend_.append(frame.bytes);
    } else {
      prepareOnBackend(clientName, *statement);
      wire::MessageWriter(toBackend_)
          .begin('B')
          .cstring(portal)
          .cstring(statement->backendName)
          .raw(rest)
          .end();
      bound = statement;
    }
  }
  enqueue(Reply::Bind);
  pipelineBound_ = true;
  namedPortalBound_ = namedPortalBound_ || !portal.empty();
  if (bound != nullptr) {
    noteEffects(*bound);
    if (!bound->deallocates.empty() && findStatement(bound->deallocates) != nullptr) {
      statements().deallocatePortals[std::string(portal)] = bound->deallocates;
    }
  }
}

// An Execute that executeNow() could not handle for want of a backend.
awaitable<void> ClientSession::handleExecute(wire::Frame frame) {
  bool attached = co_await ensureBackend(Reply::Execute);  // not in the condition: GCC 12
  if (attached) {
    executeNow(frame);
  }
}

// False only when the Execute needs a backend and none is free at once.
bool ClientSession::executeNow(const wire::Frame& frame) {
  wire::FieldReader r(frame.body);
  std::string_view portal;
  if (!r.cstring(portal)) {
    protocolViolation("invalid Execute message");
    return true;
  }
  if (std::string_view tag = controlTag(portal); !tag.empty()) {
    // A BEGIN, COMMIT or ROLLBACK the router answered at Bind.
    std::string reply;
    wire::appendCommandComplete(reply, tag);
    synthetic(std::move(reply));
    return true;
  }
  if (!attachNow()) {
    return false;
  }
  inPipeline_ = true;
  std::string deallocated = takeDeallocatePortal(portal);
  if (!deallocated.empty()) {
    // `DEALLOCATE name` of a statement the backend knows by another name.
    std::string reply;
    wire::appendCommandComplete(reply, "DEALLOCATE");
    pending_.push_back(Pending{Reply::LocalClose, std::move(deallocated), {}, std::move(reply)});
    emitReadySynthetic();
    return true;
  }
  toBackend_.append(frame.bytes);
  enqueue(Reply::Execute);
  return true;
}

// The client statement that `portal`, bound to a `DEALLOCATE name`, removes, or empty. The
// portal is forgotten.
std::string ClientSession::takeDeallocatePortal(std::string_view portal) {
  if (!statements_) {
    return {};
  }
  auto it = statements_->deallocatePortals.find(std::string(portal));
  if (it == statements_->deallocatePortals.end()) {
    return {};
  }
  std::string name = std::move(it->second);
  statements_->deallocatePortals.erase(it);
  return name;
}

// The tag of a BEGIN, COMMIT, ROLLBACK or SET the router answered at Bind for `portal`, or
// empty.
std::string_view ClientSession::controlTag(std::string_view portal) const {
  if (!routing_) {
    return {};
  }
  auto it = routing_->controlPortals.find(std::string(portal));
  return it == routing_->controlPortals.end() ? std::string_view() : it->second;
}

// A Describe that describeNow() could not handle for want of a backend.
awaitable<void> ClientSession::handleDescribe(wire::Frame frame) {
  bool attached = co_await ensureBackend(Reply::Describe);  // not in the condition: GCC 12
  if (attached) {
    describeNow(frame);
  }
}

// False only when the Describe needs a backend and none is free at once.
bool ClientSession::describeNow(const wire::Frame& frame) {
  wire::FieldReader r(frame.body);
  std::string_view kind;
  std::string_view name;
  if (!r.bytes(1, kind) || !r.cstring(name)) {
    protocolViolation("invalid Describe message");
    return true;
  }
  if (kind[0] == 'P' && !controlTag(name).empty()) {
    synthetic(std::string(kNoData));
    return true;
  }
  if (!attachNow()) {
    return false;
  }
  inPipeline_ = true;
  if (kind[0] != 'S') {
    toBackend_.append(frame.bytes);
    enqueue(Reply::Describe);
    return true;
  }
  if (name.empty() && unnamedStatement() == nullptr) {
    failInPipeline(errorResponse("26000", "unnamed prepared statement does not exist"));
    return true;
  }
  if (name.empty()) {
    ensureUnnamedOnBackend();
    toBackend_.append(frame.bytes);
    enqueue(Reply::Describe);
    return true;
  }
  std::string clientName(name);
  Statement* statement = findStatement(clientName);
  if (statement == nullptr) {
    toBackend_.append(frame.bytes);
    enqueue(Reply::Describe);
    return true;
  }
  prepareOnBackend(clientName, *statement);
  wire::MessageWriter(toBackend_).begin('D').byte('S').cstring(statement->backendName).end();
  enqueue(Reply::Describe);
  return true;
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
    Pending entry{Reply::LocalClose, std::string(name), {}, std::string(kCloseComplete)};
    if (Statement* statement = findStatement(entry.name)) {
      entry.closed = std::make_shared<Statement>(std::move(*statement));
      forgetStatement(entry.name);
    }
    pending_.push_back(std::move(entry));
    emitReadySynthetic();
    co_return;
  }
  if (kind[0] == 'S') {
    dropUnnamed();
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
  if (scatterPipeline()) {
    endPipeline();
    co_await runScatterPipeline();
    co_return;
  }
  sync(frame);
}

// What a Sync ends: the pipeline's marks and the portals the router answered.
void ClientSession::endPipeline() {
  skipToSync_ = false;
  if (statements_) {
    statements_->deallocatePortals.clear();
  }
  if (routing_) {
    routing_->controlPortals.clear();
  }
  pipelineBound_ = false;
  namedPortalBound_ = false;
}

// A Sync outside a scatter pipeline, which needs no waiting.
void ClientSession::sync(const wire::Frame& frame) {
  endPipeline();
  if (!backend_) {
    inPipeline_ = false;
    std::string reply;
    wire::appendReadyForQuery(reply, txStatus_);
    synthetic(std::move(reply));
    return;
  }
  toBackend_.append(frame.bytes);
  if (copyIn_) {
    return;  // Postgres ignores Sync in copy-in mode: no reply comes
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
