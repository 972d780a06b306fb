#!/usr/bin/env bash
# The installed package, used as an outside project uses it:
#   - `cmake --install` of this build into a fresh prefix;
#   - examples/ configured against that prefix alone (find_package(resa), resa::resa and resa::resa_static), built,
#     and run: the generate example's greedy text equals llama2.c run.c's (the golden), from the shared and the static
#     library and through the C API; the chat example's replies equal `resa chat`'s for the same messages;
#   - pkg-config: a program compiled with `pkg-config --cflags --libs resa` alone runs.
#   installed_package.sh BUILD_DIR SOURCE_DIR GOLDEN CHAT_MODEL RESA
set -u
build=$1 src=$2 golden=$3 chat_model=$4 resa=$5
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; [ -f "$work/log" ] && tail -30 "$work/log"; exit 1; }

cmake --install "$build" --prefix "$work/prefix" >"$work/log" 2>&1 || fail "cmake --install"
for f in include/resa/resa.hpp include/resa/resa.h lib/libresa.so lib/libresa.a lib/cmake/resa/resaConfig.cmake \
         lib/cmake/resa/resaConfigVersion.cmake lib/pkgconfig/resa.pc share/resa/models/stories260K/stories260K.bin; do
  [ -e "$work/prefix/$f" ] || fail "not installed: $f"
done
model=$work/prefix/share/resa/models/stories260K/stories260K.bin

# The build tree is not on any path the examples see: only the prefix.
cmake -S "$src/examples" -B "$work/examples" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release \
  >"$work/log" 2>&1 || fail "configuring examples/ against the installed package"
cmake --build "$work/examples" -j2 >"$work/log" 2>&1 || fail "building examples/"
ldd "$work/examples/generate" | grep -q "$work/prefix/lib/libresa.so" || fail "generate does not link the installed libresa.so"

for exe in generate generate_static generate_c; do
  "$work/examples/$exe" "$model" "" 256 >"$work/out" 2>"$work/err" </dev/null || fail "$exe: exit code $?"
  cmp -s "$golden" "$work/out" || { diff "$golden" "$work/out" | head; fail "$exe: the text differs from the golden"; }
done

printf 'What is 2+2?\nAnd 3+3?\n' >"$work/messages"
"$work/examples/chat" "$chat_model" 8 <"$work/messages" >"$work/chat_out" 2>"$work/err" || fail "chat: exit code $?"
"$resa" chat -m "$chat_model" -n 8 --temp 0 <"$work/messages" >"$work/resa_out" 2>"$work/err" || fail "resa chat"
[ "$(wc -l <"$work/chat_out")" -eq 2 ] || fail "chat: expected two replies"
cmp -s "$work/chat_out" "$work/resa_out" || { diff "$work/chat_out" "$work/resa_out"; fail "chat's replies differ from resa chat's"; }

export PKG_CONFIG_PATH=$work/prefix/lib/pkgconfig
# shellcheck disable=SC2046
c++ -std=c++17 -o "$work/pc_generate" "$src/examples/generate.cpp" $(pkg-config --cflags --libs resa) \
  -Wl,-rpath,"$work/prefix/lib" >"$work/log" 2>&1 || fail "compiling with pkg-config's flags"
"$work/pc_generate" "$model" "" 256 >"$work/out" 2>"$work/err" </dev/null || fail "pc_generate: exit code $?"
cmp -s "$golden" "$work/out" || fail "pc_generate: the text differs from the golden"
echo "ok"
