/// \file ROOT/ML/Detail/RShuffleBuffer.hxx
/// \brief The shuffle window: entries are copied straight into the batch they are drawn for.

#ifndef ROOT_ML_Detail_RShuffleBuffer
#define ROOT_ML_Detail_RShuffleBuffer

#include "ROOT/ML/Detail/RRandom.hxx"
#include "ROOT/ML/RBatch.hxx"
#include "ROOT/ML/RBatchQueue.hxx"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <numeric>
#include <vector>

namespace ROOT {
namespace ML {
namespace Detail {

/// A place in a batch: where one entry of a window goes (no batch for an entry the epoch drops).
struct RDestination {
   RBatch *fBatch = nullptr;
   std::uint64_t fRow = 0;
};

/// \brief Cuts an epoch's sequence of entries into windows of `batchesPerWindow` batches.
///
/// Before a window is filled its batches are allocated, a random permutation of its slots is drawn, and
/// each position of the window gets its destination: the i-th entry of the window goes to the batch that
/// owns slot perm[i]. Each batch thus receives a uniformly random subset of the window, and shuffling costs
/// no copy of its own. Within a batch, entries are stored in the order of their positions: the order inside
/// a batch does not matter to a gradient step, and following the positions keeps the writes of one reader
/// sequential in every batch, where scattering single entries over a large window would miss the cache for
/// each of them. The destinations depend on the positions alone, so that several threads can fill one
/// window, each its own positions, and the batches are the same whoever fills them.
/// A window's batches are published only once all of them are complete. With drop-remainder, the
/// slots past the last full batch of the epoch are never allocated, so the dropped entries are a
/// random subset of the last window rather than its tail.
///
/// An epoch can start past its first batches (to resume it): the windows whose batches are all skipped
/// are not read at all, and in the window where delivery resumes the skipped batches are not allocated,
/// so their entries are read (each batch draws from the whole window) but not copied. When the entries
/// behind the skipped batches cannot be located without reading (resampling draws their number as it
/// goes), all skipped windows are read that way.
class RShuffleBuffer {
   RBatchLayout fLayout;
   std::uint64_t fBatchSize;
   std::uint64_t fWindowEntries;
   std::uint64_t fEpochEntries; ///< Entries read this epoch.
   std::uint64_t fKeptEntries;  ///< Entries delivered this epoch (fewer with drop-remainder).
   bool fShuffle;
   std::uint64_t fSeed;
   std::uint64_t fSkipBatches;
   RBatchQueue &fQueue;

   std::uint64_t fWindow = 0;
   std::uint64_t fWindowStart = 0; ///< Epoch index of the window's first entry.
   std::uint64_t fWindowSize = 0;
   std::uint64_t fKeptInWindow = 0;
   std::uint64_t fFill = 0;
   std::uint64_t fReceived = 0;
   std::vector<std::uint32_t> fPermutation;
   std::vector<std::shared_ptr<RBatch>> fBatches;
   std::vector<RDestination> fDestinations; ///< Per position of the window.

   /// Opens window fWindow, without the batches of the epoch's first fSkipBatches.
   void OpenWindow()
   {
      const auto firstBatch = fWindow * (fWindowEntries / fBatchSize);
      fWindowStart = fWindow * fWindowEntries;
      fWindowSize = std::min(fWindowEntries, fEpochEntries - fWindowStart);
      fFill = 0;
      fKeptInWindow = fKeptEntries > fWindowStart ? std::min(fWindowSize, fKeptEntries - fWindowStart) : 0;
      fBatches.clear();
      for (std::uint64_t row = 0; row < fKeptInWindow; row += fBatchSize)
         fBatches.push_back(firstBatch + row / fBatchSize < fSkipBatches
                               ? nullptr
                               : std::make_shared<RBatch>(fLayout, std::min(fBatchSize, fKeptInWindow - row)));
      if (fShuffle) {
         fPermutation.resize(fWindowSize);
         std::iota(fPermutation.begin(), fPermutation.end(), 0u);
         RRandom(RRandom::Derive(fSeed, {fWindow})).Shuffle(fPermutation.begin(), fPermutation.end());
      }
      std::vector<std::uint64_t> rows(fBatches.size(), 0);
      fDestinations.resize(fWindowSize);
      for (std::uint64_t position = 0; position < fWindowSize; ++position) {
         const std::uint64_t slot = fShuffle ? fPermutation[position] : position;
         auto *batch = slot < fKeptInWindow ? fBatches[slot / fBatchSize].get() : nullptr;
         fDestinations[position] = batch ? RDestination{batch, rows[slot / fBatchSize]++} : RDestination{};
      }
   }

public:
   /// \param windowEntries a multiple of batchSize
   /// \param skipBatches batches at the start of the epoch that are not delivered
   /// \param readSkipped whether the entries of the skipped windows are read too, rather than counted as
   ///        received unread
   RShuffleBuffer(const RBatchLayout &layout, std::uint64_t batchSize, std::uint64_t windowEntries,
                  std::uint64_t epochEntries, bool dropRemainder, bool shuffle, std::uint64_t seed,
                  std::uint64_t skipBatches, bool readSkipped, RBatchQueue &queue)
      : fLayout(layout),
        fBatchSize(batchSize),
        fWindowEntries(windowEntries),
        fEpochEntries(epochEntries),
        fKeptEntries(dropRemainder ? epochEntries / batchSize * batchSize : epochEntries),
        fShuffle(shuffle),
        fSeed(seed),
        fSkipBatches(skipBatches),
        fQueue(queue)
   {
      fWindow = readSkipped ? 0 : skipBatches / (fWindowEntries / fBatchSize);
      // The skipped windows count as received: their entries are accounted for without being read.
      fReceived = std::min(fWindow * fWindowEntries, fEpochEntries);
      if (fReceived < fEpochEntries)
         OpenWindow();
   }

   /// Where the entry `ahead` entries after the next one goes.
   const RDestination &NextSlot(std::uint64_t ahead = 0) const { return fDestinations[fFill + ahead]; }

   /// Where the entry at `position` of the window being filled goes (positions from 0 to GetWindowRoom()
   /// before the first Advance() of the window).
   const RDestination &GetDestination(std::uint64_t position) const { return fDestinations[position]; }

   /// Entries still to come before the window is complete.
   std::uint64_t GetWindowRoom() const { return fWindowSize - fFill; }

   /// Marks the next `entries` slots (at most GetWindowRoom()) as written. Publishes the window when it
   /// is complete; returns false if the consumer has closed the queue.
   bool Advance(std::uint64_t entries = 1)
   {
      fReceived += entries;
      fFill += entries;
      if (fFill < fWindowSize)
         return true;
      for (auto &batch : fBatches)
         if (batch && !fQueue.Push(std::move(batch)))
            return false;
      ++fWindow;
      if (fWindowStart + fWindowSize < fEpochEntries)
         OpenWindow();
      return true;
   }

   /// Entries received so far, counting those of the windows skipped at the start (which need not be
   /// read); a complete epoch received exactly the planned number.
   std::uint64_t GetNumReceived() const { return fReceived; }
};

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
