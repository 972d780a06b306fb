// Helpers for the CLI tests (ctest), built with the test suite:
//   resa_test_fixtures bad-models GOOD_MODEL_DIR OUT_DIR   writes damaged copies of a good checkpoint, one per defect
//   resa_test_fixtures compare-f32 A B TOL                  exits 0 when two float32 files agree within TOL
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../safetensors_helpers.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using resa::test::Safetensors;

namespace {

// OUT/name/ with the good config.json and the safetensors as `edit` leaves it.
template <class Edit>
void damaged(const fs::path& good, const fs::path& out, const std::string& name, Edit&& edit) {
  const fs::path dir = out / name;
  fs::create_directories(dir);
  fs::copy_file(good / "config.json", dir / "config.json", fs::copy_options::overwrite_existing);
  Safetensors st = resa::test::read_safetensors((good / "model.safetensors").string());
  edit(st);
  resa::test::write_safetensors((dir / "model.safetensors").string(), st);
}

int bad_models(const fs::path& good, const fs::path& out) {
  fs::remove_all(out);
  fs::create_directories(out / "no_config");
  fs::copy_file(good / "model.safetensors", out / "no_config" / "model.safetensors");
  damaged(good, out, "truncated", [](Safetensors& st) { st.data.resize(st.data.size() / 2); });
  damaged(good, out, "offset_past_end", [](Safetensors& st) {
    json& o = st.header["model.norm.weight"]["data_offsets"];
    const uint64_t len = o[1].get<uint64_t>() - o[0].get<uint64_t>();
    o = {st.data.size() + 64, st.data.size() + 64 + len};
  });
  damaged(good, out, "wrong_shape", [](Safetensors& st) {
    st.header["model.layers.1.mlp.up_proj.weight"]["shape"] = {128, 352};
  });
  damaged(good, out, "missing_tensor", [](Safetensors& st) { st.header.erase("model.layers.0.self_attn.q_proj.weight"); });
  damaged(good, out, "bad_dtype", [](Safetensors& st) { st.header["model.norm.weight"]["dtype"] = "F64"; });
  damaged(good, out, "bad_arch", [](Safetensors&) {});
  json cfg = json::parse(resa::test::read_file((good / "config.json").string()));
  cfg["architectures"] = {"GPT2LMHeadModel"};
  resa::test::write_file((out / "bad_arch" / "config.json").string(), cfg.dump(2));
  // A header length far beyond the file.
  fs::create_directories(out / "header_too_long");
  fs::copy_file(good / "config.json", out / "header_too_long" / "config.json");
  const uint64_t n = uint64_t{1} << 40;
  resa::test::write_file((out / "header_too_long" / "model.safetensors").string(),
                         std::string(reinterpret_cast<const char*>(&n), 8) + "{}");
  return 0;
}

int compare_f32(const std::string& a_path, const std::string& b_path, double tol) {
  const std::string a = resa::test::read_file(a_path), b = resa::test::read_file(b_path);
  if (a.size() != b.size() || a.size() % 4 != 0 || a.empty()) {
    std::fprintf(stderr, "sizes differ: %zu vs %zu bytes\n", a.size(), b.size());
    return 1;
  }
  double worst = 0;
  for (size_t i = 0; i < a.size(); i += 4) {
    float x, y;
    std::memcpy(&x, a.data() + i, 4);
    std::memcpy(&y, b.data() + i, 4);
    const double d = std::abs(static_cast<double>(x) - y);
    if (!(d <= worst)) worst = std::isnan(d) ? INFINITY : d;
  }
  std::printf("max |diff| = %g over %zu values (tolerance %g)\n", worst, a.size() / 4, tol);
  return worst <= tol ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 3 && args[0] == "bad-models") return bad_models(args[1], args[2]);
  if (args.size() == 4 && args[0] == "compare-f32") return compare_f32(args[1], args[2], std::stod(args[3]));
  std::fprintf(stderr, "usage: resa_test_fixtures bad-models GOOD_DIR OUT_DIR | compare-f32 A B TOL\n");
  return 2;
}
