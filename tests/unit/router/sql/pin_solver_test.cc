#include "router/sql/pin_solver.h"

#include <doctest/doctest.h>

#include <string>

using namespace shardline::sql;

namespace {

std::string rendered(const PinMap& pins, int node) {
  if (!pins[node]) {
    return "-";
  }
  std::string out;
  for (const ValueRef& value : *pins[node]) {
    out += (out.empty() ? "" : ",") + describe(value);
  }
  return out;
}

ValueSet constants(std::initializer_list<uint32_t> indexes) {
  ValueSet set;
  for (uint32_t index : indexes) {
    set.push_back(ValueRef::constant(index));
  }
  return set;
}

}  // namespace

TEST_CASE("nodes are interned once per entry and column") {
  ColumnNodes nodes;
  CHECK(nodes.intern(0, "a") == 0);
  CHECK(nodes.intern(1, "a") == 1);
  CHECK(nodes.intern(0, "a") == 0);
  CHECK(nodes.find(1, "b") == -1);
  CHECK(nodes.size() == 2);
}

TEST_CASE("equalities close over a class; the smallest pin set wins") {
  FactSet facts;
  facts.equal = {{0, 1}, {1, 2}};
  facts.pins = {{2, constants({0, 1})}, {0, constants({2})}};
  PinMap pins = solvePins(4, facts);
  CHECK(rendered(pins, 0) == "c2");
  CHECK(rendered(pins, 1) == "c2");
  CHECK(rendered(pins, 2) == "c2");
  CHECK(rendered(pins, 3) == "-");
}

TEST_CASE("a disjunction pins what every branch pins, to the union") {
  FactSet a;
  a.pins = {{0, constants({0})}, {1, constants({1})}};
  FactSet b;
  b.pins = {{0, constants({2})}};
  FactSet facts;
  facts.disjunctions.push_back({a, b});
  PinMap pins = solvePins(2, facts);
  CHECK(rendered(pins, 0) == "c0,c2");
  CHECK(rendered(pins, 1) == "-");
}

TEST_CASE("seeds count as known pins") {
  FactSet facts;
  facts.equal = {{0, 1}};
  PinMap seeds(2);
  seeds[0] = ValueSet{ValueRef::parameter(1)};
  CHECK(rendered(solvePins(2, facts, &seeds), 1) == "$1");
}
