// What the session layer must know about a statement before forwarding it:
// whether it can change session settings, whether it ties the client to its
// backend, and whether it deallocates prepared statements.
//
// Pure functions; any thread may call them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace shardline::session {

struct StatementClass {
  bool changesSettings = false;  // SET, RESET, DISCARD, set_config(...), SET ROLE, ...
  bool pinsBackend =
      false;           // LISTEN, session advisory locks, PREPARE, temp tables, WITH HOLD cursors
  int statements = 0;  // top-level statements in the text
  std::string deallocateName;  // set when the text is exactly one `DEALLOCATE [PREPARE] name`
  bool deallocateAll = false;  // DEALLOCATE ALL or DISCARD ALL
  std::string executeName;     // set when the text is exactly one `EXECUTE name ...`
  std::string prepareName;     // set when the text is exactly one `PREPARE name ...`
  // Dotted (placeholder) setting names the text sets, e.g. "app.tenant".
  std::vector<std::string> customSettings;
};

StatementClass classify(std::string_view sql);
// The same, always from the statement's tokens: classify() skips lexing texts it can tell
// are plain from their bytes alone.
StatementClass classifyTokens(std::string_view sql);

}  // namespace shardline::session
