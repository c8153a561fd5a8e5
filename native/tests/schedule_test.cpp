// Learning-rate schedules against their closed forms: constant, step, exponential (continuous and
// staircase), cosine decay to a floor, and linear warm-up ahead of any of them.
#include <gtest/gtest.h>

#include <cmath>

#include "core/optimizer.h"

namespace ae {
namespace {

constexpr double kBase = 0.01;
constexpr double kPi = 3.141592653589793;

ScheduleConfig schedule(ScheduleKind kind) {
  ScheduleConfig s;
  s.kind = kind;
  return s;
}

TEST(Schedule, ConstantNeverChanges) {
  const ScheduleConfig s = schedule(ScheduleKind::Constant);
  for (int64_t step : {0, 1, 99, 100000}) EXPECT_EQ(scheduled_learning_rate(s, kBase, step), kBase);
}

TEST(Schedule, StepMultipliesByGammaEveryStepSize) {
  ScheduleConfig s = schedule(ScheduleKind::Step);
  s.step_size = 10;
  s.gamma = 0.5f;
  const struct {
    int64_t step;
    int drops;
  } expected[] = {{0, 0}, {9, 0}, {10, 1}, {19, 1}, {20, 2}, {95, 9}};
  for (const auto& e : expected)
    EXPECT_DOUBLE_EQ(scheduled_learning_rate(s, kBase, e.step), kBase * std::pow(0.5, e.drops)) << e.step;
}

TEST(Schedule, ExponentialDecaysContinuously) {
  ScheduleConfig s = schedule(ScheduleKind::Exponential);
  s.decay_steps = 100;
  s.decay_rate = 0.5f;
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(s, kBase, 0), kBase);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(s, kBase, 50), kBase * std::sqrt(0.5));
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(s, kBase, 100), kBase * 0.5);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(s, kBase, 250), kBase * std::pow(0.5, 2.5));
}

TEST(Schedule, ExponentialStaircaseDecaysInWholeSteps) {
  ScheduleConfig s = schedule(ScheduleKind::Exponential);
  s.decay_steps = 100;
  s.decay_rate = 0.5f;
  s.staircase = true;
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(s, kBase, 99), kBase);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(s, kBase, 100), kBase * 0.5);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(s, kBase, 250), kBase * 0.25);
}

TEST(Schedule, CosineDecaysToAlphaFloorAndStaysThere) {
  ScheduleConfig s = schedule(ScheduleKind::Cosine);
  s.decay_steps = 40;
  s.alpha = 0.1f;
  const double alpha = s.alpha;
  for (int64_t step : {0, 10, 20, 33, 40, 41, 1000}) {
    const double progress = double(std::min<int64_t>(step, 40)) / 40.0;
    const double expected = kBase * ((1 - alpha) * 0.5 * (1 + std::cos(kPi * progress)) + alpha);
    EXPECT_NEAR(scheduled_learning_rate(s, kBase, step), expected, 1e-15) << step;
  }
  EXPECT_NEAR(scheduled_learning_rate(s, kBase, 20), kBase * (0.5 * (1 - alpha) + alpha), 1e-15);
  EXPECT_NEAR(scheduled_learning_rate(s, kBase, 40), kBase * alpha, 1e-15);
}

TEST(Schedule, LinearWarmupRisesToBaseThenStartsTheSchedule) {
  ScheduleConfig s = schedule(ScheduleKind::Step);
  s.step_size = 10;
  s.gamma = 0.5f;
  s.warmup_steps = 4;
  // Step k of the warm-up (counting from 0) uses base · (k + 1) / warmup_steps.
  for (int64_t step = 0; step < 4; ++step)
    EXPECT_DOUBLE_EQ(scheduled_learning_rate(s, kBase, step), kBase * double(step + 1) / 4.0) << step;
  // The schedule then counts its own steps from the end of the warm-up.
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(s, kBase, 4), kBase);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(s, kBase, 13), kBase);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(s, kBase, 14), kBase * 0.5);

  ScheduleConfig cosine = schedule(ScheduleKind::Cosine);
  cosine.decay_steps = 10;
  cosine.warmup_steps = 5;
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(cosine, kBase, 0), kBase / 5);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(cosine, kBase, 5), kBase);
  EXPECT_NEAR(scheduled_learning_rate(cosine, kBase, 10), kBase * 0.5, 1e-15);
  EXPECT_NEAR(scheduled_learning_rate(cosine, kBase, 15), 0.0, 1e-15);
}

}  // namespace
}  // namespace ae
