/// \file ROOT/ML/Detail/RPileShuffle.hxx
/// \brief The exact shuffle (EShuffle::kGlobal): each split copied once into random piles on local disk.
///
/// A streaming shuffle mixes entries only within its window, so a dataset sorted by physics process stays
/// sorted at the scale of the window. Here the first epoch of a split reads every entry of it in file order
/// and appends each delivered row to one of P pile files drawn at random, P chosen so that a pile holds about
/// one window. Every epoch then reads the piles in a new random order and delivers each pile's rows in a new
/// random order. A pile is a uniform random sample of the whole split, so each batch is too, while memory
/// holds about one pile whatever the size of the dataset. The piles hold the rows as delivered (converted,
/// normalised, weighted), one fixed-size record per row.

#ifndef ROOT_ML_Detail_RPileShuffle
#define ROOT_ML_Detail_RPileShuffle

#include "ROOT/ML/Detail/RRandom.hxx"
#include "ROOT/ML/RBatch.hxx"
#include "ROOT/ML/RBatchQueue.hxx"
#include "ROOT/ML/REpochRun.hxx"

#include <TSystem.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace ROOT {
namespace ML {
namespace Detail {

/// \brief Where each part of a batch's row lies, so that a row is one record of fixed size: the row of each
/// block, then each padded collection's objects and mask.
class RRowRecord {
   enum class EPart { kBlock, kObjects, kMask };
   struct RPart {
      EPart fPart;
      std::size_t fIndex; ///< The block or the collection.
      std::size_t fBytes; ///< Per row.
   };
   std::vector<RPart> fParts;
   std::size_t fBytes = 0;

   static std::byte *Address(const RBatch &batch, const RPart &part, std::size_t row)
   {
      switch (part.fPart) {
      case EPart::kBlock: return batch.GetRowAddress(static_cast<EBlock>(part.fIndex), row);
      case EPart::kObjects: return batch.GetObjectsData(part.fIndex) + row * part.fBytes;
      default: return reinterpret_cast<std::byte *>(batch.GetMaskData(part.fIndex)) + row * part.fBytes;
      }
   }
   void Add(EPart part, std::size_t index, std::size_t bytes)
   {
      if (bytes > 0)
         fParts.push_back({part, index, bytes});
      fBytes += bytes;
   }

public:
   explicit RRowRecord(const RBatchLayout &layout)
   {
      for (std::size_t b = 0; b < layout.fBlocks.size(); ++b)
         Add(EPart::kBlock, b, layout.fBlocks[b].GetRowBytes());
      for (std::size_t c = 0; c < layout.fCollections.size(); ++c) {
         Add(EPart::kObjects, c, layout.fCollections[c].GetObjectBytes());
         Add(EPart::kMask, c, layout.fCollections[c].GetMaskBytes());
      }
   }
   std::size_t GetBytes() const { return fBytes; }
   void Write(const RBatch &batch, std::size_t row, std::byte *record) const
   {
      for (const auto &part : fParts) {
         std::memcpy(record, Address(batch, part, row), part.fBytes);
         record += part.fBytes;
      }
   }
   void Read(const std::byte *record, RBatch &batch, std::size_t row) const
   {
      for (const auto &part : fParts) {
         std::memcpy(Address(batch, part, row), record, part.fBytes);
         record += part.fBytes;
      }
   }
};

/// \brief The rows of one split scattered at random over pile files in a directory that it owns and removes.
///
/// Written by one epoch's thread (Add(), then Complete()), read by any number afterwards (Deliver()).
class RPileCache {
   /// Rows held before they are scattered: each scatter opens every pile, so it should hold many rows per pile.
   static constexpr std::size_t kStagedBytes = 32 << 20;

   std::string fDirectory;
   RBatchLayout fLayout;
   RRowRecord fRecord;
   std::vector<std::uint64_t> fSizes; ///< Rows per pile.
   RRandom fDraw;                     ///< Of each row's pile.
   std::vector<std::byte> fStaged;    ///< Records not yet scattered.
   std::atomic<bool> fComplete{false};

   std::string GetPilePath(std::size_t pile) const
   {
      return fDirectory + "/pile" + std::to_string(pile) + ".bin";
   }

   [[noreturn]] void FailWrite(int error, std::uint64_t rows) const
   {
      const auto needed = (GetNumBytes() + rows * fRecord.GetBytes()) * 10 >> 20; // tenths of MiB
      throw std::system_error(error, std::generic_category(),
                              "ROOT::ML::RDataLoader: the exact shuffle could not write its piles in " + fDirectory +
                                 "; they need at least " + std::to_string(needed / 10) + "." +
                                 std::to_string(needed % 10) + " MiB there: free some space, or choose a directory "
                                 "on a disk with room (fCacheDirectory; cache_dir= in Python)");
   }

   void Append(std::size_t pile, const std::byte *records, std::uint64_t rows)
   {
      errno = 0;
      std::FILE *file = std::fopen(GetPilePath(pile).c_str(), "ab");
      if (!file)
         FailWrite(errno, rows);
      const auto bytes = rows * fRecord.GetBytes();
      const bool written = std::fwrite(records, 1, bytes, file) == bytes;
      // A short write (a full disk) may only show when the file is closed.
      if (std::fclose(file) != 0 || !written)
         FailWrite(errno ? errno : EIO, rows);
      fSizes[pile] += rows;
   }

   /// The records of `pile`, checked against what was written to it.
   std::vector<std::byte> ReadPile(std::size_t pile) const
   {
      std::vector<std::byte> records(fSizes[pile] * fRecord.GetBytes());
      std::FILE *file = std::fopen(GetPilePath(pile).c_str(), "rb");
      const bool whole = file && std::fread(records.data(), 1, records.size(), file) == records.size() &&
                         std::fgetc(file) == EOF;
      if (file)
         std::fclose(file);
      if (!whole)
         throw std::runtime_error("ROOT::ML::RDataLoader: the pile " + GetPilePath(pile) + " of the exact shuffle " +
                                  "does not hold the " + std::to_string(fSizes[pile]) + " rows written to it: it " +
                                  "was changed while the loader used it; create the loader again");
      return records;
   }

public:
   /// \param directory an empty directory, which the cache owns from now on
   RPileCache(std::string directory, const RBatchLayout &layout, std::uint64_t numPiles, std::uint64_t seed)
      : fDirectory(std::move(directory)), fLayout(layout), fRecord(layout), fSizes(numPiles, 0), fDraw(seed)
   {
   }
   ~RPileCache()
   {
      for (std::size_t pile = 0; pile < fSizes.size(); ++pile)
         gSystem->Unlink(GetPilePath(pile).c_str());
      gSystem->Unlink(fDirectory.c_str());
   }
   RPileCache(const RPileCache &) = delete;
   RPileCache &operator=(const RPileCache &) = delete;

   const std::string &GetDirectory() const { return fDirectory; }
   /// Bytes of the piles on disk.
   std::uint64_t GetNumBytes() const
   {
      return std::accumulate(fSizes.begin(), fSizes.end(), std::uint64_t{0}) * fRecord.GetBytes();
   }
   /// Whether every row was written: the cache can be read.
   bool IsComplete() const { return fComplete; }
   /// Whether every pile is on disk as it was written (a cleaner of the temporary directory may delete it).
   bool IsIntact() const
   {
      FileStat_t stat;
      for (std::size_t pile = 0; pile < fSizes.size(); ++pile)
         if (fSizes[pile] > 0 && (gSystem->GetPathInfo(GetPilePath(pile).c_str(), stat) != 0 ||
                                  static_cast<std::uint64_t>(stat.fSize) != fSizes[pile] * fRecord.GetBytes()))
            return false;
      return gSystem->GetPathInfo(fDirectory.c_str(), stat) == 0 && R_ISDIR(stat.fMode);
   }

   /// Takes the rows of one batch; they reach their piles at the next scatter.
   void Add(const RBatch &batch)
   {
      const auto bytes = fRecord.GetBytes();
      const auto start = fStaged.size();
      // The buffer keeps its capacity from one scatter to the next: regrowing it would copy it again.
      if (fStaged.capacity() == 0)
         fStaged.reserve(kStagedBytes + batch.GetNumRows() * bytes);
      fStaged.resize(start + batch.GetNumRows() * bytes);
      for (std::size_t row = 0; row < batch.GetNumRows(); ++row)
         fRecord.Write(batch, row, fStaged.data() + start + row * bytes);
      if (fStaged.size() >= kStagedBytes)
         Scatter();
   }

   /// Scatters the rows taken so far over the piles, appending to each pile's file once.
   void Scatter()
   {
      const auto bytes = fRecord.GetBytes();
      const auto rows = bytes > 0 ? fStaged.size() / bytes : 0;
      std::vector<std::uint32_t> pileOf(rows);
      std::vector<std::uint64_t> firstOf(fSizes.size() + 1, 0);
      for (auto &pile : pileOf) {
         pile = static_cast<std::uint32_t>(fDraw.Below(fSizes.size()));
         ++firstOf[pile + 1];
      }
      std::partial_sum(firstOf.begin(), firstOf.end(), firstOf.begin());
      std::vector<std::byte> byPile(fStaged.size());
      auto next = firstOf;
      for (std::uint64_t row = 0; row < rows; ++row)
         std::memcpy(byPile.data() + next[pileOf[row]]++ * bytes, fStaged.data() + row * bytes, bytes);
      for (std::size_t pile = 0; pile < fSizes.size(); ++pile)
         if (firstOf[pile + 1] > firstOf[pile])
            Append(pile, byPile.data() + firstOf[pile] * bytes, firstOf[pile + 1] - firstOf[pile]);
      fStaged.clear();
   }

   /// Scatters the last rows: the cache can be read from now on.
   void Complete()
   {
      Scatter();
      fStaged.shrink_to_fit();
      fComplete = true;
   }

   /// Pushes one epoch to `queue`: the piles in an order drawn from `seed`, each pile's rows permuted, cut into
   /// batches of `batchSize` (a batch may span two piles), the first `skipRows` rows left out. Calls
   /// delivered(batch) after each push; stops when the queue is closed.
   template <typename Delivered>
   void Deliver(std::uint64_t seed, std::size_t batchSize, bool dropRemainder, std::uint64_t skipRows,
                RBatchQueue &queue, Delivered &&delivered) const
   {
      const auto total = std::accumulate(fSizes.begin(), fSizes.end(), std::uint64_t{0});
      const auto toDeliver = total - std::min(skipRows, total);
      std::vector<std::size_t> piles(fSizes.size());
      std::iota(piles.begin(), piles.end(), 0);
      RRandom(seed).Shuffle(piles.begin(), piles.end());
      std::shared_ptr<RBatch> batch;
      std::uint64_t done = 0; ///< Rows delivered or in `batch`.
      std::size_t filled = 0; ///< Rows of `batch`.
      for (const auto pile : piles) {
         if (skipRows >= fSizes[pile]) {
            skipRows -= fSizes[pile];
            continue;
         }
         const auto records = ReadPile(pile);
         std::vector<std::uint64_t> order(fSizes[pile]);
         std::iota(order.begin(), order.end(), 0);
         RRandom(RRandom::Derive(seed, {pile})).Shuffle(order.begin(), order.end());
         for (auto row = order.begin() + skipRows; row != order.end(); ++row) {
            if (!batch) {
               const auto rows = std::min<std::uint64_t>(batchSize, toDeliver - done);
               if (rows < batchSize && dropRemainder)
                  return;
               batch = std::make_shared<RBatch>(fLayout, rows);
               filled = 0;
            }
            fRecord.Read(records.data() + *row * fRecord.GetBytes(), *batch, filled++);
            ++done;
            if (filled == batch->GetNumRows()) {
               const auto rows = batch->GetNumRows();
               if (!queue.Push(std::move(batch)))
                  return;
               delivered(rows);
            }
         }
         skipRows = 0;
      }
   }
};

/// \brief A loader's pile caches, one per split, in a directory of its own that it removes.
class RPileShuffle {
   std::string fParent; ///< Where the loader's directory is made.
   std::string fRoot;   ///< The loader's directory, made when the first cache is.
   std::array<std::shared_ptr<RPileCache>, 2> fCaches;
   std::uint64_t fNumCaches = 0; ///< Made so far: each gets a directory of its own.

   [[noreturn]] static void FailDirectory(const std::string &directory)
   {
      throw std::system_error(errno ? errno : EIO, std::generic_category(),
                              "ROOT::ML::RDataLoader: the exact shuffle cannot make the directory " + directory +
                                 " for its piles; choose a writable directory (fCacheDirectory; cache_dir= in Python)");
   }

   /// A new directory of the loader's own in fParent.
   std::string MakeRoot() const
   {
      const std::string parent = fParent.empty() ? gSystem->TempDirectory() : fParent;
      RRandom names(RRandom::Derive(static_cast<std::uint64_t>(gSystem->GetPid()),
                                    {reinterpret_cast<std::uintptr_t>(this),
                                     static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count())}));
      for (int attempt = 0;; ++attempt) {
         const auto root = parent + "/rdataloader-piles-" + std::to_string(names.Next() % 1000000000);
         errno = 0;
         // mkdir fails when the name is taken: another loader's. Private, as mkdtemp makes it: the rows are
         // the user's data.
         if (gSystem->mkdir(root.c_str()) == 0 && gSystem->Chmod(root.c_str(), 0700) == 0)
            return root;
         if (errno != EEXIST || attempt == 100)
            FailDirectory(root);
      }
   }

public:
   /// \param parent where the loader's directory is made; empty for the system's temporary directory
   explicit RPileShuffle(std::string parent) : fParent(std::move(parent)) {}
   ~RPileShuffle() { Clear(); }
   RPileShuffle(const RPileShuffle &) = delete;
   RPileShuffle &operator=(const RPileShuffle &) = delete;

   /// Whether the cache of `split` was written whole but has been deleted or changed since: the next epoch
   /// writes it again.
   bool IsDamaged(ESplit split) const
   {
      const auto &cache = fCaches[static_cast<int>(split)];
      return cache && cache->IsComplete() && !cache->IsIntact();
   }

   /// The cache an epoch of `split` reads: the one written before if it is whole, or a new one that the epoch
   /// writes first (scattering rows over `numPiles` piles with `seed`).
   std::shared_ptr<RPileCache>
   GetCache(ESplit split, const RBatchLayout &layout, std::uint64_t numPiles, std::uint64_t seed)
   {
      auto &cache = fCaches[static_cast<int>(split)];
      if (cache && cache->IsComplete() && cache->IsIntact())
         return cache;
      if (fRoot.empty())
         fRoot = MakeRoot();
      const auto directory = fRoot + "/" + (split == ESplit::kTrain ? "train" : "validation") + "-" +
                             std::to_string(fNumCaches++);
      // Recursive: a cleaner of the temporary directory may have deleted the loader's directory too.
      errno = 0;
      if (gSystem->mkdir(directory.c_str(), kTRUE) != 0)
         FailDirectory(directory);
      cache = std::make_shared<RPileCache>(directory, layout, numPiles, seed);
      return cache;
   }

   /// Removes the caches from disk (their rows are no longer what an epoch would deliver), each once no epoch
   /// holds it: call with no epoch running.
   void Clear()
   {
      fCaches = {};
      if (!fRoot.empty() && gSystem->Unlink(fRoot.c_str()) == 0)
         fRoot.clear();
   }
};

/// \brief The body of an epoch's loading thread with EShuffle::kGlobal: writes the split's piles if they are
/// not written yet, from an epoch that reads the split in file order, then delivers them in this epoch's order.
template <typename StartReading>
class RPileEpoch {
   std::shared_ptr<RPileCache> fCache;
   StartReading fStartReading; ///< Starts the split's epoch in file order, a std::shared_ptr<REpochRun>.
   std::uint64_t fEntries;     ///< In the split.
   std::uint64_t fSeed;        ///< Of this epoch's order.
   std::size_t fBatchSize;
   bool fDropRemainder;
   std::uint64_t fSkipBatches;

   /// Writes the piles; false if the epoch was stopped meanwhile.
   bool Write(RBatchQueue &queue, REpochRun &run, REpochStats &stats)
   {
      using Clock = std::chrono::steady_clock;
      const auto start = Clock::now();
      auto reading = fStartReading();
      auto &progress = run.GetProgress();
      progress.Begin(EProgressTask::kLoadingSplit, fEntries);
      while (auto batch = reading->Next()) {
         if (queue.IsClosed())
            return false;
         fCache->Add(*batch);
         progress.Advance(batch->GetNumRows());
      }
      fCache->Complete();
      progress.End();
      const auto read = reading->GetStats();
      stats.fBytesRead = read.fBytesRead;
      stats.fEntriesFromSources = read.fEntriesFromSources;
      stats.fStreams = read.fStreams;
      stats.fTruncatedObjects = read.fTruncatedObjects;
      stats.fSecondsBuildingCache = std::chrono::duration<double>(Clock::now() - start).count();
      return true;
   }

public:
   RPileEpoch(std::shared_ptr<RPileCache> cache, StartReading startReading, std::uint64_t entries, std::uint64_t seed,
              std::size_t batchSize, bool dropRemainder, std::uint64_t skipBatches)
      : fCache(std::move(cache)),
        fStartReading(std::move(startReading)),
        fEntries(entries),
        fSeed(seed),
        fBatchSize(batchSize),
        fDropRemainder(dropRemainder),
        fSkipBatches(skipBatches)
   {
   }

   void operator()(RBatchQueue &queue, REpochRun &run)
   {
      using Clock = std::chrono::steady_clock;
      const auto start = Clock::now();
      REpochStats stats;
      if (!fCache->IsComplete() && !Write(queue, run, stats))
         return;
      stats.fCacheDirectory = fCache->GetDirectory();
      stats.fCacheBytes = fCache->GetNumBytes();
      fCache->Deliver(fSeed, fBatchSize, fDropRemainder, fSkipBatches * fBatchSize, queue, [&](std::size_t rows) {
         ++stats.fBatches;
         stats.fEntriesRead += rows;
         stats.fSecondsLoading = std::chrono::duration<double>(Clock::now() - start).count();
         run.SetStats(stats);
      });
      stats.fSecondsLoading = std::chrono::duration<double>(Clock::now() - start).count();
      run.SetStats(stats);
   }
};

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
