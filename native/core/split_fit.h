// Fits of small networks split each batch across threads instead of each matrix product: at W1's
// sizes a product is over before a thread pool could hand out its parts, but two halves of a batch
// run side by side on two cores. So do medium networks on large batches (W2's), where each product
// split in two waits for both halves. The ranks are threads of a data-parallel fit (see
// collective.h).
#pragma once
#include "core/trainer.h"

namespace ae {

// How many threads a fit of this network would split its batches across: 1 when it should not
// split (large products, small batches of medium ones, TF32, a backend on one thread or
// one that cannot).
int split_ranks(Backend& be, const Model& model, const FitConfig& config, const DataView& train);

// Whether a fit that does not split its batches runs on be's one-thread twin rather than on be: where
// be has one thread and a twin, which may prepare for the product shapes that every step repeats
// (the CPU backend's: oneDNN's matmul primitives), as each thread of a split fit does.
bool fits_on_twin(const Backend& be);

FitResult fit_split(Backend& be, Model& model, const DataView& train, const DataView* val, const FitConfig& config,
                    FitObserver& observer, int ranks);

}  // namespace ae
