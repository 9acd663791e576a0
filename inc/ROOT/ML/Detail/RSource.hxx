/// \file ROOT/ML/Detail/RSource.hxx
/// \brief The one interface every input format implements: decode the loaded columns of a range of entries.

#ifndef ROOT_ML_Detail_RSource
#define ROOT_ML_Detail_RSource

#include "ROOT/ML/Detail/RColumnChunk.hxx"
#include "ROOT/ML/Detail/RDataSourceAccess.hxx"

#include <ROOT/RDataFrame.hxx>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <thread>
#include <vector>

namespace ROOT {
namespace ML {
namespace Detail {

/// \brief Reads the loaded columns of one dataframe straight from its files, a range of entries at a time,
/// into one RColumnChunk per column; RDataFrame's event loop, which costs a few virtual calls per value and
/// runs on one thread, is then left out.
///
/// Entries are numbered as the dataframe's data source numbers them, before any filter: the caller picks
/// the entries that pass (see RPassingMask). Each implementation reads the columns on up to `threads`
/// threads, each with file handles of its own, reopened in a process forked from the one that opened them.
class RSource {
   /// Decoded bytes to read at a time: a few baskets or pages per column, whatever the clusters.
   static constexpr std::uint64_t kBytesPerRead = 4 << 20;
   /// Decoded bytes of a range below which one more thread costs more than it saves.
   static constexpr std::uint64_t kBytesPerThread = 1 << 20;

protected:
   std::vector<RColumnChunk> fChunks; ///< Per column, for the range read last.
   std::uint64_t fEntryBytes = 1;     ///< Decoded bytes of all columns of an average entry.
   std::size_t fThreads = 1;

   /// Runs task(c) for every column c, the columns shared among the threads that `entries` entries are worth;
   /// column c always goes to thread c % threads, so that each keeps its file handle and cached baskets.
   /// Rethrows the first error of any thread.
   template <typename Task>
   void ForEachColumn(std::uint64_t entries, Task &&task)
   {
      const auto threads = std::min<std::uint64_t>(
         {fThreads, fChunks.size(), std::max<std::uint64_t>(1, entries * fEntryBytes / kBytesPerThread)});
      std::vector<std::exception_ptr> errors(threads);
      auto work = [&](std::size_t t) {
         try {
            for (auto c = t; c < fChunks.size(); c += threads)
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
   virtual ~RSource() = default;

   /// Decodes entries [begin, end) of every column; the range lies within one file.
   virtual void Read(std::uint64_t begin, std::uint64_t end) = 0;
   /// Entries of all files together.
   virtual std::uint64_t GetNumEntries() const = 0;
   /// How the source reads, as stats() reports it for each column: "TTree baskets", "RNTuple pages".
   virtual const char *GetName() const = 0;

   /// A cursor over column `c`'s values of the range read last.
   RColumnCursor GetCursor(std::size_t c) const { return RColumnCursor(fChunks[c]); }
   /// Entries to read at a time: about kBytesPerRead of decoded values.
   std::uint64_t GetEntriesPerRead() const { return std::max<std::uint64_t>(1, kBytesPerRead / fEntryBytes); }
};

} // namespace Detail
} // namespace ML
} // namespace ROOT

#endif
