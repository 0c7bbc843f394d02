// TomlReader: reads typed values out of a parsed TOML document for the shard map's config
// store, keeping the first error as "<path>:<line>: <dotted.key>: <what is wrong>".
//
// Later errors are dropped, so a parser reads its keys one after another and checks once at
// the end; a value that is absent or wrong reads as std::nullopt. One reader serves one load
// on one thread.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

namespace shardline::shardmap {

// A TOML table being read and the dotted name errors give it: "" for the root, "sharding",
// "shards[2]".
struct TomlScope {
  const toml::table* table = nullptr;
  std::string name;

  std::string key(std::string_view child) const;
};

enum class Presence { Optional, Required };

class TomlReader {
 public:
  explicit TomlReader(std::string path) : path_(std::move(path)) {}

  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

  void fail(uint32_t line, std::string_view key, std::string_view what);
  // Fails at `key` of `scope`: on its line, or on the table's line when it is absent.
  void failAt(const TomlScope& scope, std::string_view key, std::string_view what);
  uint32_t lineOf(const TomlScope& scope, std::string_view key) const;

  // Of several unknown keys, the one first in the file is named.
  void rejectUnknownKeys(const TomlScope& scope, std::initializer_list<std::string_view> known);

  std::optional<TomlScope> table(const TomlScope& scope, std::string_view key);
  // An array of tables ([[key]]), or nullptr when absent or after an error.
  const toml::array* tableArray(const TomlScope& scope, std::string_view key);
  // Requires: array came from tableArray() and index < array.size().
  static TomlScope element(const toml::array& array, std::string_view name, size_t index);

  std::optional<std::string> string(const TomlScope& scope, std::string_view key,
                                    Presence presence);
  std::optional<int64_t> integer(const TomlScope& scope, std::string_view key);
  std::optional<bool> boolean(const TomlScope& scope, std::string_view key);
  std::optional<std::vector<std::string>> stringArray(const TomlScope& scope, std::string_view key);

 private:
  // The value of `key`, or nullptr when absent or of the wrong type (the latter recorded).
  const toml::node* find(const TomlScope& scope, std::string_view key, toml::node_type type);

  std::string path_;
  std::string error_;
};

}  // namespace shardline::shardmap
