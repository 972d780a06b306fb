// Weights placed for decode: every matrix in one arena of 2 MiB pages, each row written first by the thread that
// reads it in a decode step. `--load copy` (resa::WeightLoad::Copy, the default) copies a checkpoint's matrices out of
// the file mapping this way at load; a synthetic model (lib/bench/) generates its rows straight into the arena.
// `--load mmap` computes from the file mapping in place: nothing copied, the page cache shared between processes,
// no load-time copy, but 4 KiB pages placed wherever the file was first read.
//
// Why: a decode step streams every weight byte once, so the weights' read rate is the step's speed. Measured on this
// project's 2-core VM (AMD EPYC family 26, Qwen2.5-1.5B shape, 3.09 GB of bf16, 2 threads, the decode matvec over
// every matrix of a step, medians of 5): rows first written by the thread that reads them 64 ms per step; the same
// memory first written by one thread 104 ms; by both threads in interleaved 128 KiB chunks 83 ms. A VM's memory lands
// where its first writer runs on the host, so "who touches first" is where a weight lives; 2 MiB pages also spare the
// TLB a miss every 4 KiB of a stream.
//
// The shares are the decode step's (lib/forward.cpp), by thread_share (lib/parallel.hpp): k, v and q as one product
// over their rows end to end (in that order), gate and up each split alike (matvec_swiglu), o, down and the LM head
// each alone, and products below kParallelProductWork on the calling thread. A tied embedding is placed as the LM
// head. (A thread done with its share takes what is left of the other's, so the placement is where each row is read
// first and most of the time, not always.)
#pragma once

#include <cstdint>
#include <functional>

#include "huge_pages.hpp"
#include "model/weights.hpp"

namespace resa {

struct ModelData;

// fill(index, mat, to, begin, end, dst): writes rows [begin, end) of a matrix at dst as type `to` (row after row);
// mat is the matrix as it was before placement (its type may differ from `to`); index numbers the matrices in a fixed
// order (the embedding when untied, then per layer k, v, q, o, gate, up, down, then the LM head), so a generator can
// seed each one.
using RowFill =
    std::function<void(int index, const Mat& mat, DType to, int64_t begin, int64_t end, void* dst)>;
// The type a matrix is placed as (nullptr: as it is).
using PlacedType = std::function<DType(const Mat& mat)>;

// Allocates the arena for w's matrices, fills it on `threads` threads in the decode shares and points the matrices
// at it, each with its placed type. tied: the LM head is the token embedding (placed once).
HugeBuffer place_weights(Weights& w, bool tied, int threads, const RowFill& fill, const PlacedType& type = nullptr);

// Rows [begin, end) of a matrix of `cols` columns written at dst as type `to`, each made by row_f32(r, out) in f32
// (a row-group form 8 rows at a time: begin and end multiples of 8).
using RowSource = std::function<void(int64_t r, float* out)>;
void write_rows(void* dst, DType to, int64_t cols, int64_t begin, int64_t end, const RowSource& row_f32);

// Rows [begin, end) of src (q8_0, q4_0 or q4_K) regrouped into `to`, its row-group form, at dst (begin, end
// multiples of 8).
void pack_groups(void* dst, DType to, const Mat& src, int64_t begin, int64_t end);

// The type a matrix is placed as for `want` (its own when want is the stored type): a quantized type only for
// matrices whose rows hold whole blocks of it, the others staying as they are; in its row-group form (q8_0_r8,
// q4_0_r8) when the matrix has a multiple of 8 rows.
DType placed_type(const Mat& mat, DType want);

// --load copy: the model's matrices copied into m.weight_arena (their views then point there; the file mapping stays
// for the vectors), converted to `want` (bf16, f16, q8_0, q4_0; placed_type) unless it is null. threads: those
// decode will run on.
void copy_weights(ModelData& m, int threads, const DType* want = nullptr);

}  // namespace resa
