// The plan cache: statement analyses kept by shape, so that only the first statement of each
// shape pays for a libpg_query parse. Later ones are lexed and normalized, looked up by the
// shape's hash (the shape text is compared on a hit), and take their constants from the lexer.
//
// Bounded, least recently used first out. One cache per worker thread: it takes no lock, and
// only its owning thread may touch it. The analyses it hands out are immutable and shared;
// they stay valid after eviction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "router/sql/analyzer.h"
#include "router/sql/hints.h"
#include "router/sql/lexer.h"

namespace shardline::sql {

// One execution of a statement: the shared analysis of its shape, and what is its own.
struct AnalyzedStatement {
  std::shared_ptr<const Analysis> analysis;  // never null; ok() false on a lexical or parse error
  Shape shape;  // its constants are this execution's; their tokens view the analyzed text
  Hints hints;
  bool cached = false;  // the analysis came from the cache
};

class PlanCache {
 public:
  static constexpr size_t kDefaultCapacity = 10000;
  // Shapes longer than this (huge multi-row INSERTs) are analyzed every time rather than kept.
  static constexpr size_t kDefaultMaxShapeBytes = size_t{64} * 1024;

  explicit PlanCache(size_t capacity = kDefaultCapacity,
                     size_t maxShapeBytes = kDefaultMaxShapeBytes);

  // Analyzes one statement. Requires: `sql` outlives the result's shape (its tokens view it).
  AnalyzedStatement analyze(std::string_view sql,
                            ConformingStrings strings = ConformingStrings::On);

  size_t size() const { return entries_.size(); }
  size_t capacity() const { return capacity_; }
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }
  void clear();

 private:
  struct Entry {
    uint64_t hash = 0;
    std::string shape;
    std::shared_ptr<const Analysis> analysis;
  };
  using Entries = std::list<Entry>;  // most recently used first

  struct IdentityHash {
    size_t operator()(uint64_t hash) const { return static_cast<size_t>(hash); }
  };

  // Analyzes a statement whose shape is not cached, and caches it when it may be.
  std::shared_ptr<const Analysis> analyzeMiss(std::string_view sql, const LexResult& lexed,
                                              const Shape& shape, ConformingStrings strings);
  void insert(const Shape& shape, std::shared_ptr<const Analysis> analysis);

  size_t capacity_;
  size_t maxShapeBytes_;
  Entries entries_;
  std::unordered_map<uint64_t, Entries::iterator, IdentityHash> index_;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

}  // namespace shardline::sql
