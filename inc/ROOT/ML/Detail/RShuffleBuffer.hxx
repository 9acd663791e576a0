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

/// \brief Cuts an epoch's stream of entries into windows of `batchesPerWindow` batches.
///
/// Before a window is filled its batches are allocated and a random permutation of its slots is
/// drawn; the i-th entry read into the window goes to the batch that owns slot perm[i]. Each batch
/// thus receives a uniformly random subset of the window, and shuffling costs no copy of its own.
/// Within a batch, entries are stored in the order they are read: the order inside a batch does
/// not matter to a gradient step, and appending keeps the writes sequential in every batch, where
/// scattering single entries over a large window would miss the cache for each of them.
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
   std::vector<std::uint64_t> fRowsWritten; ///< Per batch of the window.

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
      fRowsWritten.assign(fBatches.size(), 0);
      if (fShuffle) {
         fPermutation.resize(fWindowSize);
         std::iota(fPermutation.begin(), fPermutation.end(), 0u);
         RRandom(RRandom::Derive(fSeed, {fWindow})).Shuffle(fPermutation.begin(), fPermutation.end());
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

   /// The batch and row of the entry `ahead` entries after the next one; batch is nullptr when the entry
   /// is dropped. Rows are handed out in call order: call for ahead = 0, 1, ... before Advance().
   std::pair<RBatch *, std::uint64_t> NextSlot(std::uint64_t ahead = 0)
   {
      const std::uint64_t position = fFill + ahead;
      const std::uint64_t slot = fShuffle ? fPermutation[position] : position;
      if (slot >= fKeptInWindow)
         return {nullptr, 0};
      const auto batch = slot / fBatchSize;
      if (!fBatches[batch])
         return {nullptr, 0};
      return {fBatches[batch].get(), fRowsWritten[batch]++};
   }

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
