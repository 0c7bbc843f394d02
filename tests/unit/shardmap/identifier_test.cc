#include "shardmap/identifier.h"

#include <string>

#include <doctest/doctest.h>

using namespace shardline::shardmap;

namespace {

std::string identifier(std::string_view text) {
  Result<std::string> name = parseIdentifier(text);
  REQUIRE_MESSAGE(name.ok(), name.error());
  return name.value();
}

std::string identifierError(std::string_view text) {
  Result<std::string> name = parseIdentifier(text);
  REQUIRE_FALSE(name.ok());
  return name.error();
}

QualifiedName qualified(std::string_view text) {
  Result<QualifiedName> name = parseQualifiedName(text);
  REQUIRE_MESSAGE(name.ok(), name.error());
  return name.value();
}

std::string qualifiedError(std::string_view text) {
  Result<QualifiedName> name = parseQualifiedName(text);
  REQUIRE_FALSE(name.ok());
  return name.error();
}

}  // namespace

TEST_CASE("unquoted identifiers fold to lower case, quoted ones keep their case") {
  CHECK(identifier("user_id") == "user_id");
  CHECK(identifier("User_ID") == "user_id");  // K5: compared as Postgres folds it
  CHECK(identifier("\"User_ID\"") == "User_ID");
  CHECK(identifier("\"a\"\"b\"") == "a\"b");
  CHECK(identifier("\"with space.and dot\"") == "with space.and dot");
  CHECK(identifier("  spaced\t") == "spaced");
  CHECK(identifier("_x$1") == "_x$1");
  CHECK(identifier("\xc3\x89t\xc3\xa9") == "\xc3\x89t\xc3\xa9");  // only ASCII folds
  CHECK(foldIdentifier("ABC_def") == "abc_def");
}

TEST_CASE("malformed identifiers are refused with a reason") {
  CHECK(identifierError("") == "expected an identifier");
  CHECK(identifierError("   ") == "expected an identifier");
  CHECK(identifierError("\"\"") == "zero-length quoted identifier");
  CHECK(identifierError("\"abc") == "unterminated quoted identifier");
  CHECK(identifierError("1abc") == "unexpected '1' where an identifier should begin");
  CHECK(identifierError("$abc") == "unexpected '$' where an identifier should begin");
  CHECK(identifierError("a b") == "unexpected 'b' after the identifier");
  CHECK(identifierError("a.b") == "unexpected '.' after the identifier");
  CHECK(identifierError("a-b") == "unexpected '-' after the identifier");
  CHECK(identifierError("\"a\"b") == "unexpected 'b' after the identifier");
  CHECK(identifierError(std::string("a\0", 2)) == "unexpected byte 0x00 after the identifier");
}

TEST_CASE("qualified names default to the public schema") {
  CHECK(qualified("users") == QualifiedName{"public", "users"});
  CHECK(qualified("app.users") == QualifiedName{"app", "users"});
  CHECK(qualified("App.Users") == QualifiedName{"app", "users"});
  CHECK(qualified("\"App\".\"Users\"") == QualifiedName{"App", "Users"});
  CHECK(qualified("\"Sys\".Model") == QualifiedName{"Sys", "model"});
  CHECK(qualified(" app . users ") == QualifiedName{"app", "users"});
  CHECK(qualified("\"my.table\"") == QualifiedName{"public", "my.table"});
  CHECK(parseQualifiedName("t", "other").value() == QualifiedName{"other", "t"});

  CHECK(qualifiedError("db.app.users") == "too many parts: expected name or schema.name");
  CHECK(qualifiedError("app.") == "expected an identifier after '.'");
  CHECK(qualifiedError(".users") == "unexpected '.' where an identifier should begin");
  CHECK(qualifiedError("my table") == "unexpected 't' after the name");
}

TEST_CASE("identifiers are cut to 63 bytes without splitting a character") {
  CHECK(identifier(std::string(70, 'A')) == std::string(63, 'a'));
  CHECK(identifier("\"" + std::string(64, 'B') + "\"") == std::string(63, 'B'));
  // 62 bytes, then a two-byte character that would straddle the limit.
  std::string straddling = std::string(62, 'a') + "\xc3\xa9";
  CHECK(truncateIdentifier(straddling) == std::string(62, 'a'));
  std::string fitting = std::string(61, 'a') + "\xc3\xa9" + "z";
  CHECK(truncateIdentifier(fitting) == std::string(61, 'a') + "\xc3\xa9");
  CHECK(truncateIdentifier("short") == "short");
}

TEST_CASE("names print as SQL would write them") {
  CHECK(quoteIdentifier("users") == "users");
  CHECK(quoteIdentifier("Users") == "\"Users\"");
  CHECK(quoteIdentifier("my table") == "\"my table\"");
  CHECK(quoteIdentifier("a\"b") == "\"a\"\"b\"");
  CHECK(quoteIdentifier("1x") == "\"1x\"");
  CHECK(quoteIdentifier("") == "\"\"");
  CHECK(QualifiedName{"app", "Users"}.toString() == "app.\"Users\"");
  CHECK(QualifiedName{"public", "users"}.toString() == "public.users");
}
