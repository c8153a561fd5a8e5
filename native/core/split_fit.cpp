// Rank 0 trains the caller's model on the calling thread, with the caller's observer; the other
// ranks train replicas on threads of their own and stay equal to it step by step: every rank takes
// the same averaged step: all of it, each on a copy of its own, where the network is small; else its
// own slice of it, all ranks updating one copy of the parameters in place (ThreadCollective).
#include "core/split_fit.h"

#include <algorithm>
#include <exception>
#include <memory>
#include <thread>
#include <vector>

#include "core/errors.h"
#include "core/thread_collective.h"

namespace ae {

namespace {
// Fewer rows per thread than this leave too little work between two waits.
constexpr long kMinRowsPerRank = 16;
// Networks of larger products split the batch where each thread keeps enough rows to run its
// products well alone, and every layer's weights fit a core's 2 MB cache: each thread packs whole
// weight matrices of its own. Measured on two threads (ae_bench, W2's layers, Adam): 128 rows per
// thread 6-10% faster than splitting each product, 64 rows 3-13% slower; 2048 × 1024 layers with
// 128 rows 14% slower, 1024 × 1024 even.
constexpr long kMinRowsPerRankOfLargeProducts = 128;
constexpr double kMaxLayerWeightsToSplit = double(1 << 19);

bool abandoned(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    return e.code() == "ERR_SPLIT_ABANDONED";
  } catch (...) {
    return false;
  }
}
}  // namespace

int split_ranks(Backend& be, const Model& model, const FitConfig& c, const DataView& train) {
  const int threads = be.threads();
  if (threads < 2 || c.collective || c.precision == Precision::Tf32) return 1;
  const long batch = std::min(c.batch_size, train.rows);
  const int ranks = int(std::min<long>(threads, batch / kMinRowsPerRank));
  // Products the backend runs on one thread anyway gain nothing from its threads, and a batch of
  // them everything from splitting the batch.
  const double serial_below = be.serial_products_below();
  if (ranks < 2 || serial_below <= 0) return 1;
  bool serial_products = true, layers_fit_caches = true;
  for (const LayerSpec& l : model.spec().layers) {
    const double weights = double(l.inputs) * double(l.units);
    serial_products = serial_products && double(batch) * weights < serial_below;
    layers_fit_caches = layers_fit_caches && weights <= kMaxLayerWeightsToSplit;
  }
  if (serial_products) return ranks;
  return layers_fit_caches && batch / threads >= kMinRowsPerRankOfLargeProducts ? threads : 1;
}

bool fits_on_twin(const Backend& be) { return be.threads() == 1 && be.serial_products_below() > 0; }

FitResult fit_split(Backend& be, Model& model, const DataView& train, const DataView* val, const FitConfig& config,
                    FitObserver& observer, int ranks) {
  ThreadTeam team(ranks);
  std::vector<std::unique_ptr<ThreadCollective>> collectives;
  std::vector<std::unique_ptr<Backend>> backends;
  std::vector<std::unique_ptr<Model>> replicas;
  for (int r = 0; r < ranks; ++r) {
    collectives.push_back(std::make_unique<ThreadCollective>(team, r));
    backends.push_back(be.single_thread_twin());
  }
  // Where each rank updates a slice of its own, the replicas share the model's parameters: no rank
  // copies the others' slices after each step. Where every rank updates all of them, each needs a copy.
  const size_t nparams = model.params().size();
  const bool share = collectives[0]->update_slice(nparams).size() < nparams;
  if (share) team.share_parameters(model.params().data());
  for (int r = 1; r < ranks; ++r)
    replicas.push_back(share ? std::make_unique<Model>(Model::SharingParametersOf{model})
                             : std::make_unique<Model>(model.spec(), 0));
  FitObserver silent;  // the base observer ignores every event
  std::vector<FitResult> results(static_cast<size_t>(ranks));
  std::vector<std::exception_ptr> errors(static_cast<size_t>(ranks));
  auto run = [&](int r) {
    FitConfig mine = config;
    mine.collective = collectives[size_t(r)].get();
    mine.validation_backend = &be;
    try {
      results[size_t(r)] = fit(*backends[size_t(r)], r == 0 ? model : *replicas[size_t(r) - 1], train, val, mine,
                               r == 0 ? observer : silent);
    } catch (...) {
      errors[size_t(r)] = std::current_exception();
      team.abandon();
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(size_t(ranks) - 1);
  for (int r = 1; r < ranks; ++r) threads.emplace_back(run, r);
  run(0);
  for (std::thread& t : threads) t.join();
  // The rank that failed first says why; the others only stopped waiting for it.
  for (const std::exception_ptr& error : errors)
    if (error && !abandoned(error)) std::rethrow_exception(error);
  for (const std::exception_ptr& error : errors)
    if (error) std::rethrow_exception(error);
  return std::move(results[0]);
}

}  // namespace ae
