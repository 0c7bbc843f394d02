#include "router/wire/copy_rows.h"

#include <cstdint>

namespace shardline::wire {

namespace {

constexpr size_t kSignatureSize = 11;  // "PGCOPY\n\377\r\n\0"

int32_t readInt32(std::string_view bytes, size_t at) {
  return int32_t((uint32_t(uint8_t(bytes[at])) << 24) | (uint32_t(uint8_t(bytes[at + 1])) << 16) |
                 (uint32_t(uint8_t(bytes[at + 2])) << 8) | uint32_t(uint8_t(bytes[at + 3])));
}

int16_t readInt16(std::string_view bytes, size_t at) {
  return int16_t((uint16_t(uint8_t(bytes[at])) << 8) | uint16_t(uint8_t(bytes[at + 1])));
}

std::string_view withoutLineEnd(std::string_view line) {
  if (!line.empty() && line.back() == '\n') {
    line.remove_suffix(1);
  }
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  return line;
}

int hexDigit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// Text format's backslash sequences, as COPY reads them.
std::string unescapeText(std::string_view field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    char c = field[i];
    if (c != '\\' || i + 1 == field.size()) {
      out += c;
      continue;
    }
    char next = field[++i];
    switch (next) {
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case 'x': {
        int value = 0;
        int digits = 0;
        while (digits < 2 && i + 1 < field.size() && hexDigit(field[i + 1]) >= 0) {
          value = value * 16 + hexDigit(field[++i]);
          ++digits;
        }
        out += digits == 0 ? 'x' : char(value);
        break;
      }
      default:
        if (next >= '0' && next <= '7') {
          int value = next - '0';
          for (int digits = 1;
               digits < 3 && i + 1 < field.size() && field[i + 1] >= '0' && field[i + 1] <= '7';
               ++digits) {
            value = value * 8 + (field[++i] - '0');
          }
          out += char(value);
        } else {
          out += next;
        }
        break;
    }
  }
  return out;
}

}  // namespace

void CopyRowReader::compact() {
  if (at_ > 0 && (at_ == buffer_.size() || at_ > 65536)) {
    buffer_.erase(0, at_);
    at_ = 0;
  }
}

bool CopyRowReader::next(CopyRow& row) {
  if (ended_) {
    // Postgres ignores what follows the end marker.
    at_ = buffer_.size();
    return false;
  }
  return layout_.format == CopyDataFormat::Binary ? nextBinary(row) : nextLine(row, false);
}

bool CopyRowReader::finish(CopyRow& row) {
  if (ended_ || at_ == buffer_.size() || layout_.format == CopyDataFormat::Binary) {
    return false;
  }
  return nextLine(row, true);
}

bool CopyRowReader::nextLine(CopyRow& row, bool atEnd) {
  std::string_view data = std::string_view(buffer_).substr(at_);
  size_t end = std::string_view::npos;
  if (layout_.format == CopyDataFormat::Csv) {
    // A newline inside quotes belongs to the field.
    bool quoted = false;
    for (size_t i = 0; i < data.size(); ++i) {
      char c = data[i];
      if (quoted && c == layout_.escape && layout_.escape != layout_.quote && i + 1 < data.size()) {
        ++i;
      } else if (c == layout_.quote) {
        quoted = !quoted;
      } else if (c == '\n' && !quoted) {
        end = i;
        break;
      }
    }
  } else {
    end = data.find('\n');
  }
  if (end == std::string_view::npos && !atEnd) {
    return false;
  }
  size_t length = end == std::string_view::npos ? data.size() : end + 1;
  row = CopyRow{};
  row.bytes = data.substr(0, length);
  at_ += length;
  std::string_view line = withoutLineEnd(row.bytes);
  if (!started_) {
    started_ = true;
    if (layout_.header) {
      row.kind = CopyRow::Kind::Header;
      return true;
    }
  }
  if (line == "\\.") {
    row.kind = CopyRow::Kind::Trailer;
    ended_ = true;
    return true;
  }
  ++rowNumber_;
  row.key = layout_.format == CopyDataFormat::Csv ? csvField(line, row.malformed)
                                                  : textField(line, row.malformed);
  return true;
}

std::optional<std::string> CopyRowReader::textField(std::string_view line, bool& malformed) const {
  size_t field = 0;
  size_t start = 0;
  for (size_t i = 0; i <= line.size(); ++i) {
    if (i < line.size() && line[i] == '\\') {
      ++i;  // an escaped byte, never a delimiter
      continue;
    }
    if (i < line.size() && line[i] != layout_.delimiter) {
      continue;
    }
    if (field == layout_.keyField) {
      std::string_view raw = line.substr(start, i - start);
      if (raw == layout_.null) {
        return std::nullopt;
      }
      return unescapeText(raw);
    }
    ++field;
    start = i + 1;
  }
  malformed = true;
  return std::nullopt;
}

std::optional<std::string> CopyRowReader::csvField(std::string_view line, bool& malformed) const {
  size_t field = 0;
  std::string value;
  bool quoted = false;
  bool wasQuoted = false;
  for (size_t i = 0; i <= line.size(); ++i) {
    if (i == line.size() || (!quoted && line[i] == layout_.delimiter)) {
      if (field == layout_.keyField) {
        if (!wasQuoted && value == layout_.null) {
          return std::nullopt;
        }
        return value;
      }
      ++field;
      value.clear();
      wasQuoted = false;
      continue;
    }
    char c = line[i];
    if (quoted && c == layout_.escape && i + 1 < line.size() &&
        (line[i + 1] == layout_.quote || line[i + 1] == layout_.escape) &&
        (layout_.escape != layout_.quote || line[i + 1] == layout_.quote)) {
      value += line[++i];
    } else if (c == layout_.quote) {
      quoted = !quoted;
      wasQuoted = true;
    } else {
      value += c;
    }
  }
  malformed = true;
  return std::nullopt;
}

bool CopyRowReader::nextBinary(CopyRow& row) {
  std::string_view data = std::string_view(buffer_).substr(at_);
  row = CopyRow{};
  if (!started_) {
    if (data.size() < kSignatureSize + 8) {
      return false;
    }
    int32_t extension = readInt32(data, kSignatureSize + 4);
    size_t length = kSignatureSize + 8 + size_t(extension < 0 ? 0 : extension);
    if (data.size() < length) {
      return false;
    }
    started_ = true;
    row.kind = CopyRow::Kind::Header;
    row.bytes = data.substr(0, length);
    at_ += length;
    return true;
  }
  if (data.size() < 2) {
    return false;
  }
  int16_t fields = readInt16(data, 0);
  if (fields == -1) {
    row.kind = CopyRow::Kind::Trailer;
    row.bytes = data.substr(0, 2);
    at_ += 2;
    ended_ = true;
    return true;
  }
  size_t at = 2;
  for (int16_t i = 0; i < fields; ++i) {
    if (data.size() < at + 4) {
      return false;
    }
    int32_t length = readInt32(data, at);
    at += 4;
    size_t size = length < 0 ? 0 : size_t(length);
    if (data.size() < at + size) {
      return false;
    }
    if (size_t(i) == layout_.keyField && length >= 0) {
      row.key = std::string(data.substr(at, size));
    }
    at += size;
  }
  row.malformed = fields < 0 || size_t(fields) <= layout_.keyField;
  row.bytes = data.substr(0, at);
  at_ += at;
  ++rowNumber_;
  return true;
}

}  // namespace shardline::wire
