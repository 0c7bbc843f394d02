// Reads the rows of COPY FROM STDIN data (text, CSV or binary format) as CopyData messages
// bring them, and one field of each row: how the router sends each row to the shard of its
// key. The data arrives in chunks that need not end at row boundaries.
//
// A value per COPY; one thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace shardline::wire {

enum class CopyDataFormat : uint8_t { Text, Csv, Binary };

struct CopyLayout {
  CopyDataFormat format = CopyDataFormat::Text;
  char delimiter = '\t';     // text: tab; CSV: comma
  char quote = '"';          // CSV
  char escape = '"';         // CSV
  std::string null = "\\N";  // text: \N; CSV: the empty unquoted string
  bool header = false;       // the first line names the columns (text and CSV)
  size_t keyField = 0;       // 0-based position of the field to read
};

struct CopyRow {
  enum class Kind : uint8_t {
    Data,     // a row: `key` holds its field (nullopt for NULL)
    Header,   // the header line, or binary format's file header: every shard needs it
    Trailer,  // binary format's end marker, or text's "\." line: every shard needs it
  };
  Kind kind = Kind::Data;
  std::string_view bytes;          // the row as sent, with its line end; valid until next()
  std::optional<std::string> key;  // Data: the field, unescaped (text, CSV) or raw (binary)
  bool malformed = false;          // Data: the row has no such field, or bad binary framing
};

class CopyRowReader {
 public:
  explicit CopyRowReader(CopyLayout layout) : layout_(std::move(layout)) {}

  void feed(std::string_view data) {
    compact();
    buffer_.append(data);
  }
  // The next complete row, if the data so far holds one.
  bool next(CopyRow& row);
  // At the end of the data: the rest, if any, as a last row (a text line without its newline).
  bool finish(CopyRow& row);
  const CopyLayout& layout() const { return layout_; }
  // Bytes received but not yet returned as rows.
  size_t pending() const { return buffer_.size() - at_; }

 private:
  bool nextLine(CopyRow& row, bool atEnd);
  bool nextBinary(CopyRow& row);
  std::optional<std::string> textField(std::string_view line, bool& malformed) const;
  std::optional<std::string> csvField(std::string_view line, bool& malformed) const;
  void compact();

  CopyLayout layout_;
  std::string buffer_;
  size_t at_ = 0;         // start of the first row not yet returned
  bool started_ = false;  // the header (if any) has been returned
  bool ended_ = false;    // the end marker has been seen
  size_t rowNumber_ = 0;
};

}  // namespace shardline::wire
