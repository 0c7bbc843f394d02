// Statements that run on several shards at once, outside transactions: a read
// whose rows are concatenated under one RowDescription, or a write that every
// shard takes (DDL, reference tables). CommandComplete counts are summed and
// the client gets one ReadyForQuery. Each shard commits on its own.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <unordered_set>

#include "router/server.h"
#include "router/session/bind_fields.h"
#include "router/session/client_session.h"
#include "router/session/shard_legs.h"
#include "router/sql/rewrite.h"

namespace shardline::session {

namespace {

using shardmap::ShardIndex;

// A CommandComplete tag as its text before the count and the count: "INSERT 0 " and 5.
bool splitCount(std::string_view tag, std::string_view& prefix, uint64_t& count) {
  size_t space = tag.rfind(' ');
  if (space == std::string_view::npos) {
    return false;
  }
  std::string_view digits = tag.substr(space + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
  if (ec != std::errc() || end != digits.data() + digits.size()) {
    return false;
  }
  prefix = tag.substr(0, space + 1);
  return true;
}

std::string_view tagOf(const ShardReply& reply) {
  std::string_view body = std::string_view(reply.bytes).substr(5);
  return body.substr(0, body.find('\0'));
}

bool isRow(char type) {
  return type == 'D' || type == 'd';
}
bool isAside(char type) {
  return type == 'N' || type == 'A' || type == 'S';
}

}  // namespace

std::string mergedError(const std::vector<Leg>& legs, const shardmap::ShardMap& map,
                        ScatterMode mode) {
  struct Failure {
    const Leg* leg;
    const ShardReply* reply;
    wire::ErrorFields fields;
  };
  std::vector<Failure> failures;
  for (const Leg& leg : legs) {
    for (const ShardReply& reply : leg.replies) {
      if (reply.type == 'E') {
        failures.push_back(
            {&leg, &reply, wire::parseError(std::string_view(reply.bytes).substr(5))});
        break;
      }
    }
  }
  const wire::ErrorFields& first = failures.front().fields;
  bool same = (mode.reads || failures.size() == legs.size()) &&
              std::all_of(failures.begin(), failures.end(), [&first](const Failure& f) {
                return f.fields.sqlstate == first.sqlstate && f.fields.message == first.message &&
                       f.fields.detail == first.detail;
              });
  if (same) {
    return failures.front().reply->bytes;  // every shard said the same: as Postgres says it
  }
  std::string detail = first.detail;
  for (size_t i = 1; i < failures.size(); ++i) {
    detail += (detail.empty() ? "" : "\n") + std::string("shard ") +
              map.shard(failures[i].leg->shard).name + ": " + failures[i].fields.message;
  }
  if (!mode.reads) {
    // Each shard commits on its own: say where the statement did take effect.
    std::string applied;
    for (const Leg& leg : legs) {
      if (!hasError(leg)) {
        applied += (applied.empty() ? "" : ", ") + map.shard(leg.shard).name;
      }
    }
    if (!applied.empty()) {
      detail += (detail.empty() ? "" : "\n") + std::string("applied and committed on shard") +
                (applied.find(',') == std::string::npos ? " " : "s ") + applied;
    }
  }
  std::string out;
  wire::appendError(out, first.sqlstate.empty() ? "XX000" : first.sqlstate,
                    "shard " + map.shard(failures.front().leg->shard).name + ": " + first.message,
                    first.severity.empty() ? "ERROR" : first.severity, detail);
  return out;
}

std::vector<size_t> rowLegsOf(const std::vector<std::vector<size_t>>& rowsByLeg) {
  std::vector<size_t> out;
  for (size_t leg = 0; leg < rowsByLeg.size(); ++leg) {
    for (size_t row : rowsByLeg[leg]) {
      out.resize(std::max(out.size(), row + 1));
      out[row] = leg;
    }
  }
  return out;
}

bool hasError(const Leg& leg) {
  return std::any_of(leg.replies.begin(), leg.replies.end(),
                     [](const ShardReply& reply) { return reply.type == 'E'; });
}

namespace {

class Merger {
 public:
  Merger(std::vector<Leg>& legs, bool copies) : legs_(legs), copies_(copies), at_(legs.size(), 0) {
    for (size_t i = 0; i < legs.size(); ++i) {
      // The router's own Parse replies come first; the client never asked for them.
      while (legs[i].hiddenParses > 0 && at_[i] < legs[i].replies.size() &&
             legs[i].replies[at_[i]].type == '1') {
        ++at_[i];
        --legs[i].hiddenParses;
      }
    }
  }

  // Follows the first shard's replies; the others add their rows before each
  // end of a result, and their counts to its CommandComplete.
  std::string run() {
    std::string out;
    std::vector<ShardReply>& lead = legs_[0].replies;
    for (size_t& i = at_[0]; i < lead.size(); ++i) {
      const ShardReply& reply = lead[i];
      if (reply.type == 'N') {
        if (notices_.insert(reply.bytes).second) {
          out += reply.bytes;
        }
        continue;
      }
      if (isRow(reply.type) || isAside(reply.type)) {
        out += reply.bytes;
        continue;
      }
      std::string_view prefix;
      uint64_t total = 0;
      bool counted = reply.type == 'C' && splitCount(tagOf(reply), prefix, total);
      for (size_t leg = 1; leg < legs_.size(); ++leg) {
        const ShardReply* match = advance(leg, reply.type, out);
        std::string_view otherPrefix;
        uint64_t count = 0;
        if (counted && !copies_ && match != nullptr &&
            splitCount(tagOf(*match), otherPrefix, count)) {
          total += count;
        }
      }
      if (counted) {
        wire::appendCommandComplete(out, std::string(prefix) + std::to_string(total));
      } else {
        out += reply.bytes;
      }
    }
    return out;
  }

 private:
  // Moves leg `leg` past its rows and past its next reply of `type`, which it returns.
  const ShardReply* advance(size_t leg, char type, std::string& out) {
    std::vector<ShardReply>& replies = legs_[leg].replies;
    size_t& i = at_[leg];
    while (i < replies.size()) {
      const ShardReply& reply = replies[i];
      if (reply.type == 'N') {
        // Shards that did the same work say the same things: each notice once.
        if (notices_.insert(reply.bytes).second) {
          out += reply.bytes;
        }
        ++i;
      } else if (isRow(reply.type) && copies_) {
        ++i;  // every shard returned the same rows (RETURNING of a reference table): once
      } else if (isRow(reply.type) || reply.type == 'A') {
        out += reply.bytes;
        ++i;
      } else if (reply.type == 'S') {
        ++i;  // the first shard's ParameterStatus stands for all
      } else if (reply.type == type) {
        ++i;
        return &reply;
      } else {
        return nullptr;
      }
    }
    return nullptr;
  }

  std::vector<Leg>& legs_;
  bool copies_;  // every shard holds the same rows: the first shard's count stands for all
  std::vector<size_t> at_;
  std::unordered_set<std::string> notices_;  // notices passed on, each once
};

}  // namespace

awaitable<void> ClientSession::scatterQuery(std::string_view queryBytes, const Target& target) {
  std::string query(queryBytes);
  co_await scatter(target.shards, ScatterMode{target.copies, target.reads, target.single},
                   [&query](size_t, pool::Backend& backend, int& hidden) {
                     hidden = 0;
                     backend.unnamedClient = 0;
                     return query;
                   });
  // A simple query destroys the unnamed statement.
  dropUnnamed();
}

// Takes a backend of each shard's primary (or reader, for a read outside a transaction) with
// the client's settings, in shard order so that two clients never wait on each other. Returns
// an ErrorResponse when one cannot be had; the backends taken are then given back.
awaitable<std::string> ClientSession::acquireLegs(std::vector<Leg>& legs,
                                                  const std::vector<ShardIndex>& shards,
                                                  bool reads) {
  legs.resize(shards.size());
  std::string error;
  Target target;
  target.reads = reads;
  NodeNeed need = needOf(target);
  for (size_t i = 0; i < shards.size() && error.empty(); ++i) {
    Leg& leg = legs[i];
    leg.shard = shards[i];
    const NodeConfig* node = nodeFor(leg.shard, need, 0, error);
    if (node == nullptr) {
      break;
    }
    leg.writes = !reads;
    leg.pool = &worker_.pools().get(*node, login_->database, *login_->user);
    pool::Checkout checkout = co_await leg.pool->acquire(login_->settings, true);
    if (!checkout.backend) {
      error = std::move(checkout.errorBytes);
      break;
    }
    leg.backend = std::move(checkout.backend);
    error = co_await restoreStateOn(*leg.backend, false);
    if (!error.empty()) {
      leg.pool->discard(std::move(leg.backend));
    }
  }
  if (!error.empty()) {
    releaseLegs(legs);
  }
  co_return error;
}

// Reads a shard's replies up to its next ReadyForQuery (`until` 'Z') or CopyInResponse ('G').
awaitable<void> ClientSession::readLeg(Leg& leg, char until) {
  for (;;) {
    wire::Frame frame = co_await leg.backend->readFrame();
    leg.replies.push_back(ShardReply{frame.type, std::string(frame.bytes)});
    if (frame.type == 'Z') {
      leg.status = frame.body.empty() ? 'I' : frame.body[0];
      co_return;
    }
    if (frame.type == until) {
      co_return;
    }
    if (frame.type == 'G') {
      co_await refuseCopyIn(leg);
    }
  }
}

// A statement that turned into COPY FROM STDIN where the router did not plan one (inside a
// function, say): the shard is told the data will not come, so that nobody waits for it.
awaitable<void> ClientSession::refuseCopyIn(Leg& leg) {
  std::string fail;
  wire::MessageWriter(fail)
      .begin('f')
      .cstring("shardline: COPY FROM STDIN is not supported in a statement on several shards")
      .end();
  co_await leg.backend->send(fail);
}

// Gives each leg's backend back, or closes it when it is not clean.
void ClientSession::releaseLegs(std::vector<Leg>& legs) {
  for (Leg& leg : legs) {
    if (!leg.backend) {
      continue;
    }
    if (leg.writes) {
      noteWrite(leg.shard);
    }
    // A statement prepared here may have failed to prepare: the backend's list of
    // prepared statements is no longer known.
    bool unsure = hasError(leg) && leg.parsesSent > 0;
    bool complete = !leg.replies.empty() && leg.replies.back().type == 'Z';
    if (unsure || !complete || leg.backend->broken || leg.status != 'I' ||
        !leg.backend->reader().empty()) {
      leg.pool->discard(std::move(leg.backend));
    } else {
      leg.pool->release(std::move(leg.backend));
    }
  }
}

awaitable<void> ClientSession::scatter(const std::vector<ShardIndex>& shards, ScatterMode mode,
                                       const ScatterBuild& build) {
  std::vector<Leg> legs;
  bool streamed = false;
  std::string error = co_await acquireLegs(legs, shards, mode.reads);
  if (error.empty()) {
    std::vector<pool::Backend*>& inFlight = routing().scatterBackends;
    for (Leg& leg : legs) {
      inFlight.push_back(leg.backend.get());
    }
    try {
      for (size_t i = 0; i < legs.size(); ++i) {
        Leg& leg = legs[i];
        co_await leg.backend->send(build(i, *leg.backend, leg.hiddenParses));
        leg.parsesSent = leg.hiddenParses;
      }
      if (mode.single) {
        streamed = co_await streamLegs(legs, mode);
      } else {
        for (Leg& leg : legs) {
          co_await readLeg(leg, 'Z');
        }
      }
    } catch (const std::exception& e) {
      spdlog::warn("{} scatter over {} shards failed: {}", tag(), legs.size(), e.what());
      wire::appendError(error, "08006",
                        std::string("shardline: a shard's node was lost: ") + e.what());
    }
    routing_->scatterBackends.clear();
  }

  if (!error.empty()) {
    out_ += error;
    wire::appendReadyForQuery(out_, txStatus_);
  } else if (std::any_of(legs.begin(), legs.end(), hasError)) {
    out_ += mergedError(legs, worker_.map(), mode);
    wire::appendReadyForQuery(out_, 'I');
  } else if (!streamed) {
    out_ += Merger(legs, mode.copies).run();
  }
  releaseLegs(legs);
}

// A single result, streamed: each shard's rows go to the client as they are read, after the
// first shard's header; the end of the result (CopyDone, the summed CommandComplete) and
// ReadyForQuery go once, after the last shard. Only errors and ReadyForQuery are kept in
// the legs. Returns false when a shard failed: the caller reports it.
awaitable<bool> ClientSession::streamLegs(std::vector<Leg>& legs, ScatterMode mode) {
  constexpr size_t kFlushBytes = 64 * 1024;
  std::string ending;  // CopyDone, PortalSuspended or EmptyQueryResponse of the first shard
  std::string prefix;
  uint64_t total = 0;
  bool counted = true;
  std::string leadTag;
  std::unordered_set<std::string> notices;
  std::vector<std::vector<std::string>> held(legs.size());  // RETURNING rows of a split INSERT
  bool failed = false;
  for (size_t i = 0; i < legs.size(); ++i) {
    Leg& leg = legs[i];
    bool lead = i == 0;
    int hidden = leg.hiddenParses;
    for (;;) {
      wire::Frame frame = co_await leg.backend->readFrame();
      char type = frame.type;
      std::string_view bytes = frame.bytes;
      if (type == 'Z') {
        leg.status = frame.body.empty() ? 'I' : frame.body[0];
        leg.replies.push_back(ShardReply{type, std::string(bytes)});
        break;
      }
      if (type == 'G') {
        co_await refuseCopyIn(leg);
        continue;
      }
      if (type == 'E') {
        failed = true;
        leg.replies.push_back(ShardReply{type, std::string(bytes)});
        continue;
      }
      if (failed || (type == '1' && hidden-- > 0)) {
        continue;
      }
      if (isRow(type) && mode.rowLegs != nullptr) {
        held[i].emplace_back(bytes);  // put back in the order of the VALUES rows below
      } else if (isRow(type)) {
        if (lead || !mode.copies) {
          out_ += bytes;
        }
      } else if (type == 'N') {
        if (notices.insert(std::string(bytes)).second) {
          out_ += bytes;
        }
      } else if (type == 'A') {
        out_ += bytes;
      } else if (type == 'C') {
        std::string_view tag = frame.body.substr(0, frame.body.find('\0'));
        std::string_view before;
        uint64_t count = 0;
        if (lead) {
          leadTag = std::string(tag);
        }
        if (splitCount(tag, before, count)) {
          prefix = lead ? std::string(before) : prefix;
          total += lead || !mode.copies ? count : 0;
        } else {
          counted = false;
        }
      } else if (type == 'c' || type == 's' || type == 'I') {
        ending += lead ? bytes : std::string_view();
      } else if (lead) {
        out_ += bytes;  // the header of the result: ParseComplete, RowDescription, ...
      }
      if (out_.size() > kFlushBytes) {
        co_await flushClient();
      }
    }
  }
  if (failed) {
    co_return false;
  }
  if (mode.rowLegs != nullptr) {
    // Each shard returns its rows in the order of its part of the VALUES; when every row
    // came back (no ON CONFLICT DO NOTHING skipped one), they are interleaved back.
    std::vector<size_t> expected(legs.size(), 0);
    for (size_t leg : *mode.rowLegs) {
      ++expected[leg];
    }
    bool complete = true;
    for (size_t i = 0; i < legs.size(); ++i) {
      complete = complete && held[i].size() == expected[i];
    }
    std::vector<size_t> next(legs.size(), 0);
    if (complete) {
      for (size_t leg : *mode.rowLegs) {
        out_ += held[leg][next[leg]++];
      }
    } else {
      for (const auto& rows : held) {
        for (const std::string& row : rows) {
          out_ += row;
        }
      }
    }
  }
  out_ += ending;
  if (!leadTag.empty()) {
    wire::appendCommandComplete(out_, counted ? prefix + std::to_string(total) : leadTag);
  }
  out_ += legs.front().replies.back().bytes;
  co_return true;
}

awaitable<void> ClientSession::splitQuery(std::string_view text, const Target& target) {
  std::vector<std::string> queries;
  std::string error;
  for (const auto& rows : target.rows) {
    auto slice = sql::sliceInsertRows(text, rows, error);
    if (!slice) {
      break;
    }
    wire::MessageWriter(queries.emplace_back()).begin('Q').cstring(slice->sql).end();
  }
  if (queries.size() != target.rows.size()) {
    std::string reply;
    wire::appendError(reply, "XX000", "shardline: cannot split the INSERT: " + error);
    wire::appendReadyForQuery(reply, txStatus_);
    synthetic(std::move(reply));
    co_return;
  }
  std::vector<size_t> rowLegs = rowLegsOf(target.rows);
  co_await scatter(target.shards, ScatterMode{false, false, true, &rowLegs},
                   [&queries](size_t leg, pool::Backend& backend, int& hidden) {
                     hidden = 0;
                     backend.unnamedClient = 0;
                     return queries[leg];
                   });
  dropUnnamed();
}

std::vector<std::string> ClientSession::splitBind(const Statement& statement, const Target& target,
                                                  std::string_view portal,
                                                  std::string_view bindRest, std::string& error) {
  std::string_view query =
      std::string_view(statement.parseRest).substr(0, statement.parseRest.find('\0'));
  std::vector<int32_t> types = parseTypes(statement.parseRest);
  std::optional<BindFields> bind = readBind(bindRest);
  if (!bind) {
    error = "malformed Bind";
    return {};
  }
  std::vector<std::string> parts;
  for (const auto& rows : target.rows) {
    auto slice = sql::sliceInsertRows(query, rows, error);
    if (!slice) {
      return {};
    }
    std::string out;
    wire::MessageWriter parse(out);
    parse.begin('P').cstring("").cstring(slice->sql).int16(int16_t(slice->parameters.size()));
    for (uint32_t number : slice->parameters) {
      parse.int32(number <= types.size() ? types[number - 1] : 0);
    }
    parse.end();

    wire::MessageWriter b(out);
    b.begin('B').cstring(portal).cstring("");
    bool perParameter = bind->formats.size() > 1;
    b.int16(int16_t(perParameter ? slice->parameters.size() : bind->formats.size()));
    if (perParameter) {
      for (uint32_t number : slice->parameters) {
        b.int16(number <= bind->formats.size() ? bind->formats[number - 1] : 0);
      }
    } else {
      for (int16_t format : bind->formats) {
        b.int16(format);
      }
    }
    b.int16(int16_t(slice->parameters.size()));
    for (uint32_t number : slice->parameters) {
      if (number > bind->values.size()) {
        error = "the Bind has fewer parameters than the statement uses";
        return {};
      }
      const auto& value = bind->values[number - 1];
      b.int32(value ? int32_t(value->size()) : -1);
      if (value) {
        b.raw(*value);
      }
    }
    b.raw(bind->resultFormats).end();
    parts.push_back(std::move(out));
  }
  return parts;
}

void ClientSession::gatherForScatter(const wire::Frame& frame) {
  char type = frame.type;
  if (type == 'H') {
    return;
  }
  wire::FieldReader r(frame.body);
  std::string_view kind;
  std::string_view name;
  bool describesPortal = type == 'D' && r.bytes(1, kind) && kind[0] == 'P';
  if (type == 'E' || describesPortal || (type == 'C' && r.bytes(1, kind) && kind[0] == 'P')) {
    routing_->scatter->executes += type == 'E' ? 1 : 0;
    routing_->scatter->messages.append(frame.bytes);
    return;
  }
  (void)name;
  std::string error;
  wire::appendError(error, "SL003",
                    "a statement that runs on several shards must be alone in its pipeline "
                    "(Parse, Bind, Describe, Execute, Sync)");
  routing_->scatter->error = std::move(error);
  skipToSync_ = true;
}

awaitable<void> ClientSession::runScatterPipeline() {
  std::unique_ptr<ScatterPipeline> pipeline = std::move(routing_->scatter);
  inPipeline_ = false;
  bool unnamed = pipeline->statementName.empty();
  const Statement* found = unnamed ? unnamedStatement() : findStatement(pipeline->statementName);
  if (pipeline->error.empty() && !unnamed && found == nullptr && pipeline->parts.empty()) {
    wire::appendError(pipeline->error, "26000",
                      "prepared statement \"" + pipeline->statementName + "\" does not exist");
  }
  if (!pipeline->error.empty()) {
    std::string reply = std::move(pipeline->error);
    wire::appendReadyForQuery(reply, txStatus_);
    synthetic(std::move(reply));
    co_return;
  }

  Statement statement = found != nullptr ? *found : Statement{};
  uint64_t id = id_;
  uint64_t seq = unnamedSeq_;
  co_await scatter(
      pipeline->shards,
      ScatterMode{pipeline->copies, pipeline->reads, pipeline->executes <= 1,
                  pipeline->rowLegs.empty() ? nullptr : &pipeline->rowLegs},
      [&](size_t leg, pool::Backend& backend, int& hidden) {
        std::string out;
        if (!pipeline->parts.empty()) {
          // A split INSERT: each shard gets its own rows as its unnamed statement.
          hidden = 1;
          backend.unnamedClient = 0;
          out = pipeline->parts[leg] + pipeline->messages;
          wire::MessageWriter(out).begin('S').end();
          return out;
        }
        const std::string& backendName = unnamed ? std::string() : statement.backendName;
        hidden = 0;
        if (unnamed || backend.prepared.count(backendName) == 0) {
          wire::MessageWriter(out).begin('P').cstring(backendName).raw(statement.parseRest).end();
          hidden = 1;
          if (!unnamed) {
            backend.prepared.insert(backendName);
          }
        }
        backend.unnamedClient = unnamed ? id : 0;
        backend.unnamedSeq = seq;
        wire::MessageWriter(out)
            .begin('B')
            .cstring(pipeline->portal)
            .cstring(backendName)
            .raw(pipeline->bindRest)
            .end();
        out += pipeline->messages;
        wire::MessageWriter(out).begin('S').end();
        return out;
      });
}

}  // namespace shardline::session
