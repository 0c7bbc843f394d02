#include "router/wire/message.h"

#include <cassert>
#include <cstdint>

namespace shardline::wire {

namespace {
constexpr size_t kInitialBuffer = 4096;
constexpr size_t kIdleKeep = 8192;
constexpr size_t kMaxSpareBuffers = 16;
#if defined(__SANITIZE_ADDRESS__)
// Under AddressSanitizer every buffer given back is freed, so that reading a frame after its
// buffer went back is reported instead of reading another reader's bytes.
constexpr bool kKeepSpareBuffers = false;
#else
constexpr bool kKeepSpareBuffers = true;
#endif

// Buffers of kInitialBuffer bytes that this thread's readers gave back, for the next reader
// that needs one: a client holds no buffer between messages, yet taking one for its next
// message costs no allocation.
class SpareBuffers {
 public:
  SpareBuffers() = default;
  SpareBuffers(const SpareBuffers&) = delete;
  SpareBuffers& operator=(const SpareBuffers&) = delete;
  ~SpareBuffers() {
    for (size_t i = 0; i < count_; ++i) {
      delete[] buffers_[i];
    }
  }

  std::unique_ptr<char[]> take() {
    if (count_ == 0) {
      return std::make_unique_for_overwrite<char[]>(kInitialBuffer);
    }
    return std::unique_ptr<char[]>(buffers_[--count_]);
  }

  // Requires: `buffer` holds kInitialBuffer bytes.
  void give(std::unique_ptr<char[]> buffer) {
    if (kKeepSpareBuffers && count_ < kMaxSpareBuffers) {
      buffers_[count_++] = buffer.release();
    }
  }

 private:
  char* buffers_[kMaxSpareBuffers] = {};
  size_t count_ = 0;
};

thread_local SpareBuffers tSpareBuffers;

}  // namespace

FrameReader::~FrameReader() {
  dropBuffer();
}

void FrameReader::dropBuffer() {
  if (size_ == kInitialBuffer) {
    tSpareBuffers.give(std::move(buf_));
  }
  buf_.reset();
  size_ = 0;
  begin_ = end_ = 0;
}

char* FrameReader::writable(size_t want) {
  if (begin_ == end_) {
    begin_ = end_ = 0;
  }
  if (size_ - end_ >= want) {
    return buf_.get() + end_;
  }
  // Move the unread part to the front before growing.
  if (begin_ > 0) {
    std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (size_ - end_ < want) {
    size_t size = size_ == 0 ? kInitialBuffer : size_;
    while (size - end_ < want) {
      size *= 2;
    }
    assert(size <= UINT32_MAX);  // `want` is at most a message: 1 GiB and 5 bytes
    std::unique_ptr<char[]> grown = size == kInitialBuffer
                                        ? tSpareBuffers.take()
                                        : std::make_unique_for_overwrite<char[]>(size);
    if (end_ > 0) {
      std::memcpy(grown.get(), buf_.get(), end_);
    }
    uint32_t kept = end_;
    dropBuffer();
    buf_ = std::move(grown);
    size_ = uint32_t(size);
    end_ = kept;
  }
  return buf_.get() + end_;
}

FrameStatus FrameReader::next(Frame& frame) {
  size_t avail = end_ - begin_;
  if (avail < 5) {
    return FrameStatus::NeedMore;
  }
  const char* p = buf_.get() + begin_;
  uint32_t len = readU32(p + 1);
  if (len < 4 || len > max_) {
    return FrameStatus::Bad;
  }
  if (avail < size_t(len) + 1) {
    // Make sure the whole message will fit.
    writable(len + 1 - avail);
    return FrameStatus::NeedMore;
  }
  frame.type = p[0];
  frame.body = std::string_view(p + 5, len - 4);
  frame.bytes = std::string_view(p, len + 1);
  begin_ += len + 1;
  return FrameStatus::Ready;
}

FrameStatus FrameReader::nextStartup(std::string_view& body) {
  size_t avail = end_ - begin_;
  if (avail < 4) {
    return FrameStatus::NeedMore;
  }
  const char* p = buf_.get() + begin_;
  uint32_t len = readU32(p);
  // A startup packet is small; Postgres caps it at 10000 bytes.
  if (len < 8 || len > 10000) {
    return FrameStatus::Bad;
  }
  if (avail < len) {
    writable(len - avail);
    return FrameStatus::NeedMore;
  }
  body = std::string_view(p + 4, len - 4);
  begin_ += len;
  return FrameStatus::Ready;
}

void FrameReader::shrinkIfIdle() {
  if (begin_ == end_ && size_ > kIdleKeep) {
    dropBuffer();
  }
}

void FrameReader::releaseIfEmpty() {
  if (begin_ == end_) {
    dropBuffer();
  }
}

bool FieldReader::int32(int32_t& out) {
  if (rest_.size() < 4) {
    return false;
  }
  out = int32_t(readU32(rest_.data()));
  rest_.remove_prefix(4);
  return true;
}

bool FieldReader::int16(int16_t& out) {
  if (rest_.size() < 2) {
    return false;
  }
  out = int16_t((uint16_t(uint8_t(rest_[0])) << 8) | uint8_t(rest_[1]));
  rest_.remove_prefix(2);
  return true;
}

bool FieldReader::cstring(std::string_view& out) {
  size_t nul = rest_.find('\0');
  if (nul == std::string_view::npos) {
    return false;
  }
  out = rest_.substr(0, nul);
  rest_.remove_prefix(nul + 1);
  return true;
}

bool FieldReader::bytes(size_t n, std::string_view& out) {
  if (rest_.size() < n) {
    return false;
  }
  out = rest_.substr(0, n);
  rest_.remove_prefix(n);
  return true;
}

MessageWriter& MessageWriter::begin(char type) {
  if (type != 0) {
    out_.push_back(type);
  }
  start_ = out_.size();
  out_.append(4, '\0');
  return *this;
}

MessageWriter& MessageWriter::int32(int32_t v) {
  auto u = uint32_t(v);
  char b[4] = {char(u >> 24), char(u >> 16), char(u >> 8), char(u)};
  out_.append(b, 4);
  return *this;
}

MessageWriter& MessageWriter::int16(int16_t v) {
  auto u = uint16_t(v);
  char b[2] = {char(u >> 8), char(u)};
  out_.append(b, 2);
  return *this;
}

MessageWriter& MessageWriter::byte(char v) {
  out_.push_back(v);
  return *this;
}

MessageWriter& MessageWriter::cstring(std::string_view s) {
  out_.append(s);
  out_.push_back('\0');
  return *this;
}

MessageWriter& MessageWriter::raw(std::string_view s) {
  out_.append(s);
  return *this;
}

void MessageWriter::end() {
  auto len = uint32_t(out_.size() - start_);
  out_[start_] = char(len >> 24);
  out_[start_ + 1] = char(len >> 16);
  out_[start_ + 2] = char(len >> 8);
  out_[start_ + 3] = char(len);
}

void appendError(std::string& out, std::string_view sqlstate, std::string_view message,
                 std::string_view severity, std::string_view detail) {
  MessageWriter w(out);
  w.begin('E');
  w.byte('S').cstring(severity).byte('V').cstring(severity);
  w.byte('C').cstring(sqlstate).byte('M').cstring(message);
  if (!detail.empty()) {
    w.byte('D').cstring(detail);
  }
  w.byte('\0').end();
}

ErrorFields parseError(std::string_view body) {
  ErrorFields fields;
  FieldReader r(body);
  while (!r.done()) {
    std::string_view code;
    std::string_view value;
    if (!r.bytes(1, code) || code[0] == '\0' || !r.cstring(value)) {
      break;
    }
    switch (code[0]) {
      case 'V':
        fields.severity = value;
        break;
      case 'S':
        if (fields.severity.empty()) {
          fields.severity = value;
        }
        break;
      case 'C':
        fields.sqlstate = value;
        break;
      case 'M':
        fields.message = value;
        break;
      case 'D':
        fields.detail = value;
        break;
      case 'H':
        fields.hint = value;
        break;
      default:
        break;
    }
  }
  return fields;
}

void appendReadyForQuery(std::string& out, char status) {
  MessageWriter(out).begin('Z').byte(status).end();
}

void appendParameterStatus(std::string& out, std::string_view name, std::string_view value) {
  MessageWriter(out).begin('S').cstring(name).cstring(value).end();
}

void appendCommandComplete(std::string& out, std::string_view tag) {
  MessageWriter(out).begin('C').cstring(tag).end();
}

void appendQueryWithParam(std::string& out, std::string_view sql, std::string_view param) {
  MessageWriter(out).begin('P').cstring("").cstring(sql).int16(0).end();
  MessageWriter(out)
      .begin('B')
      .cstring("")
      .cstring("")
      .int16(0)
      .int16(1)
      .int32(int32_t(param.size()))
      .raw(param)
      .int16(0)
      .end();
  MessageWriter(out).begin('E').cstring("").int32(0).end();
  MessageWriter(out).begin('S').end();
}

}  // namespace shardline::wire
