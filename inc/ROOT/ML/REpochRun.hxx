/// \file ROOT/ML/REpochRun.hxx
/// \brief One running epoch: its loading thread, its bounded queue of finished batches, its statistics.

#ifndef ROOT_ML_REpochRun
#define ROOT_ML_REpochRun

#include "ROOT/ML/RBatch.hxx"
#include "ROOT/ML/RBatchQueue.hxx"
#include "ROOT/ML/RDataLoaderOptions.hxx"
#include "ROOT/ML/RProgress.hxx"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace ROOT {
namespace ML {

/// What one epoch did, filled in by its loading thread.
struct REpochStats {
   std::uint64_t fEntriesRead = 0;        ///< Entries copied into batches.
   std::uint64_t fEntriesFromSources = 0; ///< Entries decoded from the files by a source, not by an event loop.
   std::uint64_t fBatches = 0;            ///< Batches published.
   std::uint64_t fBytesRead = 0;          ///< Bytes read from files by the whole process during the epoch.
   double fSecondsLoading = 0.;           ///< Wall time of the loading thread.
   std::uint64_t fStreams = 0;            ///< Parts of the epoch read side by side (see Detail::RStreamSchedule).
   /// Objects beyond the maximum length of each collection (RDataLoaderOptions::fCollections), in the
   /// entries delivered.
   std::vector<std::uint64_t> fTruncatedObjects;
   /// With EShuffle::kGlobal: the split's pile directory, the bytes of its piles, and the seconds this epoch
   /// spent writing them (0 when it read piles written before).
   std::string fCacheDirectory;
   std::uint64_t fCacheBytes = 0;
   double fSecondsBuildingCache = 0.;
};

/// \brief An epoch of one split being read: what RDataLoader::StartEpoch() returns. Any number of them may
/// run at once, each with its own thread and memory (a validation loop in the middle of a training epoch).
///
/// The loading thread publishes finished batches to a bounded queue; Next() takes them in order, and
/// rethrows in the caller's thread an error raised on the loading thread. Stop() (or the destructor)
/// ends the thread early and frees the batches it still holds.
class REpochRun {
public:
   /// The statistics of a run, which its loader keeps for the run started last.
   class RStatsRecord {
      mutable std::mutex fMutex;
      REpochStats fStats;

   public:
      void Set(const REpochStats &stats)
      {
         std::lock_guard<std::mutex> lock(fMutex);
         fStats = stats;
      }
      REpochStats Get() const
      {
         std::lock_guard<std::mutex> lock(fMutex);
         return fStats;
      }
   };

private:
   ESplit fSplit;
   RBatchQueue fQueue;
   std::shared_ptr<RStatsRecord> fStats = std::make_shared<RStatsRecord>();
   RProgress fProgress;
   std::thread fThread;

public:
   REpochRun(ESplit split, std::size_t capacity) : fSplit(split), fQueue(capacity) {}
   ~REpochRun() { Stop(); }
   REpochRun(const REpochRun &) = delete;
   REpochRun &operator=(const REpochRun &) = delete;

   /// Starts `produce(queue, run)` on the loading thread; an exception it throws reaches Next().
   template <typename Produce>
   void Start(Produce produce)
   {
      fThread = std::thread([this, produce = std::move(produce)]() mutable {
         try {
            produce(fQueue, *this);
            fQueue.Finish();
         } catch (...) {
            fQueue.Fail(std::current_exception());
         }
      });
   }

   /// The next batch, or nullptr when the epoch is over. Blocks until one is ready.
   std::shared_ptr<RBatch> Next() { return fQueue.Pop(); }
   /// Whether Next() would return without blocking, after waiting at most `milliseconds` for it.
   bool WaitForNext(std::uint32_t milliseconds) const { return fQueue.WaitForNext(std::chrono::milliseconds(milliseconds)); }

   /// Stops the loading thread (within one read) and frees the batches it still holds.
   void Stop()
   {
      fQueue.Close();
      if (fThread.joinable() && fThread.get_id() != std::this_thread::get_id())
         fThread.join();
   }

   ESplit GetSplit() const { return fSplit; }

   /// Statistics of the epoch so far (updated as it reads) or, once over, of all of it.
   REpochStats GetStats() const { return fStats->Get(); }
   /// Called by the loading thread.
   void SetStats(const REpochStats &stats) { fStats->Set(stats); }
   /// The entries of this process's share of the epoch read so far (task EProgressTask::kLoadingSplit): with
   /// RDataLoaderOptions::fLoadEager, how far the wait for the first batch has gone.
   const RProgress &GetProgress() const { return fProgress; }
   /// Called by the loading thread.
   RProgress &GetProgress() { return fProgress; }
   /// The record of the statistics, which outlives the run where it is kept.
   std::shared_ptr<const RStatsRecord> GetStatsRecord() const { return fStats; }
};

} // namespace ML
} // namespace ROOT

#endif
