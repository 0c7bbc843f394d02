// Routing inside a session: the shard each statement runs on, moving the
// client's backend between shards between transactions, and a BEGIN held back
// until the first statement that picks a shard.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "router/route/route.h"
#include "router/server.h"
#include "router/session/bind_fields.h"
#include "router/session/client_session.h"
#include "router/session/shard_legs.h"

namespace shardline::session {

namespace {

using shardmap::ShardIndex;

constexpr std::string_view kBindComplete("2\0\0\0\4", 5);
constexpr std::string_view kNoData("n\0\0\0\4", 5);

// A routing error that points (field P, 1-based characters as Postgres counts them) at the
// statement it is about within the query string.
std::string errorAt(std::string_view sqlstate, const std::string& message, std::string_view text,
                    size_t offset) {
  size_t characters = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    characters += (uint8_t(text[i]) & 0xC0) != 0x80 ? 1 : 0;  // UTF-8 lead bytes
  }
  std::string out;
  wire::MessageWriter w(out);
  w.begin('E').byte('S').cstring("ERROR").byte('V').cstring("ERROR");
  w.byte('C').cstring(sqlstate).byte('M').cstring(message);
  w.byte('P').cstring(std::to_string(characters)).byte('\0').end();
  return out;
}

// The parameters of a Bind, with the types the Parse declared. Malformed input gives no
// parameters: the backend then refuses the Bind itself.
std::vector<route::Parameter> bindParameters(std::string_view rest, std::string_view parseRest) {
  std::optional<BindFields> bind = readBind(rest);
  if (!bind) {
    return {};
  }
  std::vector<int32_t> types = parseTypes(parseRest);
  std::vector<route::Parameter> out(bind->values.size());
  for (size_t i = 0; i < out.size(); ++i) {
    if (bind->values[i]) {
      out[i].value = std::string(*bind->values[i]);
    }
    size_t formats = bind->formats.size();
    out[i].binary = formats > 0 && bind->formats[formats == 1 ? 0 : i] == 1;
    out[i].type = i < types.size() ? uint32_t(types[i]) : 0;
  }
  return out;
}

// A statement that opens or ends a transaction and may be answered without a backend.
void noteControl(const sql::Analysis& analysis, Target& target) {
  if (analysis.kind == sql::StatementKind::Set &&
      analysis.setting.action == sql::SettingAction::SetMulti &&
      analysis.setting.name == "transaction") {
    target.setTransaction = true;
  }
  target.readOnly = analysis.transaction.access == sql::AccessMode::ReadOnly;
  target.readWrite = analysis.transaction.access == sql::AccessMode::ReadWrite;
  if (analysis.kind != sql::StatementKind::Transaction || analysis.transaction.chain) {
    return;
  }
  switch (analysis.transaction.action) {
    case sql::TransactionAction::Begin:
      target.control = Target::Control::Begin;
      target.tag = "BEGIN";
      break;
    case sql::TransactionAction::Start:
      target.control = Target::Control::Begin;
      target.tag = "START TRANSACTION";
      break;
    case sql::TransactionAction::Commit:
      target.control = Target::Control::End;
      target.tag = "COMMIT";
      break;
    case sql::TransactionAction::Rollback:
      target.control = Target::Control::End;
      target.tag = "ROLLBACK";
      break;
    default:
      break;
  }
}

// Whether a statement may change data, which its client's later reads must then see.
bool changesData(const sql::Analysis& analysis) {
  switch (analysis.kind) {
    case sql::StatementKind::Set:
    case sql::StatementKind::Reset:
    case sql::StatementKind::Show:
    case sql::StatementKind::Transaction:
      return false;
    default:
      return !analysis.readOnly;
  }
}

// A read that calls a function the catalog says may write is a write; one that calls a
// function this worker knows nothing of waits for the catalog.
void noteFunctions(const sql::Analysis& analysis,
                   const std::unordered_map<std::string, bool>& known, Target& target) {
  for (const std::string& name : analysis.functions) {
    auto it = known.find(name);
    if (it == known.end()) {
      target.needsFunctions.push_back(name);
    } else if (it->second) {
      target.reads = false;
      target.writes = true;
    }
  }
}

std::string shardList(const shardmap::ShardMap& map, const std::vector<ShardIndex>& shards) {
  std::string out;
  for (ShardIndex shard : shards) {
    out += (out.empty() ? "" : ", ") + map.shard(shard).name;
  }
  return out;
}

// Adds one statement's route to the target of the whole text. Statements of one text run in
// one transaction, so they must agree on where they run.
void addRoute(const shardmap::ShardMap& map, const route::Route& route, size_t statements,
              std::string_view text, size_t offset, Target& target) {
  if (target.kind == Target::Kind::Error) {
    return;
  }
  if (route.error) {
    target.kind = Target::Kind::Error;
    target.error = errorAt(route.error->sqlstate, route.error->message, text, offset);
    target.needsColumnsOf = route.error->needsColumnsOf;
    return;
  }
  if (route.splitCopy) {
    if (statements > 1) {
      target.kind = Target::Kind::Error;
      target.error = errorResponse(route::kCrossShard,
                                   "a COPY into a sharded table must be alone in its query string");
      return;
    }
    target.kind = Target::Kind::CopyIn;
    target.shards = route.shards;
    return;
  }
  if (route.any) {
    return;
  }
  if (route.shards.size() > 1 && !route.rowShards.empty()) {
    if (statements > 1) {
      target.kind = Target::Kind::Error;
      target.error =
          errorResponse(route::kCrossShard, "an INSERT whose rows belong to several shards (" +
                                                shardList(map, route.shards) +
                                                ") must be alone in its query string");
      return;
    }
    target.kind = Target::Kind::Split;
    target.shards = route.shards;
    target.rows.assign(route.shards.size(), {});
    for (size_t row = 0; row < route.rowShards.size(); ++row) {
      auto at = std::find(route.shards.begin(), route.shards.end(), route.rowShards[row]);
      target.rows[size_t(at - route.shards.begin())].push_back(row);
    }
    return;
  }
  Target next;
  next.kind = route.shards.size() == 1 ? Target::Kind::Shard : Target::Kind::Shards;
  target.copies = target.copies || route.copies;
  next.shard = route.shards.front();
  next.shards = route.shards;
  if (target.kind == Target::Kind::Any) {
    target.kind = next.kind;
    target.shard = next.shard;
    target.shards = std::move(next.shards);
    return;
  }
  if (target.shards != next.shards) {
    target.kind = Target::Kind::Error;
    target.error =
        errorResponse(route::kCrossShard,
                      "statements of one query string run in one transaction, but they go "
                      "to different shards (" +
                          shardList(map, target.shards) + " and " + shardList(map, next.shards) +
                          "): send them separately");
  }
}

}  // namespace

std::string errorResponse(std::string_view sqlstate, const std::string& message) {
  std::string out;
  wire::appendError(out, sqlstate, message);
  return out;
}

// The statements of a query string. Most strings hold one statement, with at most a ';' at
// its end: those are not lexed here, since the analysis lexes them anyway.
std::vector<std::string_view> statementsOf(std::string_view text) {
  size_t end = text.find_last_not_of(" \t\r\n;");
  size_t semicolon = text.find(';');
  bool comments =
      text.find("--") != std::string_view::npos || text.find("/*") != std::string_view::npos;
  bool one =
      end != std::string_view::npos && (semicolon == std::string_view::npos || semicolon > end);
  return one && !comments ? std::vector<std::string_view>{text} : sql::splitStatements(text);
}

RoutingState& ClientSession::routing() {
  if (!routing_) {
    routing_ = std::make_unique<RoutingState>();
  }
  return *routing_;
}

// The session's search_path as a list of schemas, "$user" read as the session user.
std::vector<std::string> ClientSession::searchPath() const {
  std::string_view value = "\"$user\", public";
  for (const auto* settings : {&changedSettings(), &login_->settings}) {
    auto it = std::find_if(settings->begin(), settings->end(),
                           [](const auto& setting) { return setting.first == "search_path"; });
    if (it != settings->end()) {
      value = it->second;
      break;
    }
  }
  std::vector<std::string> out;
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    while (!item.empty() && item.front() == ' ') {
      item.remove_prefix(1);
    }
    while (!item.empty() && item.back() == ' ') {
      item.remove_suffix(1);
    }
    if (item.size() >= 2 && item.front() == '"' && item.back() == '"') {
      item = item.substr(1, item.size() - 2);
    }
    if (item == "$user") {
      out.push_back(login_->user->name);
    } else if (!item.empty()) {
      out.emplace_back(item);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    value.remove_prefix(comma + 1);
  }
  return out;
}

Target ClientSession::routeStatements(std::string_view text, std::string_view bindRest,
                                      std::string_view parseRest) {
  const shardmap::ShardMap& map = worker_.map();
  if (txStatus_ == 'I' && !beginDeferred() && routing_) {
    routing_->localHints.clear();  // SET LOCAL lasts until the end of its transaction
  }
  std::vector<route::Parameter> parameters = bindParameters(bindRest, parseRest);
  std::vector<std::string> path = searchPath();
  std::string schema = path.empty() ? "public" : path.front();
  auto& known = worker_.tableColumns();
  route::ColumnLookup columns = [&known](const shardmap::QualifiedName& table) {
    auto it = known.find(table);
    return it == known.end() ? nullptr : &it->second;
  };
  Target target;
  std::vector<std::string_view> statements = statementsOf(text);
  size_t previousEnd = 0;
  for (std::string_view statement : statements) {
    // Hints sit in comments before a statement, which the split leaves out.
    size_t end = size_t(statement.data() - text.data()) + statement.size();
    std::string_view withHints = text.substr(previousEnd, end - previousEnd);
    previousEnd = end;
    sql::AnalyzedStatement analyzed = worker_.plans().analyze(withHints);
    if (statements.size() == 1 && isHintSetting(*analyzed.analysis)) {
      applyHintSetting(analyzed, target);
      return target;
    }
    bool discard = analyzed.analysis->node == "DiscardStmt";  // DISCARD ALL includes RESET ALL
    if (discard || (analyzed.analysis->kind == sql::StatementKind::Reset &&
                    analyzed.analysis->setting.action == sql::SettingAction::ResetAll)) {
      if (routing_) {
        routing_->sessionHints.clear();
        routing_->localHints.clear();
      }
    }
    if (analyzed.analysis->kind != sql::StatementKind::Transaction) {
      addSessionHints(analyzed.hints);  // COMMIT and ROLLBACK go where the transaction is
    }
    if (analyzed.analysis->kind == sql::StatementKind::Ddl) {
      worker_.forgetColumns();  // a column may have come or gone
    }
    route::RouteInput input{*analyzed.analysis,
                            analyzed.shape,
                            analyzed.hints,
                            parameters,
                            schema,
                            worker_.config().routing.allowMultishardWrites,
                            columns,
                            path};
    target.reads = target.reads && analyzed.analysis->readOnly;
    target.writes = target.writes || changesData(*analyzed.analysis);
    if (analyzed.analysis->readOnly && worker_.hasReplicas()) {
      noteFunctions(*analyzed.analysis, worker_.functionWrites(), target);
    }
    target.single = statements.size() == 1;
    if (const std::string* role = analyzed.hints.find("role")) {
      target.toPrimary = target.toPrimary || *role == "primary";
      target.toReplica = target.toReplica || *role == "replica";
    }
    size_t offset = size_t(statement.data() - text.data());
    addRoute(map, route::decide(map, input), statements.size(), text, offset, target);
    const sql::Analysis& analysis = *analyzed.analysis;
    bool copyIn = analysis.kind == sql::StatementKind::Copy &&
                  analysis.copy.direction == sql::CopyDirection::From &&
                  analysis.copy.endpoint == sql::CopyEndpoint::Client;
    if (copyIn && target.kind == Target::Kind::Shards) {
      target.kind = Target::Kind::CopyIn;  // into a reference table: every row to every shard
    }
    if (target.kind == Target::Kind::CopyIn && target.copyTable == nullptr) {
      planCopy(analysis, path, columns, target);
    }
    if (statements.size() == 1) {
      noteControl(*analyzed.analysis, target);
    }
  }
  return target;
}

// Sends a BEGIN the router answered itself ahead of the first statement that needs the
// transaction on a backend.
void ClientSession::startDeferredTransaction() {
  if (!beginDeferred() || !backend_) {
    return;
  }
  std::string& begin = routing_->deferredBegin;
  toBackend_.append(begin);
  for (size_t at = 0; at + 5 <= begin.size();) {
    enqueue(Reply::HiddenQuery);  // the BEGIN, and a SET TRANSACTION that joined it
    at += 1 + wire::readU32(begin.data() + at + 1);
  }
  begin.clear();
}

shardmap::ShardIndex ClientSession::anyShard() const {
  return backend_ ? shard_ : worker_.map().defaultShard();
}

std::string ClientSession::crossShardError(const Target& target) const {
  const shardmap::ShardMap& map = worker_.map();
  bool several = target.kind == Target::Kind::Shards;
  std::string wanted =
      several ? "shards " + shardList(map, target.shards) : "shard " + map.shard(target.shard).name;
  std::string why = txStatus_ != 'I'                                  ? "the transaction"
                    : pinned_                                         ? "the session"
                    : worker_.config().pool.mode == PoolMode::Session ? "the session"
                                                                      : "the pipeline";
  if (!backend_ && several) {
    return errorResponse(route::kCrossShard, "the statement runs on " + wanted + ", which " + why +
                                                 " cannot span: a transaction stays on one shard");
  }
  return errorResponse(route::kCrossShard, "the statement needs " + wanted + ", but " + why +
                                               " runs on shard " + map.shard(shard_).name +
                                               ": a transaction stays on one shard");
}

awaitable<ShardMove> ClientSession::useShard(shardmap::ShardIndex shard, Reply failureReply,
                                             NodeNeed need) {
  while (releasing_) {
    co_await waitForChange();
  }
  if (backend_ && shard_ == shard && beginDeferred() && !inPipeline_) {
    startDeferredTransaction();  // the backend only described statements so far
  }
  bool wrongNode = need == NodeNeed::Primary && onReplica();
  if (backend_ && shard_ == shard && !beginDeferred() && !wrongNode) {
    co_return ShardMove::Ready;
  }
  if (backend_) {
    bool left = co_await leaveBackend();
    if (!left && wrongNode && backend_ && shard_ == shard) {
      co_return ShardMove::Ready;  // a transaction on a replica: Postgres refuses its writes
    }
    if (!left) {
      co_return backend_ ? ShardMove::Busy : ShardMove::Failed;
    }
  }
  if (!backend_ && beginDeferred() && shard_ != shard && pinned_) {
    co_return ShardMove::Busy;
  }
  bool attached = co_await attachOnShard(shard, need, failureReply);
  if (!attached) {
    co_return ShardMove::Failed;
  }
  startDeferredTransaction();
  co_return ShardMove::Ready;
}

// Gives the backend back once the replies still due have come, so that another shard's can
// be attached. A pipeline in progress is ended on it with a Sync of the router's own; that is
// safe only while it has run nothing that a Sync would commit (no Bind yet). False when the
// client may not leave this backend, or when the pipeline failed on it (the client's messages
// up to its Sync are then skipped, as Postgres would).
awaitable<bool> ClientSession::leaveBackend() {
  bool session = worker_.config().pool.mode == PoolMode::Session;
  bool inTransaction = txStatus_ != 'I' && !beginDeferred();
  // A pipeline's reads on a replica may end there with a Sync of the router's own: they
  // wrote nothing a later write on the primary would need in the same transaction. A named
  // portal would not survive that Sync, so it keeps the pipeline on the replica.
  bool boundWrites = pipelineBound_ && (!onReplica() || namedPortalBound_);
  if (session || pinned_ || inTransaction || boundWrites) {
    co_return false;
  }
  bool pipeline = inPipeline_;
  if (pipeline) {
    wire::MessageWriter(toBackend_).begin('S').end();
    enqueue(Reply::HiddenSync);
    inPipeline_ = false;
  }
  co_await sendToBackend();
  while (backend_ || pumping_) {
    if (pending_.empty() && ((txStatus_ != 'I' && !beginDeferred()) || pinned_)) {
      inPipeline_ = pipeline;
      co_return false;  // what was pending opened a transaction or pinned the backend
    }
    co_await waitForChange();
  }
  inPipeline_ = pipeline;
  if (pipelineFailed_) {
    skipToSync_ = true;
    co_return false;
  }
  co_return true;
}

awaitable<Target> ClientSession::route(std::string_view text, std::string_view bindRest,
                                       std::string_view parseRest) {
  Target target = routeStatements(text, bindRest, parseRest);
  bool learnt = false;
  if (target.needsColumnsOf) {
    learnt = co_await loadColumns(*target.needsColumnsOf);
  }
  if (!target.needsFunctions.empty()) {
    co_await loadFunctions(target.needsFunctions);
    learnt = true;
  }
  if (!learnt) {
    co_return target;
  }
  target = routeStatements(text, bindRest, parseRest);
  if (!target.needsFunctions.empty()) {
    target.reads = false;  // the catalog could not tell whether they write
    target.writes = true;
  }
  co_return target;
}

// Lets a backend that the pump is about to give back, or is giving back, go, so that routing
// starts from a session without a backend.
awaitable<void> ClientSession::settleBackend() {
  while (releasing_) {
    co_await waitForChange();
  }
  if (backend_ && !inPipeline_ && shouldRelease()) {
    co_await leaveBackend();
  }
}

awaitable<bool> ClientSession::routeQuery(wire::Frame frame) {
  std::string_view text = frame.body.substr(0, frame.body.find('\0'));
  co_await settleBackend();
  Target target = co_await route(text, {});
  if (target.kind == Target::Kind::Error) {
    co_await queryError(std::move(target.error));
    co_return false;
  }
  if (target.control == Target::Control::Setting) {
    wire::appendReadyForQuery(target.reply, txStatus_);
    synthetic(std::move(target.reply));
    co_return false;
  }
  if (target.control == Target::Control::Begin && backend_) {
    // A backend still on its way back to the pool (reading settings back) must not get the
    // BEGIN: the transaction's first statement picks the shard.
    co_await leaveBackend();
  }
  if (answerControl(target, ControlFrom::Query, {}, frame.bytes)) {
    std::string reply;
    wire::appendCommandComplete(reply, target.tag);
    wire::appendReadyForQuery(reply, txStatus_);
    synthetic(std::move(reply));
    co_return false;
  }
  if (deferSetTransaction(target, text)) {
    std::string reply;
    wire::appendCommandComplete(reply, "SET");
    wire::appendReadyForQuery(reply, txStatus_);
    synthetic(std::move(reply));
    co_return false;
  }
  bool several = target.kind == Target::Kind::Shards || target.kind == Target::Kind::Split ||
                 target.kind == Target::Kind::CopyIn;
  if (several) {
    if (backend_) {
      bool left = co_await leaveBackend();
      if (!left && backend_) {
        co_await queryError(crossShardError(target));
        co_return false;
      }
    }
    if (beginDeferred() || txStatus_ != 'I') {
      shard_ = worker_.map().defaultShard();
      co_await queryError(crossShardError(target));
      co_return false;
    }
    if (target.kind == Target::Kind::Split) {
      co_await splitQuery(text, target);
    } else if (target.kind == Target::Kind::CopyIn) {
      co_await startCopySplit(frame.bytes, target);
    } else {
      co_await scatterQuery(frame.bytes, target);
    }
    co_return false;
  }
  ShardIndex shard = target.kind == Target::Kind::Any ? anyShard() : target.shard;
  ShardMove move = co_await useShard(shard, Reply::Query, needOf(target));
  if (move == ShardMove::Busy) {
    co_await queryError(crossShardError(target));
  }
  wrote_ = wrote_ || (move == ShardMove::Ready && target.writes);
  co_return move == ShardMove::Ready;
}

// Answers BEGIN while no backend is attached, and COMMIT or ROLLBACK of a transaction that
// never reached one. True when answered; the caller sends the reply.
bool ClientSession::answerControl(const Target& target, ControlFrom from, std::string_view portal,
                                  std::string_view beginQuery) {
  bool fromBind = from == ControlFrom::Bind;
  if (target.control == Target::Control::None || backend_ || pinned_) {
    return false;
  }
  bool begin = target.control == Target::Control::Begin;
  if (begin && (txStatus_ != 'I' || beginDeferred())) {
    return false;
  }
  if (!begin && !beginDeferred()) {
    return false;
  }
  // The BEGIN, with its options, runs on whichever shard the transaction's first statement
  // picks: Postgres answers it the same way everywhere.
  RoutingState& state = routing();
  state.deferredBegin = begin ? std::string(beginQuery) : std::string();
  state.deferredReadOnly = begin && target.readOnly;
  txStatus_ = begin ? 'T' : 'I';
  if (fromBind) {
    state.controlPortals[std::string(portal)] = target.tag;  // its Execute is answered here too
  }
  return true;
}

// Reports an error the router found in a simple query. The backend, when the client has one
// or is in a transaction, is made to fail at the same point so that its transaction state
// matches what Postgres would report.
awaitable<void> ClientSession::queryError(std::string errorBytes) {
  if (!backend_ && !beginDeferred()) {
    wire::appendReadyForQuery(errorBytes, txStatus_);
    synthetic(std::move(errorBytes));
    co_return;
  }
  if (!backend_ || beginDeferred()) {
    ShardMove move = co_await useShard(shard_, Reply::Query);
    if (move != ShardMove::Ready) {
      co_return;
    }
  }
  Pending failing(Reply::Query);
  failing.bytes = std::move(errorBytes);
  wire::MessageWriter(toBackend_).begin('Q').cstring(")").end();
  pending_.push_back(std::move(failing));
}

awaitable<void> ClientSession::pipelineError(std::string errorBytes) {
  if (beginDeferred()) {
    co_await useShard(shard_, Reply::Bind);
  }
  if (backend_) {
    failInPipeline(std::move(errorBytes));
    co_return;
  }
  inPipeline_ = true;
  synthetic(std::move(errorBytes));
  skipToSync_ = true;
}

awaitable<bool> ClientSession::routeBind(const Statement& statement, std::string_view name,
                                         std::string_view portal, std::string_view bindRest) {
  Statement bound = statement;  // the client's statement may go while this waits
  co_await settleBackend();
  std::string_view query = std::string_view(bound.parseRest).substr(0, bound.parseRest.find('\0'));
  std::string_view parseRest = bound.parseRest;
  Target target = co_await route(query, bindRest, parseRest);
  if (target.kind == Target::Kind::Error) {
    co_await pipelineError(std::move(target.error));
    co_return false;
  }
  if (target.control == Target::Control::Setting && target.tag != "SHOW") {
    inPipeline_ = true;
    routing().controlPortals[std::string(portal)] = target.tag;
    synthetic(std::string(kBindComplete));
    co_return false;
  }
  std::string beginQuery;
  wire::MessageWriter(beginQuery).begin('Q').cstring(query).end();
  if (target.control == Target::Control::Begin && backend_ && !inPipeline_) {
    co_await leaveBackend();
  }
  if (answerControl(target, ControlFrom::Bind, portal, beginQuery)) {
    inPipeline_ = true;
    synthetic(std::string(kBindComplete));
    co_return false;
  }
  if (deferSetTransaction(target, query)) {
    inPipeline_ = true;
    routing().controlPortals[std::string(portal)] = "SET";
    synthetic(std::string(kBindComplete));
    co_return false;
  }
  if (target.kind == Target::Kind::CopyIn) {
    co_await pipelineError(errorResponse(
        route::kNotSupported,
        "COPY FROM STDIN into a sharded table is supported in the simple query protocol only"));
    co_return false;
  }
  if (target.kind == Target::Kind::Shards || target.kind == Target::Kind::Split) {
    if (backend_) {
      bool left = co_await leaveBackend();
      if (!left && backend_) {
        failInPipeline(crossShardError(target));
        co_return false;
      }
      if (!left) {
        co_return false;
      }
    }
    if (beginDeferred() || txStatus_ != 'I') {
      shard_ = worker_.map().defaultShard();
      co_await pipelineError(crossShardError(target));
      co_return false;
    }
    inPipeline_ = true;
    auto pipeline = std::make_unique<ScatterPipeline>();
    pipeline->shards = target.shards;
    pipeline->copies = target.copies;
    pipeline->reads = target.reads;
    pipeline->statementName = std::string(name);
    pipeline->portal = std::string(portal);
    pipeline->bindRest = std::string(bindRest);
    ScatterPipeline& scatter = *pipeline;
    routing().scatter = std::move(pipeline);
    if (target.kind == Target::Kind::Split) {
      std::string error;
      scatter.parts = splitBind(bound, target, portal, bindRest, error);
      scatter.rowLegs = rowLegsOf(target.rows);
      if (scatter.parts.empty()) {
        wire::appendError(scatter.error, "XX000", "shardline: cannot split the INSERT: " + error);
        skipToSync_ = true;
      }
    }
    co_return false;
  }
  ShardIndex shard = target.kind == Target::Kind::Any ? anyShard() : target.shard;
  ShardMove move = co_await useShard(shard, Reply::Bind, needOf(target));
  if (move == ShardMove::Busy) {
    failInPipeline(crossShardError(target));
  }
  wrote_ = wrote_ || (move == ShardMove::Ready && target.writes);
  co_return move == ShardMove::Ready;
}

}  // namespace shardline::session
