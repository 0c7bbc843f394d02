// Statement splitting's view of CREATE FUNCTION/PROCEDURE ... BEGIN ATOMIC ... END, inside
// which a ';' does not end the statement. Used by splitStatements (lexer.cc) only.
//
// A value per split; not shared between threads.
#pragma once

#include <string_view>

#include "router/sql/lexer.h"

namespace shardline::sql {

// Recognizes the BEGIN ATOMIC ... END body of CREATE [OR REPLACE] FUNCTION or PROCEDURE,
// inside which a ';' does not end the statement. CASE ... END inside the body nests; a word
// after '.' or AS is a name, not a key word.
class RoutineBody {
 public:
  bool inside() const { return depth_ > 0; }

  void see(const Token& token, int parenDepth) {
    std::string_view word = token.kind == TokenKind::Identifier ? token.view() : "";
    if (header_ != Header::Routine) {
      readHeader(word);
      return;
    }
    bool afterName = afterNamePrefix_;
    bool afterBegin = afterBegin_;
    afterNamePrefix_ = word == "as" || (token.kind == TokenKind::Punct && token.text == ".");
    afterBegin_ = false;
    if (word.empty() || afterName) {
      return;
    }
    if (depth_ == 0) {
      afterBegin_ = word == "begin" && parenDepth == 0;
      if (word == "atomic" && afterBegin) {
        depth_ = 1;
      }
    } else if (word == "case") {
      ++depth_;
    } else if (word == "end") {
      --depth_;
    }
  }

 private:
  enum class Header { Start, Create, CreateOr, CreateOrReplace, Routine, Other };

  void readHeader(std::string_view word) {
    bool routine = word == "function" || word == "procedure";
    switch (header_) {
      case Header::Start:
        header_ = word == "create" ? Header::Create : Header::Other;
        break;
      case Header::Create:
        header_ = word == "or" ? Header::CreateOr : routine ? Header::Routine : Header::Other;
        break;
      case Header::CreateOr:
        header_ = word == "replace" ? Header::CreateOrReplace : Header::Other;
        break;
      case Header::CreateOrReplace:
        header_ = routine ? Header::Routine : Header::Other;
        break;
      default:
        break;
    }
  }

  Header header_ = Header::Start;
  int depth_ = 0;                 // BEGIN ATOMIC and CASE not yet closed by END
  bool afterBegin_ = false;       // the previous token is BEGIN
  bool afterNamePrefix_ = false;  // the previous token is '.' or AS
};

}  // namespace shardline::sql
