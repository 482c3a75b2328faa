#pragma once
// A fixture for tests that break content on purpose: a copy of the shipped content
// (content/*.textpb) in a temporary directory of the test's own, removed after it.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace aether::testing {

class ContentCopy : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::UnitTest& unit = *::testing::UnitTest::GetInstance();
    dir_ = std::filesystem::temp_directory_path() /
           ("aether-content-" + std::to_string(unit.random_seed()) + "-" + unit.current_test_info()->test_suite_name() + "-" + unit.current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    for (const auto& f : std::filesystem::directory_iterator(std::string(AETHER_SOURCE_DIR) + "/content")) {
      if (f.path().extension() == ".textpb") std::filesystem::copy_file(f.path(), dir_ / f.path().filename());
    }
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

}  // namespace aether::testing
