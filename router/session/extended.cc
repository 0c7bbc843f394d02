// The extended query protocol under pooling: the client's statement names are
// kept per client and mapped to backend names derived from the statement's
// text and parameter types, prepared on whichever backend runs them.
#include <xxhash.h>

#include <cstdio>

#include "router/session/client_session.h"
#include "router/session/statement_class.h"
#include "router/sql/syntax_check.h"

namespace shardline::session {

namespace {

constexpr std::string_view kParseComplete("1\0\0\0\4", 5);
constexpr std::string_view kCloseComplete("3\0\0\0\4", 5);

std::string backendNameFor(std::string_view parseRest) {
  char name[24];
  std::snprintf(name, sizeof name, "sl_%016llx",
                static_cast<unsigned long long>(XXH3_64bits(parseRest.data(), parseRest.size())));
  return name;
}

void appendParse(std::string& out, std::string_view name, std::string_view rest) {
  wire::MessageWriter(out).begin('P').cstring(name).raw(rest).end();
}

std::string errorBytes(std::string_view sqlstate, const std::string& message) {
  std::string out;
  wire::appendError(out, sqlstate, message);
  return out;
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
  if (!backend_ && !inPipeline_ && !name.empty() &&
      statements_.count(std::string(name)) == 0) {
    deferParse(name, query, rest);
    co_return;
  }
  bool done = co_await ensureBackend(Reply::Parse);
  if (!done) {
    co_return;
  }
  inPipeline_ = true;
  StatementClass what = classify(query);
  settingsTouched_ = settingsTouched_ || what.changesSettings;
  pinned_ = pinned_ || what.pinsBackend;

  if (name.empty()) {
    unnamed_.parseRest = std::string(rest);
    backend_->unnamedClient = id_;
    backend_->unnamedSeq = ++unnamedSeq_;
    toBackend_.append(frame.bytes);
    enqueue(Reply::Parse);
    co_return;
  }

  std::string clientName(name);
  if (statements_.count(clientName) != 0) {
    failInPipeline(
        errorBytes("42P05", "prepared statement \"" + clientName + "\" already exists"));
    co_return;
  }
  Statement statement{backendNameFor(rest), std::string(rest)};
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

// A named Parse that opens a pipeline is answered without a backend: the
// grammar is checked here and the statement is prepared on whichever backend
// first runs it. Clients that prepare synchronously while others hold every
// backend in open transactions (pgbench -M prepared does) would otherwise
// wait on each other until checkout_timeout.
void ClientSession::deferParse(std::string_view name, std::string_view query,
                               std::string_view rest) {
  inPipeline_ = true;
  sql::SyntaxError syntax = sql::checkSyntax(std::string(query));
  if (!syntax.ok()) {
    std::string error;
    wire::MessageWriter w(error);
    w.begin('E').byte('S').cstring("ERROR").byte('V').cstring("ERROR");
    w.byte('C').cstring("42601").byte('M').cstring(syntax.message);
    if (syntax.position > 0) {
      w.byte('P').cstring(std::to_string(syntax.position));
    }
    w.byte('\0').end();
    synthetic(std::move(error));
    skipToSync_ = true;
    return;
  }
  StatementClass what = classify(query);
  settingsTouched_ = settingsTouched_ || what.changesSettings;
  pinned_ = pinned_ || what.pinsBackend;
  Statement statement{backendNameFor(rest), std::string(rest)};
  statements_.emplace(std::string(name), std::move(statement));
  synthetic(std::string(kParseComplete));
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
  bool done = co_await ensureBackend(Reply::Bind);
  if (!done) {
    co_return;
  }
  inPipeline_ = true;
  if (name.empty()) {
    ensureUnnamedOnBackend();
    toBackend_.append(frame.bytes);
    enqueue(Reply::Bind);
    co_return;
  }
  auto it = statements_.find(std::string(name));
  if (it == statements_.end()) {
    // Unknown to this client: the backend answers 26000 with the client's own name.
    toBackend_.append(frame.bytes);
    enqueue(Reply::Bind);
    co_return;
  }
  prepareOnBackend(it->first, it->second);
  wire::MessageWriter(toBackend_)
      .begin('B')
      .cstring(portal)
      .cstring(it->second.backendName)
      .raw(r.rest())
      .end();
  enqueue(Reply::Bind);
}

awaitable<void> ClientSession::handleDescribe(wire::Frame frame) {
  wire::FieldReader r(frame.body);
  std::string_view kind;
  std::string_view name;
  if (!r.bytes(1, kind) || !r.cstring(name)) {
    protocolViolation("invalid Describe message");
    co_return;
  }
  bool done = co_await ensureBackend(Reply::Describe);
  if (!done) {
    co_return;
  }
  inPipeline_ = true;
  enqueue(Reply::Describe);
  if (kind[0] != 'S') {
    toBackend_.append(frame.bytes);
    co_return;
  }
  if (name.empty()) {
    pending_.pop_back();
    ensureUnnamedOnBackend();
    enqueue(Reply::Describe);
    toBackend_.append(frame.bytes);
    co_return;
  }
  auto it = statements_.find(std::string(name));
  if (it == statements_.end()) {
    toBackend_.append(frame.bytes);
    co_return;
  }
  pending_.pop_back();
  prepareOnBackend(it->first, it->second);
  enqueue(Reply::Describe);
  wire::MessageWriter(toBackend_).begin('D').byte('S').cstring(it->second.backendName).end();
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
    statements_.erase(std::string(name));
    synthetic(std::string(kCloseComplete));
    co_return;
  }
  if (kind[0] == 'S') {
    unnamed_.parseRest.clear();
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
  inPipeline_ = false;
  if (!backend_) {
    std::string reply;
    wire::appendReadyForQuery(reply, txStatus_);
    synthetic(std::move(reply));
    co_return;
  }
  toBackend_.append(frame.bytes);
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
