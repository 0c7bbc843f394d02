// What routing learns from the catalog: the column order of sharded tables (to route an
// INSERT without a column list) and which functions may write (to keep reads that call them
// off the replicas). Asked on a backend of the session's own, and cached per worker until
// DDL passes.
#include "router/server.h"
#include "router/session/client_session.h"

namespace shardline::session {

namespace {

std::string quoteIdentifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    out += c == '"' ? std::string("\"\"") : std::string(1, c);
  }
  return out + "\"";
}

// A text[] literal of `items`, each quoted as array_in reads it.
std::string textArray(const std::vector<std::string>& items) {
  std::string out = "{";
  for (const std::string& item : items) {
    out += out.size() > 1 ? ",\"" : "\"";
    for (char c : item) {
      if (c == '"' || c == '\\') {
        out += '\\';
      }
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

}  // namespace

awaitable<std::optional<std::vector<Row>>> ClientSession::catalogQuery(std::string_view sql,
                                                                       const std::string& value) {
  // Every node of a shard, and every shard, has the same schema: the default shard's primary
  // answers, or one of its replicas while the primary is out.
  shardmap::ShardIndex shard = worker_.map().defaultShard();
  std::string error;
  NodeNeed need = worker_.primaryOf(shard) != nullptr ? NodeNeed::Primary : NodeNeed::Replica;
  const NodeConfig* node = nodeFor(shard, need, 0, error);
  if (node == nullptr) {
    co_return std::nullopt;
  }
  pool::Pool& pool = worker_.pools().get(*node, login_->database, *login_->user);
  pool::Checkout checkout = co_await pool.acquire(login_->settings, true);
  if (!checkout.backend) {
    co_return std::nullopt;
  }
  std::string messages;
  wire::appendQueryWithParam(messages, sql, value);
  std::unique_ptr<pool::Backend> backend = std::move(checkout.backend);
  pool::HiddenResult result;
  try {
    result = co_await backend->runHidden(messages, 1);
  } catch (const std::exception& e) {
    backend->broken = true;
  }
  backend->unnamedClient = 0;
  bool clean = !backend->broken && result.status == 'I';
  if (clean) {
    pool.release(std::move(backend));
  } else {
    pool.discard(std::move(backend));
  }
  if (!result.ok()) {
    co_return std::nullopt;
  }
  co_return std::move(result.rows);
}

// Learns a table's columns in catalog order. False when it could not.
awaitable<bool> ClientSession::loadColumns(const shardmap::QualifiedName& table) {
  std::string relation = quoteIdentifier(table.schema.empty() ? "public" : table.schema) + "." +
                         quoteIdentifier(table.name);
  std::optional<std::vector<Row>> rows = co_await catalogQuery(
      "SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = $1::regclass "
      "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
      relation);
  if (!rows || rows->empty()) {
    co_return false;
  }
  std::vector<std::string> names;
  for (const auto& row : *rows) {
    names.push_back(row.empty() || !row[0] ? std::string() : *row[0]);
  }
  worker_.tableColumns()[table] = std::move(names);
  co_return true;
}

// Learns whether functions of these names may write: a volatile function outside pg_catalog
// may (Postgres refuses writes in stable and immutable ones); the built-ins that write are
// known to the analyzer already. False when the catalog could not be asked.
awaitable<bool> ClientSession::loadFunctions(const std::vector<std::string>& names) {
  std::optional<std::vector<Row>> rows = co_await catalogQuery(
      "SELECT p.proname, pg_catalog.bool_or(p.provolatile = 'v' AND "
      "p.pronamespace <> 'pg_catalog'::pg_catalog.regnamespace) "
      "FROM pg_catalog.pg_proc p WHERE p.proname = ANY ($1::pg_catalog.text[]) "
      "GROUP BY p.proname",
      textArray(names));
  if (!rows) {
    co_return false;
  }
  // A name no function has is not kept: the statement fails anyway (on the primary, since
  // it stays unknown), and a function of that name created later is looked up then.
  auto& known = worker_.functionWrites();
  for (const auto& row : *rows) {
    if (row.size() == 2 && row[0] && row[1]) {
      known[*row[0]] = *row[1] == "t";
    }
  }
  co_return true;
}

}  // namespace shardline::session
