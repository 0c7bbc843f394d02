// Feeds arbitrary COPY data, cut at arbitrary points, to the COPY row reader in each format.
// The rows it returns must cover the input exactly, in order.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "router/wire/copy_rows.h"

using shardline::wire::CopyDataFormat;
using shardline::wire::CopyLayout;
using shardline::wire::CopyRow;
using shardline::wire::CopyRowReader;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) {
    return 0;
  }
  CopyLayout layout;
  layout.format = CopyDataFormat(data[0] % 3);
  layout.keyField = data[1] % 4;
  layout.header = (data[1] & 0x10) != 0;
  if (layout.format == CopyDataFormat::Csv) {
    layout.delimiter = ',';
    layout.null = "";
    layout.escape = (data[1] & 0x20) != 0 ? '\\' : '"';
  }
  std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);
  size_t chunk = 1 + (data[1] >> 6) * 7;

  CopyRowReader reader(layout);
  std::string seen;
  CopyRow row;
  bool ended = false;
  for (size_t at = 0; at < input.size(); at += chunk) {
    reader.feed(input.substr(at, chunk));
    while (reader.next(row)) {
      seen.append(row.bytes);
      ended = ended || row.kind == CopyRow::Kind::Trailer;
    }
  }
  if (reader.finish(row)) {
    seen.append(row.bytes);
  }
  // Without an end marker, every byte is in a row or still pending.
  if (!ended && seen.size() + reader.pending() != input.size()) {
    __builtin_trap();
  }
  if (input.substr(0, seen.size()) != seen) {
    __builtin_trap();
  }
  return 0;
}
