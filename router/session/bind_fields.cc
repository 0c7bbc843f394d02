#include "router/session/bind_fields.h"

#include "router/wire/message.h"

namespace shardline::session {

std::optional<BindFields> readBind(std::string_view rest) {
  wire::FieldReader r(rest);
  BindFields out;
  int16_t count = 0;
  if (!r.int16(count)) {
    return std::nullopt;
  }
  out.formats.resize(size_t(uint16_t(count)));
  for (auto& format : out.formats) {
    if (!r.int16(format)) {
      return std::nullopt;
    }
  }
  if (!r.int16(count)) {
    return std::nullopt;
  }
  for (size_t i = 0; i < size_t(uint16_t(count)); ++i) {
    int32_t length = 0;
    std::string_view value;
    if (!r.int32(length) || (length >= 0 && !r.bytes(size_t(length), value))) {
      return std::nullopt;
    }
    out.values.push_back(length >= 0 ? std::optional<std::string_view>(value) : std::nullopt);
  }
  out.resultFormats = r.rest();
  return out;
}

// The parameter types a Parse declared, after its query text.
std::vector<int32_t> parseTypes(std::string_view parseRest) {
  wire::FieldReader r(parseRest);
  std::string_view query;
  int16_t count = 0;
  std::vector<int32_t> out;
  if (!r.cstring(query) || !r.int16(count)) {
    return out;
  }
  for (size_t i = 0; i < size_t(uint16_t(count)); ++i) {
    int32_t type = 0;
    if (!r.int32(type)) {
      break;
    }
    out.push_back(type);
  }
  return out;
}

}  // namespace shardline::session
