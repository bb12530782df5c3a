// `{{...}}` templates, compiled once at planning into parts, rendered per action with no parsing.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ntx::dsl {

// The fields of one saved result (save-as), e.g. {"status","200"}, {"body","..."}.
using Fields = std::vector<std::pair<std::string, std::string>>;

// The variable slot that names the action's own result in its `check:` conditions (`status`, `body`,
// `headers.<name>`, `reason`, `time.<name>`): the fields the plugin reported, read whole by path.
inline constexpr uint32_t kResultSlot = UINT32_MAX - 1;

enum class EnvVar : uint8_t { user_id, task_id, tick, scenario, phase };

class Expression;

struct TemplatePart {
    enum class Kind : uint8_t { literal, resource, variable, env, expression, workbook } kind = Kind::literal;
    std::string text;    // literal text, resource field name, or the variable's field path
    uint32_t slot = 0;   // variable slot, EnvVar, or workbook field id
    std::string source;  // the expression as written, for error messages
    std::shared_ptr<const Expression> expr;  // kind expression: anything more than a path
};

// What rendering reads from; implemented by the scheduler's user.
class RenderContext {
public:
    virtual ~RenderContext() = default;
    virtual std::optional<std::string_view> resource_field(std::string_view field) const = 0;
    virtual const Fields* variable(uint32_t slot) const = 0;  // nullptr when not saved yet
    virtual std::string env(EnvVar var) const = 0;
    // A number in [0, 1) for random(): the user's own generator (seeded from --seed and the user id).
    virtual double random() const { return 0.5; }
    // The current workbook entry's field `id` (workbook::Schema), appended to `out`; false when the
    // context has no workbook entry.
    virtual bool workbook_field(uint32_t id, std::string& out) const {
        (void)id;
        (void)out;
        return false;
    }
};

class Template {
public:
    // Resolves a save-as variable name to its slot, or nullopt when no action saves it. Also asked for
    // "blob.<name>" (a file_blob's slot) and "workbook.<path or alias>" (a workbook field's id), and
    // "feature:<name>" (config.yaml's feature flag: 1 on, 0 off; nullopt when none has that name).
    using VariableResolver = std::function<std::optional<uint32_t>(std::string_view name)>;

    // Compiles `text`; on failure returns nullopt and sets `error` (offset of the bad part in `error_offset`).
    static std::optional<Template> compile(std::string_view text, const VariableResolver& resolve,
                                           std::string& error, size_t& error_offset);

    const std::vector<TemplatePart>& parts() const { return parts_; }
    // Slots of the variables this template reads (for the variable graph).
    std::vector<uint32_t> variables() const;
    // The fields of the user's resource item it reads ({{resource.<field>}}), for the planning check
    // that the scenario running it inherits a pool.
    std::vector<std::string> resource_fields() const;

    // The template's only part when it is one variable reference and nothing else (`{{blob.x}}`):
    // the caller may then pass the stored value itself instead of a rendered copy.
    const TemplatePart* single_variable() const {
        return parts_.size() == 1 && parts_[0].kind == TemplatePart::Kind::variable ? &parts_[0] : nullptr;
    }

    // Appends the rendering to `out`; on a missing value returns false and sets `error`.
    bool render(const RenderContext& ctx, std::string& out, std::string& error) const;

private:
    std::vector<TemplatePart> parts_;
};

}  // namespace ntx::dsl
