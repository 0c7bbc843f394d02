#include "router/sql/hints.h"

namespace shardline::sql {

namespace {

constexpr std::string_view kMarker = "shardline";

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// True when `text` contains "shardline" in any case.
bool mentionsShardline(std::string_view text) {
  for (size_t at = 0; at + kMarker.size() <= text.size(); ++at) {
    size_t i = 0;
    while (i < kMarker.size() && lower(text[at + i]) == kMarker[i]) {
      ++i;
    }
    if (i == kMarker.size()) {
      return true;
    }
  }
  return false;
}

bool isBlank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

bool isSeparator(char c) {
  return isBlank(c) || c == ',';
}

// Reads one value starting at `at`: quoted, or up to the next separator.
bool readValue(std::string_view text, size_t& at, std::string& value) {
  if (at < text.size() && (text[at] == '\'' || text[at] == '"')) {
    char quote = text[at++];
    while (at < text.size()) {
      if (text[at] == quote) {
        if (at + 1 < text.size() && text[at + 1] == quote) {
          value.push_back(quote);
          at += 2;
          continue;
        }
        ++at;
        return true;
      }
      value.push_back(text[at++]);
    }
    return false;  // unterminated
  }
  while (at < text.size() && !isSeparator(text[at])) {
    value.push_back(text[at++]);
  }
  return !value.empty();
}

// Reads the pairs after "shardline:"; describes the first malformed one in `error`.
void readPairs(std::string_view text, Hints& hints) {
  size_t at = 0;
  while (true) {
    while (at < text.size() && isSeparator(text[at])) {
      ++at;
    }
    if (at >= text.size()) {
      return;
    }
    size_t start = at;
    Hint hint;
    while (at < text.size() && text[at] != '=' && !isSeparator(text[at])) {
      hint.key.push_back(lower(text[at++]));
    }
    if (hint.key.empty() || at >= text.size() || text[at] != '=') {
      size_t end = at;
      while (end < text.size() && !isSeparator(text[end])) {
        ++end;
      }
      hints.error = "shardline hint \"" + std::string(text.substr(start, end - start)) +
                    "\" is not key=value";
      return;
    }
    ++at;
    if (!readValue(text, at, hint.value)) {
      hints.error = "shardline hint \"" + hint.key + "\" has no value";
      return;
    }
    hints.items.push_back(std::move(hint));
  }
}

}  // namespace

const std::string* Hints::find(std::string_view key) const {
  for (const Hint& hint : items) {
    if (hint.key == key) {
      return &hint.value;
    }
  }
  return nullptr;
}

Hints parseHints(std::string_view sql, ConformingStrings strings) {
  Hints hints;
  if (!mentionsShardline(sql)) {
    return hints;
  }
  for (const auto& comment : comments(sql, strings)) {
    std::string_view body = comment.first;
    size_t at = 0;
    while (at < body.size() && isBlank(body[at])) {
      ++at;
    }
    std::string_view text = body.substr(at);
    if (text.size() <= kMarker.size() || text[kMarker.size()] != ':' ||
        !mentionsShardline(text.substr(0, kMarker.size()))) {
      continue;
    }
    readPairs(text.substr(kMarker.size() + 1), hints);
    if (!hints.error.empty()) {
      return hints;
    }
  }
  return hints;
}

}  // namespace shardline::sql
