/// \file ROOT/ML/RProgress.hxx
/// \brief How far a long pass of the loader has gone, readable by a display on another thread.

#ifndef ROOT_ML_RProgress
#define ROOT_ML_RProgress

#include <array>
#include <atomic>
#include <cstdint>

namespace ROOT {
namespace ML {

/// The long passes a loader reports while they run.
enum class EProgressTask : std::uint64_t {
   kNone = 0,
   kCountingPassing = 1,  ///< Which entries pass the Filters (entries of the dataframes read).
   kCountingClasses = 2,  ///< Class counts for class weights, resampling or reweighting (training entries read).
   kFittingNormalization = 3, ///< Feature statistics for `fNormalize` (training entries read).
   kLoadingSplit = 4,     ///< An epoch's entries read into its window (all of them, with `fLoadEager`).
};

/// \brief The progress of the pass running now: its number, its task, and the entries done of a total.
/// Updated by the threads of the pass, read by anyone at any time. The four values are 64-bit words side by
/// side at GetAddress(), so that a display (rdataloader's progress bar, on a Python thread) reads them while
/// the pass holds ROOT's locks.
class RProgress {
   static_assert(sizeof(std::atomic<std::uint64_t>) == sizeof(std::uint64_t) &&
                    std::atomic<std::uint64_t>::is_always_lock_free,
                 "RProgress's words must be plain 64-bit words");
   enum EWord { kPass, kTask, kDone, kTotal };
   std::array<std::atomic<std::uint64_t>, 4> fWords{};

public:
   /// Starts reporting a new pass, `task`, of `total` entries.
   void Begin(EProgressTask task, std::uint64_t total)
   {
      fWords[kTask] = static_cast<std::uint64_t>(EProgressTask::kNone);
      fWords[kDone] = 0;
      fWords[kTotal] = total;
      ++fWords[kPass];
      fWords[kTask] = static_cast<std::uint64_t>(task);
   }
   /// `entries` more entries done (from any thread).
   void Advance(std::uint64_t entries) { fWords[kDone].fetch_add(entries, std::memory_order_relaxed); }
   /// `entries` done in all (from the one thread of a pass that counts in order).
   void SetDone(std::uint64_t entries) { fWords[kDone].store(entries, std::memory_order_relaxed); }
   /// No pass runs.
   void End() { fWords[kTask] = static_cast<std::uint64_t>(EProgressTask::kNone); }

   /// Passes begun so far.
   std::uint64_t GetNumPasses() const { return fWords[kPass].load(); }
   EProgressTask GetTask() const { return static_cast<EProgressTask>(fWords[kTask].load()); }
   std::uint64_t GetDone() const { return fWords[kDone].load(std::memory_order_relaxed); }
   std::uint64_t GetTotal() const { return fWords[kTotal].load(); }
   /// The words: passes begun, task, entries done and total, in this order.
   const void *GetAddress() const { return fWords.data(); }
};

} // namespace ML
} // namespace ROOT

#endif
