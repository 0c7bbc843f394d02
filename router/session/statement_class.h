// What the session layer must know about a statement before forwarding it:
// whether it can change session settings, whether it ties the client to its
// backend, and whether it deallocates prepared statements.
//
// classify() is a pure function; any thread may call it. A ClassCache belongs to one worker.
#pragma once

#include <cstdint>
#include <memory>
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

// Remembers texts that classify() found plain (one statement that changes no setting, pins
// nothing and names no prepared statement), so that a client sending the same statement
// again, as most do, is not lexed again. Direct-mapped by the text's hash: a text replaces
// whatever held its slot. At most `slots` texts of at most `maxTextBytes` each are kept.
class ClassCache {
 public:
  static constexpr size_t kDefaultSlots = 1024;
  static constexpr size_t kDefaultMaxTextBytes = 2048;

  explicit ClassCache(size_t slots = kDefaultSlots, size_t maxTextBytes = kDefaultMaxTextBytes);

  // The same as classify(sql).
  StatementClass classify(std::string_view sql);

  uint64_t hits() const { return hits_; }

 private:
  struct Slot {
    uint64_t hash = 0;
    std::string text;  // empty while the slot holds nothing
  };

  std::unique_ptr<Slot[]> slots_;  // made on first use
  size_t slotCount_;
  size_t maxTextBytes_;
  uint64_t hits_ = 0;
};

}  // namespace shardline::session
