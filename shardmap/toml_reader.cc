#include "shardmap/toml_reader.h"

#include <algorithm>

namespace shardline::shardmap {
namespace {

std::string_view typeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time:
      return "a date or time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

}  // namespace

std::string TomlScope::key(std::string_view child) const {
  return name.empty() ? std::string(child) : name + "." + std::string(child);
}

void TomlReader::fail(uint32_t line, std::string_view key, std::string_view what) {
  if (!failed()) {
    error_ =
        path_ + ":" + std::to_string(line) + ": " + std::string(key) + ": " + std::string(what);
  }
}

void TomlReader::failAt(const TomlScope& scope, std::string_view key, std::string_view what) {
  fail(lineOf(scope, key), scope.key(key), what);
}

uint32_t TomlReader::lineOf(const TomlScope& scope, std::string_view key) const {
  auto it = scope.table->find(key);
  if (it == scope.table->end()) {
    return std::max<uint32_t>(scope.table->source().begin.line, 1);
  }
  uint32_t line = it->first.source().begin.line;
  return line != 0 ? line : std::max<uint32_t>(it->second.source().begin.line, 1);
}

void TomlReader::rejectUnknownKeys(const TomlScope& scope,
                                   std::initializer_list<std::string_view> known) {
  const toml::key* first = nullptr;
  for (const auto& [key, value] : *scope.table) {
    bool isKnown = std::find(known.begin(), known.end(), key.str()) != known.end();
    if (!isKnown && (first == nullptr || key.source().begin < first->source().begin)) {
      first = &key;
    }
  }
  if (first != nullptr) {
    failAt(scope, first->str(), "unknown key");
  }
}

const toml::node* TomlReader::find(const TomlScope& scope, std::string_view key,
                                   toml::node_type type) {
  const toml::node* node = scope.table->get(key);
  if (node == nullptr || node->type() == type) {
    return node;
  }
  failAt(scope, key,
         "must be " + std::string(typeName(type)) + ", not " + std::string(typeName(node->type())));
  return nullptr;
}

std::optional<TomlScope> TomlReader::table(const TomlScope& scope, std::string_view key) {
  const toml::node* node = find(scope, key, toml::node_type::table);
  if (node == nullptr) {
    return std::nullopt;
  }
  return TomlScope{node->as_table(), scope.key(key)};
}

const toml::array* TomlReader::tableArray(const TomlScope& scope, std::string_view key) {
  const toml::node* node = scope.table->get(key);
  if (node == nullptr) {
    return nullptr;
  }
  const toml::array* array = node->as_array();
  if (array != nullptr && (array->empty() || array->is_array_of_tables())) {
    return array;
  }
  std::string_view what = array != nullptr ? "an array of other values" : typeName(node->type());
  failAt(scope, key,
         "must be an array of tables ([[" + std::string(key) + "]]), not " + std::string(what));
  return nullptr;
}

TomlScope TomlReader::element(const toml::array& array, std::string_view name, size_t index) {
  return TomlScope{array[index].as_table(), std::string(name) + "[" + std::to_string(index) + "]"};
}

std::optional<std::string> TomlReader::string(const TomlScope& scope, std::string_view key,
                                              Presence presence) {
  const toml::node* node = find(scope, key, toml::node_type::string);
  if (node == nullptr) {
    if (presence == Presence::Required && !scope.table->contains(key)) {
      failAt(scope, key, "is required");
    }
    return std::nullopt;
  }
  std::string value = node->as_string()->get();
  if (presence == Presence::Required && value.empty()) {
    failAt(scope, key, "must not be empty");
    return std::nullopt;
  }
  return value;
}

std::optional<int64_t> TomlReader::integer(const TomlScope& scope, std::string_view key) {
  const toml::node* node = find(scope, key, toml::node_type::integer);
  return node == nullptr ? std::nullopt : std::optional<int64_t>(node->as_integer()->get());
}

std::optional<bool> TomlReader::boolean(const TomlScope& scope, std::string_view key) {
  const toml::node* node = find(scope, key, toml::node_type::boolean);
  return node == nullptr ? std::nullopt : std::optional<bool>(node->as_boolean()->get());
}

std::optional<std::vector<std::string>> TomlReader::stringArray(const TomlScope& scope,
                                                                std::string_view key) {
  const toml::node* node = find(scope, key, toml::node_type::array);
  if (node == nullptr) {
    return std::nullopt;
  }
  std::vector<std::string> values;
  for (const toml::node& element : *node->as_array()) {
    if (!element.is_string()) {
      failAt(scope, key,
             "must be an array of strings (found " + std::string(typeName(element.type())) + ")");
      return std::nullopt;
    }
    values.push_back(element.as_string()->get());
  }
  return values;
}

}  // namespace shardline::shardmap
