// expect_error(): the tests' check that a call fails with resa::Error naming what is wrong.
#pragma once

#include <string>

#include <gtest/gtest.h>

#include "resa/resa.hpp"

namespace resa::test {

// Throws resa::Error with a message containing `needle`?
template <class F>
void expect_error(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning \"" << needle << "\"";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

}  // namespace resa::test
