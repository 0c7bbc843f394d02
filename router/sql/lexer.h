// The SQL lexer: turns statement text into tokens by PostgreSQL 15's lexical rules
// (the "Lexical Structure" chapter of the Postgres manual), and the helpers built on it
// that the router needs before, or instead of, a full parse: splitting a multi-statement
// query, the normalized shape that keys the plan cache, and the comments that carry hints.
//
// All functions are pure and allocate nothing shared: any thread may call them. Tokens hold
// std::string_views into the input, so the input must outlive them.
//
// The server encoding is taken to be UTF-8. Where Postgres 16 changed the rules, this follows
// 15: numbers are decimal only (no 0x/0o/0b literals, no '_' digit separators), and a
// vertical tab is not whitespace.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace shardline::sql {

enum class TokenKind : uint8_t {
  // Unquoted identifier or key word (Postgres lexes both alike). Value: folded to lower case
  // (ASCII A-Z only, as Postgres does for UTF-8) and truncated to 63 bytes (NAMEDATALEN - 1)
  // at a character boundary.
  Identifier,
  // "..." or U&"..." [UESCAPE 'c'] (`text` then takes in the clause). Value: the name,
  // unescaped, not folded, truncated to 63 bytes.
  QuotedIdentifier,
  // '...', E'...', U&'...' [UESCAPE 'c'], N'...', $tag$...$tag$. Value: the decoded
  // characters, continuation segments ('a'<newline>'b') joined. `text` keeps the N of a
  // national character literal, which Postgres reads as a value of type nchar.
  String,
  // B'...' or X'...'. Value: 'b' or 'x' (lower case) then the digits as written, the form
  // the bit type's input function reads. The lexer does not check the digits; Postgres
  // doesn't either.
  BitString,
  // Digits only: 42. Value: the digits. Postgres types it int4, int8 or numeric by size.
  Integer,
  // Decimal point and/or exponent: 3.5 .5 5. 1e10 1.5E-3. Value: the text.
  Numeric,
  // $n. Value: n in decimal without leading zeros ("$01" gives "1").
  Param,
  // Operator: any run of + - * / < > = ~ ! @ # % ^ & | ` ? cut by Postgres' rules (before any
  // -- or /*; a trailing + or - dropped unless the run holds one of ~ ! @ # % ^ & | ` ?).
  // Includes single-character operators such as + and =, and =>. Value: the text, except
  // that != gives "<>" as in Postgres.
  Operator,
  // ( ) [ ] , ; : :: := . ..  Value: the text.
  Punct,
  // A byte that starts no Postgres token: { } \ a '$' that starts neither a parameter nor a
  // dollar quote, a control character. Postgres passes it to the grammar, which rejects it
  // with a syntax error; lex() does the same and keeps going. Value: the text.
  Error,
};

// The kind's name, for messages and tests.
std::string_view tokenKindName(TokenKind kind);

struct Token {
  TokenKind kind = TokenKind::Error;
  uint32_t offset = 0;    // byte offset of `text` in the input, 0-based
  std::string_view text;  // the token as written: a slice of the input
  // The decoded value when it is not a slice of the input (folded identifier, unescaped
  // string, ...). Unused, and empty, otherwise: read the value through view().
  std::string value;
  uint32_t sliceBegin = 0;        // when `value` is unused: where the value starts in `text`
  uint32_t sliceLength = kOwned;  // ... and its length; kOwned means the value is `value`

  static constexpr uint32_t kOwned = UINT32_MAX;

  // The token's value as described by its kind.
  std::string_view view() const {
    return sliceLength == kOwned ? std::string_view(value) : text.substr(sliceBegin, sliceLength);
  }
};

// True when `token` is the key word `lowercaseWord` (an unquoted identifier; a quoted one is
// never a key word). Requires: lowercaseWord is in lower case.
// True when `token` is the punctuation `text` (";", "(", ...).
bool isPunct(const Token& token, std::string_view text);
bool isKeyword(const Token& token, std::string_view lowercaseWord);

struct LexResult {
  std::vector<Token> tokens;  // every token before the error, if any
  std::string error;          // Postgres' message for the first lexical error; empty if none
  uint32_t errorOffset = 0;   // where Postgres points for that error, as a byte offset
  bool ok() const { return error.empty(); }
};

// The session's standard_conforming_strings setting. Off makes a backslash an escape in
// plain '...' strings too, and forbids U&'...' strings (Postgres refuses them then).
enum class ConformingStrings : uint8_t { On, Off };

// Splits `sql` into tokens, skipping whitespace and comments. Stops at the first lexical
// error Postgres' lexer reports: an unterminated comment, string or quoted identifier, a
// bad escape, a zero-length quoted identifier, an identifier straight after a number or
// parameter ("123abc", "$1a": an error since Postgres 15), an operator of 64 bytes or more.
LexResult lex(std::string_view sql, ConformingStrings strings = ConformingStrings::On);

// Splits a multi-statement query string into its statements, at each ';' outside strings,
// quoted identifiers, comments, parentheses and the BEGIN ATOMIC ... END body of a
// CREATE [OR REPLACE] FUNCTION or PROCEDURE. Each slice runs from its statement's first
// token to its last, so the whitespace and comments around it, and the ';', are left out;
// statements without tokens (";;", a lone comment) are dropped.
//
// A lexical error makes the rest of the input, from the start of the statement holding it,
// the last slice: sending it gives the client Postgres' own error. (Postgres itself rejects
// the whole string before running any of it; a caller that must match that calls lex().)
std::vector<std::string_view> splitStatements(std::string_view sql,
                                              ConformingStrings strings = ConformingStrings::On);

// A statement's shape: its tokens with every constant (String, BitString, Integer, Numeric)
// replaced by '?', joined by single spaces. Each token is written as its value: identifiers
// folded, quoted identifiers "quoted" (U&"\0061" as "a"), parameters $n, != as <>; trailing
// ';'s are dropped, and the operator ? is written operator(?) so that it never reads as a
// constant. Two statements with the same shape differ only in their constants and in
// spellings that Postgres reads alike.
// "SELECT * FROM Users WHERE id = 42 AND name='x'" has the shape
// "select * from users where id = ? and name = ?" and the constants 42 and 'x'.
struct Shape {
  std::string text;
  std::vector<Token> constants;  // the constants' tokens, in order of appearance
  uint64_t hash = 0;             // xxh3_64 (seed 0) of `text`
};

// The shape of lexed tokens. For a result with an error it is the shape of the tokens before
// the error, which should not be cached.
Shape normalize(const LexResult& lexed);

// Every comment in `sql`, outside strings and quoted identifiers: the body of each outermost
// /* ... */ (nested comments stay inside it) and of each -- comment (up to the end of its
// line), each with the byte offset of its "/*" or "--". Stops at the first lexical error.
std::vector<std::pair<std::string_view, uint32_t>> comments(
    std::string_view sql, ConformingStrings strings = ConformingStrings::On);

}  // namespace shardline::sql
