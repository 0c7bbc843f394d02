#include "router/sql/parse_tree.h"

namespace shardline::sql {

ParseTree::ParseTree(std::string_view sql) {
  std::string text(sql);  // libpg_query reads a NUL-terminated string
  raw_ = pg_query_parse_protobuf(text.c_str());
  if (raw_.error != nullptr) {
    error_ = raw_.error->message != nullptr ? raw_.error->message : "syntax error";
    errorPosition_ = raw_.error->cursorpos;
    return;
  }
  tree_ = pg_query__parse_result__unpack(nullptr, raw_.parse_tree.len,
                                         reinterpret_cast<const uint8_t*>(raw_.parse_tree.data));
  if (tree_ == nullptr) {
    error_ = "could not read the parse tree";
  }
}

ParseTree::~ParseTree() {
  if (tree_ != nullptr) {
    pg_query__parse_result__free_unpacked(tree_, nullptr);
  }
  pg_query_free_protobuf_parse_result(raw_);
}

std::optional<std::string> ParseTree::deparse(std::string& error) const {
  std::string packed(pg_query__parse_result__get_packed_size(tree_), '\0');
  pg_query__parse_result__pack(tree_, reinterpret_cast<uint8_t*>(packed.data()));
  PgQueryProtobuf protobuf{packed.size(), packed.data()};
  PgQueryDeparseResult result = pg_query_deparse_protobuf(protobuf);
  std::optional<std::string> out;
  if (result.error != nullptr) {
    error = result.error->message != nullptr ? result.error->message : "deparse failed";
  } else {
    out = result.query;
  }
  pg_query_free_deparse_result(result);
  return out;
}

const ProtobufCMessage* unwrap(const PbNode* node) {
  if (node == nullptr || node->node_case == PG_QUERY__NODE__NODE__NOT_SET) {
    return nullptr;
  }
  const ProtobufCFieldDescriptor* field =
      protobuf_c_message_descriptor_get_field(&pg_query__node__descriptor, node->node_case);
  if (field == nullptr) {
    return nullptr;
  }
  const char* base = reinterpret_cast<const char*>(node);
  return *reinterpret_cast<const ProtobufCMessage* const*>(base + field->offset);
}

std::string_view nodeName(const PbNode* node) {
  const ProtobufCMessage* message = unwrap(node);
  return message != nullptr ? message->descriptor->short_name : "";
}

std::string_view stringOf(const PbNode* node) {
  if (node == nullptr || node->node_case != PG_QUERY__NODE__NODE_STRING ||
      node->string->sval == nullptr) {
    return {};
  }
  return node->string->sval;
}

std::string joinStrings(PbNode* const* items, size_t count, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) {
      out += separator;
    }
    out += stringOf(items[i]);
  }
  return out;
}

std::string_view lastName(PbNode* const* items, size_t count) {
  return count == 0 ? std::string_view() : stringOf(items[count - 1]);
}

namespace {

void walkFields(const ProtobufCMessage* message, const MessageVisitor& visit);

void visitMessage(const ProtobufCMessage* message, const MessageVisitor& visit) {
  if (message == nullptr) {
    return;
  }
  if (message->descriptor == &pg_query__node__descriptor) {
    visitMessage(unwrap(reinterpret_cast<const PbNode*>(message)), visit);
    return;
  }
  if (visit(message)) {
    walkFields(message, visit);
  }
}

void walkFields(const ProtobufCMessage* message, const MessageVisitor& visit) {
  const ProtobufCMessageDescriptor* descriptor = message->descriptor;
  const char* base = reinterpret_cast<const char*>(message);
  for (unsigned i = 0; i < descriptor->n_fields; ++i) {
    const ProtobufCFieldDescriptor& field = descriptor->fields[i];
    if (field.type != PROTOBUF_C_TYPE_MESSAGE) {
      continue;
    }
    if (field.label == PROTOBUF_C_LABEL_REPEATED) {
      size_t count = *reinterpret_cast<const size_t*>(base + field.quantifier_offset);
      auto items = *reinterpret_cast<const ProtobufCMessage* const* const*>(base + field.offset);
      for (size_t j = 0; j < count; ++j) {
        visitMessage(items[j], visit);
      }
      continue;
    }
    if ((field.flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0 &&
        *reinterpret_cast<const uint32_t*>(base + field.quantifier_offset) != field.id) {
      continue;
    }
    visitMessage(*reinterpret_cast<const ProtobufCMessage* const*>(base + field.offset), visit);
  }
}

}  // namespace

void walk(const ProtobufCMessage* message, const MessageVisitor& visit) {
  visitMessage(message, visit);
}

void walk(const PbNode* node, const MessageVisitor& visit) {
  visitMessage(reinterpret_cast<const ProtobufCMessage*>(node), visit);
}

}  // namespace shardline::sql
