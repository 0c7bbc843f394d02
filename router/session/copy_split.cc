// COPY FROM STDIN into a sharded table: the router opens the COPY on every shard, reads the
// client's rows as they come, sends each to the shard of its key, and ends the COPY on every
// shard when the client does. The client sees one COPY and one count. Outside transactions
// only: each shard commits its rows on its own.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>

#include "router/route/route.h"
#include "router/server.h"
#include "router/session/client_session.h"
#include "router/session/shard_legs.h"

namespace shardline::session {

namespace {

constexpr size_t kCopyBatchBytes = 64 * 1024;

void appendCopyData(std::string& out, std::string_view rows) {
  wire::MessageWriter(out).begin('d').raw(rows).end();
}

}  // namespace

// Where the key sits in each row of a COPY FROM into a sharded table, and how rows are written.
void ClientSession::planCopy(const sql::Analysis& analysis, const std::vector<std::string>& path,
                             const route::ColumnLookup& columns, Target& target) {
  const sql::TableRef& ref = analysis.tables[size_t(analysis.target)];
  std::string schema = path.empty() ? "public" : path.front();
  const shardmap::Table* table = nullptr;
  for (const std::string& candidate : ref.schema.empty() ? path : std::vector{ref.schema}) {
    table = worker_.map().findTable(candidate, ref.name);
    if (table != nullptr) {
      schema = candidate;
      break;
    }
  }
  const sql::CopyFacts& copy = analysis.copy;
  std::string name = (ref.schema.empty() ? schema : ref.schema) + "." + ref.name;
  auto refuse = [&target](std::string_view sqlstate, const std::string& message) {
    target.kind = Target::Kind::Error;
    target.error = errorResponse(sqlstate, message);
  };
  if (table == nullptr || copy.endpoint != sql::CopyEndpoint::Client || copy.where) {
    refuse(route::kNotSupported,
           "COPY into sharded table " + name + " is supported only FROM STDIN, without WHERE");
    return;
  }
  const std::vector<std::string>* names = &copy.columns;
  bool reference = table->placement == shardmap::Placement::Reference;
  if (copy.columns.empty() && !reference) {
    names = columns(table->name);
    if (names == nullptr) {
      refuse(route::kNeedsColumnList, "COPY into sharded table " + name +
                                          " needs a column list that names " + table->keyColumn);
      target.needsColumnsOf = table->name;
      return;
    }
  }
  auto key = std::find(names->begin(), names->end(), table->keyColumn);
  if (key == names->end() && !reference) {
    refuse(route::kMissingKey,
           "COPY into sharded table " + name + " does not give its key " + table->keyColumn);
    return;
  }
  wire::CopyLayout& layout = target.copyLayout;
  layout.keyField = reference ? 0 : size_t(key - names->begin());
  layout.format = copy.format == sql::CopyFormat::Csv      ? wire::CopyDataFormat::Csv
                  : copy.format == sql::CopyFormat::Binary ? wire::CopyDataFormat::Binary
                                                           : wire::CopyDataFormat::Text;
  bool csv = layout.format == wire::CopyDataFormat::Csv;
  layout.delimiter = csv ? ',' : '\t';
  layout.null = csv ? "" : "\\N";
  bool escapeGiven = false;
  for (const sql::CopyOption& option : copy.options) {
    const std::string& value = option.value;
    if (option.name == "delimiter" && value.size() == 1) {
      layout.delimiter = value[0];
    } else if (option.name == "null") {
      layout.null = value;
    } else if (option.name == "quote" && value.size() == 1) {
      layout.quote = value[0];
    } else if (option.name == "escape" && value.size() == 1) {
      layout.escape = value[0];
      escapeGiven = true;
    } else if (option.name == "header") {
      layout.header =
          value.empty() || value == "true" || value == "on" || value == "1" || value == "match";
    }
  }
  if (!escapeGiven) {
    layout.escape = layout.quote;
  }
  target.copyTable = table;
}

awaitable<void> ClientSession::startCopySplit(std::string_view queryBytes, const Target& target) {
  auto split = std::make_unique<CopySplit>(target.copyLayout);
  split->table = target.copyTable;
  split->tableName = target.copyTable->name.toString();
  std::string error = co_await acquireLegs(split->legs, target.shards, false);
  if (!error.empty()) {
    wire::appendReadyForQuery(error, txStatus_);
    synthetic(std::move(error));
    co_return;
  }

  // Every shard must enter copy-in before the client may send a row.
  bool ready = true;
  try {
    for (Leg& leg : split->legs) {
      co_await leg.backend->send(queryBytes);
    }
    for (Leg& leg : split->legs) {
      co_await readLeg(leg, 'G');
      ready = ready && leg.replies.back().type == 'G';
    }
  } catch (const std::exception& e) {
    spdlog::warn("{} COPY over {} shards failed to start: {}", tag(), split->legs.size(), e.what());
    for (Leg& leg : split->legs) {
      leg.backend->broken = true;
    }
    releaseLegs(split->legs);
    std::string reply;
    wire::appendError(reply, "08006",
                      std::string("shardline: a shard's node was lost: ") + e.what());
    wire::appendReadyForQuery(reply, txStatus_);
    synthetic(std::move(reply));
    co_return;
  }
  if (!ready) {
    // Those that started are ended; the first refusal is the client's error.
    for (Leg& leg : split->legs) {
      if (leg.replies.back().type == 'G') {
        std::string fail;
        wire::MessageWriter(fail).begin('f').cstring("COPY refused on another shard").end();
        co_await leg.backend->send(fail);
        co_await readLeg(leg, 'Z');
      }
    }
    std::string reply = mergedError(split->legs, worker_.map(), ScatterMode{});
    releaseLegs(split->legs);
    wire::appendReadyForQuery(reply, txStatus_);
    synthetic(std::move(reply));
    co_return;
  }
  RoutingState& state = routing();
  for (Leg& leg : split->legs) {
    state.scatterBackends.push_back(leg.backend.get());
  }
  out_ += split->legs.front().replies.back().bytes;  // one CopyInResponse for the client
  state.copySplit = std::move(split);
}

// Sends the rows gathered for a shard once there are enough of them, or all of them.
awaitable<void> ClientSession::sendCopyRows(Leg& leg, bool all) {
  if (leg.copyBuffer.empty() || (!all && leg.copyBuffer.size() < kCopyBatchBytes)) {
    co_return;
  }
  std::string message;
  appendCopyData(message, leg.copyBuffer);
  leg.copyBuffer.clear();
  co_await leg.backend->send(message);
}

// Adds a row to the rows gathered for the shard of its key; headers and end markers go to
// every shard. Sets the COPY's error when the row has no valid key.
void ClientSession::routeCopyRow(CopySplit& split, const wire::CopyRow& row) {
  if (row.kind != wire::CopyRow::Kind::Data) {
    for (Leg& leg : split.legs) {
      leg.copyBuffer.append(row.bytes);
    }
    return;
  }
  ++split.rows;
  if (split.table->placement == shardmap::Placement::Reference) {
    for (Leg& leg : split.legs) {
      leg.copyBuffer.append(row.bytes);  // a reference table's rows go to every shard
    }
    return;
  }
  std::optional<shardmap::ShardIndex> shard;
  if (row.key && !row.malformed) {
    bool binary = split.reader.layout().format == wire::CopyDataFormat::Binary;
    auto key = binary ? shardmap::parseKeyBinary(split.table->keyType, *row.key)
                      : shardmap::parseKeyText(split.table->keyType, *row.key);
    if (key.ok()) {
      shard = worker_.map().shardForKey(*split.table, key.value());
    }
  }
  if (!shard) {
    wire::appendError(split.error, route::kMissingKey,
                      "COPY into sharded table " + split.tableName + ", row " +
                          std::to_string(split.rows) + ": no valid value for its key " +
                          split.table->keyColumn);
    return;
  }
  for (Leg& leg : split.legs) {
    if (leg.shard == *shard) {
      leg.copyBuffer.append(row.bytes);
    }
  }
}

awaitable<void> ClientSession::copySplitData(const wire::Frame& frame) {
  CopySplit& split = *routing_->copySplit;
  if (!split.error.empty()) {
    co_return;  // the COPY fails at its end; until then the rest is read and dropped
  }
  split.reader.feed(frame.body);
  wire::CopyRow row;
  while (split.error.empty() && split.reader.next(row)) {
    routeCopyRow(split, row);
  }
  for (Leg& leg : split.legs) {
    co_await sendCopyRows(leg, false);
  }
}

// CopyDone or CopyFail from the client: every shard ends its COPY, and the client gets one
// count, or the error.
awaitable<void> ClientSession::endCopySplit(const wire::Frame& frame) {
  std::unique_ptr<CopySplit> split = std::move(routing_->copySplit);
  routing_->scatterBackends.clear();
  bool done = frame.type == 'c';
  wire::CopyRow row;
  if (done && split->error.empty() && split->reader.finish(row)) {
    routeCopyRow(*split, row);  // a last line without its newline
  }
  if (done && split->error.empty() && split->reader.pending() > 0) {
    wire::appendError(split->error, "22P04",
                      "COPY into sharded table " + split->tableName + ": incomplete last row");
  }

  std::string reply;
  try {
    for (Leg& leg : split->legs) {
      std::string end;
      if (done && split->error.empty()) {
        co_await sendCopyRows(leg, true);
        wire::MessageWriter(end).begin('c').end();
      } else {
        std::string_view reason = done ? "COPY row refused by shardline" : frame.body;
        wire::MessageWriter(end).begin('f').cstring(reason.substr(0, reason.find('\0'))).end();
      }
      co_await leg.backend->send(end);
    }
    for (Leg& leg : split->legs) {
      co_await readLeg(leg, 'Z');
    }
  } catch (const std::exception& e) {
    spdlog::warn("{} COPY over {} shards failed: {}", tag(), split->legs.size(), e.what());
    wire::appendError(reply, "08006",
                      std::string("shardline: a shard's node was lost: ") + e.what());
  }

  if (reply.empty() && !split->error.empty()) {
    reply = split->error;
  } else if (reply.empty() && std::any_of(split->legs.begin(), split->legs.end(), hasError)) {
    reply = mergedError(split->legs, worker_.map(), ScatterMode{});
  } else if (reply.empty()) {
    uint64_t total = 0;
    for (const Leg& leg : split->legs) {
      for (const ShardReply& r : leg.replies) {
        std::string_view body = std::string_view(r.bytes).substr(5);
        if (r.type == 'C' && body.starts_with("COPY ")) {
          total += std::strtoull(std::string(body.substr(5)).c_str(), nullptr, 10);
        }
      }
      if (split->table->placement == shardmap::Placement::Reference) {
        break;  // every shard took the same rows: one shard's count
      }
    }
    wire::appendCommandComplete(reply, "COPY " + std::to_string(total));
  }
  releaseLegs(split->legs);
  wire::appendReadyForQuery(reply, 'I');
  synthetic(std::move(reply));
}

}  // namespace shardline::session
