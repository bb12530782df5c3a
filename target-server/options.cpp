#include "options.hpp"

#include <boost/program_options.hpp>

#include <charconv>
#include <iostream>
#include <string_view>

namespace po = boost::program_options;

namespace ntx_target {
namespace {

// The routes, for --help (docs/tools/ntx-target.md says the same at length).
constexpr const char* routes_help = R"(Routes (every port):
  GET|HEAD /asset              the port's asset (--body-size bytes of JSON at start)
  POST|PUT|PATCH /asset        store the body as the port's asset -> {"stored":N} (201 for POST)
  DELETE /asset                back to the default asset -> 204
  ANY /status/CODE             answer CODE (200..599) with {"status":CODE}
  GET /slow?ms=N               answer "slow" after N ms (0..3600000)
  GET /chunked?n=N             a chunked body of N lines "chunk-<i>"
  GET /close                   close the connection without answering
  POST /login                  {"user":"..","password":".."} -> {"token":".."}; 400 {"error":..} on bad JSON
  GET /api/me                  needs Authorization: Bearer <token> -> {"user":".."}; 401 without
  POST /api/orders             needs the bearer token -> 201 {"order":N,"user":".."}; 401 without
  GET /_stats                  request counts as JSON (not counted itself)
  POST /_stats/reset           zero the counts and reset every asset -> 204
  anything else                404 "not found"
)";

constexpr std::size_t max_body_size = 16 * 1024 * 1024;  // the request body limit too

bool parse_port(std::string_view s, std::uint16_t& out) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size() || v < 1 || v > 65535) return false;
    out = static_cast<std::uint16_t>(v);
    return true;
}

// "A-B" or "P".
bool parse_ports(std::string_view s, std::uint16_t& first, std::uint16_t& last) {
    auto dash = s.find('-');
    if (dash == std::string_view::npos) {
        if (!parse_port(s, first)) return false;
        last = first;
        return true;
    }
    return parse_port(s.substr(0, dash), first) && parse_port(s.substr(dash + 1), last) &&
           first <= last;
}

}  // namespace

std::optional<Options> parse_options(int argc, char** argv, int& exit_code) {
    Options o;
    std::string ports = "20000-20999";
    po::options_description desc(
        "ntx-target: local HTTP/1.1 target server for ntx (loopback only)\nOptions");
    desc.add_options()
        ("help,h", "show this help")
        ("listen", po::value<std::string>(&o.listen_text)->default_value(o.listen_text),
         "address to listen on; must be loopback (127.0.0.0/8 or ::1)")
        ("ports", po::value<std::string>(&ports)->default_value(ports),
         "port range A-B or single port P; one listener per port")
        ("threads", po::value<unsigned>(&o.threads)->default_value(o.threads),
         "number of threads running the io_context")
        ("ready-file", po::value<std::string>(&o.ready_file),
         "write this file (content \"A-B\\n\") once every port is listening")
        ("body-size", po::value<std::size_t>(&o.body_size)->default_value(o.body_size),
         "size in bytes of the default /asset body")
        ("max-seconds", po::value<unsigned>(&o.max_seconds)->default_value(o.max_seconds),
         "exit by itself after this many seconds; 0 = no limit");

    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
        po::notify(vm);
    } catch (const std::exception& e) {
        std::cerr << "ntx-target: " << e.what() << "\n" << desc << "\n";
        exit_code = 2;
        return std::nullopt;
    }
    if (vm.count("help")) {
        std::cout << desc << "\n" << routes_help;
        exit_code = 0;
        return std::nullopt;
    }

    std::string addr_text = o.listen_text == "localhost" ? "127.0.0.1" : o.listen_text;
    boost::system::error_code ec;
    o.listen = boost::asio::ip::make_address(addr_text, ec);
    if (ec) {
        std::cerr << "ntx-target: --listen '" << o.listen_text << "' is not an IP address\n";
        exit_code = 2;
        return std::nullopt;
    }
    if (!o.listen.is_loopback()) {
        std::cerr << "ntx-target: refusing to listen on non-loopback address '" << o.listen_text
                  << "' (only 127.0.0.0/8 and ::1 are allowed)\n";
        exit_code = 2;
        return std::nullopt;
    }
    if (!parse_ports(ports, o.port_first, o.port_last)) {
        std::cerr << "ntx-target: --ports '" << ports
                  << "' is not a port P or a range A-B with 1 <= A <= B <= 65535\n";
        exit_code = 2;
        return std::nullopt;
    }
    if (o.body_size > max_body_size) {
        std::cerr << "ntx-target: --body-size must be at most " << max_body_size << "\n";
        exit_code = 2;
        return std::nullopt;
    }
    if (o.threads < 1 || o.threads > 256) {
        std::cerr << "ntx-target: --threads must be between 1 and 256\n";
        exit_code = 2;
        return std::nullopt;
    }
    return o;
}

}  // namespace ntx_target
