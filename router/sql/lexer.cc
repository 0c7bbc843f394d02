#include "router/sql/lexer.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "router/sql/char_classes.h"
#include "router/sql/routine_body.h"
#include "router/sql/unicode.h"

namespace shardline::sql {
namespace {

using namespace chars;  // NOLINT(google-build-using-namespace): the scanner's vocabulary
using unicode::appendUtf8;
using unicode::combineSurrogates;
using unicode::hexValue;
using unicode::isHighSurrogate;
using unicode::isLowSurrogate;
using unicode::isValidUtf8;
using unicode::readHex;

constexpr size_t kNpos = std::string_view::npos;
constexpr size_t kMaxNameBytes = 63;  // NAMEDATALEN - 1: longer names are truncated

using CommentList = std::vector<std::pair<std::string_view, uint32_t>>;

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}

// Length of the longest prefix of `name` that fits a Postgres name without splitting a
// UTF-8 character.
size_t nameLength(std::string_view name) {
  if (name.size() <= kMaxNameBytes) {
    return name.size();
  }
  size_t cut = kMaxNameBytes;
  while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return cut;
}

// How the body of a '...' literal is read.
enum class Quoted {
  Plain,    // '' is a quote
  Escape,   // '' is a quote, backslash escapes are decoded
  Unicode,  // '' is a quote, the rest is kept for the U& unescaping that follows
  Bits,     // kept as written: B'...' and X'...'
};

// Scans one token at a time. Tokens are raw in one respect: a U&'...' or U&"..." token holds
// its body with the escapes still in it, since a UESCAPE clause after it may change the
// escape character; lex() decodes it (see pendingUnicode()).
class Scanner {
 public:
  Scanner(std::string_view sql, ConformingStrings strings, CommentList* comments = nullptr)
      : sql_(sql), backslashStrings_(strings == ConformingStrings::Off), comments_(comments) {}

  // Scans the next token into `token`. False at the end of the input or at an error.
  bool next(Token& token);

  bool failed() const { return !error_.empty(); }
  std::string& error() { return error_; }
  uint32_t errorOffset() const { return errorOffset_; }
  // True when the token just scanned is a U& literal whose escapes are still in its value.
  bool pendingUnicode() const { return pendingUnicode_; }

 private:
  bool fail(size_t at, const char* message);
  bool skipTrivia();
  bool skipBlockComment();
  size_t lineEnd(size_t from) const;
  void recordComment(size_t bodyBegin, size_t bodyEnd, size_t opener);
  void recordLineComments(size_t from, size_t to);
  size_t continuation(size_t afterQuote) const;

  bool emit(Token& token, TokenKind kind, size_t begin, size_t end);
  bool word(Token& token, size_t begin);
  bool identifier(Token& token, size_t begin);
  bool number(Token& token, size_t begin);
  bool dollar(Token& token, size_t begin);
  bool param(Token& token, size_t begin);
  bool op(Token& token, size_t begin);
  bool colon(Token& token, size_t begin);
  bool quotedIdentifier(Token& token, size_t begin, size_t quote);
  bool quotedString(Token& token, size_t begin, size_t quote, Quoted mode);
  bool failUnterminated(size_t begin, size_t quote, Quoted mode);
  bool backslashEscape(size_t literal, size_t& p, std::string& out, bool& checkEncoding);
  bool unicodeEscape(size_t& p, std::string& out);

  std::string_view sql_;
  size_t pos_ = 0;
  bool backslashStrings_;  // standard_conforming_strings is off
  CommentList* comments_;  // where comments go, if anyone wants them
  std::string error_;      // first error, if any
  uint32_t errorOffset_ = 0;
  bool pendingUnicode_ = false;
};

bool Scanner::fail(size_t at, const char* message) {
  error_ = message;
  errorOffset_ = static_cast<uint32_t>(at);
  pos_ = sql_.size();
  return false;
}

bool Scanner::next(Token& token) {
  pendingUnicode_ = false;
  if (!skipTrivia() || pos_ >= sql_.size()) {
    return false;
  }
  token.value.clear();
  size_t begin = pos_;
  char c = sql_[begin];
  if (is(c, kIdentStart)) {
    return word(token, begin);
  }
  if (is(c, kDigit)) {
    return number(token, begin);
  }
  switch (c) {
    case '\'':
      return quotedString(token, begin, begin, backslashStrings_ ? Quoted::Escape : Quoted::Plain);
    case '"':
      return quotedIdentifier(token, begin, begin);
    case '$':
      return dollar(token, begin);
    case ':':
      return colon(token, begin);
    case '.':
      if (begin + 1 < sql_.size() && is(sql_[begin + 1], kDigit)) {
        return number(token, begin);
      }
      if (begin + 1 < sql_.size() && sql_[begin + 1] == '.') {
        return emit(token, TokenKind::Punct, begin, begin + 2);
      }
      return emit(token, TokenKind::Punct, begin, begin + 1);
    case '(':
    case ')':
    case '[':
    case ']':
    case ',':
    case ';':
      return emit(token, TokenKind::Punct, begin, begin + 1);
    default:
      break;
  }
  if (is(c, kOpChar)) {
    return op(token, begin);
  }
  return emit(token, TokenKind::Error, begin, begin + 1);
}

// Skips whitespace and comments, recording comments when asked to.
bool Scanner::skipTrivia() {
  while (pos_ < sql_.size()) {
    char c = sql_[pos_];
    char n = pos_ + 1 < sql_.size() ? sql_[pos_ + 1] : '\0';
    if (is(c, kSpace)) {
      ++pos_;
    } else if (c == '-' && n == '-') {
      size_t end = lineEnd(pos_ + 2);
      recordComment(pos_ + 2, end, pos_);
      pos_ = end;
    } else if (c == '/' && n == '*') {
      if (!skipBlockComment()) {
        return false;
      }
    } else {
      break;
    }
  }
  return true;
}

bool Scanner::skipBlockComment() {
  size_t begin = pos_;
  size_t p = pos_ + 2;
  int depth = 1;
  while (p + 1 < sql_.size()) {
    if (sql_[p] == '/' && sql_[p + 1] == '*') {
      ++depth;
      p += 2;
    } else if (sql_[p] == '*' && sql_[p + 1] == '/') {
      if (--depth == 0) {
        recordComment(begin + 2, p, begin);
        pos_ = p + 2;
        return true;
      }
      p += 2;
    } else {
      ++p;
    }
  }
  return fail(begin, "unterminated /* comment");
}

size_t Scanner::lineEnd(size_t from) const {
  size_t p = from;
  while (p < sql_.size() && sql_[p] != '\n' && sql_[p] != '\r') {
    ++p;
  }
  return p;
}

void Scanner::recordComment(size_t bodyBegin, size_t bodyEnd, size_t opener) {
  if (comments_ != nullptr) {
    comments_->emplace_back(sql_.substr(bodyBegin, bodyEnd - bodyBegin),
                            static_cast<uint32_t>(opener));
  }
}

// Records the -- comments between two segments of a continued string.
void Scanner::recordLineComments(size_t from, size_t to) {
  for (size_t p = from; comments_ != nullptr && p < to; ++p) {
    if (sql_[p] == '-' && sql_[p + 1] == '-') {
      size_t end = lineEnd(p + 2);
      recordComment(p + 2, end, p);
      p = end;
    }
  }
}

// Where the next segment of a continued string starts: after a closing quote, whitespace
// holding at least one newline (-- comments allowed, /* */ not) and then a quote continue
// the literal. Returns the position of that quote, or kNpos.
size_t Scanner::continuation(size_t afterQuote) const {
  size_t p = afterQuote;
  bool newline = false;
  while (p < sql_.size()) {
    char c = sql_[p];
    if (c == '\n' || c == '\r') {
      newline = true;
      ++p;
    } else if (is(c, kSpace)) {
      ++p;
    } else if (c == '-' && p + 1 < sql_.size() && sql_[p + 1] == '-') {
      p = lineEnd(p + 2);
    } else {
      break;
    }
  }
  return newline && p < sql_.size() && sql_[p] == '\'' ? p : kNpos;
}

// Finishes `token` as sql_[begin, end) whose value is its text, and moves past it.
bool Scanner::emit(Token& token, TokenKind kind, size_t begin, size_t end) {
  token.kind = kind;
  token.offset = static_cast<uint32_t>(begin);
  token.text = sql_.substr(begin, end - begin);
  token.sliceBegin = 0;
  token.sliceLength = static_cast<uint32_t>(end - begin);
  pos_ = end;
  return true;
}

// A token starting with a letter: a prefixed literal (E'', B'', X'', N'', U&'', U&"") or an
// identifier.
bool Scanner::word(Token& token, size_t begin) {
  char next = begin + 1 < sql_.size() ? sql_[begin + 1] : '\0';
  char first = lower(sql_[begin]);
  if (next == '\'') {
    switch (first) {
      case 'e':
        return quotedString(token, begin, begin + 1, Quoted::Escape);
      case 'b':
      case 'x':
        return quotedString(token, begin, begin + 1, Quoted::Bits);
      case 'n':  // national character: an ordinary string read as type nchar
        return quotedString(token, begin, begin + 1,
                            backslashStrings_ ? Quoted::Escape : Quoted::Plain);
      default:
        break;
    }
  }
  if (first == 'u' && next == '&' && begin + 2 < sql_.size()) {
    char quote = sql_[begin + 2];
    if (quote == '\'') {
      if (backslashStrings_) {
        return fail(begin, "unsafe use of string constant with Unicode escapes");
      }
      pendingUnicode_ = quotedString(token, begin, begin + 2, Quoted::Unicode);
      return pendingUnicode_;
    }
    if (quote == '"') {
      pendingUnicode_ = quotedIdentifier(token, begin, begin + 2);
      return pendingUnicode_;
    }
  }
  return identifier(token, begin);
}

bool Scanner::identifier(Token& token, size_t begin) {
  size_t p = begin;
  bool upper = false;
  while (p < sql_.size() && is(sql_[p], kIdentCont)) {
    upper |= sql_[p] >= 'A' && sql_[p] <= 'Z';
    ++p;
  }
  emit(token, TokenKind::Identifier, begin, p);
  size_t length = nameLength(token.text);
  if (!upper) {
    token.sliceLength = static_cast<uint32_t>(length);
    return true;
  }
  token.value.resize(length);
  std::transform(token.text.begin(), token.text.begin() + static_cast<ptrdiff_t>(length),
                 token.value.begin(), lower);
  token.sliceLength = Token::kOwned;
  return true;
}

// 42, 3.5, .5, 5., 1e10, 1.5E-3. Since Postgres 15 a letter straight after a number is an
// error ("123abc", "0x1F", "1_000"), and so is an exponent without digits ("1e+").
bool Scanner::number(Token& token, size_t begin) {
  size_t p = begin;
  bool integer = true;
  while (p < sql_.size() && is(sql_[p], kDigit)) {
    ++p;
  }
  // "1..2" is 1 then "..": the dots are not a decimal point.
  bool dotDot = p + 1 < sql_.size() && sql_[p] == '.' && sql_[p + 1] == '.';
  if (p < sql_.size() && sql_[p] == '.' && !dotDot) {
    integer = false;
    ++p;
    while (p < sql_.size() && is(sql_[p], kDigit)) {
      ++p;
    }
  }
  if (p < sql_.size() && lower(sql_[p]) == 'e') {
    size_t q = p + 1;
    if (q < sql_.size() && (sql_[q] == '+' || sql_[q] == '-')) {
      ++q;
    }
    if (q < sql_.size() && is(sql_[q], kDigit)) {
      integer = false;
      for (p = q; p < sql_.size() && is(sql_[p], kDigit);) {
        ++p;
      }
    } else if (q != p + 1) {
      return fail(begin, "trailing junk after numeric literal");
    }
  }
  if (p < sql_.size() && is(sql_[p], kIdentStart)) {
    return fail(begin, "trailing junk after numeric literal");
  }
  return emit(token, integer ? TokenKind::Integer : TokenKind::Numeric, begin, p);
}

// $1, $tag$...$tag$, or a '$' that is neither.
bool Scanner::dollar(Token& token, size_t begin) {
  size_t p = begin + 1;
  if (p < sql_.size() && is(sql_[p], kDigit)) {
    return param(token, begin);
  }
  if (p < sql_.size() && (sql_[p] == '$' || is(sql_[p], kIdentStart))) {
    while (p < sql_.size() && is(sql_[p], kDollarTag)) {
      ++p;
    }
    if (p < sql_.size() && sql_[p] == '$') {
      std::string_view delimiter = sql_.substr(begin, p + 1 - begin);
      size_t close = sql_.find(delimiter, p + 1);
      if (close == kNpos) {
        return fail(begin, "unterminated dollar-quoted string");
      }
      emit(token, TokenKind::String, begin, close + delimiter.size());
      token.sliceBegin = static_cast<uint32_t>(delimiter.size());
      token.sliceLength = static_cast<uint32_t>(close - (p + 1));
      return true;
    }
  }
  // Postgres hands a lone '$' to the grammar and rescans what follows it.
  return emit(token, TokenKind::Error, begin, begin + 1);
}

bool Scanner::param(Token& token, size_t begin) {
  size_t p = begin + 1;
  while (p < sql_.size() && is(sql_[p], kDigit)) {
    ++p;
  }
  if (p < sql_.size() && is(sql_[p], kIdentStart)) {
    return fail(begin, "trailing junk after parameter");
  }
  emit(token, TokenKind::Param, begin, p);
  size_t digits = begin + 1;
  while (digits + 1 < p && sql_[digits] == '0') {
    ++digits;
  }
  token.sliceBegin = static_cast<uint32_t>(digits - begin);
  token.sliceLength = static_cast<uint32_t>(p - digits);
  return true;
}

// The longest run of operator characters, cut before any comment start, then without
// trailing + and - unless the run holds a character that allows them.
bool Scanner::op(Token& token, size_t begin) {
  size_t end = begin;
  bool allowsPlusMinus = false;
  while (end < sql_.size() && is(sql_[end], kOpChar)) {
    char c = sql_[end];
    char n = end + 1 < sql_.size() ? sql_[end + 1] : '\0';
    if (end > begin && ((c == '-' && n == '-') || (c == '/' && n == '*'))) {
      break;
    }
    allowsPlusMinus |= is(c, kNotOnlyPlusMinus);
    ++end;
  }
  if (!allowsPlusMinus) {
    while (end - begin > 1 && (sql_[end - 1] == '+' || sql_[end - 1] == '-')) {
      --end;
    }
  }
  if (end - begin > kMaxNameBytes) {
    return fail(begin, "operator too long");
  }
  emit(token, TokenKind::Operator, begin, end);
  if (token.text == "!=") {
    token.value = "<>";
    token.sliceLength = Token::kOwned;
  }
  return true;
}

bool Scanner::colon(Token& token, size_t begin) {
  char next = begin + 1 < sql_.size() ? sql_[begin + 1] : '\0';
  bool pair = next == ':' || next == '=';
  return emit(token, TokenKind::Punct, begin, begin + (pair ? 2 : 1));
}

// "..." or, with begin != quote, U&"...". The value is the name with "" made ", truncated
// unless U& escapes are still to be decoded.
bool Scanner::quotedIdentifier(Token& token, size_t begin, size_t quote) {
  size_t p = quote + 1;
  size_t pending = p;  // start of the bytes not yet copied into token.value
  bool owned = false;
  while (true) {
    p = sql_.find('"', p);
    if (p == kNpos) {
      return fail(begin, "unterminated quoted identifier");
    }
    if (p + 1 >= sql_.size() || sql_[p + 1] != '"') {
      break;
    }
    token.value.append(sql_.data() + pending, p + 1 - pending);
    owned = true;
    p += 2;
    pending = p;
  }
  if (p == quote + 1 && !owned) {
    return fail(begin, "zero-length delimited identifier");
  }
  emit(token, TokenKind::QuotedIdentifier, begin, p + 1);
  if (owned) {
    token.value.append(sql_.data() + pending, p - pending);
    token.sliceLength = Token::kOwned;
    if (begin == quote) {
      token.value.resize(nameLength(token.value));
    }
    return true;
  }
  token.sliceBegin = static_cast<uint32_t>(quote + 1 - begin);
  token.sliceLength = static_cast<uint32_t>(p - (quote + 1));
  if (begin == quote) {
    token.sliceLength = static_cast<uint32_t>(nameLength(token.view()));
  }
  return true;
}

// A '...' literal whose opening quote is at `quote`, with any continuation segments. The
// value is a slice of the input unless something had to be decoded.
bool Scanner::quotedString(Token& token, size_t begin, size_t quote, Quoted mode) {
  std::string& out = token.value;
  bool bits = mode == Quoted::Bits;
  bool owned = bits;
  if (bits) {
    out.push_back(lower(sql_[begin]));  // 'b' or 'x', as the bit type's input expects
  }
  bool checkEncoding = false;
  size_t p = quote + 1;
  size_t pending = p;  // start of the bytes not yet copied into `out`
  while (true) {
    if (p >= sql_.size()) {
      return failUnterminated(begin, quote, mode);
    }
    char c = sql_[p];
    if (c == '\\' && mode == Quoted::Escape) {
      out.append(sql_.data() + pending, p - pending);
      owned = true;
      if (!backslashEscape(begin, p, out, checkEncoding)) {
        return false;
      }
      pending = p;
      continue;
    }
    if (c != '\'') {
      ++p;
      continue;
    }
    if (!bits && p + 1 < sql_.size() && sql_[p + 1] == '\'') {
      out.append(sql_.data() + pending, p + 1 - pending);  // keeps one of the two quotes
      owned = true;
      p += 2;
      pending = p;
      continue;
    }
    size_t nextQuote = continuation(p + 1);
    if (nextQuote == kNpos) {
      break;
    }
    recordLineComments(p + 1, nextQuote);
    out.append(sql_.data() + pending, p - pending);
    owned = true;
    p = nextQuote + 1;
    pending = p;
  }

  emit(token, bits ? TokenKind::BitString : TokenKind::String, begin, p + 1);
  if (!owned) {
    token.sliceBegin = static_cast<uint32_t>(quote + 1 - begin);
    token.sliceLength = static_cast<uint32_t>(p - (quote + 1));
    return true;
  }
  out.append(sql_.data() + pending, p - pending);
  token.sliceLength = Token::kOwned;
  if (checkEncoding && !isValidUtf8(out)) {
    return fail(begin, "invalid byte sequence for encoding \"UTF8\"");
  }
  return true;
}

// Postgres points at the literal's start; at the quote for N'...', which it reads as the key
// word NCHAR and a string.
bool Scanner::failUnterminated(size_t begin, size_t quote, Quoted mode) {
  char prefix = lower(sql_[begin]);
  size_t at = prefix == 'n' && quote == begin + 1 ? quote : begin;
  if (mode != Quoted::Bits) {
    return fail(at, "unterminated quoted string");
  }
  return fail(at, prefix == 'b' ? "unterminated bit string literal"
                                : "unterminated hexadecimal string literal");
}

// Decodes the backslash escape at sql_[p] of an E'...' string starting at `literal` into
// `out`, and moves p past it.
bool Scanner::backslashEscape(size_t literal, size_t& p, std::string& out, bool& checkEncoding) {
  if (p + 1 >= sql_.size()) {
    return fail(literal, "unterminated quoted string");
  }
  char c = sql_[p + 1];
  if (c >= '0' && c <= '7') {  // \o \oo \ooo: a byte
    unsigned value = 0;
    size_t q = p + 1;
    for (; q < sql_.size() && q < p + 4 && sql_[q] >= '0' && sql_[q] <= '7'; ++q) {
      value = value * 8 + static_cast<unsigned>(sql_[q] - '0');
    }
    out.push_back(static_cast<char>(value & 0xFF));
    checkEncoding |= (value & 0xFF) == 0 || (value & 0x80) != 0;
    p = q;
    return true;
  }
  if (c == 'x' && p + 2 < sql_.size() && is(sql_[p + 2], kHexDigit)) {  // \xh \xhh: a byte
    unsigned value = static_cast<unsigned>(hexValue(sql_[p + 2]));
    p += 3;
    if (p < sql_.size() && is(sql_[p], kHexDigit)) {
      value = value * 16 + static_cast<unsigned>(hexValue(sql_[p++]));
    }
    out.push_back(static_cast<char>(value));
    checkEncoding |= value == 0 || (value & 0x80) != 0;
    return true;
  }
  if (c == 'u' || c == 'U') {
    return unicodeEscape(p, out);
  }
  static constexpr std::string_view kLetters = "bfnrt";
  static constexpr std::string_view kControls = "\b\f\n\r\t";
  size_t letter = kLetters.find(c);
  out.push_back(letter == kNpos ? c : kControls[letter]);  // any other byte stands for itself
  p += 2;
  return true;
}

// A \u escape (4 hex digits) or \U escape (8 hex digits) at sql_[p] in an E'...' string; a UTF-16
// surrogate pair must be written as two escapes in a row.
bool Scanner::unicodeEscape(size_t& p, std::string& out) {
  auto read = [this](size_t at, uint32_t& cp, size_t& length) {
    length = sql_[at + 1] == 'u' ? 6 : 10;
    return readHex(sql_, at + 2, length - 2, cp);
  };
  uint32_t cp = 0;
  size_t length = 0;
  if (!read(p, cp, length)) {
    return fail(p, "invalid Unicode escape");
  }
  if (isHighSurrogate(cp)) {
    size_t second = p + length;
    uint32_t low = 0;
    size_t lowLength = 0;
    bool escape = second + 1 < sql_.size() && sql_[second] == '\\' &&
                  (sql_[second + 1] == 'u' || sql_[second + 1] == 'U');
    if (escape && !read(second, low, lowLength)) {
      return fail(second, "invalid Unicode escape");
    }
    if (!escape || !isLowSurrogate(low)) {
      return fail(second, "invalid Unicode surrogate pair");
    }
    cp = combineSurrogates(cp, low);
    length += lowLength;
  } else if (isLowSurrogate(cp)) {
    return fail(p, "invalid Unicode surrogate pair");
  }
  if (cp == 0 || cp > 0x10FFFF) {
    return fail(p, "invalid Unicode escape value");
  }
  appendUtf8(out, cp);
  p += length;
  return true;
}

// The escape character of a UESCAPE clause may not be a hex digit, '+', a quote or
// whitespace.
bool isValidUescape(std::string_view escape) {
  return escape.size() == 1 && !is(escape[0], kHexDigit | kSpace) && escape[0] != '+' &&
         escape[0] != '\'' && escape[0] != '"';
}

// Decodes the U& token `token` with `escape`; sets the result's error on failure.
bool decodeUnicode(Token& token, char escape, LexResult& result) {
  std::string_view raw = token.view();
  if (raw.find(escape) != kNpos) {
    std::string decoded;
    decoded.reserve(raw.size());
    size_t errorAt = 0;
    if (const char* error = unicode::unescape(raw, escape, decoded, errorAt)) {
      // Postgres counts from the literal's start, past U&' or U&", in the joined body.
      result.error = error;
      result.errorOffset = token.offset + 3 + static_cast<uint32_t>(errorAt);
      return false;
    }
    token.value = std::move(decoded);
    token.sliceLength = Token::kOwned;
  }
  if (token.kind == TokenKind::QuotedIdentifier) {  // names are truncated once decoded
    size_t length = nameLength(token.view());
    if (token.sliceLength == Token::kOwned) {
      token.value.resize(length);
    } else {
      token.sliceLength = static_cast<uint32_t>(length);
    }
  }
  return true;
}

// Decodes the U& token `literal` just scanned, with the escape character of the
// UESCAPE 'c' clause that may follow it (Postgres' grammar looks ahead the same way). The
// clause becomes part of the literal's text and `scanner` moves past it.
bool finishUnicode(Scanner& scanner, std::string_view sql, Token& literal, LexResult& result) {
  Scanner ahead = scanner;
  Token word;
  bool more = ahead.next(word);
  if (ahead.failed()) {  // that error comes first; the caller meets it on its next token
    LexResult ignored;
    decodeUnicode(literal, '\\', ignored);
    return true;
  }
  if (!more || !isKeyword(word, "uescape")) {
    return decodeUnicode(literal, '\\', result);
  }

  Token escape;
  more = ahead.next(escape);
  // N'...' is not simple either: Postgres reads it as the key word NCHAR and a string.
  bool simple = more && escape.kind == TokenKind::String && !ahead.pendingUnicode() &&
                escape.text[0] != 'n' && escape.text[0] != 'N';
  if (ahead.failed()) {
    result.error = std::move(ahead.error());
    result.errorOffset = ahead.errorOffset();
    return false;
  }
  if (!simple) {
    result.error = "UESCAPE must be followed by a simple string literal";
    result.errorOffset = more ? escape.offset : static_cast<uint32_t>(sql.size());
    return false;
  }
  if (!isValidUescape(escape.view())) {
    result.error = "invalid Unicode escape character";
    result.errorOffset = escape.offset;
    return false;
  }
  size_t end = escape.offset + escape.text.size();
  literal.text = sql.substr(literal.offset, end - literal.offset);
  scanner = ahead;
  return decodeUnicode(literal, escape.view()[0], result);
}

}  // namespace

std::string_view tokenKindName(TokenKind kind) {
  static constexpr std::array<std::string_view, 10> kNames = {
      "Identifier", "QuotedIdentifier", "String", "BitString", "Integer", "Numeric",
      "Param",      "Operator",         "Punct",  "Error"};
  auto index = static_cast<size_t>(kind);
  return index < kNames.size() ? kNames[index] : "?";
}

bool isPunct(const Token& token, std::string_view text) {
  return token.kind == TokenKind::Punct && token.text == text;
}

bool isKeyword(const Token& token, std::string_view lowercaseWord) {
  return token.kind == TokenKind::Identifier && token.view() == lowercaseWord;
}

LexResult lex(std::string_view sql, ConformingStrings strings) {
  LexResult result;
  result.tokens.reserve(std::min<size_t>(sql.size() / 4 + 4, 256));
  Scanner scanner(sql, strings);
  Token token;
  while (scanner.next(token)) {
    if (scanner.pendingUnicode() && !finishUnicode(scanner, sql, token, result)) {
      return result;
    }
    result.tokens.push_back(std::move(token));
  }
  if (scanner.failed()) {
    result.error = std::move(scanner.error());
    result.errorOffset = scanner.errorOffset();
  }
  return result;
}

std::vector<std::string_view> splitStatements(std::string_view sql, ConformingStrings strings) {
  std::vector<std::string_view> statements;
  Scanner scanner(sql, strings);
  Token token;
  size_t first = kNpos;  // where the current statement's first token starts
  size_t last = 0;       // where its last token ends
  int parenDepth = 0;
  RoutineBody body;
  while (scanner.next(token)) {
    if (isPunct(token, ";") && parenDepth == 0 && !body.inside()) {
      if (first != kNpos) {
        statements.push_back(sql.substr(first, last - first));
      }
      first = kNpos;
      body = RoutineBody();
      continue;
    }
    if (first == kNpos) {
      first = token.offset;
    }
    last = token.offset + token.text.size();
    if (isPunct(token, "(")) {
      ++parenDepth;
    } else if (isPunct(token, ")") && parenDepth > 0) {
      --parenDepth;
    }
    body.see(token, parenDepth);
  }

  if (scanner.failed()) {
    std::string_view rest = sql.substr(first != kNpos ? first : scanner.errorOffset());
    while (!rest.empty() && is(rest.back(), kSpace)) {
      rest.remove_suffix(1);
    }
    statements.push_back(rest);
  } else if (first != kNpos) {
    statements.push_back(sql.substr(first, last - first));
  }
  return statements;
}

std::vector<std::pair<std::string_view, uint32_t>> comments(std::string_view sql,
                                                            ConformingStrings strings) {
  CommentList found;
  Scanner scanner(sql, strings, &found);
  Token token;
  while (scanner.next(token)) {
  }
  return found;
}

}  // namespace shardline::sql
