#include "router/route/route_command.h"

#include <boost/program_options.hpp>

#include <iostream>
#include <set>

#include "router/config.h"
#include "router/route/route.h"
#include "router/sql/plan_cache.h"
#include "shardmap/config_store.h"

namespace shardline::route {

namespace po = boost::program_options;

namespace {

std::optional<std::string> fromHex(const std::string& hex) {
  if (hex.size() % 2 != 0) {
    return std::nullopt;
  }
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    unsigned value = 0;
    for (size_t j = i; j < i + 2; ++j) {
      char c = hex[j];
      value <<= 4;
      if (c >= '0' && c <= '9') {
        value |= unsigned(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        value |= unsigned(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        value |= unsigned(c - 'A' + 10);
      } else {
        return std::nullopt;
      }
    }
    out.push_back(char(value));
  }
  return out;
}

void printTables(const sql::Analysis& analysis, const shardmap::ShardMap& map,
                 const std::string& schema) {
  for (const auto& ref : analysis.tables) {
    const std::string& refSchema = ref.schema.empty() ? schema : ref.schema;
    const shardmap::Table* table = map.findTable(refSchema, ref.name);
    std::cout << "table: " << refSchema << "." << ref.name;
    if (table == nullptr) {
      std::cout << " (not in the map: default shard)";
    } else if (table->placement == shardmap::Placement::Reference) {
      std::cout << " (reference)";
    } else {
      std::cout << " (sharded on " << table->keyColumn << " "
                << shardmap::keyTypeName(table->keyType) << ")";
    }
    std::cout << (ref.written ? " written" : " read");
    for (const auto& pin : ref.pins) {
      std::cout << " " << pin.column << "=";
      for (size_t i = 0; i < pin.values.size(); ++i) {
        std::cout << (i ? "|" : "") << sql::describe(pin.values[i]);
      }
    }
    std::cout << "\n";
  }
}

}  // namespace

int runRouteCommand(int argc, char** argv) {
  po::options_description options("shardline route [options] SQL");
  options.add_options()("help,h", "show this help")(
      "config,c", po::value<std::string>()->default_value("shardline.toml"), "configuration file")(
      "param,p", po::value<std::vector<std::string>>()->composing(),
      "a text parameter, $1 first; NULL for a null")(
      "binary-param,b", po::value<std::vector<std::string>>()->composing(),
      "a binary parameter in hex, appended after the text ones")(
      "columns", po::value<std::string>(),
      "the target table's columns in order (a,b,c), for INSERT without a column list")(
      "search-schema", po::value<std::string>()->default_value("public"),
      "the session's search_path (a, b, ...): unqualified names resolve in the first schema "
      "whose table the map names")("allow-multishard-writes",
                                   "let writes without a key go to every shard")(
      "sql", po::value<std::string>(), "the statement(s)");
  po::positional_options_description positional;
  positional.add("sql", 1);
  po::variables_map args;
  try {
    po::store(po::command_line_parser(argc, argv).options(options).positional(positional).run(),
              args);
    po::notify(args);
  } catch (const po::error& e) {
    std::cerr << "shardline route: " << e.what() << "\n" << options;
    return 2;
  }
  if (args.count("help") != 0 || args.count("sql") == 0) {
    std::cout << options;
    return args.count("help") != 0 ? 0 : 2;
  }

  std::string path = args["config"].as<std::string>();
  auto loaded = loadConfig(path);
  if (!loaded.config) {
    std::cerr << "shardline: " << loaded.error << "\n";
    return 1;
  }
  std::vector<std::string> nodeShards;
  for (const auto& node : loaded.config->nodes) {
    nodeShards.push_back(node.shard);
  }
  auto map = shardmap::loadShardMap(path, nodeShards);
  if (!map.map) {
    std::cerr << "shardline: " << map.error << "\n";
    return 1;
  }

  std::vector<Parameter> parameters;
  if (args.count("param") != 0) {
    for (const auto& value : args["param"].as<std::vector<std::string>>()) {
      parameters.push_back(value == "NULL" ? Parameter{} : Parameter{value, false});
    }
  }
  if (args.count("binary-param") != 0) {
    for (const auto& hex : args["binary-param"].as<std::vector<std::string>>()) {
      auto bytes = fromHex(hex);
      if (!bytes) {
        std::cerr << "shardline route: --binary-param " << hex << ": not hex\n";
        return 2;
      }
      parameters.push_back(Parameter{*bytes, true});
    }
  }

  std::vector<std::string> columns;
  if (args.count("columns") != 0) {
    std::string list = args["columns"].as<std::string>();
    for (size_t start = 0; start <= list.size();) {
      size_t comma = std::min(list.find(',', start), list.size());
      columns.push_back(list.substr(start, comma - start));
      start = comma + 1;
    }
  }

  std::string text = args["sql"].as<std::string>();
  std::string schema = args["search-schema"].as<std::string>();
  std::vector<std::string> searchPath;
  for (size_t start = 0; start < schema.size();) {
    size_t comma = std::min(schema.find(',', start), schema.size());
    std::string item = schema.substr(start, comma - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) {
      searchPath.push_back(item);
    }
    start = comma + 1;
  }
  schema = searchPath.empty() ? "public" : searchPath.front();
  sql::PlanCache cache;
  int status = 0;
  std::cout << "map: version " << map.map->version() << ", " << map.map->slotCount() << " slots, "
            << map.map->shards().size() << " shards\n";
  size_t previousEnd = 0;
  for (std::string_view statement : sql::splitStatements(text)) {
    // Hints sit in comments before a statement, which the split leaves out.
    size_t end = size_t(statement.data() - text.data()) + statement.size();
    std::string_view withHints = std::string_view(text).substr(previousEnd, end - previousEnd);
    previousEnd = end;
    if (previousEnd < text.size() && text[previousEnd] == ';') {
      ++previousEnd;
    }
    sql::AnalyzedStatement analyzed = cache.analyze(withHints);
    const sql::Analysis& analysis = *analyzed.analysis;
    std::cout << "statement: " << statement << "\n";
    std::cout << "kind: " << sql::statementKindName(analysis.kind)
              << (analysis.readOnly ? " (read-only)" : "") << "\n";
    printTables(analysis, *map.map, schema);
    RouteInput input{
        analysis,
        analyzed.shape,
        analyzed.hints,
        parameters,
        schema,
        args.count("allow-multishard-writes") != 0,
        [&columns](const shardmap::QualifiedName&) { return columns.empty() ? nullptr : &columns; },
        searchPath};
    Route route = decide(*map.map, input);
    std::cout << "route: " << describe(*map.map, route) << "\n";
    if (!route.reason.empty()) {
      std::cout << "reason: " << route.reason << "\n";
    }
    if (!route.rowShards.empty()) {
      std::cout << "rows:";
      for (auto shard : route.rowShards) {
        std::cout << " " << map.map->shard(shard).name;
      }
      std::cout << "\n";
    }
    if (route.error) {
      status = 1;
    }
  }
  return status;
}

}  // namespace shardline::route
