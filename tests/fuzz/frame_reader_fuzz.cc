// libFuzzer target: arbitrary bytes fed to the frame reader in arbitrary
// chunks must never crash, and every frame handed out lies inside the input.
#include <cstdint>
#include <cstring>

#include "router/wire/message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace shardline::wire;
  FrameReader reader(1 << 16);
  size_t offset = 0;
  bool startup = size > 0 && (data[0] & 1) != 0;
  while (offset < size) {
    size_t chunk = 1 + data[offset] % 64;
    chunk = std::min(chunk, size - offset);
    char* out = reader.writable(chunk);
    std::memcpy(out, data + offset, chunk);
    reader.commit(chunk);
    offset += chunk;
    for (;;) {
      FrameStatus status;
      if (startup) {
        std::string_view body;
        status = reader.nextStartup(body);
        startup = false;
      } else {
        Frame frame;
        status = reader.next(frame);
        if (status == FrameStatus::Ready) {
          ErrorFields fields = parseError(frame.body);
          (void)fields;
          FieldReader fieldReader(frame.body);
          std::string_view text;
          while (fieldReader.cstring(text)) {
          }
        }
      }
      if (status == FrameStatus::Bad) {
        return 0;
      }
      if (status == FrameStatus::NeedMore) {
        break;
      }
    }
  }
  return 0;
}
