// The parts of a statement that runs on several shards at once, one per shard, and how their
// replies become one reply for the client. Used by scatter.cc and copy_split.cc; owned by
// the session that runs the statement, on its worker.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "router/pool/pool.h"
#include "router/wire/copy_rows.h"
#include "shardmap/map.h"

namespace shardline::session {

struct ShardReply {
  char type;
  std::string bytes;
};

// One shard's part.
struct Leg {
  shardmap::ShardIndex shard = 0;
  pool::Pool* pool = nullptr;
  std::unique_ptr<pool::Backend> backend;
  std::vector<ShardReply> replies;
  int hiddenParses = 0;  // leading ParseComplete replies to the router's own Parse
  int parsesSent = 0;
  char status = 'I';
  bool writes = false;     // on the primary for a statement that may write
  std::string copyBuffer;  // COPY rows gathered for this shard, not yet sent
};

// A COPY FROM STDIN into a sharded table, its rows sent to the shards of their keys.
struct CopySplit {
  explicit CopySplit(wire::CopyLayout layout) : reader(std::move(layout)) {}

  std::vector<Leg> legs;
  wire::CopyRowReader reader;
  const shardmap::Table* table = nullptr;
  std::string tableName;  // as the client named it, for errors
  std::string error;      // a row the router could not place: the COPY fails with this
  uint64_t rows = 0;
};

bool hasError(const Leg& leg);

// How the shards' answers to one statement combine.
struct ScatterMode {
  bool copies = false;  // every shard holds the same rows: counts and rows are one shard's
  bool reads = false;   // the statement changed nothing, so a shard that succeeded is no news
  bool single = false;  // one result: streamed shard after shard rather than gathered first
  // A split INSERT: the leg of each VALUES row, so that RETURNING rows come back in the
  // order of the rows, as from one Postgres. Null otherwise.
  const std::vector<size_t>* rowLegs = nullptr;
};

// The leg of each VALUES row of a split INSERT, from the rows of each leg.
std::vector<size_t> rowLegsOf(const std::vector<std::vector<size_t>>& rowsByLeg);

// The client's error when some shards failed. When the failures agree (and, for a write,
// every shard failed, so that none applied it) it is the error as Postgres words it; otherwise
// the first failure names its shard and the others follow in the detail.
std::string mergedError(const std::vector<Leg>& legs, const shardmap::ShardMap& map,
                        ScatterMode mode);

}  // namespace shardline::session
