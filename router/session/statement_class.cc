#include "router/session/statement_class.h"

#include <array>

#include "router/sql/char_classes.h"
#include "router/sql/lexer.h"

namespace shardline::session {

namespace {

namespace chars = sql::chars;
using sql::Token;
using sql::TokenKind;

bool isWord(const Token& token, std::string_view word) {
  return token.kind == TokenKind::Identifier && token.view() == word;
}

bool isAdvisoryLock(std::string_view name) {
  static constexpr std::array<std::string_view, 4> kLocks = {
      "pg_advisory_lock", "pg_advisory_lock_shared", "pg_try_advisory_lock",
      "pg_try_advisory_lock_shared"};
  for (auto lock : kLocks) {
    if (name == lock) {
      return true;
    }
  }
  return false;
}

// After SET or RESET: records a dotted parameter name such as app.tenant.
void noteCustomSetting(const std::vector<Token>& tokens, size_t i, size_t end,
                       StatementClass& out) {
  if (i < end && (isWord(tokens[i], "session") || isWord(tokens[i], "local"))) {
    ++i;
  }
  if (i + 2 >= end || tokens[i + 1].kind != TokenKind::Punct || tokens[i + 1].text != ".") {
    return;
  }
  std::string name(tokens[i].view());
  name += '.';
  name += tokens[i + 2].view();
  out.customSettings.push_back(std::move(name));
}

// Looks at one statement's tokens, [begin, end).
void classifyStatement(const std::vector<Token>& tokens, size_t begin, size_t end,
                       StatementClass& out) {
  if (begin == end) {
    return;
  }
  ++out.statements;
  const Token& first = tokens[begin];
  if (isWord(first, "set") || isWord(first, "reset") || isWord(first, "discard")) {
    out.changesSettings = true;
  }
  // Code run by the server can change settings out of sight.
  if (isWord(first, "do") || isWord(first, "call")) {
    out.changesSettings = true;
  }
  if (isWord(first, "set") || isWord(first, "reset")) {
    noteCustomSetting(tokens, begin + 1, end, out);
  }
  if (isWord(first, "listen") || isWord(first, "prepare")) {
    out.pinsBackend = true;
  }
  if (isWord(first, "discard") && end - begin >= 2 && isWord(tokens[begin + 1], "all")) {
    out.deallocateAll = true;
  }
  bool named = end - begin >= 2 && (tokens[begin + 1].kind == TokenKind::Identifier ||
                                    tokens[begin + 1].kind == TokenKind::QuotedIdentifier);
  if (isWord(first, "execute") && named) {
    out.executeName = std::string(tokens[begin + 1].view());
  }
  if (isWord(first, "prepare") && named) {
    out.prepareName = std::string(tokens[begin + 1].view());
  }
  if (isWord(first, "deallocate")) {
    size_t i = begin + 1;
    if (i < end && isWord(tokens[i], "prepare")) {
      ++i;
    }
    if (i + 1 == end && isWord(tokens[i], "all")) {
      out.deallocateAll = true;
    } else if (i + 1 == end && (tokens[i].kind == TokenKind::Identifier ||
                                tokens[i].kind == TokenKind::QuotedIdentifier)) {
      out.deallocateName = std::string(tokens[i].view());
    }
  }
  for (size_t i = begin; i < end; ++i) {
    const Token& token = tokens[i];
    if (token.kind != TokenKind::Identifier) {
      continue;
    }
    std::string_view word = token.view();
    if (word == "set_config") {
      out.changesSettings = true;
      // set_config('name', ...): a constant name may be a placeholder setting.
      if (i + 2 < end && tokens[i + 2].kind == TokenKind::String) {
        std::string name(tokens[i + 2].view());
        if (name.find('.') != std::string::npos) {
          out.customSettings.push_back(std::move(name));
        }
      }
    } else if (word == "temp" || word == "temporary" || word == "pg_temp") {
      // Temporary objects live in the backend: CREATE [LOCAL] TEMP, INTO TEMP, pg_temp.x.
      out.pinsBackend = true;
    } else if (isAdvisoryLock(word)) {
      out.pinsBackend = true;
    } else if (word == "hold" && isWord(first, "declare")) {
      out.pinsBackend = true;
    }
  }
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c;
}

// Whether `text` holds `word` at `at`, in any case.
bool holdsAt(std::string_view text, size_t at, std::string_view word) {
  if (text.size() - at < word.size()) {
    return false;
  }
  for (size_t i = 0; i < word.size(); ++i) {
    if (lower(text[at + i]) != word[i]) {
      return false;
    }
  }
  return true;
}

// True when `text` is certainly one statement that classifyTokens() finds plain, seen without
// lexing it: it opens with a keyword that no rule looks for, has no semicolon but a last one,
// and nowhere, not even in a literal or a comment, holds a word that makes a statement change
// settings or pin its backend ("set_config", "temp" in temp, temporary and pg_temp, "advisory"
// in the advisory locks). False decides nothing: the tokens do.
bool surelyPlain(std::string_view text) {
  static constexpr std::array<std::string_view, 5> kOpenings = {"select", "insert", "update",
                                                                "delete", "with"};
  size_t start = 0;
  while (start < text.size() && chars::is(text[start], chars::kSpace)) {
    ++start;
  }
  bool opens = false;
  for (std::string_view opening : kOpenings) {
    size_t after = start + opening.size();
    if (holdsAt(text, start, opening) &&
        (after == text.size() || !chars::is(text[after], chars::kIdentCont))) {
      opens = true;
      break;
    }
  }
  if (!opens) {
    return false;
  }
  // The bytes the loop must look at; most bytes of most statements are none of them.
  static constexpr std::array<bool, 256> kMarks = [] {
    std::array<bool, 256> marks{};
    for (char c : std::string_view(";tTaAsS")) {
      marks[static_cast<unsigned char>(c)] = true;
    }
    return marks;
  }();
  for (size_t i = start; i < text.size(); ++i) {
    if (!kMarks[static_cast<unsigned char>(text[i])]) {
      continue;
    }
    char c = lower(text[i]);
    if (c == ';') {
      // Only blanks may follow the last semicolon.
      for (size_t j = i + 1; j < text.size(); ++j) {
        if (!chars::is(text[j], chars::kSpace)) {
          return false;
        }
      }
      return true;
    }
    if ((c == 't' && holdsAt(text, i, "temp")) || (c == 'a' && holdsAt(text, i, "advisory")) ||
        (c == 's' && holdsAt(text, i, "set_config"))) {
      return false;
    }
  }
  return true;
}

}  // namespace

StatementClass classify(std::string_view text) {
  if (surelyPlain(text)) {
    StatementClass out;
    out.statements = 1;
    return out;
  }
  return classifyTokens(text);
}

StatementClass classifyTokens(std::string_view text) {
  StatementClass out;
  sql::LexResult lexed = sql::lex(text);
  const auto& tokens = lexed.tokens;
  size_t begin = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i].kind == TokenKind::Punct && tokens[i].text == ";") {
      classifyStatement(tokens, begin, i, out);
      begin = i + 1;
    }
  }
  classifyStatement(tokens, begin, tokens.size(), out);
  // A deallocation by name is answered by the router only when it stands alone.
  if (out.statements != 1) {
    out.deallocateName.clear();
    out.executeName.clear();
    out.prepareName.clear();
  }
  return out;
}

}  // namespace shardline::session
