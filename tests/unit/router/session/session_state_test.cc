#include "router/session/session_state.h"

#include <doctest/doctest.h>

#include "router/wire/message.h"

using namespace shardline::session;

namespace {
Row row(const char* kind, const char* name, const char* value) {
  return Row{std::string(kind), std::string(name), std::string(value)};
}
}  // namespace

TEST_CASE("read-back keeps session settings, role and a changed session user, in apply order") {
  std::vector<Row> rows = {
      row("s", "search_path", "s1"),
      row("s", "application_name", "app"),
      row("r", "server_version", "15.18"),
      row("r", "session_authorization", "demo"),
      row("x", "role", "r1"),
      Row{std::string("s1")},  // a set_config result row: not part of the read-back
  };
  SessionState state = readBack(rows, "demo");
  REQUIRE(state.settings.size() == 3);
  CHECK(state.settings[0] == Setting{"role", "r1"});
  CHECK(state.settings[1] == Setting{"application_name", "app"});
  CHECK(state.settings[2] == Setting{"search_path", "s1"});
  CHECK(state.reported.size() == 2);
  CHECK(state.fingerprint == fingerprintOf(state.settings));
  CHECK(state.fingerprint != 0);
}

TEST_CASE("no settings and role none give the fresh fingerprint 0") {
  SessionState state =
      readBack({row("x", "role", "none"), row("r", "session_authorization", "demo")}, "demo");
  CHECK(state.settings.empty());
  CHECK(state.fingerprint == 0);
}

TEST_CASE("another session user is kept and applied first") {
  SessionState state =
      readBack({row("s", "work_mem", "8MB"), row("r", "session_authorization", "alice")}, "demo");
  REQUIRE(state.settings.size() == 2);
  CHECK(state.settings[0] == Setting{"session_authorization", "alice"});
}

TEST_CASE("placeholder settings read back by name are kept unless empty") {
  SessionState state = readBack({row("c", "app.tenant", "5"), row("c", "app.other", "")}, "demo");
  REQUIRE(state.settings.size() == 1);
  CHECK(state.settings[0] == Setting{"app.tenant", "5"});
}

TEST_CASE("fingerprints separate name from value") {
  CHECK(fingerprintOf({{"ab", "c"}}) != fingerprintOf({{"a", "bc"}}));
  CHECK(fingerprintOf({{"a", "1"}}) == fingerprintOf({{"a", "1"}}));
}

TEST_CASE("startup parameters keep everything but user, database and protocol options") {
  auto kept = startupSettings({{"user", "demo"},
                               {"database", "demo"},
                               {"application_name", "psql"},
                               {"_pq_.x", "1"},
                               {"options", "-c work_mem=8MB"}});
  REQUIRE(kept.size() == 2);
  CHECK(kept[0] == Setting{"application_name", "psql"});
  CHECK(kept[1] == Setting{"options", "-c work_mem=8MB"});
}

TEST_CASE("restore messages reset, set each value through parameters, and read back") {
  std::string bytes = restoreMessages({{"search_path", "a, \"b c\""}}, {"app.tenant"});
  shardline::wire::FrameReader reader(1 << 20);
  char* data = reader.writable(bytes.size());
  std::memcpy(data, bytes.data(), bytes.size());
  reader.commit(bytes.size());
  std::string types;
  shardline::wire::Frame frame;
  while (reader.next(frame) == shardline::wire::FrameStatus::Ready) {
    types.push_back(frame.type);
    if (frame.type == 'B' && types == "QPB") {
      // The value travels as a parameter, never inside SQL text.
      CHECK(frame.body.find("a, \"b c\"") != std::string_view::npos);
    }
    if (frame.type == 'B' && types.size() > 4) {
      CHECK(frame.body.find("{\"app.tenant\"}") != std::string_view::npos);
    }
  }
  CHECK(types == "QPBESPBES");
}
