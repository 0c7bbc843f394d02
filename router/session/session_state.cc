#include "router/session/session_state.h"

#include <xxhash.h>

#include <algorithm>

#include "router/wire/message.h"

namespace shardline::session {

namespace {

constexpr std::string_view kReadBack =
    "SELECT 's', name, setting FROM pg_catalog.pg_settings WHERE source = 'session' "
    "AND name NOT IN ('transaction_read_only','transaction_isolation','transaction_deferrable') "
    "UNION ALL SELECT 'r', n, pg_catalog.current_setting(n) FROM pg_catalog.unnest(ARRAY["
    "'server_version','server_encoding','client_encoding','application_name',"
    "'default_transaction_read_only','in_hot_standby','is_superuser','session_authorization',"
    "'DateStyle','IntervalStyle','TimeZone','integer_datetimes',"
    "'standard_conforming_strings']) AS n "
    "UNION ALL SELECT 'x', 'role', pg_catalog.current_setting('role') "
    "UNION ALL SELECT 'c', n, pg_catalog.current_setting(n, true) "
    "FROM pg_catalog.unnest($1::pg_catalog.text[]) AS n";

int orderOf(const std::string& name) {
  if (name == "session_authorization") {
    return 0;
  }
  if (name == "role") {
    return 1;
  }
  return 2;
}

}  // namespace

uint64_t fingerprintOf(const std::vector<Setting>& settings) {
  if (settings.empty()) {
    return 0;
  }
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  for (const auto& [name, value] : settings) {
    XXH3_64bits_update(state, name.data(), name.size() + 1);  // with the terminating NUL
    XXH3_64bits_update(state, value.data(), value.size() + 1);
  }
  uint64_t hash = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return hash == 0 ? 1 : hash;
}

SessionState readBack(const std::vector<Row>& rows, std::string_view loginUser) {
  SessionState state;
  for (const Row& row : rows) {
    if (row.size() != 3 || !row[0] || !row[1] || !row[2]) {
      continue;
    }
    const std::string& kind = *row[0];
    const std::string& name = *row[1];
    const std::string& value = *row[2];
    if (kind == "r") {
      // The router takes writes whichever node answered: to clients it is never a standby
      // (libpq's target_session_attrs=read-write looks at this).
      state.reported.emplace_back(name, name == "in_hot_standby" ? std::string("off") : value);
      if (name == "session_authorization" && value != loginUser) {
        state.settings.emplace_back(name, value);
      }
    } else if (kind == "c") {
      if (!value.empty()) {
        state.settings.emplace_back(name, value);
      }
    } else if (kind == "x") {
      if (name == "role" && value != "none") {
        state.settings.emplace_back(name, value);
      }
    } else if (name != "role" && name != "session_authorization") {
      state.settings.emplace_back(name, value);
    }
  }
  std::stable_sort(state.settings.begin(), state.settings.end(),
                   [](const Setting& a, const Setting& b) {
                     int oa = orderOf(a.first);
                     int ob = orderOf(b.first);
                     return oa != ob ? oa < ob : a.first < b.first;
                   });
  state.fingerprint = fingerprintOf(state.settings);
  return state;
}

namespace {

// A text[] literal of `names`, each double-quoted with \ and " escaped.
std::string textArray(const std::vector<std::string>& names) {
  std::string out = "{";
  for (const auto& name : names) {
    if (out.size() > 1) {
      out += ',';
    }
    out += '"';
    for (char c : name) {
      if (c == '"' || c == '\\') {
        out += '\\';
      }
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

}  // namespace

std::string readBackMessages(const std::vector<std::string>& customNames) {
  std::string out;
  wire::appendQueryWithParam(out, kReadBack, textArray(customNames));
  return out;
}

std::string restoreMessages(const std::vector<Setting>& settings,
                            const std::vector<std::string>& customNames) {
  std::string out;
  wire::MessageWriter(out).begin('Q').cstring("SET SESSION AUTHORIZATION DEFAULT; RESET ALL").end();
  wire::MessageWriter(out)
      .begin('P')
      .cstring("")
      .cstring("SELECT pg_catalog.set_config($1, $2, false)")
      .int16(0)
      .end();
  for (const auto& [name, value] : settings) {
    wire::MessageWriter(out)
        .begin('B')
        .cstring("")
        .cstring("")
        .int16(0)
        .int16(2)
        .int32(int32_t(name.size()))
        .raw(name)
        .int32(int32_t(value.size()))
        .raw(value)
        .int16(0)
        .end();
    wire::MessageWriter(out).begin('E').cstring("").int32(0).end();
  }
  wire::MessageWriter(out).begin('S').end();
  out += readBackMessages(customNames);
  return out;
}

std::vector<Setting> startupSettings(const std::vector<Setting>& startupParameters) {
  std::vector<Setting> out;
  for (const auto& [name, value] : startupParameters) {
    if (name == "user" || name == "database" || name == "replication" ||
        name.rfind("_pq_.", 0) == 0) {
      continue;
    }
    out.emplace_back(name, value);
  }
  return out;
}

}  // namespace shardline::session
