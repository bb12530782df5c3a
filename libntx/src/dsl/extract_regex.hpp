// The compiled form of an extract's regex (dsl/extract.hpp), kept out of script.hpp so that only
// the files that compile or run one include Boost.Regex.
#pragma once

#include <boost/regex.hpp>

namespace ntx::dsl {

struct CompiledRegex {
    boost::regex re;
    int group = 0;  // 1 when the pattern has a capture group (the first is taken), else 0: the whole match
};

}  // namespace ntx::dsl
