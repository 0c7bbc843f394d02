#include "router/session/client_login.h"

#include <doctest/doctest.h>

using namespace shardline;
using namespace shardline::session;

namespace {
ClientLogin login(const UserConfig& user, std::string database, std::string application) {
  return ClientLogin{&user, std::move(database), {{"application_name", std::move(application)}}};
}
}  // namespace

TEST_CASE("clients that logged in alike share one login") {
  UserConfig demo;
  demo.name = "demo";
  LoginTable table;
  auto first = table.share(login(demo, "demo", "app"));
  auto second = table.share(login(demo, "demo", "app"));
  CHECK(first == second);
  CHECK(first->database == "demo");
  CHECK(table.size() == 1);
}

TEST_CASE("a login differs by user, database and startup parameters") {
  UserConfig demo;
  UserConfig other;
  LoginTable table;
  auto base = table.share(login(demo, "demo", "app"));
  CHECK(table.share(login(other, "demo", "app")) != base);
  CHECK(table.share(login(demo, "other", "app")) != base);
  CHECK(table.share(login(demo, "demo", "batch")) != base);
  CHECK(table.size() == 4);
}

TEST_CASE("prune forgets the logins no session holds") {
  UserConfig demo;
  LoginTable table;
  auto held = table.share(login(demo, "demo", "app"));
  table.share(login(demo, "demo", "gone"));
  table.prune();
  CHECK(table.size() == 1);
  CHECK(table.share(login(demo, "demo", "app")) == held);
}
