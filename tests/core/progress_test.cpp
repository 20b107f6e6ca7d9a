// The ETA arithmetic the progress bar and the job runner share.
#include <gtest/gtest.h>

#include "core/progress.h"

namespace qs::progress_test {
namespace {

TEST(RemainingSeconds, IsThisRunsPaceTimesTheWorkLeft) {
  EXPECT_DOUBLE_EQ(*remaining_seconds(10.0, 2.0, 6.0), 30.0);
  EXPECT_DOUBLE_EQ(*remaining_seconds(4.0, 0.25, 0.5), 8.0);
  EXPECT_DOUBLE_EQ(*remaining_seconds(4.0, 1.0, -0.5), 0.0) << "nothing left is no time, not negative time";
  EXPECT_FALSE(remaining_seconds(3.0, 0.0, 5.0)) << "no pace before any work is done";
}

}  // namespace
}  // namespace qs::progress_test
