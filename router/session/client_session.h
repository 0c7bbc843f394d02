// A client session: one application connection to the router, from startup
// to Terminate.
//
// A session lives on one worker and is touched only from that worker's
// io_context. Two coroutines serve it: the reader (client -> backend) and,
// while a backend is attached, the pump (backend -> client). They share the
// session's state without locks because they run on the same thread.
//
// An idle session (no backend, nothing in flight) keeps no coroutine: the
// reader returns and a plain wait on the client's socket, which owns the
// session, starts a new reader when the client sends again.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "replication/read_balancer.h"
#include "router/asio.h"
#include "router/net/transport.h"
#include "router/pool/pool.h"
#include "router/route/route.h"
#include "router/session/client_login.h"
#include "router/session/session_list.h"
#include "router/session/session_state.h"
#include "router/session/statement_class.h"
#include "router/sql/plan_cache.h"
#include "router/wire/copy_rows.h"
#include "router/wire/message.h"
#include "shardmap/map.h"

namespace shardline {
class Worker;
}

namespace shardline::session {

// How logs name a client: "c42".
struct ClientTag {
  uint64_t id;
};

}  // namespace shardline::session

template <>
struct fmt::formatter<shardline::session::ClientTag> {
  constexpr auto parse(fmt::format_parse_context& context) { return context.begin(); }
  template <typename Context>
  auto format(shardline::session::ClientTag tag, Context& context) const {
    return fmt::format_to(context.out(), "c{}", tag.id);
  }
};

namespace shardline::session {

struct Leg;
struct CopySplit;
struct ScatterMode;

// What the router expects back from the backend for each message it sent, in
// order, and what to do with it. Synthetic entries are answered by the router.
enum class Reply : uint8_t {
  Parse,        // ParseComplete, forwarded
  HiddenParse,  // ParseComplete of a statement prepared on demand, swallowed
  Bind,         // BindComplete
  Describe,     // [ParameterDescription] RowDescription | NoData
  Execute,      // rows, then CommandComplete | EmptyQueryResponse | PortalSuspended
  Close,        // CloseComplete
  Sync,         // ReadyForQuery
  Query,        // everything up to ReadyForQuery (simple query, FunctionCall)
  Synthetic,    // the router sends `bytes` when this reaches the head
  LocalClose,   // like Synthetic, and the client statement `name` goes at that point
  CopyEnd,      // marks where the client ended a COPY; no reply
  HiddenClose,  // CloseComplete of a statement the router closes itself, swallowed
  HiddenSync,   // ReadyForQuery of a Sync the router added, swallowed
  ClientError,  // the backend's error is replaced by `bytes` (an error the router found)
  HiddenQuery,  // a simple query the router sent for the client (a deferred BEGIN): only
                // its errors are shown
};

// A prepared statement as the client named it.
struct Statement {
  std::string backendName;       // "sl_<hash of text and types>"
  std::string parseRest;         // Parse body after the name: query, parameter types
  bool verified = false;         // a backend has accepted it; until then a failed prepare drops it
  bool changesSettings = false;  // running it may change session settings
  bool pinsBackend = false;      // running it ties the client to its backend
  std::string deallocates;       // it is `DEALLOCATE name`: the client statement it removes
};

// The session settings a client changed from its startup values, as Postgres holds them (see
// session_state.h), and the placeholder settings it used. Most clients change none.
struct ClientSettings {
  std::vector<Setting> changed;  // SessionState::settings
  uint64_t fingerprint = 0;      // of `changed`
  // Names of placeholder settings (`SET app.tenant = ...`) the client used:
  // pg_settings does not list them, so they are read back by name.
  std::vector<std::string> customNames;
};

// The prepared statements of a client.
struct ClientStatements {
  std::unordered_map<std::string, Statement> named;
  Statement unnamed;  // none while its parseRest is empty
  // Portals bound to a `DEALLOCATE name` of a client statement: name by portal.
  std::unordered_map<std::string, std::string> deallocatePortals;
};

struct Pending {
  explicit Pending(Reply kind) : kind(kind) {}
  Pending(Reply kind, std::string name, std::string backendName = {}, std::string bytes = {})
      : kind(kind),
        name(std::move(name)),
        backendName(std::move(backendName)),
        bytes(std::move(bytes)) {}

  Reply kind;
  std::string name;         // client statement name for Parse entries
  std::string backendName;  // backend statement name for Parse entries
  // Synthetic, LocalClose: the reply. ClientError, Query: the error to show
  // instead of the backend's (a Query then carries a statement made to fail).
  std::string bytes;
  std::shared_ptr<Statement> closed;  // LocalClose: the statement, restored if skipped
};

// Whether attaching a backend may queue for one.
enum class BackendWait {
  Queue,       // wait up to checkout_timeout
  OnlyIfFree,  // attach only if a backend is idle or can be opened now
};

// Which of a shard's nodes a statement may run on.
enum class NodeNeed : uint8_t {
  Primary,  // it may write or lock, or its transaction may
  Read,     // a reader by the read policy, fresh enough for the client's own writes
  Replica,  // a reader, as a role=replica hint asks, whatever the client wrote
};

// A write the client committed on a shard, for read-your-writes.
struct WriteMark {
  int64_t at = 0;            // when it was acknowledged (replication::nowNanos)
  replication::Lsn lsn = 0;  // a primary position sampled after `at`; 0 until known
};

// Where a client's statement runs, as routing decided it.
struct Target {
  enum class Kind : uint8_t {
    Any,     // on the client's backend if it has one, else on the default shard
    Shard,   // on `shard`
    Shards,  // on each of `shards` (two or more): a scatter read or a write to every shard
    Split,   // an INSERT whose rows go to `shards`: row indexes by shard in `rows`
    CopyIn,  // COPY FROM STDIN into sharded table `copyTable`: rows split by key
    Error,   // nowhere: `error` holds the ErrorResponse to report
  };
  // The text is a lone BEGIN, START TRANSACTION, COMMIT or ROLLBACK (no AND CHAIN),
  // which the router may answer itself while no backend is attached.
  enum class Control : uint8_t {
    None,
    Begin,    // BEGIN, START TRANSACTION
    End,      // COMMIT, ROLLBACK
    Setting,  // SET, RESET or SHOW of shardline.shard / shardline.key, answered by the router
  };

  Kind kind = Kind::Any;
  shardmap::ShardIndex shard = 0;
  std::vector<shardmap::ShardIndex> shards;
  std::vector<std::vector<size_t>> rows;       // Split: the VALUES rows of each of `shards`
  const shardmap::Table* copyTable = nullptr;  // CopyIn
  wire::CopyLayout copyLayout;                 // CopyIn: how to read the rows' keys
  // Error SL007: the table whose columns, once known, would route the statement.
  std::optional<shardmap::QualifiedName> needsColumnsOf;
  // A read calling functions whose writes the catalog must tell (unknown to this worker).
  std::vector<std::string> needsFunctions;
  std::string error;
  Control control = Control::None;
  bool copies = false;          // Shards: each holds the same rows, so counts are not summed
  bool reads = true;            // every statement is read-only
  bool writes = false;          // a statement may change data (not SET, SHOW, BEGIN, a read, ...)
  bool readOnly = false;        // Begin, SET TRANSACTION: declares the transaction READ ONLY
  bool readWrite = false;       // ... or READ WRITE
  bool setTransaction = false;  // a lone SET TRANSACTION
  bool toPrimary = false;       // a role=primary hint
  bool toReplica = false;       // a role=replica hint
  bool single = true;           // one statement
  std::string_view tag;         // Control's CommandComplete tag: "BEGIN", "COMMIT", ...
  std::string reply;            // Setting: the router's answer, up to ReadyForQuery
};

// The statements of a query string, as sql::splitStatements gives them, without lexing a
// string that holds one statement.
std::vector<std::string_view> statementsOf(std::string_view text);

// An ErrorResponse with severity ERROR.
std::string errorResponse(std::string_view sqlstate, const std::string& message);

// How an attempt to put the client's backend on a shard ended.
enum class ShardMove : uint8_t {
  Ready,   // a backend of that shard is attached
  Failed,  // no backend: an error is queued for the client already
  Busy,    // the client's transaction, pipeline or pinned backend is on another shard
};

// An extended-protocol statement bound for several shards: its messages are gathered up
// to Sync, then run on every shard and the replies merged.
struct ScatterPipeline {
  std::vector<shardmap::ShardIndex> shards;
  bool copies = false;
  bool reads = false;
  int executes = 0;           // Execute messages gathered
  std::string statementName;  // the client's name; empty for the unnamed statement
  std::string portal;
  std::string bindRest;  // the Bind after the portal and statement names
  std::string messages;  // what the client sent after Bind: Describe and Execute
  // A split INSERT: per shard, the Parse and Bind of its part of the rows. Empty otherwise.
  std::vector<std::string> parts;
  std::vector<size_t> rowLegs;  // a split INSERT: the leg of each VALUES row
  std::string error;            // a message that cannot join the scatter: reported at Sync
};

// What routing over shards and replicas keeps for a client, beyond its backend. Most
// clients of a router that routes nothing never need it.
struct RoutingState {
  // A BEGIN the router answered itself: sent ahead of the first statement that picks a shard.
  // Query messages, a SET TRANSACTION that followed the BEGIN included.
  std::string deferredBegin;
  bool deferredReadOnly = false;            // the deferred transaction is READ ONLY
  uint64_t clientHash = 0;                  // for the client_hash read policy; 0 until computed
  std::unique_ptr<WriteMark[]> writeMarks;  // by shard; allocated at the first write
  // Portals of BEGIN/COMMIT/ROLLBACK the router answered itself: their tag.
  std::unordered_map<std::string, std::string_view> controlPortals;
  std::unique_ptr<ScatterPipeline> scatter;  // an extended-protocol statement gathered to Sync
  // Hints set by SET shardline.shard / shardline.key: for the session, and SET LOCAL ones
  // for the current transaction.
  std::vector<sql::Hint> sessionHints;
  std::vector<sql::Hint> localHints;
  std::vector<pool::Backend*> scatterBackends;  // while a scatter runs, for cancels
  std::unique_ptr<CopySplit> copySplit;
};

// The replies still expected, oldest first. A vector with a moving head: it
// allocates nothing until used, unlike std::deque.
class ReplyQueue {
 public:
  bool empty() const { return head_ == items_.size(); }
  size_t size() const { return items_.size() - head_; }
  Pending& front() { return items_[head_]; }
  const Pending& front() const { return items_[head_]; }
  void push_back(Pending entry) {
    reserveFirst();
    items_.push_back(std::move(entry));
  }
  // The same as push_back(Pending(kind)), without moving an entry.
  void push_back(Reply kind) {
    reserveFirst();
    items_.emplace_back(kind);
  }
  void pop_back() { items_.pop_back(); }
  void pop_front() {
    if (++head_ == items_.size()) {
      items_.clear();
      head_ = 0;
    }
  }
  // Removes Sync entries after the head up to the first CopyEnd; returns
  // whether a CopyEnd was found.
  bool removeSyncsBeforeCopyEnd() {
    size_t i = head_ + 1;
    while (i < items_.size() && items_[i].kind != Reply::CopyEnd) {
      if (items_[i].kind == Reply::Sync) {
        items_.erase(items_.begin() + ptrdiff_t(i));
      } else {
        ++i;
      }
    }
    return i < items_.size();
  }
  void release() {
    if (empty()) {
      std::vector<Pending>().swap(items_);
      head_ = 0;
    }
  }

 private:
  static constexpr size_t kFirstCapacity = 8;

  void reserveFirst() {
    if (items_.capacity() == 0) {
      items_.reserve(kFirstCapacity);  // one allocation for a transaction's replies
    }
  }

  std::vector<Pending> items_;
  size_t head_ = 0;
};

class ClientSession : public std::enable_shared_from_this<ClientSession>,
                      public net::ReadableWaiter,
                      public WorkerLink {
 public:
  ClientSession(Worker& worker, std::unique_ptr<net::Transport> transport, uint64_t id);
  ~ClientSession();

  // Starts the connection up and serves it until it ends or waits idle. Never throws.
  awaitable<void> run();
  // Forwards a cancel to the backends serving this client, if any.
  void cancelCurrentQuery();
  // Asks the session to end after its current transaction (graceful shutdown).
  void requestClose();
  // Called about once a second by the worker: a session whose client sent nothing since the
  // last call, and whose reader waits for it with no backend and nothing in flight, parks.
  void parkIfIdle();
  // Tells the client the router is shutting down and closes the connection.
  awaitable<void> terminate();
  // Sends what is queued for the client, then closes the connection.
  awaitable<void> terminateQuietly();

  uint64_t id() const { return id_; }
  // How logs name the client: "c42".
  ClientTag tag() const { return ClientTag{id_}; }

 private:
  // Startup and authentication (client_auth.cc).
  awaitable<bool> startup();
  awaitable<bool> authenticate();
  awaitable<bool> authenticateMd5();
  awaitable<bool> authenticateScram(std::string& error);
  awaitable<bool> authenticateScram(const std::string& secret, std::string& error);
  awaitable<bool> upgradeToTls();
  void negotiateProtocol(uint32_t minor, const std::vector<Setting>& parameters);
  awaitable<bool> readTyped(wire::Frame& frame);
  awaitable<bool> finishStartup();

  // Reader side (client_session.cc).
  // How the reader starts: with messages already buffered, or with the client's socket
  // readable after an idle wait.
  enum class Wake : uint8_t { Buffered, Readable };
  // How the reader stopped.
  enum class Served : uint8_t {
    Ended,   // the connection ends: the session cleans up
    Parked,  // the session is idle and waits for the client without a coroutine
  };
  awaitable<void> serveOrEnd(Wake wake);
  awaitable<Served> serve(Wake wake);
  bool parkable() const;
  // Waits for the client's next message without a coroutine if nothing is in flight;
  // false when the reader must wait itself.
  bool park();
  void onReadable(ErrorCode ec) override;
  awaitable<void> finish();
  bool handleNow(const wire::Frame& frame);
  using AwaitingHandler = awaitable<void> (ClientSession::*)(wire::Frame);
  AwaitingHandler awaitingHandler(char type) const;
  awaitable<void> handleSplitting(wire::Frame frame);
  awaitable<void> handleFunctionCall(wire::Frame frame);
  awaitable<void> handleQuery(wire::Frame frame);
  void protocolViolation(std::string_view message);
  void releaseIdleMemory();
  void sendCancel(const pool::Backend& backend);
  void armIdleTimer();
  // Records what running a statement implies for the session.
  void noteEffects(const StatementClass& what);
  void noteEffects(const Statement& statement);
  void executeUnderClientName(const std::string& name, const Statement& statement,
                              std::string_view query);

  // Extended protocol (extended.cc).
  // The client's prepared statements, made when it prepares its first.
  ClientStatements& statements();
  Statement* findStatement(const std::string& name);  // null when the client has none by name
  void forgetStatement(const std::string& name);
  const Statement* unnamedStatement() const;  // null when the client has none
  // The client's unnamed statement is gone, as after a simple query.
  void dropUnnamed();
  awaitable<void> handleParse(wire::Frame frame);
  awaitable<void> handleBind(wire::Frame frame);
  awaitable<void> handleExecute(wire::Frame frame);
  awaitable<void> handleDescribe(wire::Frame frame);
  awaitable<void> handleClose(wire::Frame frame);
  awaitable<void> handleSync(wire::Frame frame);
  // The same messages handled without waiting, when they need none: a backend is attached
  // or free at once, and no routing waits. False when the awaitable handler must run; for
  // Execute and Describe that handler only waits for a backend and calls them again.
  bool parseNow(const wire::Frame& frame);
  bool bindNow(const wire::Frame& frame);
  bool executeNow(const wire::Frame& frame);
  bool describeNow(const wire::Frame& frame);
  void parseOnBackend(const wire::Frame& frame, std::string clientName, std::string_view rest,
                      Statement statement);
  void bindOnBackend(const wire::Frame& frame, std::string_view portal, std::string_view name,
                     std::string_view rest);
  void endPipeline();
  void sync(const wire::Frame& frame);
  void deferParse(const std::string& name, std::string_view query, Statement statement);
  std::string grammarError(std::string_view query);
  void prepareOnBackend(const std::string& name, const Statement& statement);
  void ensureUnnamedOnBackend();
  void failInPipeline(std::string errorBytes);
  std::string_view controlTag(std::string_view portal) const;
  std::string takeDeallocatePortal(std::string_view portal);

  // Routing (routing.cc).
  // The routing state, made on first use.
  RoutingState& routing();
  bool beginDeferred() const { return routing_ && !routing_->deferredBegin.empty(); }
  ScatterPipeline* scatterPipeline() const { return routing_ ? routing_->scatter.get() : nullptr; }
  CopySplit* copySplit() const { return routing_ ? routing_->copySplit.get() : nullptr; }
  Target routeStatements(std::string_view text, std::string_view bindRest,
                         std::string_view parseRest = {});
  std::vector<std::string> searchPath() const;
  // SET/RESET/SHOW shardline.shard and shardline.key: routing hints for the session.
  bool isHintSetting(const sql::Analysis& analysis) const;
  void applyHintSetting(const sql::AnalyzedStatement& analyzed, Target& target);
  void addSessionHints(sql::Hints& hints) const;
  // Attaches a backend of `shard`, leaving the current one when nothing ties the client to
  // it, and sends a deferred BEGIN first.
  awaitable<ShardMove> useShard(shardmap::ShardIndex shard, Reply failureReply,
                                NodeNeed need = NodeNeed::Primary);
  // Nodes (node_choice.cc): which node of a shard serves a statement.
  NodeNeed needOf(const Target& target) const;
  // The node for `need` on `shard`, skipping the shard's nodes whose bit (by position in the
  // shard's node list) is set in `excluded`; null with `error` set when none can serve.
  const NodeConfig* nodeFor(shardmap::ShardIndex shard, NodeNeed need, uint64_t excluded,
                            std::string& error);
  replication::Freshness freshness(shardmap::ShardIndex shard);
  uint64_t clientHash();
  // The attached backend is on a node other than its shard's primary.
  bool onReplica() const;
  // The client's write mark on `shard`, made on first use.
  WriteMark& writeMark(shardmap::ShardIndex shard);
  size_t userIndex() const;
  // Records that a write of this client's was acknowledged on `shard`.
  void noteWrite(shardmap::ShardIndex shard);
  // Attaches a backend of the node routing picks, trying another reader when one cannot be
  // reached. False when none could be attached; the client then has the error.
  awaitable<bool> attachOnShard(shardmap::ShardIndex shard, NodeNeed need, Reply failureReply);
  // A SET TRANSACTION right after a BEGIN the router answered joins that BEGIN; true then.
  bool deferSetTransaction(const Target& target, std::string_view query);
  awaitable<bool> leaveBackend();
  awaitable<void> settleBackend();
  // The catalog (catalog.cc).
  awaitable<std::optional<std::vector<Row>>> catalogQuery(std::string_view sql,
                                                          const std::string& value);
  awaitable<bool> loadColumns(const shardmap::QualifiedName& table);
  awaitable<bool> loadFunctions(const std::vector<std::string>& names);
  // routeStatements, asking the catalog first what the route depends on and this worker does
  // not know yet (a table's columns, whether functions write).
  awaitable<Target> route(std::string_view text, std::string_view bindRest,
                          std::string_view parseRest = {});
  shardmap::ShardIndex anyShard() const;
  void planCopy(const sql::Analysis& analysis, const std::vector<std::string>& path,
                const route::ColumnLookup& columns, Target& target);
  void startDeferredTransaction();
  std::string crossShardError(const Target& target) const;
  // Applies routing to a simple query; false when the router answered it itself.
  awaitable<bool> routeQuery(wire::Frame frame);
  awaitable<void> queryError(std::string errorBytes);
  // Applies routing at Bind; false when the Bind must not go on to a backend.
  awaitable<bool> routeBind(const Statement& statement, std::string_view name,
                            std::string_view portal, std::string_view bindRest);
  awaitable<void> pipelineError(std::string errorBytes);
  enum class ControlFrom : uint8_t { Query, Bind };
  bool answerControl(const Target& target, ControlFrom from, std::string_view portal,
                     std::string_view beginQuery);

  // Statements on several shards at once (scatter.cc).
  // `build` gives the messages for one backend and how many ParseComplete replies of the
  // router's own they start with.
  using ScatterBuild =
      std::function<std::string(size_t leg, pool::Backend& backend, int& hiddenParses)>;
  awaitable<void> scatterQuery(std::string_view queryBytes, const Target& target);
  awaitable<void> splitQuery(std::string_view text, const Target& target);
  // The Parse and Bind of each shard's rows of a split INSERT; empty with `error` set when the
  // statement cannot be split.
  std::vector<std::string> splitBind(const Statement& statement, const Target& target,
                                     std::string_view portal, std::string_view bindRest,
                                     std::string& error);
  awaitable<void> runScatterPipeline();
  awaitable<void> scatter(const std::vector<shardmap::ShardIndex>& shards, ScatterMode mode,
                          const ScatterBuild& build);
  void gatherForScatter(const wire::Frame& frame);
  // `reads`: the statement only reads, so each shard's reader may serve it.
  awaitable<std::string> acquireLegs(std::vector<Leg>& legs,
                                     const std::vector<shardmap::ShardIndex>& shards, bool reads);
  awaitable<void> readLeg(Leg& leg, char until);
  awaitable<void> refuseCopyIn(Leg& leg);
  void releaseLegs(std::vector<Leg>& legs);
  awaitable<bool> streamLegs(std::vector<Leg>& legs, ScatterMode mode);

  // COPY FROM STDIN into a sharded table, rows split by key (copy_split.cc).
  awaitable<void> startCopySplit(std::string_view queryBytes, const Target& target);
  awaitable<void> copySplitData(const wire::Frame& frame);
  awaitable<void> sendCopyRows(Leg& leg, bool all);
  awaitable<void> endCopySplit(const wire::Frame& frame);
  void routeCopyRow(CopySplit& split, const wire::CopyRow& row);

  // Backend attachment and the pump (backend_link.cc).
  // With `failure` given, an error is stored there instead of being sent to the client.
  awaitable<bool> ensureBackend(Reply failureReply, BackendWait wait = BackendWait::Queue,
                                std::string* failure = nullptr);
  // Takes a backend with the client's settings applied, starting no pump.
  awaitable<bool> takeBackend(Reply failureReply, BackendWait wait, std::string* failure);
  void reportFailure(std::string errorBytes, Reply failureReply);
  bool attachNow();
  void startPump();
  awaitable<void> pump();
  void onBackendFrame(wire::Frame frame);
  void popThroughSync();
  void emitReadySynthetic();
  void dropSyncsIgnoredDuringCopy();
  void forgetDroppedParse(const Pending& entry);
  void markVerified(const Pending& entry);
  bool shouldRelease() const;
  // No transaction open, nothing sent that awaits a reply.
  bool isIdle() const;
  awaitable<void> releaseBackend();
  awaitable<void> cleanupOnClose();
  awaitable<std::string> restoreState(bool force);
  const std::vector<Setting>& changedSettings() const;
  uint64_t settingsFingerprint() const { return settings_ ? settings_->fingerprint : 0; }
  // Whether `backend` holds the client's settings already. Never while the client logs in:
  // its first restore also reads back the values Postgres reports.
  bool carriesSettings(const pool::Backend& backend) const {
    return cancelPid_ != 0 && backend.stateFingerprint == settingsFingerprint();
  }
  const std::vector<std::string>& customSettings() const;
  // Keeps the client's settings as reading them back from its backend found them.
  void keepSettings(SessionState fresh);
  awaitable<std::string> restoreStateOn(pool::Backend& backend, bool force);
  awaitable<void> sendToBackend();
  void enqueue(Reply kind) { pending_.push_back(kind); }
  void synthetic(std::string bytes);

  // Client output: every write goes through here so writers never interleave.
  awaitable<void> flushClient();
  bool flushNow();
  // Waits until the pump makes progress or ends, or a write to the client ends. Waiters
  // check their condition again: they may wake for another's change.
  awaitable<void> waitForChange();
  void signalChange();

  Worker& worker_;
  std::unique_ptr<net::Transport> client_;
  wire::FrameReader in_;
  uint64_t id_;

  // Who the client is.
  std::shared_ptr<const ClientLogin> login_;  // set once the StartupMessage names a known user
  int32_t cancelPid_ = 0;
  int32_t cancelSecret_ = 0;

  // Output to the client.
  std::string out_;
  std::unique_ptr<Timer> idleTimer_;  // with client_idle_ms only
  std::unique_ptr<Timer> changed_;    // see waitForChange()

  // The backend while one is attached.
  pool::Pool* pool_ = nullptr;
  std::unique_ptr<pool::Backend> backend_;
  std::string toBackend_;  // messages gathered from one client read
  ReplyQueue pending_;
  shardmap::ShardIndex shard_ = 0;  // the shard of pool_
  char txStatus_ = 'I';             // as the client last saw it
  bool writing_ = false;            // a write to the client is under way
  bool pumping_ = false;
  bool pumpWaiting_ = false;  // the pump is idle in a read from the backend
  bool releasing_ = false;
  bool inPipeline_ = false;  // extended messages sent since the last Sync
  bool skipToSync_ = false;  // after an error the router found itself
  bool pinned_ = false;      // backend tied to this client until it leaves
  bool settingsTouched_ = false;
  bool closing_ = false;
  bool closeRequested_ = false;
  bool terminated_ = false;        // the client was told the router is shutting down
  bool copyIn_ = false;            // the backend is in copy-in and ignores Sync
  bool pipelineBound_ = false;     // a Bind of this pipeline went to the backend
  bool namedPortalBound_ = false;  // ... and one of them made a named portal
  bool pipelineFailed_ = false;    // the backend reported an error since the client's last Sync
  bool wrote_ = false;             // a statement that may write went to the attached backend
  bool readerWaiting_ = false;     // the reader waits in waitReadable()
  bool heardFromClient_ = false;   // the client sent something since parkIfIdle() last ran
  bool parkAsked_ = false;         // parkIfIdle() cut the reader's wait short
  uint64_t unnamedSeq_ = 0;        // counts the client's unnamed statements

  // What few clients need, made on first use.
  std::unique_ptr<RoutingState> routing_;         // see routing()
  std::unique_ptr<ClientSettings> settings_;      // null while the client changed none
  std::unique_ptr<ClientStatements> statements_;  // see statements()
};

}  // namespace shardline::session
