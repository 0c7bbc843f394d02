// The fields of Bind and Parse messages the router reads to route and split statements.
// Pure functions over message bodies; any thread may call them.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace shardline::session {

// A Bind's parameter formats and values, and its result formats as they came. Counts are
// unsigned 16-bit numbers, as Postgres reads them.
struct BindFields {
  std::vector<int16_t> formats;
  std::vector<std::optional<std::string_view>> values;  // views into the message
  std::string_view resultFormats;
};

// Reads what follows the portal and statement names; nullopt when malformed.
std::optional<BindFields> readBind(std::string_view rest);

// The parameter types a Parse declared (`parseRest`: what follows the statement name).
std::vector<int32_t> parseTypes(std::string_view parseRest);

}  // namespace shardline::session
