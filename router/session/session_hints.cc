// Routing hints for a session: SET, RESET and SHOW of shardline.shard and shardline.key,
// answered by the router, and their use by the statements that follow.
#include <algorithm>

#include "router/route/route.h"
#include "router/server.h"
#include "router/session/client_session.h"

namespace shardline::session {

bool ClientSession::isHintSetting(const sql::Analysis& analysis) const {
  bool setting = analysis.kind == sql::StatementKind::Set ||
                 analysis.kind == sql::StatementKind::Reset ||
                 analysis.kind == sql::StatementKind::Show;
  return setting && analysis.setting.name.starts_with("shardline.");
}

// The router answers these itself: Postgres never sees them, and no backend is needed.
void ClientSession::applyHintSetting(const sql::AnalyzedStatement& analyzed, Target& target) {
  const sql::SettingFacts& setting = analyzed.analysis->setting;
  std::string key = setting.name.substr(std::string_view("shardline.").size());
  target.control = Target::Control::Setting;
  if (key != "shard" && key != "key") {
    target.kind = Target::Kind::Error;
    target.error =
        errorResponse("42704", "unrecognized configuration parameter \"" + setting.name + "\"");
    return;
  }
  RoutingState& state = routing();
  std::vector<sql::Hint>& hints = setting.local ? state.localHints : state.sessionHints;
  auto drop = [&key](std::vector<sql::Hint>& from) {
    std::erase_if(from, [&key](const sql::Hint& hint) { return hint.key == key; });
  };

  if (setting.action == sql::SettingAction::Show) {
    std::string value;
    for (const auto* list : {&state.sessionHints, &state.localHints}) {
      for (const sql::Hint& hint : *list) {
        value = hint.key == key ? hint.value : value;
      }
    }
    wire::MessageWriter(target.reply)
        .begin('T')
        .int16(1)
        .cstring(setting.name)
        .int32(0)
        .int16(0)
        .int32(25)  // text
        .int16(-1)
        .int32(-1)
        .int16(0)
        .end();
    wire::MessageWriter(target.reply)
        .begin('D')
        .int16(1)
        .int32(int32_t(value.size()))
        .raw(value)
        .end();
    wire::appendCommandComplete(target.reply, "SHOW");
    target.tag = "SHOW";
    return;
  }
  target.tag = setting.action == sql::SettingAction::Reset ? "RESET" : "SET";
  drop(state.sessionHints);
  drop(state.localHints);
  if (setting.action == sql::SettingAction::Set && setting.values.size() == 1) {
    const sql::SettingValue& value = setting.values.front();
    std::string text = value.word;
    if (value.value.source == sql::ValueRef::Source::Constant &&
        value.value.index < analyzed.shape.constants.size()) {
      text = std::string(analyzed.shape.constants[value.value.index].view());
      if (value.value.negated) {
        text.insert(text.begin(), '-');
      }
    }
    if (key == "shard" && !worker_.map().findShard(text)) {
      target.kind = Target::Kind::Error;
      target.error =
          errorResponse(route::kBadHint, "shardline.shard names unknown shard \"" + text + "\"");
      return;
    }
    hints.push_back(sql::Hint{key, text});
  } else if (setting.action != sql::SettingAction::Reset &&
             setting.action != sql::SettingAction::SetDefault) {
    target.kind = Target::Kind::Error;
    target.error = errorResponse("22023", "SET " + setting.name + " takes one value");
    return;
  }
  wire::appendCommandComplete(target.reply, target.tag);
}

// Hints written in the statement win over the session's.
void ClientSession::addSessionHints(sql::Hints& hints) const {
  bool hinted = std::any_of(hints.items.begin(), hints.items.end(), [](const sql::Hint& hint) {
    return hint.key == "shard" || hint.key == "key";
  });
  if (hinted || !routing_) {
    return;
  }
  for (const auto* list : {&routing_->localHints, &routing_->sessionHints}) {
    if (!list->empty()) {
      hints.items.insert(hints.items.end(), list->begin(), list->end());
      return;
    }
  }
}

}  // namespace shardline::session
