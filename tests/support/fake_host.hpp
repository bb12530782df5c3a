// ntx's own plugin unit tests use the installed SDK's test host (plugin-test-host/), under the names
// they were written with.
#pragma once

#include <ntx/testing/plugin_test_host.hpp>

namespace ntx::test {

using FakeHost = ntx::testing::PluginTestHost;
using Params = ntx::testing::Params;
using SocketRecord = ntx::testing::SocketRecord;
using Outcome = ntx::testing::Outcome;
using TimerRecord = ntx::testing::TimerRecord;

}  // namespace ntx::test
