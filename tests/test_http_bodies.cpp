// The http plugin's request bodies through the fake host: form (urlencoded), multipart (text and file
// parts), json (a map of params or a JSON text) and basic auth; prepared once while params repeat;
// bad combinations refused at planning with the run-time rule.
#include "support/plugin_harness.hpp"

#include <catch2/catch.hpp>

#include <string>

using ntx::test::FakeHost;
using ntx::test::Params;

namespace {

const char *const kPluginPath = NTX_TEST_PLUGIN_DIR "/ntx_http.so";
const std::string kOk = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

struct Harness : ntx::test::PluginHarness {
    Harness() : PluginHarness(kPluginPath, "{}") {}

    // User 1's POST with `params` (url http://h/p added): the bytes it sent.
    std::string post(Params params, const std::string &call = "post") {
        params.insert(params.begin(), {"url", "http://h/p"});
        const std::size_t before = host.socket_count();
        const std::size_t sent_before = before == 0 ? 0 : host.last_socket().sent.size();
        const auto id = host.run(1, call, std::move(params));
        REQUIRE(host.run_status(id) == NTX_OK);
        const bool fresh = host.socket_count() != before;
        if (fresh) REQUIRE(host.connect(host.last_socket().id));
        const std::string sent = host.last_socket().sent.substr(fresh ? 0 : sent_before);
        REQUIRE(host.deliver(host.last_socket().id, kOk));
        REQUIRE(host.outcome(id).ok);
        return sent;
    }
};

std::string body_of(const std::string &request) { return request.substr(request.find("\r\n\r\n") + 4); }

std::string header(const std::string &request, const std::string &name) {
    const auto at = request.find("\r\n" + name + ": ");
    if (at == std::string::npos) return {};
    const auto start = at + 4 + name.size();
    return request.substr(start, request.find("\r\n", start) - start);
}

}  // namespace

TEST_CASE("form: fields urlencoded with their Content-Type", "[http][bodies]") {
    Harness h;
    const std::string sent = h.post({{"form.user", "ann lee"}, {"form.pass", "a&b=c/é"}});
    CHECK(header(sent, "Content-Type") == "application/x-www-form-urlencoded");
    CHECK(body_of(sent) == "user=ann+lee&pass=a%26b%3Dc%2F%C3%A9");
    CHECK(header(sent, "Content-Length") == std::to_string(body_of(sent).size()));
    // A script's own Content-Type stays.
    const std::string own = h.post({{"form.a", "1"}, {"headers.Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}});
    CHECK(header(own, "Content-Type") == "application/x-www-form-urlencoded; charset=utf-8");
    CHECK(own.find("Content-Type", own.find("Content-Type") + 1) == std::string::npos);
}

TEST_CASE("multipart: text and file parts with a boundary no part contains", "[http][bodies]") {
    Harness h;
    const std::string file("PK\x03\x04\0\x01binary\r\n--not-a-boundary", 27);
    const std::string sent = h.post({{"multipart.note", "hello"},
                                     {"multipart.upload.file", file},
                                     {"multipart.upload.filename", "a \"b\".zip"},
                                     {"multipart.upload.content-type", "application/zip"},
                                     {"multipart.raw.file", "xyz"}});
    const std::string ct = header(sent, "Content-Type");
    REQUIRE(ct.rfind("multipart/form-data; boundary=", 0) == 0);
    const std::string boundary = ct.substr(ct.find('=') + 1);
    CHECK(body_of(sent) == "--" + boundary + "\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n"
                           "--" + boundary + "\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"a %22b%22.zip\"\r\n"
                           "Content-Type: application/zip\r\n\r\n" + file + "\r\n"
                           "--" + boundary + "\r\nContent-Disposition: form-data; name=\"raw\"; filename=\"raw\"\r\n"
                           "Content-Type: application/octet-stream\r\n\r\nxyz\r\n"
                           "--" + boundary + "--\r\n");
    CHECK(file.find(boundary) == std::string::npos);
}

TEST_CASE("json: a map of params or a JSON text, with its Content-Type", "[http][bodies]") {
    Harness h;
    const std::string sent = h.post({{"json.name", "ann"}, {"json.age", "42"}, {"json.admin", "false"},
                                     {"json.address.city", "Oslo"}, {"json.address.zip", "0150"},
                                     {"json.note", "null"}, {"json.ratio", "-1.5e3"}});
    CHECK(header(sent, "Content-Type") == "application/json");
    // "0150" is not a JSON number (a leading zero): it stays a string.
    CHECK(body_of(sent) == R"({"name":"ann","age":42,"admin":false,"address":{"city":"Oslo","zip":"0150"},"note":null,"ratio":-1.5E3})");
    const std::string text = h.post({{"json", R"([1, {"a": "b"}])"}}, "put");
    CHECK(body_of(text) == R"([1, {"a": "b"}])");
    CHECK(header(text, "Content-Type") == "application/json");
}

TEST_CASE("auth: basic credentials, dropped on a redirect to another origin", "[http][bodies]") {
    Harness h;
    const std::string sent = h.post({{"auth.user", "Aladdin"}, {"auth.password", "open sesame"}}, "get");
    CHECK(header(sent, "Authorization") == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    const std::string two = h.post({{"auth.user", "ab"}, {"auth.password", ""}}, "get");
    CHECK(header(two, "Authorization") == "Basic YWI6");
}

TEST_CASE("a repeated body is built once; a changed one again", "[http][bodies]") {
    Harness h;
    const std::string a = h.post({{"form.x", "1"}});
    CHECK(h.post({{"form.x", "1"}}) == a);
    CHECK(body_of(h.post({{"form.x", "2"}})) == "x=2");
}

TEST_CASE("body params are checked at planning", "[http][bodies][validate]") {
    FakeHost host(kPluginPath);
    REQUIRE(host.load() == NTX_OK);
    const auto check = [&](const std::string &call, Params params, std::size_t problems) {
        params.insert(params.begin(), {"url", "http://h/"});
        const auto v = host.validate(call, params);
        CAPTURE(call, params.size());
        std::string messages;
        for (const auto &p : v.problems) messages += p.message + "\n";
        CAPTURE(messages);
        CHECK(v.problems.size() == problems);
        return v;
    };
    check("post", {{"form.a", "1"}, {"form.b", "{{x.body}}"}}, 0);
    check("post", {{"json", "{{x.body}}"}}, 0);
    check("post", {{"multipart.f.file", "{{blob.payload}}"}, {"multipart.f.filename", "f.bin"}}, 0);
    check("post", {{"auth.user", "u"}, {"auth.password", "{{env.pw}}"}}, 0);
    auto v = check("post", {{"body", "x"}, {"form.a", "1"}}, 1);
    CHECK(v.problems[0].index == 2);
    v = check("post", {{"json", "{not json"}}, 1);
    CHECK(v.problems[0].message.find("not valid JSON") != std::string::npos);
    v = check("post", {{"auth.user", "u"}}, 1);
    CHECK(v.problems[0].index == NTX_PROBLEM_ACTION);
    v = check("post", {{"multipart.f.filename", "x"}}, 1);
    CHECK(v.problems[0].message.find("has no file") != std::string::npos);
    check("post", {{"json.a", "1"}, {"json.a.b", "2"}}, 1);
    check("head", {{"form.a", "1"}}, 1);
    check("get", {{"auth.user", "u"}, {"auth.password", "p"}, {"headers.Authorization", "Bearer t"}}, 1);
}
