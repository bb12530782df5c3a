// ntx/distributed.hpp over the segment module.
#include "ntx/distributed.hpp"

#include "segment/segment.hpp"

NTX_BEGIN_NAMESPACE

bool parse_segment(std::string_view text, uint32_t& index, uint32_t& count, std::string& error) {
    segment::Segment s;
    if (!segment::parse(text, s, error)) return false;
    index = s.index;
    count = s.count;
    return true;
}

NTX_END_NAMESPACE
