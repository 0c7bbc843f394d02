// A client's session settings as Postgres holds them, and the messages that
// put them on a backend.
//
// The router does not interpret SET statements: after a transaction that may
// have changed settings it reads them back from the backend (readBackMessages),
// so rollbacks, savepoints, RESET and set_config are accounted exactly as
// Postgres applied them. A value per session; not shared between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace shardline::session {

using Setting = std::pair<std::string, std::string>;
using Row = std::vector<std::optional<std::string>>;

struct SessionState {
  // Settings that differ from a fresh backend's, in the order to apply them:
  // session_authorization first, then role, then the rest by name.
  std::vector<Setting> settings;
  // Hash of `settings`; 0 for none, the same as a fresh backend.
  uint64_t fingerprint = 0;
  // Values of the parameters Postgres reports to clients (ParameterStatus).
  std::vector<Setting> reported;
};

// Messages that run the read-back query, also reading the placeholder
// settings named in `customNames`. Replies end with one ReadyForQuery.
std::string readBackMessages(const std::vector<std::string>& customNames);
constexpr int kReadBackSyncs = 1;

// Builds the state from the read-back rows; `loginUser` is the session user.
SessionState readBack(const std::vector<Row>& rows, std::string_view loginUser);

uint64_t fingerprintOf(const std::vector<Setting>& settings);

// Messages that reset a backend and apply `settings`, followed by the
// read-back query. Replies end with 3 ReadyForQuery.
std::string restoreMessages(const std::vector<Setting>& settings,
                            const std::vector<std::string>& customNames);
constexpr int kRestoreSyncs = 3;

// The parameters of a client's StartupMessage that its backends must be
// opened with (all but user, database, replication and protocol options).
std::vector<Setting> startupSettings(const std::vector<Setting>& startupParameters);

}  // namespace shardline::session
