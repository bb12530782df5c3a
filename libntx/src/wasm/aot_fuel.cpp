// A budget for compiled modules: wasm2c code runs natively and cannot be stepped, so the module itself
// counts. Before translation, every function entry and every loop iteration decrements an exported
// global `ntx_fuel`; at zero it executes `unreachable`. The host sets the global before each call and
// reads a trap with the global at zero as an exhausted budget.
#include <wabt/binary-reader-ir.h>
#include <wabt/binary-reader.h>
#include <wabt/binary-writer.h>
#include <wabt/cast.h>
#include <wabt/ir.h>
#include <wabt/stream.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace ntx::wasm {

namespace {

using namespace wabt;

ExprList fuel_check(Index global) {
    ExprList seq;
    seq.push_back(std::make_unique<GlobalGetExpr>(Var(global, Location())));
    seq.push_back(std::make_unique<ConvertExpr>(Opcode::I64Eqz));
    auto stop = std::make_unique<IfExpr>();
    stop->true_.exprs.push_back(std::make_unique<UnreachableExpr>());
    seq.push_back(std::move(stop));
    seq.push_back(std::make_unique<GlobalGetExpr>(Var(global, Location())));
    seq.push_back(std::make_unique<ConstExpr>(Const::I64(1)));
    seq.push_back(std::make_unique<BinaryExpr>(Opcode::I64Sub));
    seq.push_back(std::make_unique<GlobalSetExpr>(Var(global, Location())));
    return seq;
}

void instrument(ExprList& exprs, Index global) {
    for (Expr& e : exprs) {
        if (auto* loop = dyn_cast<LoopExpr>(&e)) {
            instrument(loop->block.exprs, global);
            loop->block.exprs.splice(loop->block.exprs.begin(), fuel_check(global));
        } else if (auto* block = dyn_cast<BlockExpr>(&e)) {
            instrument(block->block.exprs, global);
        } else if (auto* branch = dyn_cast<IfExpr>(&e)) {
            instrument(branch->true_.exprs, global);
            instrument(branch->false_, global);
        } else if (auto* attempt = dyn_cast<TryExpr>(&e)) {
            instrument(attempt->block.exprs, global);
            for (auto& c : attempt->catches) instrument(c.exprs, global);
        }
    }
}

}  // namespace

// Writes `in` with the fuel counter added to `out`; false with `error` otherwise.
bool add_fuel(const std::string& in, const std::string& out, std::string& error) {
    std::ifstream file(in, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    Errors errors;
    Module module;
    ReadBinaryOptions options(Features(), nullptr, false, true, false);
    if (Failed(ReadBinaryIr(in.c_str(), bytes.data(), bytes.size(), options, &errors, &module))) {
        error = "cannot read the module for instrumentation" + (errors.empty() ? "" : ": " + errors.front().message);
        return false;
    }
    auto global = std::make_unique<GlobalModuleField>();
    global->global.type = Type::I64;
    global->global.mutable_ = true;
    global->global.init_expr.push_back(std::make_unique<ConstExpr>(Const::I64(0)));
    module.AppendField(std::move(global));
    const Index index = static_cast<Index>(module.globals.size() - 1);
    auto exp = std::make_unique<ExportModuleField>();
    exp->export_.name = "ntx_fuel";
    exp->export_.kind = ExternalKind::Global;
    exp->export_.var = Var(index, Location());
    module.AppendField(std::move(exp));
    for (Index i = module.num_func_imports; i < module.funcs.size(); ++i) {
        Func* f = module.funcs[i];
        instrument(f->exprs, index);
        f->exprs.splice(f->exprs.begin(), fuel_check(index));
    }
    MemoryStream stream;
    if (Failed(WriteBinaryModule(&stream, &module, WriteBinaryOptions())) || Failed(stream.WriteToFile(out))) {
        error = "cannot write the instrumented module";
        return false;
    }
    return true;
}

}  // namespace ntx::wasm
