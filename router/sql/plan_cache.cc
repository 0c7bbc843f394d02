#include "router/sql/plan_cache.h"

#include <algorithm>
#include <utility>

namespace shardline::sql {

namespace {

std::shared_ptr<const Analysis> failure(std::string message, int position) {
  auto analysis = std::make_shared<Analysis>();
  analysis->error = std::move(message);
  analysis->errorPosition = position;
  analysis->cacheable = false;
  return analysis;
}

// With standard_conforming_strings off, a backslash escapes a quote in a plain '...' string,
// which libpg_query (always on) would read differently: such a statement is not analyzed.
bool hasBackslashString(const LexResult& lexed) {
  return std::any_of(lexed.tokens.begin(), lexed.tokens.end(), [](const Token& token) {
    if (token.kind != TokenKind::String || token.text.empty()) {
      return false;
    }
    char first = token.text.front();
    bool plain = first == '\'' || first == 'N' || first == 'n';
    return plain && token.text.find('\\') != std::string_view::npos;
  });
}

}  // namespace

PlanCache::PlanCache(size_t capacity, size_t maxShapeBytes)
    : capacity_(std::max<size_t>(capacity, 1)), maxShapeBytes_(maxShapeBytes) {
  index_.reserve(std::min<size_t>(capacity_, 1024));
}

AnalyzedStatement PlanCache::analyze(std::string_view sql, ConformingStrings strings) {
  AnalyzedStatement result;
  LexResult lexed = lex(sql, strings);
  if (!lexed.ok()) {
    result.analysis = failure(lexed.error, characterPosition(sql, lexed.errorOffset));
    return result;
  }
  result.shape = normalize(lexed);
  result.hints = parseHints(sql, strings);

  auto found = index_.find(result.shape.hash);
  if (found != index_.end() && found->second->shape == result.shape.text) {
    entries_.splice(entries_.begin(), entries_, found->second);
    ++hits_;
    result.analysis = found->second->analysis;
    result.cached = true;
    return result;
  }
  ++misses_;
  result.analysis = analyzeMiss(sql, lexed, result.shape, strings);
  return result;
}

std::shared_ptr<const Analysis> PlanCache::analyzeMiss(std::string_view sql, const LexResult& lexed,
                                                       const Shape& shape,
                                                       ConformingStrings strings) {
  if (strings == ConformingStrings::Off && hasBackslashString(lexed)) {
    // TODO: analyze these too, by handing libpg_query the strings rewritten as E'...'
    // literals of the same length; until then the router treats them as unclassified.
    return failure(
        "cannot analyze a string with backslashes while "
        "standard_conforming_strings is off",
        0);
  }
  auto analysis = std::make_shared<const Analysis>(analyzeStatement(sql, lexed, shape));
  if (analysis->ok() && analysis->cacheable && shape.text.size() <= maxShapeBytes_) {
    insert(shape, analysis);
  }
  return analysis;
}

void PlanCache::insert(const Shape& shape, std::shared_ptr<const Analysis> analysis) {
  // A different shape with the same hash: the newer one takes the slot.
  auto found = index_.find(shape.hash);
  if (found != index_.end()) {
    entries_.erase(found->second);
    index_.erase(found);
  }
  entries_.push_front(Entry{shape.hash, shape.text, std::move(analysis)});
  index_.emplace(shape.hash, entries_.begin());
  while (entries_.size() > capacity_) {
    index_.erase(entries_.back().hash);
    entries_.pop_back();
  }
}

void PlanCache::clear() {
  entries_.clear();
  index_.clear();
}

}  // namespace shardline::sql
