#include "router/sql/lexer.h"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

using namespace shardline::sql;

namespace {

// "Kind(value)@offset" for each token, space-separated; then " !error@offset" if lexing failed.
std::string render(const LexResult& result) {
  std::string out;
  for (const Token& token : result.tokens) {
    if (!out.empty()) {
      out += ' ';
    }
    out += tokenKindName(token.kind);
    out += '(';
    out += token.view();
    out += ")@";
    out += std::to_string(token.offset);
  }
  if (!result.ok()) {
    out += " !" + result.error + "@" + std::to_string(result.errorOffset);
  }
  return out;
}

std::string lexed(std::string_view sql, ConformingStrings strings = ConformingStrings::On) {
  return render(lex(sql, strings));
}

// The single token of `sql`, which must lex without error into exactly one token.
Token only(std::string_view sql, ConformingStrings strings = ConformingStrings::On) {
  LexResult result = lex(sql, strings);
  REQUIRE_MESSAGE(result.ok(), result.error);
  REQUIRE(result.tokens.size() == 1);
  return result.tokens[0];
}

std::string error(std::string_view sql, ConformingStrings strings = ConformingStrings::On) {
  LexResult result = lex(sql, strings);
  return result.error + "@" + std::to_string(result.errorOffset);
}

std::vector<std::string> split(std::string_view sql,
                               ConformingStrings strings = ConformingStrings::On) {
  std::vector<std::string> out;
  for (std::string_view statement : splitStatements(sql, strings)) {
    out.emplace_back(statement);
  }
  return out;
}

constexpr auto kOff = ConformingStrings::Off;

}  // namespace

TEST_SUITE_BEGIN("sql lexer");

TEST_CASE("lexer: identifiers fold ASCII letters only and stay slices of the input when lower") {
  CHECK(lexed("SELECT Foo_Bar,a$b, _x9 FROM \xC3\x89t\xC3\xA9") ==
        "Identifier(select)@0 Identifier(foo_bar)@7 Punct(,)@14 Identifier(a$b)@15 Punct(,)@18 "
        "Identifier(_x9)@20 Identifier(from)@24 Identifier(\xC3\x89t\xC3\xA9)@29");

  Token lower = only("pgbench_accounts");
  CHECK(lower.sliceLength != Token::kOwned);
  CHECK(lower.value.empty());
  CHECK(lower.view() == "pgbench_accounts");

  Token upper = only("PgBench");
  CHECK(upper.sliceLength == Token::kOwned);
  CHECK(upper.view() == "pgbench");
  CHECK(upper.text == "PgBench");
  CHECK(isKeyword(upper, "pgbench"));
  CHECK_FALSE(isKeyword(only("\"pgbench\""), "pgbench"));
}

TEST_CASE("lexer: the hot-path statement allocates only for folded key words") {
  LexResult result = lex("SELECT abalance FROM pgbench_accounts WHERE aid = 12345;");
  CHECK(render(result) ==
        "Identifier(select)@0 Identifier(abalance)@7 Identifier(from)@16 "
        "Identifier(pgbench_accounts)@21 Identifier(where)@38 Identifier(aid)@44 "
        "Operator(=)@48 Integer(12345)@50 Punct(;)@55");
  for (const Token& token : result.tokens) {
    bool upper = token.text != token.view();
    CHECK((token.sliceLength == Token::kOwned) == upper);
  }
}

TEST_CASE("lexer: names are truncated to 63 bytes without splitting a character") {
  std::string longName(70, 'A');
  Token token = only(longName);
  CHECK(token.view() == std::string(63, 'a'));
  CHECK(token.text.size() == 70);

  std::string multibyte = std::string(62, 'a') + "\xC3\xA9" + "b";  // é straddles byte 63
  CHECK(only(multibyte).view() == std::string(62, 'a'));

  std::string quoted = "\"" + std::string(64, 'Q') + "\"";
  CHECK(only(quoted).view() == std::string(63, 'Q'));
}

TEST_CASE("lexer: quoted identifiers") {
  CHECK(lexed("\"Foo \"\"Bar\"\"\".x") ==
        "QuotedIdentifier(Foo \"Bar\")@0 Punct(.)@13 Identifier(x)@14");
  CHECK(only("\"select\"").kind == TokenKind::QuotedIdentifier);
  CHECK(only("\"\"\"\"").view() == "\"");
  CHECK(lexed("a \"\"") == "Identifier(a)@0 !zero-length delimited identifier@2");
  CHECK(lexed("a \"bc") == "Identifier(a)@0 !unterminated quoted identifier@2");
}

TEST_CASE("lexer: Unicode-escaped identifiers and UESCAPE") {
  CHECK(lexed("U&\"d\\0061t\\+000061\" x") == "QuotedIdentifier(data)@0 Identifier(x)@20");
  CHECK(only("u&\"\\0441\\043B\\043E\\043D\"").view() == "\xD1\x81\xD0\xBB\xD0\xBE\xD0\xBD");

  LexResult custom = lex("U&\"d!0061t!+000061\" UESCAPE '!' , y");
  CHECK(render(custom) == "QuotedIdentifier(data)@0 Punct(,)@32 Identifier(y)@34");
  CHECK(custom.tokens[0].text == "U&\"d!0061t!+000061\" UESCAPE '!'");
  CHECK(only("U&\"a!!b\\\" uescape '!'").view() == "a!b\\");

  CHECK(error("U&\"\"") == "zero-length delimited identifier@0");
  CHECK(error("U&\"a\" UESCAPE 'a'") == "invalid Unicode escape character@14");
  CHECK(error("U&\"a\" UESCAPE '!!'") == "invalid Unicode escape character@14");
  CHECK(error("U&\"a\" UESCAPE x") == "UESCAPE must be followed by a simple string literal@14");
  CHECK(error("U&\"a\" UESCAPE N'!'") == "UESCAPE must be followed by a simple string literal@14");
  CHECK(only("U&\"a!0062\" UESCAPE $$!$$").view() == "ab");
  CHECK(error("U&\"a\" UESCAPE") == "UESCAPE must be followed by a simple string literal@13");
  CHECK(error("U&\"ab\\00zz\"") == "invalid Unicode escape@5");
}

TEST_CASE("lexer: plain strings, '' doubling and standard_conforming_strings") {
  Token plain = only("'Dianne''s horse'");
  CHECK(plain.kind == TokenKind::String);
  CHECK(plain.view() == "Dianne's horse");
  CHECK(plain.text == "'Dianne''s horse'");
  Token slice = only("'abc'");
  CHECK(slice.sliceLength != Token::kOwned);
  CHECK(slice.view() == "abc");
  CHECK(only("''").view().empty());

  CHECK(only("'a\\nb'").view() == "a\\nb");
  CHECK(lexed("'a\\' x") == "String(a\\)@0 Identifier(x)@5");
  CHECK(only("'a\\nb\\'c'", kOff).view() == "a\nb'c");
  CHECK(only("'a''b'", kOff).view() == "a'b");
  CHECK(error("U&'x'", kOff) == "unsafe use of string constant with Unicode escapes@0");
  CHECK(only("U&\"x\"", kOff).view() == "x");

  CHECK(lexed("x 'abc") == "Identifier(x)@0 !unterminated quoted string@2");
  CHECK(error("'ab''") == "unterminated quoted string@0");
}

TEST_CASE("lexer: escape strings") {
  Token token = only("E'a\\nb\\tc\\\\d\\'e''f\\x41\\101\\u0041\\U00000041'");
  CHECK(token.view() == "a\nb\tc\\d'e'fAAAA");
  CHECK(only("e'\\b\\f\\r\\q\\v'").view() == "\b\f\rqv");  // \v is not an escape before PG 16
  CHECK(only("E'\\xZ\\x4'").view() == "xZ\x04");
  CHECK(only("E'\\7\\1011'").view() == "\aA1");
  CHECK(only("E'\\uD83D\\uDE00'").view() == "\xF0\x9F\x98\x80");
  CHECK(only("E'\\xC3\\xA9'").view() == "\xC3\xA9");

  CHECK(error("E'ab\\u12'") == "invalid Unicode escape@4");
  CHECK(error("E'ab\\uD800x'") == "invalid Unicode surrogate pair@10");
  CHECK(error("E'ab\\uDC00'") == "invalid Unicode surrogate pair@4");
  CHECK(error("E'ab\\u0000'") == "invalid Unicode escape value@4");
  CHECK(error("E'ab\\U00110000'") == "invalid Unicode escape value@4");
  CHECK(error("x E'\\0'") == "invalid byte sequence for encoding \"UTF8\"@2");
  CHECK(error("E'\\xFF'") == "invalid byte sequence for encoding \"UTF8\"@0");
  CHECK(error("E'abc\\") == "unterminated quoted string@0");
}

TEST_CASE("lexer: Unicode-escaped strings") {
  CHECK(only("U&'d\\0061t\\+000061'").view() == "data");
  CHECK(only("U&'d!0061t!+000061' UESCAPE '!'").view() == "data");
  CHECK(only("U&'\\D83D\\DE00'").view() == "\xF0\x9F\x98\x80");
  CHECK(only("U&'it''s \\\\'").view() == "it's \\");
  // Segments are joined before unescaping: the backslash that ends the first one and the
  // one that starts the second make an escaped backslash.
  CHECK(only("U&'a\\'\n'\\0062'").view() == "a\\0062");
  CHECK(error("U&'ab\\x'") == "invalid Unicode escape@5");
  CHECK(error("U&'\\D83D'") == "invalid Unicode surrogate pair@8");
  CHECK(error("U&'\\0000'") == "invalid Unicode escape value@3");
}

TEST_CASE("lexer: string continuation needs a newline") {
  Token joined = only("'a'\n'b'");
  CHECK(joined.view() == "ab");
  CHECK(joined.text == "'a'\n'b'");
  CHECK(only("'a' -- note\n  \r\n'b'\n'c'").view() == "abc");
  CHECK(only("E'a\\n'\n'\\t'").view() == "a\n\t");  // later segments keep E's rules
  CHECK(only("B'01'\n'10'").view() == "b0110");
  CHECK(lexed("'a' 'b'") == "String(a)@0 String(b)@4");
  CHECK(lexed("'a' /* c */\n'b'") == "String(a)@0 String(b)@12");
  CHECK(lexed("'a'\n\"b\"") == "String(a)@0 QuotedIdentifier(b)@4");
}

TEST_CASE("lexer: national and bit strings") {
  Token national = only("N'abc'");
  CHECK(national.kind == TokenKind::String);
  CHECK(national.view() == "abc");
  CHECK(national.text == "N'abc'");
  CHECK(lexed("x N'a") == "Identifier(x)@0 !unterminated quoted string@3");

  CHECK(lexed("B'0101' x'1F'") == "BitString(b0101)@0 BitString(x1F)@8");
  CHECK(lexed("B'01''10'") == "BitString(b01)@0 String(10)@5");  // no '' doubling in bits
  CHECK(error("b'01") == "unterminated bit string literal@0");
  CHECK(error("X'1") == "unterminated hexadecimal string literal@0");
  CHECK(lexed("be'x'") == "Identifier(be)@0 String(x)@2");
}

TEST_CASE("lexer: dollar quoting and parameters") {
  CHECK(lexed("$$it's$$") == "String(it's)@0");
  CHECK(lexed("$tag$ a $$ b $t$ $tag$,") == "String( a $$ b $t$ )@0 Punct(,)@22");
  CHECK(lexed("$\xC3\xA9$x$\xC3\xA9$") == "String(x)@0");
  CHECK(lexed("$a$x$ab$a$") == "String(x$ab)@0");
  CHECK(error("x $TAG$ a $tag$") == "unterminated dollar-quoted string@2");
  CHECK(lexed("a$$b$$") == "Identifier(a$$b$$)@0");
  CHECK(lexed("$a b") == "Error($)@0 Identifier(a)@1 Identifier(b)@3");

  CHECK(lexed("$1,$02 $10") == "Param(1)@0 Punct(,)@2 Param(2)@3 Param(10)@7");
  CHECK(lexed("$0$") == "Param(0)@0 Error($)@2");
  CHECK(lexed("$1.5") == "Param(1)@0 Numeric(.5)@2");
  CHECK(error("x = $1a") == "trailing junk after parameter@4");
}

TEST_CASE("lexer: numbers") {
  CHECK(lexed("42 3.5 .5 5. 1e10 1.5E-3 2e+2") ==
        "Integer(42)@0 Numeric(3.5)@3 Numeric(.5)@7 Numeric(5.)@10 Numeric(1e10)@13 "
        "Numeric(1.5E-3)@18 Numeric(2e+2)@25");
  CHECK(lexed("12345678901234567890") == "Integer(12345678901234567890)@0");
  CHECK(lexed("a[1..2]") ==
        "Identifier(a)@0 Punct([)@1 Integer(1)@2 Punct(..)@3 Integer(2)@5 Punct(])@6");
  CHECK(lexed("1.5.3") == "Numeric(1.5)@0 Numeric(.3)@3");
  CHECK(lexed("-1") == "Operator(-)@0 Integer(1)@1");

  // Since Postgres 15 a letter straight after a number is an error, not a second token.
  CHECK(error("SELECT 123abc") == "trailing junk after numeric literal@7");
  CHECK(error("0x1F") == "trailing junk after numeric literal@0");   // hex literals: PG 16
  CHECK(error("1_000") == "trailing junk after numeric literal@0");  // separators: PG 16
  CHECK(error("1e") == "trailing junk after numeric literal@0");
  CHECK(error("1.5e+") == "trailing junk after numeric literal@0");
  CHECK(error("1.x") == "trailing junk after numeric literal@0");
}

TEST_CASE("lexer: operators") {
  CHECK(lexed("a+-b") == "Identifier(a)@0 Operator(+)@1 Operator(-)@2 Identifier(b)@3");
  CHECK(lexed("a*-b") == "Identifier(a)@0 Operator(*)@1 Operator(-)@2 Identifier(b)@3");
  CHECK(lexed("a@-b") == "Identifier(a)@0 Operator(@-)@1 Identifier(b)@3");
  CHECK(lexed("a<>b != c") ==
        "Identifier(a)@0 Operator(<>)@1 Identifier(b)@3 Operator(<>)@5 Identifier(c)@8");
  CHECK(only("!=").text == "!=");
  CHECK(lexed("j->>'k' @> x ?| y") ==
        "Identifier(j)@0 Operator(->>)@1 String(k)@4 Operator(@>)@8 Identifier(x)@11 "
        "Operator(?|)@13 Identifier(y)@16");
  CHECK(lexed("2*/3") == "Integer(2)@0 Operator(*/)@1 Integer(3)@3");
  CHECK(lexed("a<--c\nb") == "Identifier(a)@0 Operator(<)@1 Identifier(b)@6");
  CHECK(lexed("+/*c*/1") == "Operator(+)@0 Integer(1)@6");
  CHECK(lexed("<=>=") == "Operator(<=>=)@0");
  CHECK(lexed("x::int") == "Identifier(x)@0 Punct(::)@1 Identifier(int)@3");
  CHECK(lexed("f(a => 1, b := 2)") ==
        "Identifier(f)@0 Punct(()@1 Identifier(a)@2 Operator(=>)@4 Integer(1)@7 Punct(,)@8 "
        "Identifier(b)@10 Punct(:=)@12 Integer(2)@15 Punct())@16");
  CHECK(lexed("a[1:2];") ==
        "Identifier(a)@0 Punct([)@1 Integer(1)@2 Punct(:)@3 Integer(2)@4 "
        "Punct(])@5 Punct(;)@6");
  CHECK(lexed("{\\") == "Error({)@0 Error(\\)@1");
  CHECK(error("a " + std::string(64, '<')) == "operator too long@2");
}

TEST_CASE("lexer: comments are skipped, nested ones too") {
  CHECK(lexed("/* a /* b */ c */ x -- y\nz") == "Identifier(x)@18 Identifier(z)@25");
  CHECK(lexed("/**/x/*/ */y") == "Identifier(x)@4 Identifier(y)@11");
  CHECK(lexed("x -- no newline") == "Identifier(x)@0");
  CHECK(lexed("x\r--c\ry") == "Identifier(x)@0 Identifier(y)@6");
  CHECK(lexed("x /* /* */") == "Identifier(x)@0 !unterminated /* comment@2");
  CHECK(lexed("'/* no */' \"--\"") == "String(/* no */)@0 QuotedIdentifier(--)@11");
}

TEST_CASE("comments: bodies and offsets of outermost comments") {
  auto found = comments("-- hint\nSELECT /*+ shard(1) /* in */ */ '/*x*/' 'a' -- c\n'b' $$--$$");
  REQUIRE(found.size() == 3);
  CHECK(found[0].first == " hint");
  CHECK(found[0].second == 0);
  CHECK(found[1].first == "+ shard(1) /* in */ ");
  CHECK(found[1].second == 15);
  CHECK(found[2].first == " c");
  CHECK(found[2].second == 52);
  CHECK(comments("a /* open").empty());
  CHECK(comments("'a\\' /* x */'", kOff).empty());
  CHECK(comments("'a\\' /* x */").size() == 1);
}

TEST_CASE("splitStatements: semicolons inside tokens and comments do not split") {
  CHECK(split("select 1; select 2") == std::vector<std::string>{"select 1", "select 2"});
  CHECK(split("  select ';' ; -- ; \n select \";\"/* ; */;") ==
        std::vector<std::string>{"select ';'", "select \";\""});
  CHECK(split("select $$;$$; select $q$ $$; $q$") ==
        std::vector<std::string>{"select $$;$$", "select $q$ $$; $q$"});
  CHECK(split("/* lead */ select 1 /* trail */ ; ") == std::vector<std::string>{"select 1"});
  CHECK(split(";;  ; select 1;;") == std::vector<std::string>{"select 1"});
  CHECK(split(" -- only a comment\n;").empty());
  CHECK(split("").empty());
  CHECK(split("select (1; 2); select 3") == std::vector<std::string>{"select (1; 2)", "select 3"});
}

TEST_CASE("splitStatements: standard_conforming_strings decides where strings end") {
  std::string_view sql = "select 'a\\'; select 1'; select 2";
  CHECK(split(sql, kOff) == std::vector<std::string>{"select 'a\\'; select 1'", "select 2"});
  CHECK(split(sql) == std::vector<std::string>{"select 'a\\'", "select 1'; select 2"});
}

TEST_CASE("splitStatements: BEGIN ATOMIC bodies of functions and procedures") {
  std::string function =
      "CREATE FUNCTION f() RETURNS int LANGUAGE sql\n"
      "BEGIN ATOMIC\n"
      "  SELECT CASE WHEN true THEN 1 END AS end;\n"
      "  SELECT t.end FROM t;\n"
      "END";
  CHECK(split(function + "; SELECT 3;") == std::vector<std::string>{function, "SELECT 3"});

  std::string procedure =
      "create or replace procedure p(begin int) begin atomic insert into t "
      "values (1); end";
  CHECK(split(procedure + ";select 4") == std::vector<std::string>{procedure, "select 4"});

  // A transaction's BEGIN and END are statements of their own.
  CHECK(split("begin; select 1; end;") == std::vector<std::string>{"begin", "select 1", "end"});
  CHECK(split("create table atomic (begin int); select 1") ==
        std::vector<std::string>{"create table atomic (begin int)", "select 1"});
}

TEST_CASE("splitStatements: a lexical error makes the rest one statement") {
  CHECK(split("select 1; select 'abc; select 2  ") ==
        std::vector<std::string>{"select 1", "select 'abc; select 2"});
  CHECK(split("select 1; /* open ; ") == std::vector<std::string>{"select 1", "/* open ;"});
}

TEST_CASE("normalize: constants become ? and are kept in order") {
  Shape shape = normalize(lex("SELECT * FROM Users WHERE id = 42 AND name='x'"));
  CHECK(shape.text == "select * from users where id = ? and name = ?");
  REQUIRE(shape.constants.size() == 2);
  CHECK(shape.constants[0].kind == TokenKind::Integer);
  CHECK(shape.constants[0].view() == "42");
  CHECK(shape.constants[0].offset == 31);
  CHECK(shape.constants[1].kind == TokenKind::String);
  CHECK(shape.constants[1].view() == "x");

  Shape same = normalize(lex("select *\n  from USERS /* c */ where id=7 and name = $$y$$ ;"));
  CHECK(same.text == shape.text);
  CHECK(same.hash == shape.hash);
  CHECK(normalize(lex("select * from users where id = $1")).hash != shape.hash);
}

TEST_CASE("normalize: names, parameters and operators") {
  CHECK(
      normalize(lex("SELECT \"Col\"\"1\", U&\"\\0061\" FROM t WHERE a = $1 AND b > -1.5;;")).text ==
      "select \"Col\"\"1\" , \"a\" from t where a = $1 and b > - ?");
  CHECK(normalize(lex("SELECT B'01', x'ff', 1e3, interval '1 day'")).text ==
        "select ? , ? , ? , interval ?");
  // The jsonb operator ? is spelled so that it cannot be mistaken for a constant.
  CHECK(normalize(lex("select d ? 'k' from t")).text == "select d operator(?) ? from t");
  CHECK(normalize(lex("a != b")).text == "a <> b");
  CHECK(normalize(lex("")).text.empty());
}

TEST_SUITE_END();
