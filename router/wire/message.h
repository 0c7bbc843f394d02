// Postgres v3 protocol framing: an incremental frame reader and a message writer.
//
// Both are plain values owned by one connection; no thread-safety of their own.
// See the "Message Formats" chapter of the Postgres manual for the layouts.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shardline::wire {

// Codes of the special startup-phase requests (sent where a protocol version would be).
constexpr uint32_t kProtocolV3 = 196608;  // 3.0
constexpr uint32_t kSslRequestCode = 80877103;
constexpr uint32_t kGssEncRequestCode = 80877104;
constexpr uint32_t kCancelRequestCode = 80877102;

// One message: its type byte and its body (without type and length).
struct Frame {
  char type = 0;
  std::string_view body;
  std::string_view bytes;  // the whole message, type and length included
};

enum class FrameStatus {
  Ready,     // a frame was returned
  NeedMore,  // the buffer holds only part of a message
  Bad,       // the length field is impossible or over the limit; the stream is unusable
};

// Accumulates bytes from a socket and hands out complete messages.
class FrameReader {
 public:
  explicit FrameReader(uint32_t maxMessageBytes) : max_(maxMessageBytes) {}
  FrameReader(const FrameReader&) = delete;
  FrameReader& operator=(const FrameReader&) = delete;
  ~FrameReader();

  // Space to read into; at least `want` bytes.
  char* writable(size_t want);
  size_t writableSize() const { return size_ - end_; }
  void commit(size_t n) { end_ += uint32_t(n); }

  // Next complete typed message, valid until the next call that changes the buffer.
  FrameStatus next(Frame& frame);
  // Next complete startup-phase message (no type byte), body excludes the length.
  FrameStatus nextStartup(std::string_view& body);

  bool empty() const { return begin_ == end_; }
  size_t buffered() const { return end_ - begin_; }
  // Gives back large buffers while a connection sits idle.
  void shrinkIfIdle();
  // Gives back the whole buffer when nothing is buffered.
  void releaseIfEmpty();

 private:
  void dropBuffer();

  // Sizes in 32 bits (a message is at most 1 GiB), and bytes left uninitialized until read
  // into: every connection holds a reader, thousands of idle clients among them. Only
  // [begin_, end_) holds bytes read.
  std::unique_ptr<char[]> buf_;
  uint32_t size_ = 0;  // bytes allocated at buf_
  uint32_t begin_ = 0;
  uint32_t end_ = 0;
  uint32_t max_;
};

// Reading fields out of a message body; every accessor fails softly.
class FieldReader {
 public:
  explicit FieldReader(std::string_view body) : rest_(body) {}
  bool int32(int32_t& out);
  bool int16(int16_t& out);
  bool cstring(std::string_view& out);
  bool bytes(size_t n, std::string_view& out);
  std::string_view rest() const { return rest_; }
  bool done() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

// Appends messages to a byte string.
class MessageWriter {
 public:
  explicit MessageWriter(std::string& out) : out_(out) {}
  MessageWriter& begin(char type);
  MessageWriter& int32(int32_t v);
  MessageWriter& int16(int16_t v);
  MessageWriter& byte(char v);
  MessageWriter& cstring(std::string_view s);
  MessageWriter& raw(std::string_view s);
  void end();

 private:
  std::string& out_;
  size_t start_ = 0;
};

inline uint32_t readU32(const char* p) {
  return (uint32_t(uint8_t(p[0])) << 24) | (uint32_t(uint8_t(p[1])) << 16) |
         (uint32_t(uint8_t(p[2])) << 8) | uint32_t(uint8_t(p[3]));
}

// Fields of an ErrorResponse or NoticeResponse.
struct ErrorFields {
  std::string severity;  // S (localized) and V
  std::string sqlstate;  // C
  std::string message;   // M
  std::string detail;    // D
  std::string hint;      // H
};

void appendError(std::string& out, std::string_view sqlstate, std::string_view message,
                 std::string_view severity = "ERROR", std::string_view detail = {});
ErrorFields parseError(std::string_view body);
void appendReadyForQuery(std::string& out, char status);
void appendParameterStatus(std::string& out, std::string_view name, std::string_view value);
void appendCommandComplete(std::string& out, std::string_view tag);
// Parse, Bind, Execute and Sync of `sql` as the unnamed statement, with one parameter in text
// and every result column in text.
void appendQueryWithParam(std::string& out, std::string_view sql, std::string_view param);

}  // namespace shardline::wire
