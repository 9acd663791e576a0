/// \file ROOT/ML/Detail/RSource.hxx
/// \brief The one interface every input format implements: decode the loaded columns of a range of entries.

#ifndef ROOT_ML_Detail_RSource
#define ROOT_ML_Detail_RSource

#include "ROOT/ML/Detail/RColumnChunk.hxx"
#include "ROOT/ML/Detail/RDataSourceAccess.hxx"
#include "ROOT/ML/Detail/RReadingPlan.hxx"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <thread>
#include <vector>

namespace ROOT {
namespace ML {
namespace Detail {

/// \brief Delivers the loaded columns of one dataframe, a part of a reading unit at a time, as one cursor per
/// column. Used by one thread at a time.
class RSourceReader {
public:
   virtual ~RSourceReader() = default;
   /// Lets a read share its columns among `threads` threads, where the reader can.
   virtual void SetThreads(std::size_t threads) = 0;
   /// Reads the passing entries of `unit` from rank `first` on (in `mask`'s order), at most `count` of them:
   /// returns how many it read, at least one. The cursors then hold exactly these entries.
   virtual std::uint64_t Read(const RReadingUnit &unit, const RPassingMask &mask, std::uint64_t first,
                              std::uint64_t count) = 0;
   /// A cursor over column `c`'s values of the entries read last.
   virtual RColumnCursor GetCursor(std::size_t c) const = 0;
};

/// \brief A reader that decodes the columns from the files, into one RColumnChunk per column. Each has file
/// handles of its own, reopened in a process forked from the one that opened them (a shared file offset
/// would mix the reads).
class RFileReader : public RSourceReader {
   /// Decoded bytes of a range below which one more thread costs more than it saves.
   static constexpr std::uint64_t kBytesPerThread = 1 << 20;

protected:
   std::vector<RColumnChunk> fChunks; ///< Per column, for the entries read last.
   std::uint64_t fEntryBytes;
   std::size_t fThreads = 1; ///< Threads sharing the columns of a read (see ForEachColumn()).

   /// Decodes source entries [begin, end) (in the files' numbering) of every column, within one file.
   virtual void ReadEntries(std::uint64_t begin, std::uint64_t end) = 0;

   /// The threads a read of `entries` entries shares its columns among (see ForEachColumn()).
   std::size_t GetThreadsFor(std::uint64_t entries) const
   {
      return std::min<std::uint64_t>(
         {fThreads, fChunks.size(), std::max<std::uint64_t>(1, entries * fEntryBytes / kBytesPerThread)});
   }

   /// The thread of column c when `threads` threads share a read's columns.
   static std::size_t ThreadOf(std::size_t c, std::size_t threads) { return c % threads; }

   /// Runs task(t, c) for every column c, the columns shared among the threads that `entries` entries are
   /// worth: column c goes to thread ThreadOf(c, threads) (task(0, ...) on the calling thread). Rethrows the
   /// first error of any thread.
   template <typename Task>
   void ForEachColumn(std::uint64_t entries, Task &&task)
   {
      const auto threads = GetThreadsFor(entries);
      std::vector<std::exception_ptr> errors(threads);
      auto work = [&](std::size_t t) {
         try {
            for (std::size_t c = 0; c < fChunks.size(); ++c)
               if (ThreadOf(c, threads) == t)
                  task(t, c);
         } catch (...) {
            errors[t] = std::current_exception();
         }
      };
      std::vector<std::thread> helpers;
      for (std::size_t t = 1; t < threads; ++t)
         helpers.emplace_back(work, t);
      work(0);
      for (auto &helper : helpers)
         helper.join();
      for (auto &error : errors)
         if (error)
            std::rethrow_exception(error);
   }

public:
   /// Decoded bytes to read at a time by default: a few baskets or pages per column, whatever the clusters.
   static constexpr std::uint64_t kBytesPerRead = 4 << 20;

   RFileReader(std::size_t columns, std::uint64_t entryBytes) : fChunks(columns), fEntryBytes(entryBytes) {}

   /// Each thread has file handles of its own.
   void SetThreads(std::size_t threads) override { fThreads = std::max<std::size_t>(threads, 1); }
   /// Entries to decode at a time: about kBytesPerRead.
   std::uint64_t GetEntriesPerRead() const { return std::max<std::uint64_t>(1, kBytesPerRead / fEntryBytes); }

   /// What Read() decodes: the unit's source entries [fBegin, fEnd) (offsets in the unit), of which fCount pass.
   struct RRange {
      std::uint64_t fBegin;
      std::uint64_t fEnd;
      std::uint64_t fCount;
   };

   /// The source entries Read(unit, mask, first, count) decodes: the passing entries from rank `first` on, at
   /// most `count` of them, and fewer when they are spread over more source entries than one read should
   /// decode (at least one).
   RRange PlanRead(const RReadingUnit &unit, const RPassingMask &mask, std::uint64_t first, std::uint64_t count) const
   {
      const auto perRead = GetEntriesPerRead();
      if (!unit.fFiltered) {
         count = std::min(count, perRead);
         return {first, first + count, count};
      }
      const auto begin = mask.Select(first);
      const auto last = mask.Select(first + count - 1) + 1;
      const auto end = std::max(begin + 1, std::min(last, begin + perRead));
      return {begin, end, mask.Count(begin, end)};
   }

   /// Decodes the passing entries PlanRead() chooses.
   std::uint64_t Read(const RReadingUnit &unit, const RPassingMask &mask, std::uint64_t first,
                      std::uint64_t count) final
   {
      const auto range = PlanRead(unit, mask, first, count);
      ReadEntries(unit.fBegin + range.fBegin, unit.fBegin + range.fEnd);
      if (unit.fFiltered)
         for (auto &chunk : fChunks)
            chunk.Keep(mask, range.fBegin, range.fEnd);
      return range.fCount;
   }

   RColumnCursor GetCursor(std::size_t c) const final { return RColumnCursor(fChunks[c]); }
};

/// \brief What a source knows of a dataframe's files, shared by the readers it makes: where the columns
/// lie, how they are stored, how many entries there are. Immutable once created, so that concurrent
/// epochs (a training and a validation loop, say) each read with readers of their own.
class RSource {
protected:
   std::uint64_t fEntryBytes = 1; ///< Decoded bytes of all loaded columns of an average entry.
   /// Memory a reader holds besides its decoded entries: the largest basket or page of each column.
   std::uint64_t fReaderBytes = 0;

public:
   virtual ~RSource() = default;
   /// A reader of its own for one thread.
   virtual std::unique_ptr<RSourceReader> MakeReader() const = 0;
   /// Entries of all files together.
   virtual std::uint64_t GetNumEntries() const = 0;
   /// How the source reads, as stats() reports it for each column: "TTree baskets", "RNTuple pages".
   virtual const char *GetName() const = 0;
   std::uint64_t GetEntryBytes() const { return fEntryBytes; }
   /// Whether a reader can read any part of `unit`: not a loop over a whole dataframe, and for a filtered unit,
   /// the plan knows which of its entries pass.
   virtual bool CanRead(const RReadingUnit &unit, const RPassingMask &passing) const
   {
      return !unit.fWholeLoop && (!unit.fFiltered || passing.IsRecorded());
   }
   /// Memory a reader holds at most: its buffers of baskets or pages, and a read's decoded entries.
   std::uint64_t GetReaderBytes() const { return fReaderBytes + RFileReader::kBytesPerRead; }
};

/// \brief A source that reads the files themselves (TTree baskets, RNTuple pages), with RFileReaders.
class RFileSource : public RSource {
public:
   virtual std::unique_ptr<RFileReader> MakeFileReader() const = 0;
   std::unique_ptr<RSourceReader> MakeReader() const final { return MakeFileReader(); }
};

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
